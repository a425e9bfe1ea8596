package engine

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/cxscore/cxscore/window"
)

var sinkResult Result

// benchEvents returns n events over a few keys and customers, all at now.
// Events of a key share their label strings, as a service's do.
func benchEvents(n, keys, customers int, now time.Time) []Event {
	evs := make([]Event, n)
	segments, touchpoints := make([]string, 50), make([]string, (keys+49)/50)
	for i := range segments {
		segments[i] = fmt.Sprintf("segment-%02d", i)
	}
	for i := range touchpoints {
		touchpoints[i] = fmt.Sprintf("touchpoint-%02d", i)
	}
	for i := range evs {
		k := i % keys
		evs[i] = Event{
			CustomerID: fmt.Sprintf("customer-%07d", (i*7919)%customers),
			Segment:    segments[k%50],
			Touchpoint: touchpoints[k/50],
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

// BenchmarkQuery1h asks for one key over the last hour: "cold" computes
// every bucket (no cache), "polled" repeats the query as a dashboard does.
func BenchmarkQuery1h(b *testing.B) {
	start := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for _, perMinute := range []int{30, 3000} {
		b.Run(fmt.Sprintf("events/min=%d", perMinute), func(b *testing.B) {
			for _, mode := range []string{"cold", "polled"} {
				b.Run(mode, func(b *testing.B) {
					c := Config{Clock: window.NewManualClock(start)}
					if mode == "cold" {
						c.CacheBytes = -1
					}
					e, _ := New(c)
					defer e.Close()
					for m := range 90 {
						at := start.Add(time.Duration(m) * time.Minute)
						for i := range perMinute {
							e.RecordAt(at, Event{CustomerID: fmt.Sprint(m*perMinute + i), Segment: "s", Touchpoint: "t", Metric: NPS, Score: i % 11, Time: at})
						}
					}
					now := start.Add(90 * time.Minute)
					q := Query{Segment: "s", Touchpoint: "t", Window: time.Hour}
					e.QueryAt(now, q, &sinkResult)
					if e.cache != nil {
						e.cache.c.Wait()
					}
					b.ReportAllocs()
					b.ResetTimer()
					for range b.N {
						e.QueryAt(now, q, &sinkResult)
					}
				})
			}
		})
	}
}

// fullEngine returns an engine with 1,000 keys whose every tier is full:
// each key hears from 20 customers an hour (of a pool of 500) for 35 days.
var fullEngine = sync.OnceValues(func() (*Engine, time.Time) {
	start := time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC)
	clock := window.NewManualClock(start)
	e, err := New(Config{Clock: clock, CacheBytes: -1})
	if err != nil {
		panic(err)
	}
	ids := make([]string, 500)
	for i := range ids {
		ids[i] = fmt.Sprint("customer-", i)
	}
	end := start.Add(35 * 24 * time.Hour)
	step := 0
	for at := start; at.Before(end); at = at.Add(3 * time.Minute) {
		step++
		for k := range 1000 {
			e.RecordAt(at, Event{CustomerID: ids[(step*7919+k)%len(ids)], Segment: fmt.Sprint("segment-", k%50), Touchpoint: fmt.Sprint("touchpoint-", k/50),
				Metric: Metric(1 + (step+k)%3), Score: 1 + (step*k)%5, Time: at})
		}
	}
	clock.Set(end)
	return e, end
})

func BenchmarkSnapshot(b *testing.B) {
	e, _ := fullEngine()
	var buf bytes.Buffer
	if _, err := e.WriteSnapshot(&buf); err != nil {
		b.Fatal(err)
	}
	b.Run("write", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			n, err := e.WriteSnapshot(io.Discard)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(n), "bytes")
		}
	})
	b.Run("read", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			r, _ := New(Config{Clock: window.NewManualClock(e.Now()), CacheBytes: -1})
			if err := r.MergeSnapshot(bytes.NewReader(buf.Bytes())); err != nil {
				b.Fatal(err)
			}
			r.Close()
		}
		b.ReportMetric(float64(buf.Len())/1000, "bytes/key")
	})
}
