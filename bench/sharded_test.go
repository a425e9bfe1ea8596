package bench

import (
	"math"
	"testing"
	"time"

	"github.com/axiomhq/hyperloglog"

	"github.com/cxscore/cxscore/engine"
)

// TestUniformWorkloadShape checks what the second workload promises: a
// million events a simulated hour, keys uniform over 1,000 (each within
// 15% of 1,000 answers an hour), customers drawn from 100,000.
func TestUniformWorkloadShape(t *testing.T) {
	w := uniformWorkload()
	if perHour := float64(w.Len()) / w.Span().Hours(); math.Abs(perHour-1e6) > 1e3 {
		t.Errorf("got %.0f events a simulated hour, want 1,000,000 ± 1,000", perHour)
	}
	keys := w.Keys()
	if len(keys) != 1000 {
		t.Fatalf("got %d keys, want 1000", len(keys))
	}
	for _, k := range []KeyShare{keys[0], keys[len(keys)-1]} {
		if perHour := 60 * k.PerMinute; perHour < 850 || perHour > 1150 {
			t.Errorf("key %v: got %.0f events an hour, want 1,000 ± 15%%", k.Key, perHour)
		}
	}
	customers := map[string]bool{}
	for i := range w.Len() {
		if _, ev := w.Event(i); ev.CustomerID != "" {
			customers[ev.CustomerID] = true
		}
	}
	if n := len(customers); n > 100_000 || n < 99_000 {
		t.Errorf("got %d distinct customers, want 99,000-100,000", n)
	}
}

// TestShardedMatchesModel checks the plain sharded baseline against a
// brute-force model of one minute: the same counts, and unique customers
// within HyperLogLog's error, so that the comparison times real work.
func TestShardedMatchesModel(t *testing.T) {
	w := uniformWorkload()
	s := NewSharded()
	counts := map[engine.Key]*[4][11]uint64{}
	ids := map[engine.Key]map[string]bool{}
	minute := int64(-1)
	var first time.Time
	for i := range 20_000 {
		now, ev := w.Event(i)
		if first.IsZero() {
			first = ev.Time
		}
		if err := s.RecordAt(now, ev); err != nil {
			t.Fatal(err)
		}
		if m := ev.Time.Unix() / 60; m == first.Unix()/60 {
			minute = m
			k := engine.Key{Segment: ev.Segment, Touchpoint: ev.Touchpoint}
			if counts[k] == nil {
				counts[k], ids[k] = new([4][11]uint64), map[string]bool{}
			}
			lo, _ := ev.Metric.Scale()
			counts[k][ev.Metric][ev.Score-lo]++
			if ev.CustomerID != "" {
				ids[k][ev.CustomerID] = true
			}
		}
	}
	all := hyperloglog.New14()
	want := map[string]bool{}
	for k, c := range counts {
		sh := &s.shards[shardOf(k)]
		b := &sh.keys[k].buckets[minute%shardedMinutes]
		if b.minute != minute || b.counts != *c {
			t.Errorf("key %v: got counts %v of minute %d, want %v of minute %d", k, b.counts, b.minute, *c, minute)
		}
		if err := all.Merge(b.uniq); err != nil {
			t.Fatal(err)
		}
		for id := range ids[k] {
			want[id] = true
		}
	}
	if got, n := float64(all.Estimate()), float64(len(want)); math.Abs(got-n) > 0.05*n {
		t.Errorf("got %v unique customers in minute %d, want %v ± 5%%", got, minute, n)
	}
}
