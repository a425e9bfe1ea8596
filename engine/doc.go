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
