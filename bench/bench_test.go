package bench

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cxscore/cxscore/engine"
)

// Sinks keep the compiler from optimizing benchmarked calls away.
var (
	sinkErr    error
	sinkResult engine.Result
	sinkTrend  []engine.Result
)

// workload is the benchmarks' workload, generated once per test binary
// (about a second) and shared: it is immutable.
var workload = sync.OnceValue(func() *Workload { return MustWorkload(WorkloadConfig{Seed: 1}) })

// recorder is what the Record benchmarks time: one event recorded at a
// simulated now.
type recorder interface {
	RecordAt(now time.Time, ev engine.Event) error
}

// contender is one design under comparison. Sub-benchmarks are named after
// it, so benchstat and cmd/report can line them up.
type contender struct {
	name string
	new  func(tb testing.TB) (r recorder, done func())
}

// contenders are the designs the Record benchmarks compare.
var contenders = []contender{
	{"cxscore", func(tb testing.TB) (recorder, func()) {
		e, err := engine.New(engine.Config{})
		if err != nil {
			tb.Fatal(err)
		}
		return e, func() { e.Close() }
	}},
	{"naive", func(testing.TB) (recorder, func()) { return NewNaive(), func() {} }},
	{"CounterVec", func(testing.TB) (recorder, func()) { return newCounterVec(), func() {} }},
}

// counterVec is what teams use today to count survey responses in process:
// a prometheus CounterVec with one series per segment, touchpoint, metric
// and score, incremented through WithLabelValues. It keeps no windows and
// no unique customers.
type counterVec struct{ v *prometheus.CounterVec }

func newCounterVec() *counterVec {
	return &counterVec{prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cx_survey_responses_total",
		Help: "Survey responses by segment, touchpoint, metric and score.",
	}, []string{"segment", "touchpoint", "metric", "score"})}
}

func (c *counterVec) RecordAt(_ time.Time, ev engine.Event) error {
	c.v.WithLabelValues(ev.Segment, ev.Touchpoint, ev.Metric.String(), strconv.Itoa(ev.Score)).Inc()
	return nil
}

// warmEvents are recorded before the timer starts, so that every contender
// has created its keys and runs in steady state: 200 simulated seconds.
const warmEvents = 200_000

// warm returns a new recorder of c that has recorded the workload's first
// warmEvents.
func warm(b *testing.B, c contender, w *Workload) (recorder, func()) {
	r, done := c.new(b)
	s := w.Stream(time.Time{})
	var ev engine.Event
	for range warmEvents {
		now := s.Next(&ev)
		if err := r.RecordAt(now, ev); err != nil {
			b.Fatal(err)
		}
	}
	return r, done
}

// BenchmarkRecord records the skewed workload from one goroutine, each event
// at its simulated arrival time (RecordAt): the cost a service pays per
// survey response, minute buckets rotating at the workload's 1,000 events
// a simulated second, with 3% late events.
func BenchmarkRecord(b *testing.B) {
	w := workload()
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			r, done := warm(b, c, w)
			defer done()
			s := w.Stream(time.Time{})
			s.Seek(warmEvents)
			var ev engine.Event
			b.ReportAllocs()
			for b.Loop() {
				now := s.Next(&ev)
				if err := r.RecordAt(now, ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRecordParallel is BenchmarkRecord from GOMAXPROCS goroutines.
// They take the workload's events in arrival order, 64 at a time from a
// shared counter, so they record the same hot keys at nearly the same
// simulated time, as a busy service's request handlers do.
func BenchmarkRecordParallel(b *testing.B) {
	w := workload()
	const chunk = 64
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			r, done := warm(b, c, w)
			defer done()
			var next paddedCounter
			next.n.Store(warmEvents)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				s := w.Stream(time.Time{})
				var ev engine.Event
				left := 0
				for pb.Next() {
					if left == 0 {
						s.Seek(int(next.n.Add(chunk) - chunk))
						left = chunk
					}
					left--
					now := s.Next(&ev)
					if err := r.RecordAt(now, ev); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// paddedCounter is an atomic counter on a cache line of its own.
type paddedCounter struct {
	_ [64]byte
	n atomic.Int64
	_ [56]byte
}
