// Package timeline keeps sliding-window history in time buckets at several
// resolutions, and says which buckets answer a window.
//
// # Model
//
// A Layout is a list of tiers (window.Tier), finest first, in a time zone:
// with window.DefaultTiers, one-minute buckets for 2 hours, one-hour
// buckets for 48 hours and one-day buckets for 61 days. Times are Unix
// nanoseconds. A tier whose resolution the zone's offset keeps a constant
// phase with all year (minutes everywhere, hours in New York or Kolkata)
// has buckets [s·res − phase, (s+1)·res − phase); any other (days with DST,
// hours in Lord Howe) follows the wall clock: slot s starts when the local
// clock first reads s·res, moved up to an edge of the finer tier. Every
// series shares bucket edges, and every edge of a tier is an edge of the
// finer ones, so roll-ups add bucket by bucket.
//
// A window of length w ending now covers [now − w, now), its far edge the
// nearest edge of the finest tier that still holds it (Span); Range and
// Period do the same for absolute ranges and local calendar periods
// (Bounds), and Grid and Steps give a trend's points.
// Its closed part is tiled by the fewest whole buckets of any tier (Units):
// 30 days ending at 10:37 is 29 days, 10 hours and 37 minutes, not 43,000
// minutes. A trend is the same, point by point (Steps).
//
// A Series keeps one key's buckets in every tier. A write touches only the
// finest bucket of its time, on one of several lanes (one per core, so that
// cores do not share cache lines). When a lane opens a bucket in a new hour
// (a new bucket of the next tier), the finest buckets of the ended hour are
// folded into it, and when a day ends, its hours into the day: one write per
// event, coarse tiers built a whole bucket at a time, while it is in cache. Events that arrive after their bucket was folded (late
// events) land in their own bucket, and in the coarser tiers directly, as
// long as a tier still retains them. Rotation is lazy: a ring index is
// reused when a newer slot claims it; no goroutine ticks, and after an idle
// gap of any length the series neither loses nor resurrects anything.
//
// Collect returns every event of one bucket of one tier, wherever folding
// has got to. Check rejects times older than the longest retention
// (ErrTooOld) or further ahead of now than the allowed clock skew
// (ErrTooNew); an event's own time never moves "now".
//
// # Concurrency and cost
//
// A Layout is immutable. A Series is safe for concurrent use: a write to an
// open bucket takes one uncontended lane lock and does not allocate; opening
// a bucket (once per lane per minute) takes the series' coarse lock and
// folds. Collect holds the coarse lock, and a lane lock only while merging
// one bucket, so readers never stall writers for more than a bucket's
// worth of work.
package timeline
