package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/cxscore/cxscore/window"
)

var sinkResult Result

// benchEvents returns n events over a few keys and customers, all at now.
func benchEvents(n, keys, customers int, now time.Time) []Event {
	evs := make([]Event, n)
	for i := range evs {
		k := i % keys
		evs[i] = Event{
			CustomerID: fmt.Sprintf("customer-%07d", (i*7919)%customers),
			Segment:    fmt.Sprintf("segment-%02d", k%50),
			Touchpoint: fmt.Sprintf("touchpoint-%02d", k/50),
			Metric:     Metric(1 + i%3),
			Score:      1 + i%5,
			Time:       now,
		}
	}
	return evs
}

func BenchmarkRecord(b *testing.B) {
	now := time.Now()
	for _, keys := range []int{1, 1000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			e, _ := New(Config{})
			defer e.Close()
			evs := benchEvents(1<<16, keys, 100_000, now)
			for _, ev := range evs {
				e.Record(ev)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					e.Record(evs[i&(len(evs)-1)])
					i++
				}
			})
		})
	}
}

func BenchmarkQuery1h(b *testing.B) {
	clock := window.NewManualClock(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
	for _, perMinute := range []int{30, 3000} {
		b.Run(fmt.Sprintf("events/min=%d", perMinute), func(b *testing.B) {
			e, _ := New(Config{Clock: clock})
			defer e.Close()
			start := clock.Now()
			for m := range 90 {
				at := start.Add(time.Duration(m) * time.Minute)
				for i := range perMinute {
					e.RecordAt(at, Event{CustomerID: fmt.Sprint(m*perMinute + i), Segment: "s", Touchpoint: "t", Metric: NPS, Score: i % 11, Time: at})
				}
			}
			now := start.Add(90 * time.Minute)
			q := Query{Segment: "s", Touchpoint: "t", Window: time.Hour}
			for _, mode := range []string{"cold", "polled"} {
				b.Run(mode, func(b *testing.B) {
					e.QueryAt(now, q, &sinkResult)
					e.cache.c.Wait()
					b.ReportAllocs()
					b.ResetTimer()
					for i := range b.N {
						at := now
						if mode == "cold" {
							at = now.Add(time.Duration(i%30) * time.Minute) // a new minute: a new sealed span
							e.cache.c.Clear()
						}
						e.QueryAt(at, q, &sinkResult)
					}
				})
			}
		})
	}
}
