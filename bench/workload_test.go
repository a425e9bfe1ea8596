package bench

import (
	"cmp"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// TestWorkloadShape checks the properties the benchmarks rely on: skewed
// keys and customers, the metric mix and score shapes, the late share, and
// time that advances.
func TestWorkloadShape(t *testing.T) {
	w, err := NewWorkload(WorkloadConfig{Seed: 1, Events: 300_000})
	if err != nil {
		t.Fatal(err)
	}
	n := float64(w.Len())
	within := func(what string, got, lo, hi float64) {
		t.Helper()
		if got < lo || got > hi {
			t.Errorf("%s: got %.4g, want %.4g to %.4g", what, got, lo, hi)
		}
	}

	// Keys: "web" takes about half, the top segment about 30%, the hottest
	// key about 15%, and nearly all 1,000 keys occur.
	keys := w.Keys()
	perTouchpoint, perSegment := map[string]int{}, map[string]int{}
	for _, k := range keys {
		perTouchpoint[k.Touchpoint] += k.Events
		perSegment[k.Segment] += k.Events
	}
	within("share of web", float64(perTouchpoint["web"])/n, 0.40, 0.60)
	within("share of the top segment", float64(perSegment[w.Segments()[0]])/n, 0.20, 0.40)
	within("share of the hottest key", float64(keys[0].Events)/n, 0.08, 0.25)
	if keys[0].Touchpoint != "web" || keys[0].Segment != w.Segments()[0] {
		t.Errorf("hottest key %v, want %s × web", keys[0].Key, w.Segments()[0])
	}
	within("keys with events", float64(len(keys)), 900, 1000)
	within("events a minute of the hottest key", keys[0].PerMinute, 5000, 15000)
	typical := w.KeyNear(30)
	within("events a minute of a typical key", typical.PerMinute, 20, 45)

	// Customers: skewed reuse, a few anonymous.
	perCustomer := map[string]int{}
	anonymous := 0
	var metrics [4]int
	var scores [4][11]int
	late := 0
	prevArrival := time.Time{}
	for i := range w.Len() {
		arrival, ev := w.Event(i)
		if ev.CustomerID == "" {
			anonymous++
		} else {
			perCustomer[ev.CustomerID]++
		}
		metrics[ev.Metric]++
		low, _ := ev.Metric.Scale()
		scores[ev.Metric][ev.Score-low]++
		if err := ev.Metric.Check(ev.Score); err != nil {
			t.Fatal(err)
		}
		if arrival.Sub(ev.Time) >= time.Minute {
			late++
		} else if arrival.Sub(ev.Time) < 0 || arrival.Sub(ev.Time) > 5*time.Second {
			t.Fatalf("event %d arrives %v after its time, want 0-5s or late", i, arrival.Sub(ev.Time))
		}
		if arrival.Sub(ev.Time) > 6*time.Hour {
			t.Fatalf("event %d arrives %v after its time, want at most 6h", i, arrival.Sub(ev.Time))
		}
		if arrival.Before(prevArrival) {
			t.Fatalf("event %d arrives at %v, before the one before it (%v)", i, arrival, prevArrival)
		}
		prevArrival = arrival
	}
	within("anonymous share", float64(anonymous)/n, 0.015, 0.025)
	within("late share", float64(late)/n, 0.025, 0.035)
	counts := make([]int, 0, len(perCustomer))
	for _, c := range perCustomer {
		counts = append(counts, c)
	}
	slices.SortFunc(counts, func(a, b int) int { return cmp.Compare(b, a) })
	topShare := 0
	for _, c := range counts[:len(counts)/100] {
		topShare += c
	}
	within("share of answers from the busiest 1% of customers", float64(topShare)/float64(n-float64(anonymous)), 0.05, 0.30)
	if counts[0] < 5 {
		t.Errorf("the busiest customer answers %d times, want several", counts[0])
	}

	// Metric mix and score shapes.
	for m, share := range MetricMix {
		if share > 0 {
			within(engine.Metric(m).String()+" share", float64(metrics[m])/n, share-0.01, share+0.01)
		}
	}
	nps := scores[engine.NPS]
	promoters, detractors := nps[9]+nps[10], 0
	for _, c := range nps[:7] {
		detractors += c
	}
	within("NPS promoters", float64(promoters)/float64(metrics[engine.NPS]), 0.58, 0.66)
	within("NPS detractors", float64(detractors)/float64(metrics[engine.NPS]), 0.12, 0.18)
	if nps[0] <= nps[1] || nps[10] <= nps[9] {
		t.Errorf("NPS counts %v: want a spike at 0 and the most at 10", nps)
	}
	csat := scores[engine.CSAT]
	within("CSAT satisfied share", float64(csat[3]+csat[4])/float64(metrics[engine.CSAT]), 0.77, 0.83)
	var cesSum float64
	for i, c := range scores[engine.CES][:7] {
		cesSum += float64((i + 1) * c)
	}
	within("CES mean", cesSum/float64(metrics[engine.CES]), 4.8, 5.1)

	// Time: the workload spans many minutes at the configured rate.
	if got, want := w.Span(), 300*time.Second; got != want {
		t.Errorf("span %v, want %v", got, want)
	}
}

// TestWorkloadDeterministic checks that a seed gives the same events and
// another seed other events.
func TestWorkloadDeterministic(t *testing.T) {
	c := WorkloadConfig{Seed: 3, Events: 5_000, Customers: 10_000}
	a, b := MustWorkload(c), MustWorkload(c)
	c.Seed = 4
	other := MustWorkload(c)
	same := 0
	for i := range a.Len() {
		_, ea := a.Event(i)
		_, eb := b.Event(i)
		_, eo := other.Event(i)
		if ea != eb {
			t.Fatalf("event %d: %+v, then %+v from the same seed", i, ea, eb)
		}
		if ea == eo {
			same++
		}
	}
	if same > a.Len()/10 {
		t.Errorf("%d of %d events equal under another seed", same, a.Len())
	}
}

// TestStream checks that a stream replays the workload pass after pass,
// each shifted forward by the span, and that Seek lands where Next would.
func TestStream(t *testing.T) {
	w := MustWorkload(WorkloadConfig{Seed: 5, Events: 1000, Customers: 500, Rate: 10})
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := w.Stream(start)
	var ev engine.Event
	var prev time.Time
	for i := range 3 * w.Len() {
		now := s.Next(&ev)
		arrival, want := w.Event(i % w.Len())
		shift := start.Sub(w.Config().Start) + time.Duration(i/w.Len())*w.Span()
		want.Time = want.Time.Add(shift)
		if !now.Equal(arrival.Add(shift)) || !ev.Time.Equal(want.Time) || ev.CustomerID != want.CustomerID || ev.Score != want.Score {
			t.Fatalf("event %d: %+v at %v, want %+v at %v", i, ev, now, want, arrival.Add(shift))
		}
		if now.Before(prev) {
			t.Fatalf("event %d arrives at %v, before %v", i, now, prev)
		}
		prev = now
	}
	s2 := w.Stream(start)
	s2.Seek(2*w.Len() + 17)
	s3 := w.Stream(start)
	for range 2*w.Len() + 17 {
		s3.Next(&ev)
	}
	var a, b engine.Event
	if na, nb := s2.Next(&a), s3.Next(&b); !na.Equal(nb) || !a.Time.Equal(b.Time) || a.CustomerID != b.CustomerID {
		t.Fatalf("after Seek: %+v at %v, want %+v at %v", a, na, b, nb)
	}
	if allocs := testing.AllocsPerRun(100, func() { s.Next(&ev) }); allocs != 0 {
		t.Errorf("Stream.Next allocates %v times, want 0", allocs)
	}
	if math.IsNaN(w.Keys()[0].PerMinute) {
		t.Error("key rate is NaN")
	}
}
