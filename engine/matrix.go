package engine

import (
	"slices"
	"time"
)

// MatrixAt appends to dst the result of every segment × touchpoint key
// over the window of length w ending now, sorted by segment then
// touchpoint: a dashboard's heat map, or a metrics scrape, in one pass
// over the keys instead of one query per key. Each result is what QueryAt
// gives for its key. Errors wrap ErrWindow or ErrClosed.
//
// Polled, with each key's sealed part cached, it allocates only to grow
// dst, and a key with no answers in the current minute costs a cache
// lookup.
func (e *Engine) MatrixAt(now time.Time, w time.Duration, dst []Result) ([]Result, error) {
	span, err := e.keysWindow(now, w)
	if err != nil {
		return dst, err
	}
	return e.matrix(span, dst), nil
}

// MatrixPeriodAt is MatrixAt over a calendar period, up to now: every
// result is Partial when p is the current period.
func (e *Engine) MatrixPeriodAt(now time.Time, p Period, dst []Result) ([]Result, error) {
	span, err := e.keysPeriod(now, p)
	if err != nil {
		return dst, err
	}
	return e.matrix(span, dst), nil
}

func (e *Engine) matrix(span keysWindow, dst []Result) []Result {
	acc := e.scratch.Get().(*bucket)
	defer e.scratch.Put(acc)
	for _, s := range e.sortedSeries() {
		sel := selector{s.key.Segment, s.key.Touchpoint}
		dst = append(dst, Result{})
		r := &dst[len(dst)-1]
		en := e.sealed(sel, span.from, span.open)
		acc.Reset()
		if span.lo < span.hi {
			s.data.CollectFine(span.lo, span.hi, acc)
		}
		if acc.hist.IsZero() {
			// Nothing live: the cached entry is the answer, its unique
			// count included.
			r.fill(e.set.location, sel, span.from, span.to, &en.b.hist, en.estimate(), e.set.minResp)
			r.Partial = span.partial
			continue
		}
		acc.Merge(en.b)
		r.fill(e.set.location, sel, span.from, span.to, &acc.hist, acc.uniq.Estimate(), e.set.minResp)
		r.Partial = span.partial
	}
	return dst
}

// keysWindow is the time of a pass over the keys, [from, to): time
// before open is sealed (each key's or roll-up's part of it cached), the
// finest slots [lo, hi) are read live, none when to is before now.
// partial marks the current calendar period.
type keysWindow struct {
	from, to, open int64
	lo, hi         int64
	partial        bool
}

// keysWindow returns the window of length w ending now. Errors wrap
// ErrWindow or ErrClosed.
func (e *Engine) keysWindow(now time.Time, w time.Duration) (keysWindow, error) {
	if e.closed.Load() {
		return keysWindow{}, ErrClosed
	}
	n := now.UnixNano()
	span, err := e.layout.Span(n, w)
	if err != nil {
		return keysWindow{}, err
	}
	return e.keysSpan(n, span.From, span.To), nil
}

// keysPeriod returns calendar period p up to now. Errors wrap ErrWindow
// or ErrClosed.
func (e *Engine) keysPeriod(now time.Time, p Period) (keysWindow, error) {
	n, ps, err := e.periodAt(now, p)
	if err != nil {
		return keysWindow{}, err
	}
	kw := e.keysSpan(n, ps.span.From, ps.span.To)
	kw.partial = ps.partial()
	return kw, nil
}

// keysSpan returns [from, to) as of now, with the buckets before open
// sealed.
func (e *Engine) keysSpan(now, from, to int64) keysWindow {
	open := e.layout.Start(0, e.layout.Slot(0, now))
	e.versions.seal(open) // before any version or bucket is read
	kw := keysWindow{from: from, to: to, open: min(open, to)}
	if to == now { // the minute that holds now is live, and the events stamped ahead of now in it
		kw.lo, kw.hi = e.layout.Slot(0, max(from, open)), e.layout.Slot(0, now)+1
	}
	return kw
}

// sortedKeys is every series sorted by key, for the key set all.
type sortedKeys struct {
	all    *[]*series
	sorted []*series
}

// sortedSeries returns every series sorted by key. The order is kept
// until the key set changes (a key table publishes a new slice then), so
// polling sorts nothing: sorting 1,000 results took a third of a matrix.
func (e *Engine) sortedSeries() []*series {
	all := e.keys.all.Load()
	if all == nil {
		return nil
	}
	if o := e.matrixOrder.Load(); o != nil && o.all == all {
		return o.sorted
	}
	sorted := slices.SortedFunc(slices.Values(*all), func(a, b *series) int { return compareKeys(a.key, b.key) })
	e.matrixOrder.Store(&sortedKeys{all, sorted})
	return sorted
}
