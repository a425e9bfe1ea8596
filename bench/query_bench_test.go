package bench

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// querier is what the query benchmarks time.
type querier interface {
	QueryAt(now time.Time, q engine.Query, r *engine.Result) error
	TrendAt(now time.Time, q engine.Query, step time.Duration, dst []engine.Result) ([]engine.Result, error)
}

// queryState is a month of history (DefaultHistory, about 4.4 million
// events) recorded into an engine with its result cache, an engine without
// one, and the naive baseline. It is built once per test binary, in
// parallel, in a few seconds, and only read afterwards.
type queryState struct {
	now              time.Time
	cached, uncached *engine.Engine
	naive            *Naive
	typical, hottest KeyShare
	events           int
}

var queries = sync.OnceValues(func() (*queryState, error) {
	w := workload()
	h := DefaultHistory()
	st := &queryState{now: h.End, naive: NewNaive(), typical: w.KeyNear(30), hottest: w.Keys()[0]}
	var err error
	if st.cached, err = engine.New(engine.Config{}); err != nil {
		return nil, err
	}
	if st.uncached, err = engine.New(engine.Config{CacheBytes: -1}); err != nil {
		return nil, err
	}
	// The states are never closed: they live as long as the test binary.
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, r := range []recorder{st.cached, st.uncached, st.naive} {
		wg.Go(func() {
			n := 0
			h.Replay(w, func(now time.Time, ev *engine.Event) {
				n++
				if err := r.RecordAt(now, *ev); err != nil && errs[i] == nil {
					errs[i] = err
				}
			})
			if i == 0 {
				st.events = n
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	runtime.GC()
	return st, nil
})

// queryCase is one query a dashboard or an alerting loop asks.
type queryCase struct {
	name string
	run  func(x querier, now time.Time) error
}

func queryCases(st *queryState) []queryCase {
	one := func(q engine.Query) func(querier, time.Time) error {
		return func(x querier, now time.Time) error { return x.QueryAt(now, q, &sinkResult) }
	}
	segment := st.hottest.Segment
	return []queryCase{
		// One key over the last hour: a typical key (about 30 events a
		// minute) and the hottest (about 9,000 events and thousands of
		// customers a minute).
		{"key-1h-typical", one(engine.Query{Segment: st.typical.Segment, Touchpoint: st.typical.Touchpoint, Window: time.Hour})},
		{"key-1h-hottest", one(engine.Query{Segment: st.hottest.Segment, Touchpoint: st.hottest.Touchpoint, Window: time.Hour})},
		// The busiest segment, every touchpoint, over 24 hours.
		{"segment-24h", one(engine.Query{Segment: segment, Window: 24 * time.Hour})},
		// Everything, 1,000 keys, over 30 days.
		{"global-30d", one(engine.Query{Window: 30 * 24 * time.Hour})},
		// The busiest segment hour by hour over the last 24 hours.
		{"trend-24h-hourly", func(x querier, now time.Time) error {
			var err error
			sinkTrend, err = x.TrendAt(now, engine.Query{Segment: segment, Window: 24 * time.Hour}, time.Hour, sinkTrend[:0])
			return err
		}},
	}
}

// BenchmarkQuery times the queries of queryCases against a month of
// history, in two modes:
//
//   - cold: nothing cached, as for the first query after a start, or any
//     query that the cache cannot serve: the engine runs without a result
//     cache (Config.CacheBytes -1);
//   - polled: the same query again at the same time, as a dashboard polling
//     every few seconds asks it: the engine's cache holds the sealed part of
//     the window, and only the open minute is read.
//
// The naive baseline has no cache, so both modes cost it the same.
func BenchmarkQuery(b *testing.B) {
	st, err := queries()
	if err != nil {
		b.Fatal(err)
	}
	for _, qc := range queryCases(st) {
		b.Run(qc.name, func(b *testing.B) {
			for _, mode := range []string{"cold", "polled"} {
				b.Run(mode, func(b *testing.B) {
					engineX := st.cached
					if mode == "cold" {
						engineX = st.uncached
					}
					for _, c := range []struct {
						name string
						x    querier
					}{{"cxscore", engineX}, {"naive", st.naive}} {
						b.Run(c.name, func(b *testing.B) {
							// A query first, to fault its memory in; a few more
							// for the polled mode, whose cache fills
							// asynchronously (ristretto applies a Set later).
							warm := 1
							if mode == "polled" && c.name == "cxscore" {
								warm = 3
							}
							for range warm {
								if err := qc.run(c.x, st.now); err != nil {
									b.Fatal(err)
								}
								runtime.Gosched()
							}
							b.ReportAllocs()
							for b.Loop() {
								sinkErr = qc.run(c.x, st.now)
							}
						})
					}
				})
			}
		})
	}
}
