package alert

import (
	"fmt"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
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
