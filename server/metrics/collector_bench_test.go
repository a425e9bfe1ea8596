package metrics

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cxscore/cxscore/engine"
)

// scrapeEngine holds keys keys (100 segments × keys/100 touchpoints), each
// with a few events in the last day, and the sidecar's default cache.
func scrapeEngine(b testing.TB, keys int) *engine.Engine {
	e, _ := newEngine(b, engine.Config{MaxKeys: keys, CacheBytes: 32 << 20})
	evs := make([]engine.Event, 0, 3*keys)
	for k := range keys {
		seg, tp := fmt.Sprintf("seg-%d", k%100), fmt.Sprintf("tp-%d", k/100)
		for i, m := range []engine.Metric{engine.NPS, engine.CSAT, engine.CES} {
			evs = append(evs, engine.Event{CustomerID: fmt.Sprint("c-", k*3+i), Segment: seg, Touchpoint: tp,
				Metric: m, Score: 3, Time: t0.Add(-time.Duration(k%1440) * time.Minute)})
		}
	}
	if err := e.RecordBatchAt(t0, evs); err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkCollect is one scrape of the sidecar's default collector (three
// windows, roll-ups) through a registry, as promhttp gathers it.
//
//	go test -run '^$' -bench Collect -count 6 ./server/metrics
func BenchmarkCollect(b *testing.B) {
	for _, keys := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			e := scrapeEngine(b, keys)
			c, err := New(e, Options{Clock: fixedClock{}, Rollups: true})
			if err != nil {
				b.Fatal(err)
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(c)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := reg.Gather(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type fixedClock struct{}

func (fixedClock) Now() time.Time { return t0 }
