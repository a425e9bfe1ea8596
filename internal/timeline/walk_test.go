package timeline

import (
	"testing"
	"time"
)

// Walk reports every live bucket once and agrees with Buckets, and what it
// sums over live buckets is every event the series holds, once per tier it
// has reached (never less than once).
func TestWalk(t *testing.T) {
	l := smallLayout(t)
	s := NewSeries[tb](l, 2, newTB)
	if overhead := s.Walk(func(*tb, bool) { t.Fatal("an empty series has no buckets") }); overhead <= 0 {
		t.Fatalf("empty series: overhead %d, want > 0", overhead)
	}
	now := t0
	for i := range 500 {
		now += int64(3 * time.Minute)
		s.Add(i, now, now-int64(i%7)*int64(time.Minute), add(1))
	}
	live, spare := 0, 0
	var sum tb
	s.Walk(func(b *tb, ok bool) {
		if ok {
			live++
			sum.Merge(b)
		} else {
			spare++
		}
	})
	if live+spare != s.Buckets() {
		t.Fatalf("Walk: %d live + %d spare buckets, Buckets says %d", live, spare, s.Buckets())
	}
	if sum.n < 1 {
		t.Fatalf("Walk: live buckets hold %d events, want some", sum.n)
	}
	var fine tb
	s.CollectFine(l.Slot(0, now)-l.tiers[0].retain, l.Slot(0, now)+1, &fine)
	if sum.n < fine.n {
		t.Fatalf("Walk: live buckets hold %d events, fewer than the finest tier's %d", sum.n, fine.n)
	}
}
