package engine

import (
	"fmt"
	"time"

	"github.com/cxscore/cxscore/internal/timeline"
	"github.com/cxscore/cxscore/internal/uniques"
	"github.com/cxscore/cxscore/sketch"
	"github.com/cxscore/cxscore/window"
)

// Query selects what to score: a segment and a touchpoint ("" or All for
// every one: a roll-up) over one of three kinds of time, exactly one of
// which must be given:
//
//   - Window: the sliding window [now − Window, now), its far edge moved
//     to the nearest bucket edge of the finest tier that still holds it;
//   - Period: a calendar period in the engine's zone, such as ThisWeek,
//     up to now for the current one;
//   - From (and To, zero for now): the absolute range [From, To), both ends
//     moved to the nearest bucket edges, To at most now.
//
// Result.From and Result.To say exactly what was covered.
type Query struct {
	Segment, Touchpoint string
	Window              time.Duration
	Period              Period
	From, To            time.Time
}

// Result is what a window holds for a segment × touchpoint selection.
type Result struct {
	// Segment and Touchpoint as queried, All for a roll-up.
	Segment, Touchpoint string
	// From and To are the time the result really covers, [From, To), in the
	// engine's zone. To is now for a window, or a period or trend point
	// that is not over yet; events stamped ahead of now (Config.MaxFuture)
	// count in the finest bucket they fall in, the one that holds now.
	From, To time.Time
	// Partial reports that the result covers less than its whole period or
	// trend step: the current one, cut at now, or one cut by a range's
	// ends. It is false for a sliding window.
	Partial bool
	// UniqueCustomers is the number of distinct customers who answered
	// (anonymous answers do not count): exact up to 2^p/8 customers, a
	// HyperLogLog estimate with standard error 1.04/√(2^p) beyond.
	UniqueCustomers uint64
	CSAT            sketch.CSATSummary
	CES             sketch.CESSummary
	NPS             sketch.NPSSummary
	// Enough says, per metric, whether the result holds at least
	// Config.MinResponses responses of it.
	Enough Enough
}

// Enough says, per metric, whether a result holds at least
// Config.MinResponses responses of it. A score below the minimum exists
// (Score's ok is true from one response on) but rests on too little data to
// act on: show it greyed, do not alert on it, do not compare it.
type Enough struct{ CSAT, CES, NPS bool }

// Responses returns the number of responses of all three metrics.
func (r *Result) Responses() uint64 {
	return r.CSAT.Responses() + r.CES.Responses() + r.NPS.Responses()
}

// selector is a validated query selection; All stands for every one.
type selector struct{ segment, touchpoint string }

func (q Query) selector() selector {
	s := selector{q.Segment, q.Touchpoint}
	if s.segment == "" {
		s.segment = All
	}
	if s.touchpoint == "" {
		s.touchpoint = All
	}
	return s
}

func (s selector) rollup() bool { return s.segment == All || s.touchpoint == All }

// Query fills r with q's result as of the engine's clock. It is
// QueryAt(e.Now(), q, r).
func (e *Engine) Query(q Query, r *Result) error { return e.QueryAt(e.Now(), q, r) }

// QueryAt fills r with q's result as of now: every event recorded before the
// call whose time is in [r.From, r.To). now should not be behind the times
// the engine has recorded at, or buckets it has already rotated out are
// missing. Errors wrap ErrWindow (a window shorter than the finest
// resolution, or older than the tiers hold: the message says what would
// work) or ErrClosed.
//
// The counts are computed without allocating. The unique-customer count
// allocates only when a result is computed rather than served from the
// cache: the cached copy, and a dense sketch when over 2^p/8 customers.
func (e *Engine) QueryAt(now time.Time, q Query, r *Result) error {
	if e.closed.Load() {
		return ErrClosed
	}
	n := now.UnixNano()
	from, to, partial, err := e.span(n, &q)
	if err != nil {
		return err
	}
	acc := e.scratch.Get().(*bucket)
	e.result(q.selector(), n, from, to, to == n, acc, r)
	r.Partial = partial
	e.scratch.Put(acc)
	return nil
}

// span returns what q covers at now, and whether it is less than its whole
// period.
func (e *Engine) span(now int64, q *Query) (from, to int64, partial bool, err error) {
	kinds := 0
	for _, given := range []bool{q.Window != 0, q.Period != 0, !q.From.IsZero() || !q.To.IsZero()} {
		if given {
			kinds++
		}
	}
	if kinds != 1 {
		return 0, 0, false, fmt.Errorf("%w: %d of Window, Period and From/To given, want exactly one", ErrWindow, kinds)
	}
	switch {
	case q.Window != 0:
		sp, err := e.layout.Span(now, q.Window)
		return sp.From, sp.To, false, err
	case q.Period != 0:
		p, err := e.period(now, q.Period)
		return p.span.From, p.span.To, p.partial(), err
	}
	if q.From.IsZero() {
		return 0, 0, false, fmt.Errorf("%w: To %s without From", ErrWindow, q.To.Format(time.RFC3339))
	}
	a, b := eventNanos(q.From), now
	if !q.To.IsZero() {
		b = eventNanos(q.To)
	}
	sp, err := e.layout.Range(now, a, b)
	return sp.From, sp.To, err == nil && sp.To < b, err
}

// periodSpan is a calendar period as of now: the whole period [a, b)
// (local midnights, b maybe after now), what the tiers hold of it up to
// now, and which period it is (kind, and how many back from the current).
type periodSpan struct {
	kind timeline.Calendar
	back int
	a, b int64
	span timeline.Span
}

// partial reports whether the span covers less than the whole period:
// the current period, so far.
func (p *periodSpan) partial() bool { return p.span.To < p.b }

// period returns what period p covers at now. Errors wrap ErrWindow and
// say which dates the period is.
func (e *Engine) period(now int64, p Period) (periodSpan, error) {
	kind, back, ok := p.calendar()
	if !ok {
		return periodSpan{}, fmt.Errorf("%w: unknown period %v", ErrWindow, p)
	}
	a, b := e.layout.CalendarPeriod(now, kind, back, e.set.weekStart)
	sp, err := e.layout.Period(now, a, b)
	if err != nil {
		return periodSpan{}, fmt.Errorf("%w (%v is %s to %s)", err, p, e.stamp(a), e.stamp(b))
	}
	return periodSpan{kind, back, a, b, sp}, nil
}

// periodAt returns now in Unix nanoseconds and what period p covers then.
// Errors wrap ErrClosed or ErrWindow.
func (e *Engine) periodAt(now time.Time, p Period) (int64, periodSpan, error) {
	if e.closed.Load() {
		return 0, periodSpan{}, ErrClosed
	}
	n := now.UnixNano()
	ps, err := e.period(n, p)
	return n, ps, err
}

func (e *Engine) stamp(t int64) string {
	return time.Unix(0, t).In(e.set.location).Format(time.RFC3339)
}

// Trend appends to dst q's result for each trend step, oldest first, as of
// the engine's clock. It is TrendAt(e.Now(), q, step, dst).
func (e *Engine) Trend(q Query, step time.Duration, dst []Result) ([]Result, error) {
	return e.TrendAt(e.Now(), q, step, dst)
}

// TrendAt appends to dst q's result for each step that meets q's time as of
// now, oldest first, each point cut to q's time and marked Partial if cut
// (the last point, which ends at now, usually is). Steps follow the local
// calendar of the engine's zone: a step of whole days is that many local
// days (a multiple of 7 starts on Config.WeekStart), window.Month is a
// calendar month, and a shorter step is a whole number of buckets of a
// tier (local hours for an hour). A sliding window starts at the step edge
// nearest to now − Window. The first point must be held by tiers whose
// buckets it is made of. Errors wrap ErrWindow (a step that is not a
// multiple of the finest resolution, longer than the window, more than
// 10,000 points, or points older than the tiers hold: the message says
// what would work) or ErrClosed.
func (e *Engine) TrendAt(now time.Time, q Query, step time.Duration, dst []Result) ([]Result, error) {
	if e.closed.Load() {
		return dst, ErrClosed
	}
	n := now.UnixNano()
	g, err := e.layout.Grid(step, step == window.Month, e.set.weekStart)
	if err != nil {
		return dst, err
	}
	var from, to int64
	if q.Window != 0 {
		if _, _, _, err := e.span(n, &q); err != nil {
			return dst, err
		}
		if step > q.Window {
			return dst, fmt.Errorf("%w: step %v is longer than the %v window; use a window of at least %v or a shorter step", ErrWindow, stepName(step), q.Window, stepName(step))
		}
		// The step edge nearest to now − Window, or the next one if the
		// tiers whose buckets the steps are made of no longer hold it.
		f := n - int64(q.Window)
		s := g.Step(f)
		from, to = g.Start(s), n
		if b := g.Start(s + 1); b <= n {
			if _, _, err := e.layout.Steps(n, from, to, g); b-f < f-from || err != nil {
				from = b
			}
		}
	} else {
		if from, to, _, err = e.span(n, &q); err != nil {
			return dst, err
		}
		if q.Period == Today || q.Period == Yesterday {
			if step > 24*time.Hour {
				return dst, fmt.Errorf("%w: step %v is longer than a day, the %v period; use a shorter step", ErrWindow, stepName(step), q.Period)
			}
		}
	}
	first, last, err := e.layout.Steps(n, from, to, g)
	if err != nil {
		return dst, err
	}
	cur := g.Step(n)
	if to == n {
		last = cur // the step that holds now, even if it starts at now
	}
	sel := q.selector()
	acc := e.scratch.Get().(*bucket)
	for i := first; i <= last; i++ {
		p := g.Point(i, from, to)
		live := i == cur && to == n
		if p.From == p.To && !live {
			continue // a step the clock skipped
		}
		dst = append(dst, Result{})
		r := &dst[len(dst)-1]
		e.result(sel, n, p.From, p.To, live, acc, r)
		r.Partial = p.Partial
	}
	e.scratch.Put(acc)
	return dst, nil
}

func stepName(step time.Duration) string {
	if step == window.Month {
		return "1 month"
	}
	return step.String()
}

func (r *Result) fill(loc *time.Location, sel selector, from, to int64, hist *sketch.Histogram, uniques, minResp uint64) {
	*r = Result{
		Segment:         sel.segment,
		Touchpoint:      sel.touchpoint,
		From:            time.Unix(0, from).In(loc),
		To:              time.Unix(0, to).In(loc),
		UniqueCustomers: uniques,
		CSAT:            hist.CSAT(),
		CES:             hist.CES(),
		NPS:             hist.NPS(),
	}
	r.Enough = Enough{CSAT: r.CSAT.Responses() >= minResp, CES: r.CES.Responses() >= minResp, NPS: r.NPS.Responses() >= minResp}
}

// result fills r with every event of the selection with a time in
// [from, to), as of now, using acc as scratch; if live (to is now), also
// the events stamped ahead of now in the finest bucket that holds now. Time
// before the start of that bucket is sealed and comes from the cache when
// it can; the rest is read live. A wholly sealed span (a past trend point)
// is its cached entry, unique count included.
func (e *Engine) result(sel selector, now, from, to int64, live bool, acc *bucket, r *Result) {
	open := e.layout.Start(0, e.layout.Slot(0, now))
	e.versions.seal(open) // before any version or bucket is read
	if !live && to <= open {
		en := e.sealed(sel, from, to)
		r.fill(e.set.location, sel, from, to, &en.b.hist, en.estimate(), e.set.minResp)
		return
	}
	acc.Reset()
	if from < open {
		acc.Merge(e.sealed(sel, from, open).b)
	}
	lo, hi := e.layout.Slot(0, max(from, open)), e.layout.Slot(0, to-1)+1
	if live {
		hi = e.layout.Slot(0, now) + 1
	}
	e.each(sel, func(s *series) { s.data.CollectFine(lo, hi, acc) })
	r.fill(e.set.location, sel, from, to, &acc.hist, acc.uniq.Estimate(), e.set.minResp)
}

// sealed returns the merged events of the selection in [from, to), all of
// it sealed time: from the cache, or computed and cached.
func (e *Engine) sealed(sel selector, from, to int64) *entry {
	id := e.spanID(sel, from, to)
	if en := e.cache.get(&id); en != nil {
		return en
	}
	b := newBucket(e.set.precision, uniques.Hashed)
	e.units(sel, from, to, b)
	return e.cache.set(&id, b)
}

// spanID is the cache key of sealed(sel, from, to). Taken before the
// events are read, so that a late event while they are bumps the version
// and the entry is never served.
func (e *Engine) spanID(sel selector, from, to int64) entryID {
	return entryID{kind: kindSpan, segment: sel.segment, touchpoint: sel.touchpoint, from: from, to: to,
		version: e.versions.late.Load(), epoch: e.versions.epoch.Load()}
}

// units merges into dst the fewest whole buckets that tile [from, to). A
// roll-up caches each bucket's merge over its keys; a single key's buckets
// are merged directly.
func (e *Engine) units(sel selector, from, to int64, dst *bucket) {
	var buf [128]timeline.Unit
	for _, u := range e.layout.Units(from, to, buf[:0]) {
		if !sel.rollup() || e.cache == nil {
			e.each(sel, func(s *series) { s.data.Collect(u, dst) })
			continue
		}
		id := entryID{kind: kindUnit, segment: sel.segment, touchpoint: sel.touchpoint, from: int64(u.Tier), to: u.Slot,
			version: e.versions.unit(u), epoch: e.versions.epoch.Load()}
		if en := e.cache.get(&id); en != nil {
			dst.Merge(en.b)
			continue
		}
		b := newBucket(e.set.precision, uniques.Hashed)
		e.each(sel, func(s *series) { s.data.Collect(u, b) })
		e.cache.set(&id, b)
		dst.Merge(b)
	}
}

// each calls fn for every series of the selection.
func (e *Engine) each(sel selector, fn func(*series)) {
	if !sel.rollup() {
		if s := e.keys.get(sel.segment, sel.touchpoint, keyHash(sel.segment, sel.touchpoint)); s != nil {
			fn(s)
		}
		return
	}
	for _, s := range e.keys.series() {
		if (sel.segment == All || sel.segment == s.key.Segment) && (sel.touchpoint == All || sel.touchpoint == s.key.Touchpoint) {
			fn(s)
		}
	}
}
