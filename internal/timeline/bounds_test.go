package timeline

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// Export reports only slots within Bounds at its now, and at most MaxUnits
// of them, whatever the clock and late or early events did: what
// MergeSnapshot refuses outside them no writer produces.
func TestExportWithinBounds(t *testing.T) {
	l := smallLayout(t)
	rapid.Check(t, func(rt *rapid.T) {
		s := NewSeries[tb](l, rapid.IntRange(1, 3).Draw(rt, "lanes"), newTB)
		now := t0
		for i := range rapid.IntRange(1, 300).Draw(rt, "events") {
			now += rapid.SampledFrom([]int64{0, int64(47 * time.Second), int64(11 * time.Minute), int64(5 * time.Hour)}).Draw(rt, "tick")
			at := now - rapid.Int64Range(-int64(l.Future()), int64(l.Retention())).Draw(rt, "age")
			if l.Check(now, at) == nil {
				s.Add(rapid.IntRange(0, 3).Draw(rt, "lane"), now, at, add(int64(i)))
			}
			if rapid.IntRange(0, 20).Draw(rt, "export") != 0 {
				continue
			}
			n := 0
			s.Export(now, func(u Unit, _ *tb) {
				n++
				if lo, hi := l.Bounds(u.Tier, now); u.Slot < lo || u.Slot > hi {
					rt.Fatalf("Export after event %d: %v outside [%d, %d]", i, u, lo, hi)
				}
			})
			if n > l.MaxUnits() {
				rt.Fatalf("Export after event %d: %d units, MaxUnits is %d", i, n, l.MaxUnits())
			}
		}
	})
}
