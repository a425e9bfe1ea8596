package bench

import (
	"fmt"
	"sync"
	"time"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/internal/timeline"
	"github.com/cxscore/cxscore/window"
)

// Naive is the baseline: the design a team writes in an afternoon. One
// mutex guards a map from "segment|touchpoint" to the key's minute buckets;
// each bucket holds score counts and the exact set of customer ids who
// answered in that minute. Windows of any length are answered by summing
// minute buckets (hours and days are never pre-aggregated), and buckets are
// kept for the engine's longest retention, so it answers exactly what an
// engine with the default tiers answers: the same spans, the same
// acceptance of late, too old and too new events, exact counts, and exact
// unique customers where the engine estimates them.
//
// It is safe for concurrent use; everything takes its one lock.
type Naive struct {
	layout *timeline.Layout // only for the engine's span and acceptance rules

	mu   sync.Mutex
	keys map[string]*naiveKey // segment + "|" + touchpoint
}

type naiveKey struct {
	key     engine.Key
	buckets map[int64]*naiveBucket // by minute since the Unix epoch
	oldest  int64                  // no bucket is older than this minute
}

type naiveBucket struct {
	csat      [5]uint64
	ces       [7]uint64
	nps       [11]uint64
	customers map[string]struct{}
}

// NewNaive returns an empty baseline with the engine's default windows:
// minute buckets kept for 61 days (the default retention), events up to a minute ahead accepted.
func NewNaive() *Naive {
	l, err := timeline.NewLayout(window.DefaultTiers(), time.Minute, nil)
	if err != nil {
		panic(err)
	}
	return &Naive{layout: l, keys: make(map[string]*naiveKey)}
}

// RecordAt records ev as of now, with the engine's rules: errors for a bad
// metric or score, an empty segment or touchpoint, an event older than the
// retention or more than a minute ahead of now.
func (n *Naive) RecordAt(now time.Time, ev engine.Event) error {
	if err := ev.Metric.Check(ev.Score); err != nil {
		return err
	}
	if ev.Segment == "" || ev.Touchpoint == "" {
		return fmt.Errorf("bench: empty segment or touchpoint")
	}
	nowNs, t := now.UnixNano(), now.UnixNano()
	if !ev.Time.IsZero() {
		t = ev.Time.UnixNano()
	}
	if err := n.layout.Check(nowNs, t); err != nil {
		return err
	}
	minute, cutoff := n.layout.Slot(0, t), n.layout.Slot(0, n.layout.Oldest(nowNs)) // minutes since the epoch

	n.mu.Lock()
	defer n.mu.Unlock()
	id := ev.Segment + "|" + ev.Touchpoint
	k := n.keys[id]
	if k == nil {
		k = &naiveKey{key: engine.Key{Segment: ev.Segment, Touchpoint: ev.Touchpoint}, buckets: make(map[int64]*naiveBucket), oldest: cutoff}
		n.keys[id] = k
	}
	if len(k.buckets) == 0 {
		k.oldest = max(k.oldest, cutoff)
	}
	for ; k.oldest < cutoff; k.oldest++ { // retention
		delete(k.buckets, k.oldest)
	}
	b := k.buckets[minute]
	if b == nil {
		b = &naiveBucket{}
		k.buckets[minute] = b
	}
	switch low, _ := ev.Metric.Scale(); ev.Metric {
	case engine.CSAT:
		b.csat[ev.Score-low]++
	case engine.CES:
		b.ces[ev.Score-low]++
	case engine.NPS:
		b.nps[ev.Score-low]++
	}
	if ev.CustomerID != "" {
		if b.customers == nil {
			b.customers = make(map[string]struct{})
		}
		b.customers[ev.CustomerID] = struct{}{}
	}
	return nil
}

// QueryAt fills r with q's result as of now, over the same span the engine
// answers (see engine.Engine.QueryAt).
func (n *Naive) QueryAt(now time.Time, q engine.Query, r *engine.Result) error {
	span, err := n.layout.Span(now.UnixNano(), q.Window)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sum(q, span.From, span.To, r)
	return nil
}

// TrendAt appends q's result per step to dst, as engine.Engine.TrendAt does.
func (n *Naive) TrendAt(now time.Time, q engine.Query, step time.Duration, dst []engine.Result) ([]engine.Result, error) {
	g, err := n.layout.Grid(step, false, time.Monday)
	if err != nil {
		return dst, err
	}
	t := now.UnixNano()
	f := t - int64(q.Window)
	s := g.Step(f)
	from := g.Start(s)
	if b := g.Start(s + 1); b <= t {
		if _, _, err := n.layout.Steps(t, from, t, g); b-f < f-from || err != nil {
			from = b
		}
	}
	first, last, err := n.layout.Steps(t, from, t, g)
	if err != nil {
		return dst, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := first; i <= last; i++ {
		p := g.Point(i, from, t)
		dst = append(dst, engine.Result{})
		n.sum(q, p.From, p.To, &dst[len(dst)-1])
		dst[len(dst)-1].Partial = p.Partial
	}
	return dst, nil
}

// sum fills r with the minute buckets of q's keys in [from, to). Caller
// holds n.mu.
func (n *Naive) sum(q engine.Query, from, to int64, r *engine.Result) {
	segment, touchpoint := q.Segment, q.Touchpoint
	if segment == "" {
		segment = engine.All
	}
	if touchpoint == "" {
		touchpoint = engine.All
	}
	*r = engine.Result{Segment: segment, Touchpoint: touchpoint, From: time.Unix(0, from).UTC(), To: time.Unix(0, to).UTC()}
	lo, hi := n.layout.Slot(0, from), n.layout.Slot(0, to-1)+1
	seen := make(map[string]struct{})
	add := func(b *naiveBucket) {
		for i, c := range b.csat {
			r.CSAT.Counts[i] += c
		}
		for i, c := range b.ces {
			r.CES.Counts[i] += c
		}
		for i, c := range b.nps {
			r.NPS.Counts[i] += c
		}
		for id := range b.customers {
			seen[id] = struct{}{}
		}
	}
	for _, k := range n.keys {
		if (segment != engine.All && segment != k.key.Segment) || (touchpoint != engine.All && touchpoint != k.key.Touchpoint) {
			continue
		}
		if hi-lo < int64(len(k.buckets)) {
			for m := lo; m < hi; m++ {
				if b := k.buckets[m]; b != nil {
					add(b)
				}
			}
		} else {
			for m, b := range k.buckets {
				if m >= lo && m < hi {
					add(b)
				}
			}
		}
	}
	r.UniqueCustomers = uint64(len(seen))
}

// Keys returns the number of keys the baseline holds.
func (n *Naive) Keys() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.keys)
}
