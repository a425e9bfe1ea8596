package bench

import (
	"slices"
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

// uniformWorkload is the second workload (UniformWorkload), generated once
// per test binary when a benchmark asks for it.
var uniformWorkload = sync.OnceValue(func() *Workload {
	c := UniformWorkload
	c.Seed = 1
	return MustWorkload(c)
})

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
	{"sharded", func(testing.TB) (recorder, func()) { return NewSharded(), func() {} }},
	{"striped", func(testing.TB) (recorder, func()) { return NewStriped(), func() {} }},
}

// uniformContenders are those of the uniform workload: the naive baseline,
// three times slower than the engine on the skewed one, is left out.
var uniformContenders = slices.DeleteFunc(slices.Clone(contenders), func(c contender) bool { return c.name == "naive" })

// forker is a recorder that gives each goroutine a recorder of its own
// (Striped): RecordParallel asks each of its goroutines to Fork.
type forker interface{ Fork() recorder }

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
func warm(b *testing.B, c contender, w *Workload, n int) (recorder, func()) {
	r, done := c.new(b)
	s := w.Stream(time.Time{})
	var ev engine.Event
	for range n {
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
func BenchmarkRecord(b *testing.B) { benchRecord(b, workload(), warmEvents, contenders) }

// BenchmarkRecordUniform is BenchmarkRecord on the uniform workload, after
// one warm pass (about a simulated hour), so that every key's minute and
// hour buckets are full and rotating: steady state. At go test's default
// -benchtime of 1s it then times 2-4 million events.
func BenchmarkRecordUniform(b *testing.B) {
	w := uniformWorkload()
	benchRecord(b, w, w.Len(), uniformContenders)
}

func benchRecord(b *testing.B, w *Workload, warmN int, cs []contender) {
	for _, c := range cs {
		b.Run(c.name, func(b *testing.B) {
			r, done := warm(b, c, w, warmN)
			defer done()
			s := w.Stream(time.Time{})
			s.Seek(warmN)
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
	benchRecordParallel(b, workload(), warmEvents, contenders)
}

// BenchmarkRecordParallelUniform is BenchmarkRecordParallel on the uniform
// workload, after one warm pass.
func BenchmarkRecordParallelUniform(b *testing.B) {
	w := uniformWorkload()
	benchRecordParallel(b, w, w.Len(), uniformContenders)
}

func benchRecordParallel(b *testing.B, w *Workload, warmN int, cs []contender) {
	const chunk = 64
	for _, c := range cs {
		b.Run(c.name, func(b *testing.B) {
			r, done := warm(b, c, w, warmN)
			defer done()
			var next paddedCounter
			next.n.Store(int64(warmN))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				rec := r
				if f, ok := r.(forker); ok {
					rec = f.Fork()
				}
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
					if err := rec.RecordAt(now, ev); err != nil {
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
