package engine

import (
	"slices"
	"time"

	"github.com/cxscore/cxscore/internal/uniques"
)

// RollupsAt appends to dst the roll-ups of the matrix over the window of
// length w ending now: every segment over all its touchpoints (Touchpoint
// All), every touchpoint over all segments (Segment All), and everything,
// sorted by segment then touchpoint as MatrixAt sorts keys (as strings).
// Each result is what QueryAt gives for its selection, unique customers
// a union. With MatrixAt it is everything a metrics scrape reports, in one
// pass over the keys instead of one per roll-up. Errors wrap ErrWindow or
// ErrClosed.
func (e *Engine) RollupsAt(now time.Time, w time.Duration, dst []Result) ([]Result, error) {
	span, err := e.keysWindow(now, w)
	if err != nil {
		return dst, err
	}
	return e.rollups(span, dst), nil
}

// RollupsPeriodAt is RollupsAt over a calendar period, up to now: every
// result is Partial when p is the current period.
func (e *Engine) RollupsPeriodAt(now time.Time, p Period, dst []Result) ([]Result, error) {
	span, err := e.keysPeriod(now, p)
	if err != nil {
		return dst, err
	}
	return e.rollups(span, dst), nil
}

func (e *Engine) rollups(span keysWindow, dst []Result) []Result {

	// The selections, sorted, and where each key goes: its segment's
	// roll-up, its touchpoint's, and everything's.
	all := e.sortedSeries()
	sc, _ := e.rollScratch.Get().(*rollScratch)
	if sc == nil {
		sc = new(rollScratch)
	}
	defer e.rollScratch.Put(sc)
	sels := append(sc.sels[:0], selector{All, All})
	for i, s := range all {
		if i == 0 || all[i-1].key.Segment != s.key.Segment {
			sels = append(sels, selector{s.key.Segment, All})
		}
		sels = append(sels, selector{All, s.key.Touchpoint})
	}
	slices.SortFunc(sels, func(a, b selector) int {
		return compareKeys(Key{a.segment, a.touchpoint}, Key{b.segment, b.touchpoint})
	})
	sels = slices.Compact(sels)
	sc.sels = sels
	clear(sc.pos)
	if sc.pos == nil {
		sc.pos = make(map[selector]int, len(sels))
	}
	for i, sel := range sels {
		sc.pos[sel] = i
	}
	into := sc.into[:0]
	for _, s := range all {
		into = append(into, [3]int{sc.pos[selector{All, All}], sc.pos[selector{s.key.Segment, All}], sc.pos[selector{All, s.key.Touchpoint}]})
	}
	sc.into = into
	accs := sc.buckets(len(sels), e.set.precision)

	if span.from < span.open {
		// The sealed part: each roll-up's cached entry, the same QueryAt
		// uses; those not cached are built from the keys' own sealed
		// entries (MatrixAt's), in one pass, and cached. A built bucket
		// goes to the cache, so it is fresh, not scratch.
		ids := slices.Grow(sc.ids[:0], len(sels))[:len(sels)]
		built := slices.Grow(sc.built[:0], len(sels))[:len(sels)] // nil: cached
		clear(built)
		sc.ids, sc.built = ids, built
		missing := false
		for i, sel := range sels {
			ids[i] = e.spanID(sel, span.from, span.open)
			if en := e.cache.get(&ids[i]); en != nil {
				accs[i].Merge(en.b)
				continue
			}
			built[i], missing = newBucket(e.set.precision, uniques.Hashed), true
		}
		if missing {
			for k, s := range all {
				en := e.sealed(selector{s.key.Segment, s.key.Touchpoint}, span.from, span.open)
				for _, i := range into[k] {
					if built[i] != nil {
						built[i].Merge(en.b)
					}
				}
			}
			for i, b := range built {
				if b != nil {
					e.cache.set(&ids[i], b)
					accs[i].Merge(b)
				}
			}
			clear(built) // the cache owns them now
		}
	}
	// The live part: the minute that holds now, as QueryAt reads it (none for a past period).
	if span.lo < span.hi {
		for k, s := range all {
			for _, i := range into[k] {
				s.data.CollectFine(span.lo, span.hi, accs[i])
			}
		}
	}
	for i, sel := range sels {
		dst = append(dst, Result{})
		r := &dst[len(dst)-1]
		r.fill(e.set.location, sel, span.from, span.to, &accs[i].hist, accs[i].uniq.Estimate(), e.set.minResp)
		r.Partial = span.partial
	}
	return dst
}

// rollScratch is the reusable state of RollupsAt: accumulators keep the
// capacity their customer sets grew to, which polling would otherwise pay
// for again at every call.
type rollScratch struct {
	sels  []selector
	pos   map[selector]int
	into  [][3]int // per key, in sortedSeries order: the roll-ups it is in
	accs  []*bucket
	ids   []entryID
	built []*bucket
}

// buckets returns n reset accumulators.
func (sc *rollScratch) buckets(n int, precision uint8) []*bucket {
	for len(sc.accs) < n {
		sc.accs = append(sc.accs, newBucket(precision, uniques.Hashed))
	}
	bs := sc.accs[:n]
	for _, b := range bs {
		b.Reset()
	}
	return bs
}
