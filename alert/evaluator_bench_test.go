package alert

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/window"
)

// BenchmarkEvaluate evaluates 100 score rules (half thresholds, half drops
// against the previous hour, over single segments and roll-ups) over 1,000
// keys, polled every 30 s as the sidecar does.
func BenchmarkEvaluate(b *testing.B) {
	e, clock := newEngine(b)
	defer e.Close()
	for s := range 100 {
		for tp := range 10 {
			for i := range 3 {
				err := e.RecordAt(t0, engine.Event{Segment: fmt.Sprint("s", s), Touchpoint: fmt.Sprint("t", tp),
					Metric: engine.NPS, Score: (s + tp + i) % 11, Time: t0.Add(-time.Duration(i) * 40 * time.Minute)})
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	var rules []Rule
	for i := range 100 {
		r := Rule{Name: fmt.Sprint("r", i), Metric: engine.NPS, Window: time.Hour, Segment: fmt.Sprint("s", i%50)}
		if i%10 == 0 {
			r.Segment = "*"
		}
		if i%2 == 0 {
			r.Kind, r.Bound = Threshold, 0
		} else {
			r.Kind = Drop
		}
		rules = append(rules, r)
	}
	ev, err := New(Config{Engine: e, Rules: rules, Notify: func(Alert) {}})
	if err != nil {
		b.Fatal(err)
	}
	now := clock.Now()
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(30 * time.Second)
		ev.Evaluate(now)
	}
}

// BenchmarkRecordResponseRules is engine.Record of events of 1,000 keys
// (the three metrics, every score) with no Observe hook (rules=none), with
// an evaluator of no response rules observing (rules=0), and with ten NPS
// detractor rules (tenResponseRules) that no event fires: a promoter or
// another metric exits at the score table, a detractor after comparing
// the labels of the ten rules. Besides ns/op it reports cpu-ns/op, the
// CPU time of the recording thread per event (Linux), which other
// processes on the machine disturb less. Compare with
// benchstat -col /rules.
func BenchmarkRecordResponseRules(b *testing.B) {
	now := t0 // a manual clock: every variant writes the same open minute
	evs := make([]engine.Event, 1<<12)
	for i := range evs {
		m := engine.Metric(1 + i%3)
		lo, hi := m.Scale()
		evs[i] = engine.Event{CustomerID: fmt.Sprintf("customer-%05d", i*7919%10_000), Segment: fmt.Sprint("segment-", i%100),
			Touchpoint: fmt.Sprint("touchpoint-", i/100%10), Metric: m, Score: lo + i/3%(hi-lo+1), Time: now}
	}
	for _, n := range []string{"none", "0", "10"} {
		b.Run("rules="+n, func(b *testing.B) {
			var ev *Evaluator
			c := engine.Config{Clock: window.NewManualClock(now)}
			if n != "none" {
				c.Observe = func(o *engine.Observation) { ev.Observe(o) }
			}
			e, err := engine.New(c)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			var rules []Rule
			if n == "10" {
				rules = tenResponseRules()
			}
			if ev, err = New(Config{Rules: rules}); err != nil {
				b.Fatal(err)
			}
			for _, x := range evs {
				if err := e.Record(x); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			// The loop's own thread's CPU time too (cpu-ns/op), steadier than
			// ns/op when other processes share the cores.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu0, ok := threadCPU()
			i := 0
			for b.Loop() {
				e.Record(evs[i&(len(evs)-1)])
				i++
			}
			if cpu1, _ := threadCPU(); ok {
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
			}
			if c := ev.Counts()["r0"]; c.Fired != 0 {
				b.Fatalf("%d alerts fired, want none", c.Fired)
			}
		})
	}
}

var sinkObservation engine.Observation

// BenchmarkObserve is Evaluator.Observe alone with the ten rules of
// BenchmarkRecordResponseRules, on answers that fire none: its share of
// Record's cost, steadier than the difference of two Record runs.
func BenchmarkObserve(b *testing.B) {
	ev, err := New(Config{Rules: tenResponseRules()})
	if err != nil {
		b.Fatal(err)
	}
	for name, e := range map[string]engine.Event{
		"promoter":            {Segment: "segment-1", Touchpoint: "web", Metric: engine.NPS, Score: 9, ResponseID: "r", Time: t0},
		"detractor-elsewhere": {Segment: "segment-1", Touchpoint: "web", Metric: engine.NPS, Score: 2, ResponseID: "r", Time: t0},
	} {
		b.Run(name, func(b *testing.B) {
			sinkObservation = engine.Observation{Event: e, Outcome: engine.Recorded}
			b.ReportAllocs()
			for b.Loop() {
				ev.Observe(&sinkObservation)
			}
		})
	}
}
