package timeline

import (
	"fmt"
	"math/bits"
	"slices"
	"time"

	"github.com/cxscore/cxscore/window"
)

// tier is a Tier in nanoseconds and slots.
type tier struct {
	res    int64 // resolution, ns (nominal, for a local tier)
	retain int64 // slots a window may reach back, counting the current one
	ahead  int64 // slots an event may be ahead of now
	size   int64 // ring length: a power of two > retain + ahead
	// A fixed tier's slot s covers [s·res − phase, (s+1)·res − phase): the
	// zone's offset is the same modulo res all year, so local edges are UTC
	// arithmetic. A local tier (days in a zone with DST, hours in
	// Australia/Lord_Howe) follows the wall clock: slot s starts when the
	// zone's clock first reads s·res since the local epoch, moved up to the
	// next edge of the finer tier.
	phase int64
	local bool
}

// Layout is a validated list of tiers, finest first, in a time zone. Times
// are Unix nanoseconds; every series and every tier shares bucket edges,
// and each edge of a tier is an edge of every finer tier. A Layout is
// immutable and safe for concurrent use.
type Layout struct {
	tiers  []tier
	future int64 // how far ahead of now a time may be, ns
	loc    *time.Location
	// day is the tier days are built from: the coarsest tier finer than a
	// day, whose grid local midnights are moved up to.
	day int
	// fixedOff: the zone has had one offset, off ns, since 1990.
	fixedOff bool
	off      int64
}

// NewLayout checks tiers and returns their Layout in zone loc (nil: UTC).
// Resolutions must be positive and each must divide the next, coarser one;
// retentions must be whole multiples of their resolution, must not shrink
// from one tier to the next, and must cover at least one bucket of the next
// tier. A tier answers windows up to its retention, so it keeps one bucket
// more than Retention/Resolution (the current one, partly elapsed). future
// is how far ahead of now an event's time may be (clock skew between the
// services that report them). Errors wrap window.ErrLayout.
func NewLayout(tiers []window.Tier, future time.Duration, loc *time.Location) (*Layout, error) {
	if len(tiers) == 0 {
		return nil, fmt.Errorf("%w: no tiers", window.ErrLayout)
	}
	if future < 0 {
		return nil, fmt.Errorf("%w: negative future skew %v", window.ErrLayout, future)
	}
	if loc == nil {
		loc = time.UTC
	}
	l := &Layout{future: int64(future), loc: loc}
	offsets := zoneOffsets(loc)
	l.fixedOff, l.off = len(offsets) == 1, offsets[0]
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
		retain := int64(t.Retention/t.Resolution) + 1
		ahead := (l.future + res - 1) / res
		// The ring has one more slot than retain + ahead, so the newest slot
		// a future event may claim never evicts a bucket a window still reads.
		phase, fixed := fixedPhase(offsets, res)
		if !fixed {
			if i == 0 {
				return nil, fmt.Errorf("%w: the finest resolution %v does not divide every UTC offset of %s", window.ErrLayout, t.Resolution, loc)
			}
			ahead++ // a slot the clock skips may lie between now and a future event
		}
		size := int64(1) << bits.Len64(uint64(retain+ahead+1))
		tr := tier{res: res, retain: retain, ahead: ahead, size: size, phase: phase, local: !fixed}
		if t.Resolution < 24*time.Hour {
			l.day = i
		}
		l.tiers = append(l.tiers, tr)
	}
	return l, nil
}

// zoneOffsets returns the UTC offsets, in ns, that loc uses from 1990 to
// 2100: the years a live engine's clock can be in.
func zoneOffsets(loc *time.Location) []int64 {
	var offs []int64
	t := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	for t.Before(end) {
		tl := t.In(loc)
		_, off := tl.Zone()
		if !slices.Contains(offs, int64(off)*1e9) {
			offs = append(offs, int64(off)*1e9)
		}
		_, next := tl.ZoneBounds()
		if next.IsZero() || !next.After(t) {
			break
		}
		t = next
	}
	return offs
}

// fixedPhase reports whether every offset is the same modulo res, and the
// phase that makes slot edges local edges.
func fixedPhase(offsets []int64, res int64) (int64, bool) {
	phase := floorMod(offsets[0], res)
	for _, o := range offsets[1:] {
		if floorMod(o, res) != phase {
			return 0, false
		}
	}
	return phase, true
}

// Location returns the layout's time zone.
func (l *Layout) Location() *time.Location { return l.loc }

// Tiers returns the number of tiers.
func (l *Layout) Tiers() int { return len(l.tiers) }

// Tier returns tier k as configured.
func (l *Layout) Tier(k int) window.Tier {
	t := l.tiers[k]
	return window.Tier{Resolution: time.Duration(t.res), Retention: time.Duration(t.res * (t.retain - 1))}
}

// Future returns how far ahead of now a time may be.
func (l *Layout) Future() time.Duration { return time.Duration(l.future) }

// Retention returns the longest retention, that of the coarsest tier.
func (l *Layout) Retention() time.Duration { return l.Tier(len(l.tiers) - 1).Retention }

// Slot returns the slot of tier k that holds time t.
func (l *Layout) Slot(k int, t int64) int64 {
	tr := &l.tiers[k]
	if !tr.local {
		return floorDiv(t+tr.phase, tr.res)
	}
	s := floorDiv(l.wall(t), tr.res)
	for l.Start(k, s) > t {
		s--
	}
	for l.Start(k, s+1) <= t {
		s++ // the clock was set back after it had reached s+1
	}
	return s
}

// Start returns the first nanosecond of slot s of tier k. (A local slot the
// clock skipped, such as 02:00 on a spring-forward day in a zone whose hours
// are local, starts where the next one does: it holds nothing.)
func (l *Layout) Start(k int, s int64) int64 {
	tr := &l.tiers[k]
	if !tr.local {
		return s*tr.res - tr.phase
	}
	return l.snap(k-1, l.firstReach(s*tr.res))
}

// End returns the end of slot s of tier k: the start of slot s+1.
func (l *Layout) End(k int, s int64) int64 { return l.Start(k, s+1) }

// Edge reports whether t is the start of a slot of tier k.
func (l *Layout) Edge(k int, t int64) bool { return l.Start(k, l.Slot(k, t)) == t }

// snap returns the first edge of tier k at or after t.
func (l *Layout) snap(k int, t int64) int64 {
	s := l.Slot(k, t)
	if st := l.Start(k, s); st == t {
		return t
	}
	return l.Start(k, s+1)
}

// wall returns t on the zone's clock: Unix ns plus the offset in effect.
func (l *Layout) wall(t int64) int64 {
	_, off := time.Unix(0, t).In(l.loc).Zone()
	return t + int64(off)*1e9
}

// firstReach returns the first time the zone's clock reads w or later.
func (l *Layout) firstReach(w int64) int64 {
	// Offsets are within ±26 hours: the clock reads less than w here.
	t := w - int64(26*time.Hour)
	for {
		tl := time.Unix(0, t).In(l.loc)
		_, off := tl.Zone()
		o := int64(off) * 1e9
		if t+o >= w {
			return t // the clock jumped past w when this offset began
		}
		_, end := tl.ZoneBounds()
		if end.IsZero() || w-o < end.UnixNano() {
			return w - o
		}
		t = end.UnixNano()
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// Check returns nil if an event at time t may be recorded at time now: no
// older than the longest retention (the start of the oldest day a 61-day
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

// Span is the time a window really covers, [From, To) in Unix nanoseconds.
// Tier is the coarsest tier the answer needs: From is an edge of it.
type Span struct {
	Tier     int
	From, To int64
}

// Span returns what a window of length w ending now covers: [From, now),
// From the edge nearest to now − w of the finest tier that still holds
// it, so the span differs from w by at most half a bucket of that tier.
// An error wraps window.ErrWindow if w is shorter than the finest
// resolution or longer than the longest retention.
func (l *Layout) Span(now int64, w time.Duration) (Span, error) {
	if fine := l.Tier(0).Resolution; w < fine {
		return Span{}, fmt.Errorf("%w: window %v is shorter than the finest resolution %v; use %v or more", window.ErrWindow, w, fine, fine)
	}
	open := l.Start(0, l.Slot(0, now))
	f := now - int64(w)
	for k := range l.tiers {
		s := l.Slot(k, f)
		a, b := l.Start(k, s), l.End(k, s)
		edge := a
		if b-f < f-a && b <= open {
			edge, s = b, l.Slot(k, b)
		}
		if l.Retained(now, Unit{k, s}) {
			return Span{Tier: k, From: edge, To: now}, nil
		}
	}
	if w <= l.Retention() {
		return Span{}, l.tooOld(now, f) // (only when a local tier's slots are short)
	}
	return Span{}, fmt.Errorf("%w: window %v is longer than the %v retained; use %v or less", window.ErrWindow, w, l.Retention(), l.Retention())
}

// Range returns what an absolute range [from, to) covers as of now: both
// ends moved to the nearest edges of the finest tier that holds from, to at
// most now. An error wraps window.ErrWindow if the range is empty or
// reaches back further than the tiers hold, naming the retention that
// would hold it.
func (l *Layout) Range(now, from, to int64) (Span, error) {
	to = min(to, now)
	if from >= to {
		return Span{}, fmt.Errorf("%w: range [%s, %s) as of %s is empty", window.ErrWindow, stamp(from), stamp(to), stamp(now))
	}
	k, f, err := l.nearest(now, from)
	if err != nil {
		return Span{}, err
	}
	sp := Span{Tier: k, From: f, To: now}
	if to < now {
		s := l.Slot(k, to)
		a, b := l.Start(k, s), l.End(k, s)
		sp.To = a
		if b-to < to-a {
			sp.To = b
		}
		if sp.To > l.Start(0, l.Slot(0, now)) {
			sp.To = now
		}
	}
	if sp.From >= sp.To {
		return Span{}, fmt.Errorf("%w: range [%s, %s) is shorter than the %v buckets that hold it; make it longer",
			window.ErrWindow, stamp(from), stamp(to), l.Tier(k).Resolution)
	}
	return sp, nil
}

// nearest returns the finest tier that holds t at now, and its edge
// nearest to t.
func (l *Layout) nearest(now, t int64) (int, int64, error) {
	open := l.Start(0, l.Slot(0, now))
	for k := range l.tiers {
		s := l.Slot(k, t)
		a, b := l.Start(k, s), l.End(k, s)
		edge := a
		if b-t < t-a && b <= open {
			edge, s = b, l.Slot(k, b)
		}
		if l.Retained(now, Unit{k, s}) {
			return k, edge, nil
		}
	}
	return 0, 0, l.tooOld(now, t)
}

// tooOld is the error for a span that starts at t, before what the tiers
// hold at now: it names the retention that would hold it.
func (l *Layout) tooOld(now, t int64) error {
	last := len(l.tiers) - 1
	need := l.Slot(last, now) - l.Slot(last, t)
	res := l.Tier(last).Resolution
	if need < l.tiers[last].retain {
		return fmt.Errorf("%w: %s is held only in %v buckets, which do not fit the span's edges; make it start on their edges, or keep finer buckets longer",
			window.ErrWindow, stamp(t), res)
	}
	return fmt.Errorf("%w: %s is older than the %v buckets hold (%v); keeping them for %v would answer it",
		window.ErrWindow, stamp(t), res, l.Retention(), time.Duration(need)*res)
}

// Period checks that the tiers hold [from, to) as of now and returns its
// span, to at most now. from and to must be edges of tier 0 (local
// midnights, say): the span's tier is the finest one of which both are
// edges (to only if before now) and that holds from, so that every bucket
// of it is held. Errors wrap window.ErrWindow and name the retention that
// would hold it.
func (l *Layout) Period(now, from, to int64) (Span, error) {
	to = min(to, now)
	if from > to || from == to && to != now { // (the current period may have just begun)
		return Span{}, fmt.Errorf("%w: period [%s, %s) as of %s is empty", window.ErrWindow, stamp(from), stamp(to), stamp(now))
	}
	for k := range l.tiers {
		if l.Edge(k, from) && (to == now || l.Edge(k, to)) && l.Retained(now, Unit{k, l.Slot(k, from)}) {
			return Span{Tier: k, From: from, To: to}, nil
		}
	}
	return Span{}, l.tooOld(now, from)
}

// Unit is one bucket of one tier: slot Slot of tier Tier.
type Unit struct {
	Tier int
	Slot int64
}

// Units appends to dst the fewest whole buckets that tile [from, to): at each
// point the coarsest bucket that starts there and ends by to. from and to
// must be edges of the finest tier. Thirty days ending at 10:37
// become 29 days, 10 hours and 37 minutes: a handful of buckets instead of
// 43,000.
func (l *Layout) Units(from, to int64, dst []Unit) []Unit {
	for from < to {
		for k := len(l.tiers) - 1; k >= 0; k-- {
			s := l.Slot(k, from)
			if l.Start(k, s) == from {
				if end := l.End(k, s); end <= to {
					dst = append(dst, Unit{Tier: k, Slot: s})
					from = end
					break
				}
			}
			if k == 0 {
				panic(fmt.Sprintf("timeline: Units(%d, %d): bounds not edges of the finest tier", from, to))
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
