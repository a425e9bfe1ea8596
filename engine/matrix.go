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
	acc := e.scratch.Get().(*bucket)
	defer e.scratch.Put(acc)
	for _, s := range e.sortedSeries() {
		sel := selector{s.key.Segment, s.key.Touchpoint}
		dst = append(dst, Result{})
		r := &dst[len(dst)-1]
		en := e.sealed(sel, span.from, span.open)
		acc.Reset()
		s.data.CollectFine(span.lo, span.hi, acc)
		if acc.hist.IsZero() {
			// Nothing live: the cached entry is the answer, its unique
			// count included.
			r.fill(e.set.location, sel, span.from, span.to, &en.b.hist, en.estimate(), e.set.minResp)
			continue
		}
		acc.Merge(en.b)
		r.fill(e.set.location, sel, span.from, span.to, &acc.hist, acc.uniq.Estimate(), e.set.minResp)
	}
	return dst, nil
}

// keysWindow is a window of length w ending at now, [from, to), for a pass
// over the keys: time before open is sealed (each key's or roll-up's part
// of it cached), the finest slots [lo, hi) are read live.
type keysWindow struct {
	from, to, open int64
	lo, hi         int64
}

// keysWindow returns the window of length w ending now, with the buckets
// before open sealed. Errors wrap ErrWindow or ErrClosed.
func (e *Engine) keysWindow(now time.Time, w time.Duration) (keysWindow, error) {
	if e.closed.Load() {
		return keysWindow{}, ErrClosed
	}
	n := now.UnixNano()
	span, err := e.layout.Span(n, w)
	if err != nil {
		return keysWindow{}, err
	}
	open := e.layout.Start(0, e.layout.Slot(0, n))
	e.versions.seal(open) // before any version or bucket is read
	return keysWindow{from: span.From, to: span.To, open: open,
		lo: e.layout.Slot(0, max(span.From, open)), hi: e.layout.Slot(0, n) + 1}, nil // to is now: its minute is live
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
