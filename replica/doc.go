// Package replica makes several cxscore engines share one view through a
// NATS JetStream stream: every replica publishes the events it is given to
// the stream and applies the whole stream, in order, to its own engine, so
// every replica answers every query the same way, and a replica that dies
// loses nothing that was acknowledged.
//
// It lives in a module of its own so that the core library does not depend
// on NATS. Package embedded runs a JetStream server in-process.
//
// # Model
//
// The stream is the source of truth; an engine is a cache of it. Publish
// checks events with the engine (engine.Engine.Check, so bad input is
// rejected before it reaches the stream and changes nothing), stamps those
// without a time with the engine's clock, publishes them with asynchronous
// acknowledgements, and returns once JetStream has stored every one (on a
// majority of the stream's replicas), with the stream sequence of the last.
// It does not record them: each replica, the publisher included, records
// an event when it applies it from the stream. Applied returns the sequence
// applied so far and WaitApplied(ctx, seq) waits for one, so a client reads
// its own write with WaitApplied(ctx, lastSeq) before it queries.
//
// Every event carries its own time, so every replica puts it in the same
// bucket. A replica records it with engine.Engine.Record, checked against
// its own clock; an event the engine rejects (engine.ErrTooOld when a
// replica replays events older than its retention after a long outage,
// engine.ErrTooNew when a publisher's clock runs more than MaxFuture ahead)
// is counted in Stats, logged, and skipped: it never blocks the stream.
// So is a message that is not of the wire format (ErrMalformed).
//
// # Deletions
//
// DeleteResponse and DeleteKeys delete through the stream as Publish
// records: they publish the deletion (to Config.Subject._delete.responses
// or ._delete.keys, a message of its own tag in the wire format), every
// replica applies it in stream order with engine.Engine.DeleteResponse or
// DeleteKeys as of its own clock, and the call returns once this replica
// has applied it, with its engine's answer (held or not, keys deleted).
// Because every replica applies the same messages in the same order, a
// response deleted and later delivered at a higher version is recorded
// anew on every replica, at the deleted version or lower it stays a
// duplicate on every replica, and a checkpoint (a snapshot of the engine)
// holds the deletions before its sequence. A deletion of what an engine
// does not hold deletes nothing, so deleting twice is harmless; each call
// publishes with a Nats-Msg-Id of its own ("<random>/delete"), so the
// retries of one call after a lost acknowledgement are dropped by the
// stream, while a later call, after the response was recorded again,
// deletes again. A replica of a release before deletions counts them as
// malformed and skips them: upgrade every replica before deleting. In the
// partitioned mode (docs/partitioning.md) a response deletion names no key,
// so it would go to every partition.
//
// # Subjects
//
// An event of segment S at touchpoint T goes to subject Config.Subject.S.T,
// each label escaped to one subject token (bytes other than ASCII letters,
// digits and "-" become "_" and two hex digits: "consumer.eu" is
// "consumer_2Eeu"). One subject per key keeps the whole stream ordered for
// the replicas that read all of it, lets an operator read or purge one
// key's events, and is what the partitioned mode maps to partitions with
// JetStream's subject mapping (partition(n, 2, 3) on the two label tokens;
// see docs/partitioning.md). JetStream's cost per subject is small; the
// engine's MaxKeys bounds the number of subjects.
//
// # Deduplication
//
// An event with a response id is published with the header Nats-Msg-Id =
// "id/version", so the stream drops a retried publish within its duplicate
// window (Config.Duplicates), and Publish retries such an event itself
// until it is acknowledged or its context is done: a stream leader lost
// mid-publish costs a retry, never a double count. An event without a
// response id gets no Nats-Msg-Id (the window costs JetStream ~150 bytes per
// id): Publish retries it only when it certainly was not stored, and a
// caller that retries it after ErrNotAcknowledged may count it twice. The
// engine's own response dedupe covers corrections beyond the window.
//
// # Applying
//
// Each replica reads the stream with an ordered consumer: ephemeral, no
// acknowledgements, delivered in stream order, recreated by the client
// from the last sequence it delivered after any gap or lost connection
// (and by the replica after a stall, see Servers). A
// durable consumer would keep a position on the server, but the position
// that matters is the one inside the engine's state, which only the
// replica's checkpoint records; an ordered consumer started from the
// checkpoint's sequence + 1 needs no server state to clean up when a
// replica goes away. CaughtUp reports once the replica has applied every
// message that was in the stream when it started: what /readyz asks.
//
// # Checkpoints
//
// A replica writes its engine's snapshot (engine.Engine.WriteSnapshot) to
// a JetStream Object Store bucket every Config.CheckpointEvery events or
// Config.CheckpointInterval, named by the stream sequence of the last event
// it holds. Applying pauses while the snapshot is taken, so it holds exactly
// the events up to that sequence; the upload runs while applying goes on.
// A replica that starts loads the newest checkpoint into its empty engine
// (engine.Engine.MergeSnapshot) and consumes from the next sequence, so a
// restart neither loses nor counts anything twice, and replays minutes,
// not 61 days. Checkpoints are shared: any replica can start from any
// replica's. Writing one deletes those beyond Config.KeepCheckpoints. The
// stream's MaxAge covers the engine's retention plus a day, so a replica
// with no checkpoint can still rebuild every window.
//
// A service may also keep a local checkpoint (WriteLocal, in a file of its
// own), for a start without a download: the engine's snapshot after a
// header naming the stream, its creation time and the sequence it holds.
// Open (Config.Local) loads it only when it is newer than the bucket's
// newest checkpoint and the stream still holds the message after it, and
// refuses one of another stream or a damaged one (ErrLocalStream,
// ErrLocalCorrupt), so it is a cache of the stream, never a second source
// of truth: nothing is counted twice or skipped.
//
// # Outcomes and statistics
//
// RecordBatchOutcomes reports what each event did as this replica's engine
// applied it (engine.Recorded, Duplicate, Updated), so that an ingest
// endpoint counts as with an engine alone: it registers the msgIDs of the
// batch's events with a response id before publishing, apply keeps their
// outcomes while any call waits, and a publish the stream dropped as a
// duplicate is a Duplicate. Stats reports the applied and last seen stream
// sequences (the lag), the checkpoint's sequence and time, and the events,
// deletions and skipped messages applied since Open.
//
// # Servers
//
// The package works against nats-server 2.9 or newer as well as the Go
// module's (package embedded runs the latter): it uses no feature of a
// later server (one filter subject per consumer, as multiple filters
// need 2.10; no stream metadata, compression or subject transforms).
// The tests run everything against the Go module's server in-process,
// and TestDebianServer and TestDebianCluster against the nats-server
// binary on the machine (Debian bookworm's 2.9.10; .ci/run installs it):
// a single node (publishing with and without response ids, a retried
// publish counted once, applying into a second replica, a checkpoint and
// a restart from it, a local checkpoint, a replicated deletion, the
// server killed with SIGKILL and restarted on its files), and a 3-node
// cluster whose stream leader is SIGKILLed mid-ingest. They fail on a
// server older than 2.9.
//
// Two behaviours of 2.9.10 are handled. A cluster that has just started
// answers "no suitable peers for placement" until its nodes have joined:
// Open retries it as it retries an unelected meta leader. And an ordered
// consumer whose node died may deliver nothing, with no missed heartbeat
// reported, for minutes: a replica that applies nothing for stallTimeout
// (15 s) while the stream holds more restarts its consumer from the next
// sequence (logged), so on 2.9.10 a replica on the killed node's consumer
// resumes 20-40 s after the kill rather than never; on the Go module's
// server the client's own reset resumes it in seconds.
//
// # Concurrency and cost
//
// A Replica is safe for concurrent use. Publish costs one round trip to
// the stream leader per call (acknowledgements are awaited up to 1,024 at
// a time), plus replication; applying costs a Record per event plus
// decoding (see the package benchmarks for measured figures).
package replica
