package bench

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// smallHistory is a month of history small enough for a test under -race:
// about 60,000 events over 20 keys.
func smallHistory(t testing.TB) (*Workload, History) {
	t.Helper()
	w, err := NewWorkload(WorkloadConfig{Seed: 7, Events: 20_000, Segments: 5, Touchpoints: 4, Customers: 3_000, Rate: 5})
	if err != nil {
		t.Fatal(err)
	}
	h := DefaultHistory()
	h.DayRate, h.HourRate, h.FullMinutes = 20, 5, 61
	return w, h
}

// TestNaiveMatchesEngine checks that the baseline answers what the engine
// answers, so that the benchmarks compare like with like: the same events
// accepted and rejected, the same spans, the same counts, and unique
// customers exact where the engine is exact and within its error beyond.
func TestNaiveMatchesEngine(t *testing.T) {
	w, h := smallHistory(t)
	e, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	n := NewNaive()
	events := 0
	h.Replay(w, func(now time.Time, ev *engine.Event) {
		events++
		errE, errN := e.RecordAt(now, *ev), n.RecordAt(now, *ev)
		if (errE == nil) != (errN == nil) {
			t.Fatalf("event %+v at %v: engine error %v, naive error %v", ev, now, errE, errN)
		}
	})
	if events < 40_000 {
		t.Fatalf("history has %d events, want at least 40,000", events)
	}
	now := h.End
	// Rejections agree too, and change nothing.
	valid := engine.Event{CustomerID: "x", Segment: "consumer", Touchpoint: "web", Metric: engine.NPS, Score: 9, Time: now}
	for name, mutate := range map[string]func(*engine.Event){
		"too old":        func(ev *engine.Event) { ev.Time = now.Add(-70 * 24 * time.Hour) },
		"too new":        func(ev *engine.Event) { ev.Time = now.Add(2 * time.Minute) },
		"score":          func(ev *engine.Event) { ev.Score = 11 },
		"metric":         func(ev *engine.Event) { ev.Metric = 0 },
		"empty segment":  func(ev *engine.Event) { ev.Segment = "" },
		"just in future": func(ev *engine.Event) { ev.Time = now.Add(29 * time.Second) }, // in the minute that holds now: counted
	} {
		ev := valid
		mutate(&ev)
		errE, errN := e.RecordAt(now, ev), n.RecordAt(now, ev)
		if (errE == nil) != (errN == nil) {
			t.Errorf("%s: engine error %v, naive error %v", name, errE, errN)
		}
		if errE == nil {
			events++
		}
		if errE != nil && errors.Is(errE, engine.ErrTooOld) != errors.Is(errN, engine.ErrTooOld) {
			t.Errorf("%s: engine error %v, naive error %v: not the same sentinel", name, errE, errN)
		}
	}

	top := w.Keys()[0].Key
	rare := w.Keys()[len(w.Keys())-1].Key
	selections := []engine.Query{
		{Segment: top.Segment, Touchpoint: top.Touchpoint},
		{Segment: rare.Segment, Touchpoint: rare.Touchpoint},
		{Segment: w.Segments()[1], Touchpoint: w.Touchpoints()[2]},
		{Segment: top.Segment},
		{Touchpoint: "web"},
		{Segment: engine.All, Touchpoint: engine.All},
		{Segment: "no-such-segment"},
	}
	windows := []time.Duration{time.Minute, 5 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour,
		24 * time.Hour, 48 * time.Hour, 49 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour, 35 * 24 * time.Hour}
	// The whole month holds every event, and the busiest selections are
	// past the engine's exact limit.
	var all engine.Result
	if err := e.QueryAt(now, engine.Query{Window: 40 * 24 * time.Hour}, &all); err != nil {
		t.Fatal(err)
	}
	if all.Responses() != uint64(events) || all.UniqueCustomers <= 512 {
		t.Fatalf("a 40-day roll-up has %d responses of %d unique customers, want %d responses of more than 1,024",
			all.Responses(), all.UniqueCustomers, events)
	}
	checked := 0
	for _, sel := range selections {
		for _, win := range windows {
			q := sel
			q.Window = win
			var re, rn engine.Result
			if err := e.QueryAt(now, q, &re); err != nil {
				t.Fatal(err)
			}
			if err := n.QueryAt(now, q, &rn); err != nil {
				t.Fatal(err)
			}
			compare(t, fmt.Sprintf("%+v", q), &re, &rn)
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no query checked")
	}
	for _, tr := range []struct {
		window, step time.Duration
	}{{24 * time.Hour, time.Hour}, {2 * time.Hour, time.Minute}, {30 * 24 * time.Hour, 24 * time.Hour}, {2 * time.Hour, 15 * time.Minute}, {48 * time.Hour, 6 * time.Hour}} {
		for _, sel := range selections[:5] {
			q := sel
			q.Window = tr.window
			te, err := e.TrendAt(now, q, tr.step, nil)
			if err != nil {
				t.Fatal(err)
			}
			tn, err := n.TrendAt(now, q, tr.step, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(te) != len(tn) {
				t.Fatalf("trend %+v step %v: got %d naive points, want %d", q, tr.step, len(tn), len(te))
			}
			for i := range te {
				compare(t, fmt.Sprintf("trend %+v step %v point %d", q, tr.step, i), &te[i], &tn[i])
			}
		}
	}
}

// compare fails t unless the naive result n answers what the engine's e
// does: spans and counts equal; unique customers equal up to the engine's
// exact limit (512 at precision 12), within 6% (about 4 standard errors)
// beyond.
func compare(t *testing.T, what string, e, n *engine.Result) {
	t.Helper()
	if e.Segment != n.Segment || e.Touchpoint != n.Touchpoint || !e.From.Equal(n.From) || !e.To.Equal(n.To) {
		t.Errorf("%s: naive selects %s × %s [%v, %v), want %s × %s [%v, %v)", what,
			n.Segment, n.Touchpoint, n.From, n.To, e.Segment, e.Touchpoint, e.From, e.To)
	}
	if e.CSAT != n.CSAT || e.CES != n.CES || e.NPS != n.NPS {
		t.Errorf("%s: naive counts %v %v %v, want %v %v %v", what, n.CSAT, n.CES, n.NPS, e.CSAT, e.CES, e.NPS)
	}
	got, want := float64(n.UniqueCustomers), float64(e.UniqueCustomers)
	switch {
	case n.UniqueCustomers <= 512 && got != want:
		t.Errorf("%s: naive counts %v unique customers, the engine (exact here) %v", what, got, want)
	case math.Abs(got-want) > 0.06*got:
		t.Errorf("%s: naive counts %v unique customers, the engine estimates %v: more than 6%% apart", what, got, want)
	}
}
