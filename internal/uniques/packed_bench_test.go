package uniques

import (
	"fmt"
	"testing"
)

var sinkEstimate uint64

// BenchmarkSealedDay measures what a sealed day bucket costs a query: its
// customers merged into a query's union (a Hashed set, as the engine's
// accumulators are) and estimated, for a quiet day (480 customers, exact)
// and a busy one (12,000, dense), kept Sorted (as before the Packed
// layout) or Packed. "fold" is a day's folds: its 24 hours (20 or 500
// customers each, kept in the same layout) merged into it, one at a time.
func BenchmarkSealedDay(b *testing.B) {
	for _, day := range []struct {
		name    string
		perHour int
	}{{"quiet", 20}, {"busy", 500}} {
		for _, layout := range []Layout{Sorted, Packed} {
			hs := distinct(day.perHour, 24*day.perHour)
			var sealed Set
			sealed.Init(DefaultPrecision, layout)
			for _, h := range hs {
				sealed.Insert(h)
			}
			name := fmt.Sprintf("%s/%s", day.name, map[Layout]string{Sorted: "sorted", Packed: "packed"}[layout])
			b.Run(name+"/query", func(b *testing.B) {
				var acc Set
				b.ReportAllocs()
				for b.Loop() {
					acc.Reset()
					acc.Merge(&sealed)
					sinkEstimate = acc.Estimate()
				}
			})
			b.Run(name+"/fold", func(b *testing.B) {
				hours := make([]Set, 24)
				for k := range hours {
					hours[k].Init(DefaultPrecision, layout)
					for _, h := range hs[k*day.perHour : (k+1)*day.perHour] {
						hours[k].Insert(h)
					}
				}
				var d Set
				d.Init(DefaultPrecision, layout)
				b.ReportAllocs()
				for b.Loop() {
					d.Reset()
					for k := range hours {
						d.Merge(&hours[k])
					}
				}
			})
		}
	}
}
