package timeline

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// Absorbing another series' export answers like one series that saw both
// streams, before and after more events arrive and fold.
func TestAbsorbMatchesModel(t *testing.T) {
	l := smallLayout(t)
	longest := int64(l.Retention())
	rapid.Check(t, func(rt *rapid.T) {
		now := t0
		a := NewSeries[tb](l, rapid.IntRange(1, 3).Draw(rt, "lanes a"), newTB)
		b := NewSeries[tb](l, rapid.IntRange(1, 3).Draw(rt, "lanes b"), newTB)
		var events []event
		w := int64(0)
		record := func(s *Series[tb, *tb], label string) {
			for range rapid.IntRange(0, 60).Draw(rt, label) {
				now += rapid.Int64Range(0, int64(10*time.Minute)).Draw(rt, "tick")
				at := now - rapid.SampledFrom([]int64{0, int64(time.Minute), int64(25 * time.Minute), int64(3 * time.Hour), longest - int64(time.Hour)}).Draw(rt, "age")
				if l.Check(now, at) != nil {
					continue
				}
				w++
				s.Add(rapid.IntRange(0, 3).Draw(rt, "lane"), now, at, add(w))
				events = append(events, event{at, w})
			}
		}
		check := func(s *Series[tb, *tb], when string) {
			for k := range l.Tiers() {
				cur := l.Slot(k, now)
				for slot := cur - l.tiers[k].retain + 1; slot <= cur+l.tiers[k].ahead; slot++ {
					var got, want tb
					s.Collect(Unit{k, slot}, &got)
					from, to := l.Start(k, slot), l.Start(k, slot+1)
					for _, e := range events {
						if e.t >= from && e.t < to {
							want.n++
							want.sum += e.w
						}
					}
					if got != want {
						rt.Fatalf("%s: Collect(%v): got %+v, want %+v", when, Unit{k, slot}, got, want)
					}
				}
			}
		}
		record(a, "events a")
		record(b, "events b")
		var units []Unit
		var buckets []*tb
		b.Export(now, func(u Unit, x *tb) { units = append(units, u); buckets = append(buckets, x) })
		// Restoring into an empty series gives back b, unit for unit.
		restored := NewSeries[tb](l, 2, newTB)
		restored.Absorb(units, buckets)
		for k := range l.Tiers() {
			cur := l.Slot(k, now)
			for slot := cur - l.tiers[k].retain + 1; slot <= cur+l.tiers[k].ahead; slot++ {
				var got, want tb
				restored.Collect(Unit{k, slot}, &got)
				b.Collect(Unit{k, slot}, &want)
				if got != want {
					rt.Fatalf("restored: Collect(%v): got %+v, want %+v", Unit{k, slot}, got, want)
				}
			}
		}
		a.Absorb(units, buckets)
		check(a, "after absorb")
		record(a, "events after")
		check(a, "after more events")
	})
}
