package engine

import (
	"time"

	"github.com/cxscore/cxscore/internal/timeline"
	"github.com/cxscore/cxscore/internal/uniques"
	"github.com/cxscore/cxscore/sketch"
)

// Query selects what to score: a segment and a touchpoint ("" or All for
// every one: a roll-up) over the window of length Window ending now.
type Query struct {
	Segment, Touchpoint string
	Window              time.Duration
}

// Result is what a window holds for a segment × touchpoint selection.
type Result struct {
	// Segment and Touchpoint as queried, All for a roll-up.
	Segment, Touchpoint string
	// From and To are the time the result really covers, [From, To): whole
	// buckets of the finest tier that retains the window, the last of which
	// holds now. See timeline.Layout.Span.
	From, To time.Time
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
// call whose time is in the window. now should not be behind the times the
// engine has recorded at, or buckets it has already rotated out are missing.
// Errors wrap ErrWindow or ErrClosed.
//
// The counts are computed without allocating. The unique-customer count
// allocates only when a result is computed rather than served from the
// cache: the cached copy, and a dense sketch when over 2^p/8 customers.
func (e *Engine) QueryAt(now time.Time, q Query, r *Result) error {
	if e.closed.Load() {
		return ErrClosed
	}
	n := now.UnixNano()
	span, err := e.layout.Span(n, q.Window)
	if err != nil {
		return err
	}
	acc := e.scratch.Get().(*bucket)
	e.result(q.selector(), n, span.From, span.To, acc, r)
	e.scratch.Put(acc)
	return nil
}

// Trend appends to dst q's result for each step of q.Window, oldest first,
// as of the engine's clock. It is TrendAt(e.Now(), q, step, dst).
func (e *Engine) Trend(q Query, step time.Duration, dst []Result) ([]Result, error) {
	return e.TrendAt(e.Now(), q, step, dst)
}

// TrendAt appends to dst q's result for each step of q.Window as of now,
// oldest first: ⌈Window/step⌉ points aligned to multiples of step since the
// Unix epoch, the last holding now. step must be a multiple of the finest
// resolution, and the coarsest tier whose resolution divides step must
// retain Window (hourly points over 48 hours, daily over 35 days, with the
// default tiers). Errors wrap ErrWindow or ErrClosed.
func (e *Engine) TrendAt(now time.Time, q Query, step time.Duration, dst []Result) ([]Result, error) {
	if e.closed.Load() {
		return dst, ErrClosed
	}
	n := now.UnixNano()
	first, points, err := e.layout.Steps(n, q.Window, step)
	if err != nil {
		return dst, err
	}
	sel := q.selector()
	acc := e.scratch.Get().(*bucket)
	for i := range points {
		from := first + int64(i)*int64(step)
		dst = append(dst, Result{})
		e.result(sel, n, from, from+int64(step), acc, &dst[len(dst)-1])
	}
	e.scratch.Put(acc)
	return dst, nil
}

func (r *Result) fill(sel selector, from, to int64, hist *sketch.Histogram, uniques, minResp uint64) {
	*r = Result{
		Segment:         sel.segment,
		Touchpoint:      sel.touchpoint,
		From:            time.Unix(0, from).UTC(),
		To:              time.Unix(0, to).UTC(),
		UniqueCustomers: uniques,
		CSAT:            hist.CSAT(),
		CES:             hist.CES(),
		NPS:             hist.NPS(),
	}
	r.Enough = Enough{CSAT: r.CSAT.Responses() >= minResp, CES: r.CES.Responses() >= minResp, NPS: r.NPS.Responses() >= minResp}
}

// result fills r with every event of the selection with a time in
// [from, to), as of now, using acc as scratch. Time before the start of
// now's finest bucket is sealed and comes from the cache when it can; the
// rest is read live. A wholly sealed span (a past trend point) is its
// cached entry, unique count included.
func (e *Engine) result(sel selector, now, from, to int64, acc *bucket, r *Result) {
	open := e.layout.Start(0, e.layout.Slot(0, now))
	e.versions.seal(open) // before any version or bucket is read
	if to <= open {
		en := e.sealed(sel, from, to)
		r.fill(sel, from, to, &en.b.hist, en.estimate(), e.set.minResp)
		return
	}
	acc.Reset()
	if from < open {
		acc.Merge(e.sealed(sel, from, open).b)
	}
	lo, hi := e.layout.Slot(0, max(from, open)), e.layout.Slot(0, to-1)+1
	e.each(sel, func(s *series) { s.data.CollectFine(lo, hi, acc) })
	r.fill(sel, from, to, &acc.hist, acc.uniq.Estimate(), e.set.minResp)
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
