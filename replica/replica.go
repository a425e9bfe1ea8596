package replica

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cxscore/cxscore/engine"
)

// Replica connects an engine to a JetStream stream: it publishes events to
// the stream and applies the whole stream, in order, to the engine. It is
// safe for concurrent use.
type Replica struct {
	set  settings
	eng  *engine.Engine
	nc   *nats.Conn
	js   jetstream.JetStream
	strm jetstream.Stream
	// created is when the stream was created, as Open found it: what a
	// local checkpoint is tagged with (local.go).
	created time.Time
	store   jetstream.ObjectStore
	log     *slog.Logger

	// applyMu is held while a message is applied and while a checkpoint's
	// snapshot is taken, so a snapshot holds exactly the events up to its
	// sequence.
	applyMu   sync.Mutex
	sinceCkpt int // events applied since the last checkpoint; guarded by applyMu

	applied    atomic.Uint64 // stream sequence of the last message applied
	caughtUp   atomic.Bool
	rejected   atomic.Uint64
	malformed  atomic.Uint64
	checkpoint atomic.Uint64 // sequence of the newest checkpoint written or loaded
	ckptTime   atomic.Int64  // its time, Unix nanoseconds; 0 for none
	streamLast atomic.Uint64 // the stream's last sequence, as last seen
	// Applied since Open: events by outcome, responses and keys deleted.
	outcomes              [engine.Updated + 1]atomic.Uint64
	delResponses, delKeys atomic.Uint64

	waitMu  sync.Mutex
	waiters []waiter
	nwait   atomic.Int32

	// deletions holds the outcome of this replica's own deletions, by
	// msgID, from before they are published until their caller has read
	// it: apply fills it in (delete.go).
	delMu     sync.Mutex
	deletions map[string]*deletion

	// tracked holds the outcomes of the events with a response id that
	// RecordBatchOutcomes calls wait for, by msgID (outcomes.go); apply
	// looks only while ntracked > 0.
	trackMu  sync.Mutex
	tracked  map[string]*tracked
	ntracked atomic.Int32
	idBuf    []byte // guarded by applyMu

	ckptMu  sync.Mutex // one checkpoint at a time
	ckptBuf bytes.Buffer
	ckptReq chan struct{}

	consumeMu sync.Mutex // guards consume, replaced by restartConsuming
	consume   jetstream.ConsumeContext
	restartMu sync.Mutex // held by restartConsuming, and by Close to stop it
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closed    atomic.Bool
}

type waiter struct {
	seq uint64
	ch  chan struct{}
}

// Stats describes what a replica has applied.
type Stats struct {
	// Applied is the stream sequence of the last message applied.
	Applied uint64
	// Checkpoint is the stream sequence of the newest checkpoint this
	// replica wrote or started from (or, when it started from
	// Config.Local, the bucket's newest then); 0 for none.
	Checkpoint uint64
	// Rejected counts messages the engine refused (engine.ErrTooOld after a
	// long outage, engine.ErrTooNew for a publisher's clock too far ahead of
	// ours, ...): logged and skipped. A deletion of something the engine
	// does not hold is not refused: it deletes nothing.
	Rejected uint64
	// Malformed counts messages that were not of this package's wire
	// format (events and deletions; a replica of an older release counts
	// deletions here): logged and skipped.
	Malformed uint64
	// CaughtUp reports whether the replica has applied every message that
	// was in the stream when Open started consuming.
	CaughtUp bool
	// CheckpointTime is when the checkpoint Checkpoint was written, by this
	// replica or the one Open loaded it from; zero for none.
	CheckpointTime time.Time
	// StreamLast is the stream's last sequence as this replica last saw it:
	// on every message applied, and every streamPoll from the server. So
	// StreamLast - Applied is how many messages it lags behind, as of then.
	StreamLast uint64
	// Recorded, Duplicates and Updated count the events applied since Open
	// by their outcome (engine.Outcome; an event without a response id is
	// recorded). Those of the checkpoint Open loaded are not counted.
	Recorded, Duplicates, Updated uint64
	// DeletedResponses counts the response deletions applied since Open
	// that deleted a held response; DeletedKeys the keys deleted.
	DeletedResponses, DeletedKeys uint64
}

// Lag returns how many messages of the stream, as last seen, the replica
// has not applied yet.
func (s Stats) Lag() uint64 {
	if s.StreamLast > s.Applied {
		return s.StreamLast - s.Applied
	}
	return 0
}

// Open connects eng, which must be empty, to the stream of c: it creates
// the stream and the checkpoint bucket if they do not exist, loads the
// newest checkpoint into eng, and starts applying the stream from the
// message after it. It returns once the replica is consuming, before it has
// caught up (see CaughtUp and WaitCaughtUp). Close the replica before eng.
//
// Errors wrap ErrConfig, ErrNotEmpty, or the connection's and JetStream's
// errors. Open retries the creation of the stream until ctx is done, since
// a new cluster takes a few seconds to elect its meta leader.
func Open(ctx context.Context, eng *engine.Engine, c Config) (*Replica, error) {
	set, err := c.settings(eng.Retention())
	if err != nil {
		return nil, err
	}
	if st := eng.Stats(); st.Keys != 0 {
		return nil, fmt.Errorf("%w: it holds %d keys", ErrNotEmpty, st.Keys)
	}
	r := &Replica{set: set, eng: eng, log: set.Logger.With("replica", set.Name, "stream", set.Stream),
		ckptReq: make(chan struct{}, 1), done: make(chan struct{}), deletions: map[string]*deletion{}, tracked: map[string]*tracked{}}
	r.nc, err = nats.Connect(strings.Join(set.URLs, ","),
		nats.Name("cxscore replica "+set.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				r.log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { r.log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted()) }),
	)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", strings.Join(set.URLs, ","), err)
	}
	if err := r.open(ctx); err != nil {
		r.nc.Close()
		return nil, err
	}
	return r, nil
}

func (r *Replica) open(ctx context.Context) error {
	var err error
	r.js, err = jetstream.New(r.nc, jetstream.WithPublishAsyncMaxPending(asyncWindow*2),
		jetstream.WithPublishAsyncTimeout(ackTimeout))
	if err != nil {
		return err
	}
	if err := r.ensureStream(ctx); err != nil {
		return err
	}
	if err := r.ensureBucket(ctx); err != nil {
		return err
	}
	if err := r.loadCheckpoint(ctx); err != nil {
		return err
	}
	pending, err := r.startConsuming(ctx)
	if err != nil {
		return err
	}
	if pending == 0 {
		r.caughtUp.Store(true)
	}
	r.wg.Add(2)
	go r.checkpointLoop()
	go r.pollStream()
	return nil
}

// startConsuming creates the ordered consumer of the stream from the
// message after the one applied last and consumes it into apply, and
// returns how many messages it had pending then.
func (r *Replica) startConsuming(ctx context.Context) (uint64, error) {
	start := r.applied.Load() + 1
	cons, err := r.js.OrderedConsumer(ctx, r.set.Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{r.set.Subject + ".>"},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    start,
	})
	if err != nil {
		return 0, fmt.Errorf("create the ordered consumer of stream %s from sequence %d: %w", r.set.Stream, start, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("ask for the ordered consumer of stream %s: %w", r.set.Stream, err)
	}
	cc, err := cons.Consume(r.apply,
		jetstream.PullMaxMessages(1024),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			r.log.Warn("consuming the stream", "err", err)
		}))
	if err != nil {
		return 0, fmt.Errorf("consume stream %s: %w", r.set.Stream, err)
	}
	r.consumeMu.Lock()
	r.consume = cc
	r.consumeMu.Unlock()
	return info.NumPending, nil
}

// stopConsuming stops the ordered consumer and waits until it has
// stopped, up to 5 s; it reports whether it did.
func (r *Replica) stopConsuming() bool {
	r.consumeMu.Lock()
	cc := r.consume
	r.consumeMu.Unlock()
	cc.Stop()
	select {
	case <-cc.Closed():
		return true
	case <-time.After(5 * time.Second): // a lost connection; apply sees a closed engine at worst
		r.log.Warn("consumer did not stop in 5 s")
		return false
	}
}

// restartConsuming replaces an ordered consumer that stopped delivering
// while the stream holds messages it has not applied. The client resets
// its consumer itself when heartbeats stop or the connection comes back,
// but against nats-server 2.9.10 a consumer whose node died (the stream
// leader, SIGKILLed) was seen to stay silent for minutes with no error:
// pollStream calls this after stallTimeout without progress. apply skips
// what was already applied, so a restart neither skips nor doubles. It
// returns the new consumer's pending messages (0 after a failure).
func (r *Replica) restartConsuming() uint64 {
	r.restartMu.Lock()
	defer r.restartMu.Unlock()
	if r.closed.Load() || !r.stopConsuming() {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var pending uint64
	err := retry(ctx, func(ctx context.Context) error {
		if r.closed.Load() { // Close waits for this attempt at most
			return nil
		}
		var err error
		pending, err = r.startConsuming(ctx)
		return err
	})
	if err != nil {
		r.log.Error("could not restart the stalled consumer; trying again later", "applied", r.applied.Load(), "err", err)
	}
	return pending
}

// retry calls fn until it succeeds, fails with an error that retrying
// cannot fix, or ctx is done: a new cluster answers "JetStream not
// available" or times out until its meta leader is elected.
func retry(ctx context.Context, fn func(ctx context.Context) error) error {
	for {
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := fn(attempt)
		cancel()
		if err == nil || !transient(err) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func transient(err error) bool {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout),
		errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, jetstream.ErrNoStreamResponse):
		return true
	case errors.As(err, &apiErr):
		// 503 and cluster-not-ready answers while the meta leader is elected.
		// 10005, "no suitable peers for placement": the cluster's nodes
		// have not all joined yet (nats-server 2.9 answers so for a
		// while after starting).
		return apiErr.Code == 503 || apiErr.Code == 500 ||
			apiErr.ErrorCode == jetstream.JSErrCodeJetStreamNotEnabled || apiErr.ErrorCode == 10005
	}
	return false
}

func (r *Replica) ensureStream(ctx context.Context) error {
	want := jetstream.StreamConfig{
		Name:        r.set.Stream,
		Description: "cxscore survey responses",
		Subjects:    []string{r.set.Subject + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      r.set.MaxAge,
		Duplicates:  r.set.Duplicates,
		Storage:     jetstream.FileStorage,
		Replicas:    r.set.Replicas,
	}
	var s jetstream.Stream
	err := retry(ctx, func(ctx context.Context) error {
		var err error
		s, err = r.js.Stream(ctx, r.set.Stream)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			s, err = r.js.CreateStream(ctx, want)
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				s, err = r.js.Stream(ctx, r.set.Stream) // another replica was first
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("open stream %s: %w", r.set.Stream, err)
	}
	r.strm = s
	r.created = s.CachedInfo().Created.UTC()
	seen(&r.streamLast, s.CachedInfo().State.LastSeq)
	got := s.CachedInfo().Config
	if got.MaxAge != 0 && got.MaxAge < r.eng.Retention() {
		return fmt.Errorf("%w: stream %s keeps events %v, shorter than the engine's retention %v", ErrConfig, r.set.Stream, got.MaxAge, r.eng.Retention())
	}
	if !coversSubject(got.Subjects, r.set.Subject+".>") {
		return fmt.Errorf("%w: stream %s takes subjects %q, not %s.>", ErrConfig, r.set.Stream, got.Subjects, r.set.Subject)
	}
	return nil
}

func coversSubject(subjects []string, want string) bool {
	for _, s := range subjects {
		if s == want || s == ">" {
			return true
		}
	}
	return false
}

func (r *Replica) ensureBucket(ctx context.Context) error {
	err := retry(ctx, func(ctx context.Context) error {
		var err error
		r.store, err = r.js.ObjectStore(ctx, r.set.CheckpointBucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			r.store, err = r.js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
				Bucket:      r.set.CheckpointBucket,
				Description: "cxscore engine checkpoints of stream " + r.set.Stream,
				Storage:     jetstream.FileStorage,
				Replicas:    r.set.Replicas,
			})
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) || errors.Is(err, jetstream.ErrBucketExists) {
				r.store, err = r.js.ObjectStore(ctx, r.set.CheckpointBucket)
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("open checkpoint bucket %s: %w", r.set.CheckpointBucket, err)
	}
	return nil
}

// apply applies one message to the engine: it records an event, or deletes
// a response or keys. The ordered consumer calls it for each message in
// stream order, from one goroutine.
func (r *Replica) apply(msg jetstream.Msg) {
	md, err := msg.Metadata()
	if err != nil {
		r.log.Error("message without JetStream metadata", "subject", msg.Subject(), "err", err)
		return
	}
	seq := md.Sequence.Stream
	seen(&r.streamLast, seq+md.NumPending)
	r.applyMu.Lock()
	if seq <= r.applied.Load() {
		r.applyMu.Unlock() // already applied: the checkpoint holds it
		return
	}
	var m message
	if err := decodeMessage(msg.Data(), &m); err != nil {
		if n := r.malformed.Add(1); logWorthy(n) {
			r.log.Warn("skipped a malformed message", "seq", seq, "subject", msg.Subject(), "err", err, "malformed", n)
		}
	} else if err := r.applyMessage(msg, seq, &m); err != nil {
		if n := r.rejected.Add(1); logWorthy(n) {
			r.log.Warn("skipped a message the engine rejected", "seq", seq, "subject", msg.Subject(), "err", err, "rejected", n)
		}
	}
	r.applied.Store(seq)
	r.sinceCkpt++
	due := r.set.CheckpointEvery > 0 && r.sinceCkpt >= r.set.CheckpointEvery
	r.applyMu.Unlock()

	if md.NumPending == 0 && !r.caughtUp.Load() {
		r.caughtUp.Store(true)
		r.log.Info("caught up with the stream", "seq", seq)
	}
	if r.nwait.Load() > 0 {
		r.release(seq)
	}
	if due {
		select {
		case r.ckptReq <- struct{}{}:
		default:
		}
	}
}

// applyMessage applies m, decoded from msg, to the engine, and hands the
// outcome of a deletion to its caller if this replica published it.
func (r *Replica) applyMessage(msg jetstream.Msg, seq uint64, m *message) error {
	switch m.Kind {
	case kindDeleteResponse:
		held, err := r.eng.DeleteResponse(m.Event.ResponseID)
		if held {
			r.delResponses.Add(1)
		}
		r.deleted(msg, deletion{held: held, err: err})
		return err
	case kindDeleteKeys:
		n, err := r.eng.DeleteKeys(m.Event.Segment, m.Event.Touchpoint)
		r.delKeys.Add(uint64(n))
		r.deleted(msg, deletion{keys: n, err: err})
		return err
	}
	if m.Event.ResponseID == "" {
		err := r.eng.Record(m.engineEvent())
		if err == nil {
			r.outcomes[engine.Recorded].Add(1)
		}
		return err
	}
	o, err := r.eng.RecordResponse(m.engineEvent())
	if err == nil && o <= engine.Updated {
		r.outcomes[o].Add(1)
	}
	if r.ntracked.Load() > 0 {
		r.keepOutcome(m, seq, o, err)
	}
	return err
}

// seen raises v to seq, if it is higher.
func seen(v *atomic.Uint64, seq uint64) {
	for {
		old := v.Load()
		if seq <= old || v.CompareAndSwap(old, seq) {
			return
		}
	}
}

// streamPoll is how often a replica asks the server for the stream's last
// sequence, so that Stats.StreamLast is current when no message arrives
// (the connection is lost, or applying is stuck).
const streamPoll = 5 * time.Second

// stallTimeout is how long pollStream lets the consumer deliver nothing
// while the stream holds messages not applied before it restarts it: over
// twice the client's heartbeat (5 s), so the client's own reset comes
// first.
const stallTimeout = 15 * time.Second

// pollStream keeps streamLast current while nothing is applied.
func (r *Replica) pollStream() {
	defer r.wg.Done()
	t := time.NewTicker(streamPoll)
	defer t.Stop()
	progress, since := r.applied.Load(), time.Now()
	// A stream that also takes other subjects (">") can end with messages
	// the consumer does not deliver: after a restart that finds nothing
	// pending, only a stream that grows again counts as a stall.
	var quietUpTo uint64
	for {
		select {
		case <-r.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), streamPoll)
		info, err := r.strm.Info(ctx)
		cancel()
		if err == nil {
			seen(&r.streamLast, info.State.LastSeq)
		}
		applied := r.applied.Load()
		if applied != progress || r.streamLast.Load() <= max(applied, quietUpTo) {
			progress, since = applied, time.Now()
			continue
		}
		if time.Since(since) >= stallTimeout {
			r.log.Warn("the consumer delivered nothing while the stream holds more; restarting it",
				"applied", applied, "stream_last", r.streamLast.Load(), "for", time.Since(since).Round(time.Second))
			if r.restartConsuming() == 0 {
				quietUpTo = r.streamLast.Load()
			}
			since = time.Now()
		}
	}
}

// logWorthy limits the log to the first ten of a kind, then every 10,000th.
func logWorthy(n uint64) bool { return n <= 10 || n%10_000 == 0 }

func (r *Replica) release(seq uint64) {
	r.waitMu.Lock()
	kept := r.waiters[:0]
	for _, w := range r.waiters {
		if w.seq <= seq {
			close(w.ch)
			r.nwait.Add(-1)
		} else {
			kept = append(kept, w)
		}
	}
	clear(r.waiters[len(kept):])
	r.waiters = kept
	r.waitMu.Unlock()
}

// Applied returns the stream sequence of the last message the replica has
// applied: every event of the stream up to it is in the engine (or was
// rejected by it, see Stats).
func (r *Replica) Applied() uint64 { return r.applied.Load() }

// WaitApplied waits until the replica has applied the stream up to seq, as
// returned by Publish, so that a client that wrote can read its write. It
// returns ctx's error or ErrClosed if that does not happen first.
func (r *Replica) WaitApplied(ctx context.Context, seq uint64) error {
	if r.applied.Load() >= seq {
		return nil
	}
	w := waiter{seq: seq, ch: make(chan struct{})}
	r.waitMu.Lock()
	r.waiters = append(r.waiters, w)
	r.nwait.Add(1)
	r.waitMu.Unlock()
	if r.applied.Load() >= seq {
		r.release(r.applied.Load()) // it moved on before we registered
	}
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.done:
		return ErrClosed
	}
}

// CaughtUp reports whether the replica has applied every message that was
// in the stream when Open started consuming: what a readiness probe asks.
func (r *Replica) CaughtUp() bool { return r.caughtUp.Load() }

// Stats returns what the replica has applied.
func (r *Replica) Stats() Stats {
	st := Stats{
		Applied:          r.applied.Load(),
		Checkpoint:       r.checkpoint.Load(),
		Rejected:         r.rejected.Load(),
		Malformed:        r.malformed.Load(),
		CaughtUp:         r.caughtUp.Load(),
		StreamLast:       r.streamLast.Load(),
		Recorded:         r.outcomes[engine.Recorded].Load(),
		Duplicates:       r.outcomes[engine.Duplicate].Load(),
		Updated:          r.outcomes[engine.Updated].Load(),
		DeletedResponses: r.delResponses.Load(),
		DeletedKeys:      r.delKeys.Load(),
	}
	if t := r.ckptTime.Load(); t != 0 {
		st.CheckpointTime = time.Unix(0, t)
	}
	return st
}

// Close stops applying the stream, writes no checkpoint (call Checkpoint
// first for a fast restart) and closes the connection. It waits for the
// message being applied. Close is idempotent and safe to call concurrently
// with anything; afterwards Publish and Checkpoint return ErrClosed.
func (r *Replica) Close() error {
	r.closeOnce.Do(func() {
		r.closed.Store(true)
		r.restartMu.Lock() // no restart in progress, none to come
		r.stopConsuming()
		r.restartMu.Unlock()
		close(r.done)
		r.wg.Wait()
		r.nc.Close()
	})
	return nil
}

func hostname() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "cxscore"
}
