// Package engine is cxscore's public API: it records survey responses and
// answers CSAT, CES, NPS and unique customers per segment and touchpoint,
// or rolled up, over sliding windows from a minute to 61 days, and over calendar periods
// (today, last week, this month …) in a business time zone.
//
// # Model
//
// An Event is one answer: a customer (optional), a segment and a
// touchpoint (together, a Key), a metric and its score, and a time. Each
// key keeps its history in time buckets at several resolutions
// (Config.Tiers; by default minutes for 2 hours, hours for 48 hours, days
// for 61 days, local to Config.Location, UTC by default). A bucket holds an exact
// score histogram and a unique-customer sketch (package sketch).
//
// A Query names a segment and a touchpoint, either of which may be "" or
// All for every one (a roll-up), and a time: a sliding window W, which
// covers [now − W, now) with its far edge at the nearest bucket edge of the
// finest tier still holding it (fine buckets for the recent part, coarse
// ones only for the older part); a calendar Period; or an absolute range.
// The Result says exactly what it covered in From and To. Results hold:
//
//   - CSAT: responses per score 1-5; score = 100 × share of 4-5; 95% Wilson
//     interval and its half-width as margin of error.
//   - CES: responses per score 1-7; score = mean; share of 5-7 ("easy");
//     95% t interval around the answers plus one pseudo-answer at the
//     middle of the scale (see sketch.CESSummary.Interval).
//   - NPS: responses per score 0-10; promoters 9-10, passives 7-8,
//     detractors 0-6; score = 100 × (promoters − detractors) / responses;
//     adjusted-Wald 95% interval.
//
// Every margin of error is half the width of the interval reported.
//   - Unique customers who answered: exact up to 2^p/8 customers (512 at
//     the default precision), then a HyperLogLog estimate with standard
//     error 1.04/√(2^p) (1.6%). Roll-ups and windows union sketches; they
//     never add unique counts.
//
// Counts are exact. With no responses there is no score (ok == false), not
// a score of 0. Result.Enough says, per metric, whether the result holds
// Config.MinResponses (10) responses: below that a score is shown greyed,
// left out of alerting gauges and not compared. A Trend is the same result per step, oldest first.
//
// A query sees every event whose Record returned before the query started.
//
// # Selections, comparisons and the matrix
//
// A Selection is a set of segments and touchpoints (a journey stage such
// as delivery + returns + support); SelectAt answers it with customers
// unioned over its keys. CompareAt compares a selection's window with a
// Baseline (Previous period of the same length, the same window a week
// earlier where retained, or the Rest of the keys) per metric, by the
// tests of sketch's Compare methods; a side with fewer than
// Config.MinResponses answers gets the difference but no test. MatrixAt
// returns every key's result in one pass (about 1-2 ms polled for 1,000
// keys), and RollupsAt every segment's, every touchpoint's and the total
// in one more (about as long): what a metrics scrape needs. Each has a
// Period variant (SelectPeriodAt, ComparePeriodAt, MatrixPeriodAt,
// RollupsPeriodAt) for calendar periods: this month so far against the
// whole of last month.
//
// # Bad input
//
// Record checks an event completely before it writes anything, and a
// rejected event changes nothing. Errors wrap a sentinel (ErrScoreOutOfRange,
// ErrTooOld, ...) and say what was wrong, e.g. "score out of range:
// nps score 11, want 0-10". An empty CustomerID is an anonymous answer:
// counted in scores, not in unique customers. Config.MaxKeys bounds the
// number of keys, so a flood of junk segment names cannot take the host's
// memory.
//
// # Responses with an identity
//
// Survey tools deliver at least once and let customers change or withdraw
// an answer. An Event with a ResponseID (the sender's response id) and a
// Version (higher wins; the sender's updated-at time in milliseconds is a
// natural choice) is counted once: the engine holds the latest version of
// every response, and a delivery of it is one of three Outcomes, told apart
// by RecordResponse (Record returns nil for all three, so retrying is safe):
//
//   - Recorded: a response it did not hold (or a deleted one re-created at
//     a higher version).
//   - Duplicate: the held version or a lower one: acknowledged, nothing
//     changes. Not an error. A version is one answer: a second answer
//     under the same version is a duplicate too.
//   - Updated: a higher version, a correction: the old answer (its time,
//     metric and score) is taken out of every bucket of every tier that
//     holds it, and the new one is added at its own time.
//
// DeleteResponse takes a response's answer out the same way. Counts,
// distributions and scores are then exactly those of an engine that only
// ever saw the latest version of each response. Unique customers are not:
// a customer set cannot tell whether the customer answered something else
// in the bucket, so the customer of a corrected or deleted answer stays
// counted (exact for corrections by the same customer in the same bucket;
// otherwise an upper bound, by at most one per retracted answer).
//
// A held response takes 24 bytes (the id's 64-bit xxhash, never the
// string; its version; its finest bucket, key, lane, metric and score) in
// 256 tables kept at most 90% full, and is forgotten once its bucket leaves
// the coarsest tier (61 days by default); then a redelivery counts again.
// Config.MaxHeldResponses bounds them. Recording with a response id locks the
// id's table from the check to the write, so concurrent deliveries of one
// response resolve by version whatever their order; it adds a hash, a
// probe and a lock to Record and does not allocate (the tables grow by
// half now and then). Snapshots carry held responses, and MergeSnapshot
// resolves a response both sides hold by version.
//
// # Observing what is recorded
//
// Config.Observe, when set, is called after each event is recorded or
// corrected, from within the recording call, with an Observation: the
// event, its Outcome (Recorded or Updated) and the answer the engine held
// for the response before (the one a correction replaced). Duplicates,
// rejected events and deletions are not observed, nor is what
// MergeSnapshot merges: a merge adds counts, not events. So a check on
// single answers (package alert's response rules) sees each response
// once, and each correction with what it corrects. Unset, it costs one
// branch per event; set, a copy of the event and the call.
//
// # Time
//
// Every method that reads the clock has a twin that takes the time
// (Record and RecordAt, Query and QueryAt, Trend and TrendAt), as in
// golang.org/x/time/rate. An event's own time never moves the engine's
// "now": events older than the longest retention (ErrTooOld) or further
// ahead than Config.MaxFuture (ErrTooNew) are rejected, and a late event
// within retention lands in the bucket of its time. Buckets rotate lazily
// as time moves; the engine starts no goroutine of its own (its cache's
// are stopped by Close).
//
// # Concurrency and cost
//
// An Engine is safe for concurrent use; there is no global lock. Keys live
// in 64 shards picked by xxhash, each a copy-on-write map read without
// locking. A key's finest buckets are split over write lanes, one per core,
// so that cores recording the same hot key do not contend: Record of an
// existing key at a time whose bucket is open takes one uncontended lock,
// does not allocate, and costs a few tens of nanoseconds (see bench/ for
// measured figures). A key folds its minutes into their hour once the hour
// has ended, and its hours into their day once the day has.
//
// Queries never hold a lock for more than one bucket's merge. Results for
// sealed time (before the current minute) are cached (Config.CacheBytes,
// ristretto), so a dashboard polling a window merges one cached result and
// the open minute; a late event invalidates exactly the cached results it
// changes. A query's counts are computed without allocating.
package engine
