package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/cxscore/cxscore/window"
)

// polledEngine returns an engine of keys keys, 50 segments × keys/50
// touchpoints, each with an answer every 4 minutes for 3 hours (20
// customers an hour) and one in the open minute, and the time to query at.
func polledEngine(tb testing.TB, keys int) (*Engine, time.Time) {
	start := time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)
	clock := window.NewManualClock(start)
	e, err := New(Config{Clock: clock})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close() })
	now := start.Add(3 * time.Hour)
	for at, step := start, 0; !at.After(now); at, step = at.Add(4*time.Minute), step+1 {
		clock.Set(at)
		for k := range keys {
			e.RecordAt(at, Event{CustomerID: fmt.Sprint("customer-", (step*7919+k)%500), Segment: fmt.Sprint("segment-", k%50),
				Touchpoint: fmt.Sprint("touchpoint-", k/50), Metric: Metric(1 + (step+k)%3), Score: 1 + (step*k)%5, Time: at})
		}
	}
	clock.Set(now)
	return e, now
}

// warm runs f until the result cache holds what it needs (ristretto
// applies sets asynchronously and may admit an entry only when it is
// asked for again).
func warm(e *Engine, f func()) {
	for range 3 {
		f()
		e.cache.c.Wait()
	}
}

func TestPolledSelectionsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	e, now := polledEngine(t, 200)
	dst := make([]Result, 0, 200)
	sel := Selection{Touchpoints: []string{"touchpoint-1", "touchpoint-2"}}
	var r Result
	var c Comparison
	for name, f := range map[string]func(){
		"MatrixAt":           func() { dst, _ = e.MatrixAt(now, time.Hour, dst[:0]) },
		"SelectAt":           func() { e.SelectAt(now, sel, time.Hour, &r) },
		"CompareAt previous": func() { e.CompareAt(now, sel, time.Hour, Previous, &c) },
		"CompareAt rest":     func() { e.CompareAt(now, sel, time.Hour, Rest, &c) },
	} {
		warm(e, f)
		if n := testing.AllocsPerRun(20, f); n != 0 {
			t.Errorf("%s polled: got %v allocs, want 0", name, n)
		}
	}
}

var sinkResults []Result

// BenchmarkMatrix polls the 1h matrix of 1,000 keys: with an answer to
// every key in the open minute (the worst case: each key's live part is
// merged into its cached part), and with none (each key a cache lookup).
func BenchmarkMatrix(b *testing.B) {
	e, now := polledEngine(b, 1000)
	for _, c := range []struct {
		name  string
		after time.Duration
	}{{"live=every-key", 0}, {"live=none", time.Minute}} {
		b.Run(c.name, func(b *testing.B) {
			at := now.Add(c.after)
			dst := make([]Result, 0, 1000)
			warm(e, func() { dst, _ = e.MatrixAt(at, time.Hour, dst[:0]) })
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				dst, _ = e.MatrixAt(at, time.Hour, dst[:0])
			}
			sinkResults = dst
		})
	}
}

var sinkComparison Comparison

func BenchmarkCompare(b *testing.B) {
	e, now := polledEngine(b, 1000)
	stage := Selection{Touchpoints: []string{"touchpoint-1", "touchpoint-2", "touchpoint-3"}}
	for _, against := range []Baseline{Previous, Rest} {
		b.Run(against.String(), func(b *testing.B) {
			warm(e, func() { e.CompareAt(now, stage, time.Hour, against, &sinkComparison) })
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				e.CompareAt(now, stage, time.Hour, against, &sinkComparison)
			}
		})
	}
}

// BenchmarkRollups is every roll-up of 1,000 keys (and the query-per-roll-up
// baseline it replaces), polled: the sealed parts cached.
func BenchmarkRollups(b *testing.B) {
	e, now := polledEngine(b, 1000)
	rollups, _ := e.RollupsAt(now, time.Hour, nil)
	b.Run("rollups-at", func(b *testing.B) {
		dst := make([]Result, 0, len(rollups))
		warm(e, func() { dst, _ = e.RollupsAt(now, time.Hour, dst[:0]) })
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			dst, _ = e.RollupsAt(now, time.Hour, dst[:0])
		}
		sinkResults = dst
	})
	b.Run("query-each", func(b *testing.B) {
		var r Result
		warm(e, func() {
			for _, ru := range rollups {
				e.QueryAt(now, Query{Segment: ru.Segment, Touchpoint: ru.Touchpoint, Window: time.Hour}, &r)
			}
		})
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			for _, ru := range rollups {
				e.QueryAt(now, Query{Segment: ru.Segment, Touchpoint: ru.Touchpoint, Window: time.Hour}, &r)
			}
		}
	})
}
