package timeline

import (
	"fmt"
	"math/bits"
	"time"

	"github.com/cxscore/cxscore/window"
)

// tier is a Tier in nanoseconds and slots.
type tier struct {
	res    int64 // resolution, ns
	retain int64 // slots a window may reach back, counting the current one
	ahead  int64 // slots an event may be ahead of now
	size   int64 // ring length: a power of two > retain + ahead
}

// Layout is a validated list of tiers, finest first. Times are Unix
// nanoseconds in UTC; slot s of tier k covers [s·res, (s+1)·res), so every
// series and every tier shares bucket edges. A Layout is immutable and safe
// for concurrent use.
type Layout struct {
	tiers  []tier
	future int64 // how far ahead of now a time may be, ns
}

// NewLayout checks tiers and returns their Layout. Resolutions must be
// positive and each must divide the next, coarser one; retentions must be
// whole multiples of their resolution, must not shrink from one tier to
// the next, and must cover at least one bucket of the next tier. future is how far ahead of now an event's time may be (clock
// skew between the services that report them). Errors wrap window.ErrLayout.
func NewLayout(tiers []window.Tier, future time.Duration) (*Layout, error) {
	if len(tiers) == 0 {
		return nil, fmt.Errorf("%w: no tiers", window.ErrLayout)
	}
	if future < 0 {
		return nil, fmt.Errorf("%w: negative future skew %v", window.ErrLayout, future)
	}
	l := &Layout{future: int64(future)}
	for i, t := range tiers {
		switch {
		case t.Resolution <= 0:
			return nil, fmt.Errorf("%w: tier %d resolution %v, want > 0", window.ErrLayout, i, t.Resolution)
		case t.Retention < t.Resolution || t.Retention%t.Resolution != 0:
			return nil, fmt.Errorf("%w: tier %d retention %v, want a multiple of its resolution %v", window.ErrLayout, i, t.Retention, t.Resolution)
		case t.Retention/t.Resolution > 1<<20:
			return nil, fmt.Errorf("%w: tier %d keeps %d buckets, want at most %d", window.ErrLayout, i, t.Retention/t.Resolution, 1<<20)
		}
		if i > 0 {
			prev := tiers[i-1]
			if t.Resolution <= prev.Resolution || t.Resolution%prev.Resolution != 0 {
				return nil, fmt.Errorf("%w: tier %d resolution %v is not a multiple of %v", window.ErrLayout, i, t.Resolution, prev.Resolution)
			}
			if t.Retention < prev.Retention {
				return nil, fmt.Errorf("%w: tier %d retention %v is shorter than tier %d's %v", window.ErrLayout, i, t.Retention, i-1, prev.Retention)
			}
			if prev.Retention < t.Resolution {
				// A tier folds into the next one bucket of it at a time, so
				// it must hold that bucket's worth of its own buckets.
				return nil, fmt.Errorf("%w: tier %d retention %v is shorter than tier %d's resolution %v", window.ErrLayout, i-1, prev.Retention, i, t.Resolution)
			}
		}
		res := int64(t.Resolution)
		retain := int64(t.Retention / t.Resolution)
		ahead := (l.future + res - 1) / res
		// One more slot than retain + ahead, so the newest slot a future
		// event may claim never evicts a bucket a window still reads.
		size := int64(1) << bits.Len64(uint64(retain+ahead+1))
		l.tiers = append(l.tiers, tier{res: res, retain: retain, ahead: ahead, size: size})
	}
	return l, nil
}

// Tiers returns the number of tiers.
func (l *Layout) Tiers() int { return len(l.tiers) }

// Tier returns tier k as configured.
func (l *Layout) Tier(k int) window.Tier {
	t := l.tiers[k]
	return window.Tier{Resolution: time.Duration(t.res), Retention: time.Duration(t.res * t.retain)}
}

// Future returns how far ahead of now a time may be.
func (l *Layout) Future() time.Duration { return time.Duration(l.future) }

// Retention returns the longest retention, that of the coarsest tier.
func (l *Layout) Retention() time.Duration { return l.Tier(len(l.tiers) - 1).Retention }

// Slot returns the slot of tier k that holds time t.
func (l *Layout) Slot(k int, t int64) int64 { return floorDiv(t, l.tiers[k].res) }

// Start returns the first nanosecond of slot s of tier k.
func (l *Layout) Start(k int, s int64) int64 { return s * l.tiers[k].res }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// Check returns nil if an event at time t may be recorded at time now: no
// older than the longest retention (the start of the oldest day a 35-day
// window can still show, with the default tiers) and no further ahead than
// the future skew. Otherwise it returns an error wrapping window.ErrTooOld or
// window.ErrTooNew that gives both times.
func (l *Layout) Check(now, t int64) error {
	oldest := l.Oldest(now)
	switch {
	case t < oldest:
		return fmt.Errorf("%w: %s is before %s, the start of the %v retained at %s",
			window.ErrTooOld, stamp(t), stamp(oldest), l.Retention(), stamp(now))
	case t > now+l.future:
		return fmt.Errorf("%w: %s is more than %v after now (%s)", window.ErrTooNew, stamp(t), l.Future(), stamp(now))
	}
	return nil
}

// Oldest returns the oldest time Check accepts at now: the start of the
// oldest bucket of the coarsest tier that a window can still read.
func (l *Layout) Oldest(now int64) int64 {
	last := len(l.tiers) - 1
	return l.Start(last, l.Slot(last, now)-l.tiers[last].retain+1)
}

func stamp(t int64) string { return time.Unix(0, t).UTC().Format(time.RFC3339Nano) }

// Span is the time a window really covers, [From, To) in Unix nanoseconds:
// whole buckets of tier Tier, the last of which holds now.
type Span struct {
	Tier     int
	From, To int64
}

// Span returns what a window of length w ending now covers: the finest tier
// that retains w, and the ⌈w/resolution⌉ buckets of it ending with the one
// that holds now. The span is therefore between w − resolution and w of
// elapsed time, plus the rest of the current bucket. An error wraps
// window.ErrWindow if w ≤ 0 or no tier retains it.
func (l *Layout) Span(now int64, w time.Duration) (Span, error) {
	if w <= 0 {
		return Span{}, fmt.Errorf("%w: window %v, want > 0", window.ErrWindow, w)
	}
	for k, t := range l.tiers {
		n := (int64(w) + t.res - 1) / t.res
		if n <= t.retain {
			cur := l.Slot(k, now)
			return Span{Tier: k, From: l.Start(k, cur-n+1), To: l.Start(k, cur+1)}, nil
		}
	}
	return Span{}, fmt.Errorf("%w: window %v is longer than the %v retained", window.ErrWindow, w, l.Retention())
}

// Steps returns the points of a trend over a window of length w in steps of
// step: n points, point i covering [first + i·step, first + (i+1)·step), the
// last of which holds now. Points are aligned to multiples of step since the
// Unix epoch. step must be a multiple of the finest resolution, and the
// coarsest tier whose resolution divides step must retain w, so that every
// point is whole buckets of that tier; errors wrap window.ErrWindow.
func (l *Layout) Steps(now int64, w, step time.Duration) (first int64, n int, err error) {
	if w <= 0 || step <= 0 {
		return 0, 0, fmt.Errorf("%w: window %v in steps of %v, want both > 0", window.ErrWindow, w, step)
	}
	k := -1
	for i, t := range l.tiers {
		if int64(step)%t.res == 0 {
			k = i
		}
	}
	if k < 0 {
		return 0, 0, fmt.Errorf("%w: step %v is not a multiple of the finest resolution %v", window.ErrWindow, step, l.Tier(0).Resolution)
	}
	points := (int64(w) + int64(step) - 1) / int64(step)
	if points > 10_000 {
		return 0, 0, fmt.Errorf("%w: %d points of %v, want at most 10000", window.ErrWindow, points, step)
	}
	last := floorDiv(now, int64(step))
	first = (last - points + 1) * int64(step)
	t := l.tiers[k]
	if l.Slot(k, first) <= l.Slot(k, now)-t.retain {
		return 0, 0, fmt.Errorf("%w: a %v trend in steps of %v needs %v buckets for %v, and they are kept for %v",
			window.ErrWindow, w, step, time.Duration(t.res), time.Duration(points*int64(step)), l.Tier(k).Retention)
	}
	return first, int(points), nil
}

// Unit is one bucket of one tier: slot Slot of tier Tier.
type Unit struct {
	Tier int
	Slot int64
}

// Units appends to dst the fewest whole buckets that tile [from, to): at each
// point the coarsest bucket that starts there and ends by to. from and to
// must be multiples of the finest resolution. Thirty days ending at 10:37
// become 29 days, 10 hours and 37 minutes: a handful of buckets instead of
// 43,000.
func (l *Layout) Units(from, to int64, dst []Unit) []Unit {
	for from < to {
		for k := len(l.tiers) - 1; k >= 0; k-- {
			res := l.tiers[k].res
			if from%res == 0 && from+res <= to {
				dst = append(dst, Unit{Tier: k, Slot: from / res})
				from += res
				break
			}
			if k == 0 {
				panic(fmt.Sprintf("window: Units(%d, %d): bounds not multiples of %d", from, to, res))
			}
		}
	}
	return dst
}

// oldestKept returns the oldest slot of tier k a ring must keep at now: a
// window reads back retain slots, and ahead more leave room for a reader
// whose clock is a little behind the writer's.
func (l *Layout) oldestKept(k int, now int64) int64 {
	t := &l.tiers[k]
	return l.Slot(k, now) - t.retain - t.ahead
}

// Retained reports whether a window at now may read unit u: u is one of the
// last Retention/Resolution buckets of its tier, or newer.
func (l *Layout) Retained(now int64, u Unit) bool {
	return u.Slot > l.Slot(u.Tier, now)-l.tiers[u.Tier].retain
}
