package alert

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/window"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// tb is what the helpers need of a *testing.T or *rapid.T.
type tb interface {
	Helper()
	Fatal(...any)
}

func newEngine(t tb) (*engine.Engine, *window.ManualClock) {
	t.Helper()
	clock := window.NewManualClock(t0)
	e, err := engine.New(engine.Config{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return e, clock
}

func record(t tb, e *engine.Engine, at time.Time, seg string, m engine.Metric, scores ...int) {
	t.Helper()
	for _, s := range scores {
		if err := e.RecordAt(at, engine.Event{Segment: seg, Touchpoint: "web", Metric: m, Score: s, Time: at}); err != nil {
			t.Fatal(err)
		}
	}
}

func repeat(score, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = score
	}
	return s
}

// notice is what the model predicts of an alert.
type notice struct {
	state State
	at    time.Time
}

// TestThresholdMatchesModel checks the fired/resolved sequence of a CSAT
// threshold rule against a brute-force model: the events in the window's
// minutes, the rule's test, and the firing/cooldown state machine of the
// package doc.
func TestThresholdMatchesModel(t *testing.T) {
	const w = 10 * time.Minute
	rapid.Check(t, func(t *rapid.T) {
		e, clock := newEngine(t)
		defer e.Close()
		rule := Rule{
			Name: "r", Kind: Threshold, Metric: engine.CSAT, Window: w,
			Segment:      rapid.SampledFrom([]string{"*", "a"}).Draw(t, "segment"),
			Bound:        float64(rapid.IntRange(0, 100).Draw(t, "bound")),
			Above:        rapid.Bool().Draw(t, "above"),
			MinResponses: rapid.IntRange(0, 3).Draw(t, "min"),
			Cooldown:     time.Duration(rapid.IntRange(0, 15).Draw(t, "cooldown")) * time.Minute,
		}
		var got []Alert
		ev, err := New(Config{Engine: e, Rules: []Rule{rule}, Notify: func(a Alert) { got = append(got, a) }})
		if err != nil {
			t.Fatal(err)
		}
		type event struct {
			at        time.Time
			seg       string
			satisfied bool
		}
		var events []event
		var want []notice
		firing, fired := false, time.Time{}
		everFired := false
		for i := range rapid.IntRange(1, 100).Draw(t, "steps") {
			now := clock.Now()
			switch rapid.IntRange(0, 3).Draw(t, fmt.Sprint("op", i)) {
			case 0:
				seg := rapid.SampledFrom([]string{"a", "b"}).Draw(t, "seg")
				score := rapid.IntRange(1, 5).Draw(t, "score")
				record(t, e, now, seg, engine.CSAT, score)
				events = append(events, event{now, seg, score >= 4})
			case 1:
				// Whole minutes mostly, so that cooldowns end exactly at an evaluation.
				clock.Advance(time.Duration(rapid.IntRange(0, 6).Draw(t, "minutes"))*time.Minute +
					time.Duration(rapid.SampledFrom([]int{0, 0, 0, 30}).Draw(t, "seconds"))*time.Second)
			default: // evaluations half the time, so that flaps meet cooldowns
				ev.Evaluate(now)
				// The window is the 10 minutes ending now, from the minute
				// edge nearest to now − w (engine.Result's From, To).
				f := now.Add(-w)
				from := f.Truncate(time.Minute)
				if next := from.Add(time.Minute); next.Sub(f) < f.Sub(from) {
					from = next
				}
				var n, sat uint64
				for _, x := range events {
					if !x.at.Before(from) && !x.at.After(now) && (rule.Segment == "*" || rule.Segment == x.seg) {
						n++
						if x.satisfied {
							sat++
						}
					}
				}
				score := 100 * float64(sat) / float64(n)
				ok := n > 0 && n >= uint64(rule.MinResponses) &&
					((rule.Above && score > rule.Bound) || (!rule.Above && score < rule.Bound))
				switch {
				case ok && !firing && (!everFired || now.Sub(fired) >= rule.Cooldown):
					firing, fired, everFired = true, now, true
					want = append(want, notice{Firing, now})
				case !ok && firing:
					firing = false
					want = append(want, notice{Resolved, now})
				}
			}
		}
		if len(got) != len(want) {
			t.Fatalf("got %d alerts %v, want %d %v", len(got), got, len(want), want)
		}
		var lastFiring Alert
		for i := range got {
			if got[i].State != want[i].state || !got[i].Time.Equal(want[i].at) {
				t.Fatalf("alert %d: got %v at %v, want %v at %v", i, got[i].State, got[i].Time, want[i].state, want[i].at)
			}
			if got[i].EventID == "" || (i > 0 && got[i].EventID == got[i-1].EventID) {
				t.Fatalf("alert %d: event id %q, want a new one", i, got[i].EventID)
			}
			switch got[i].State {
			case Firing:
				if lastFiring.EventID != "" && got[i].Time.Sub(lastFiring.Time) < rule.Cooldown {
					t.Fatalf("fired at %v and %v, within the cooldown %v", lastFiring.Time, got[i].Time, rule.Cooldown)
				}
				lastFiring = got[i]
			case Resolved:
				if got[i].FiredID != lastFiring.EventID {
					t.Fatalf("resolved %q, want the last firing %q", got[i].FiredID, lastFiring.EventID)
				}
			}
		}
		c := ev.Counts()["r"]
		if c.Fired+c.Resolved != uint64(len(got)) || c.Dropped != 0 || c.Errors != 0 {
			t.Fatalf("got counts %+v, want %d alerts, none dropped", c, len(got))
		}
	})
}

func TestDropAndRise(t *testing.T) {
	e, clock := newEngine(t)
	defer e.Close()
	// The previous hour: 40 promoters; this hour: 40 detractors.
	record(t, e, t0, "a", engine.NPS, repeat(10, 40)...)
	now := t0.Add(90 * time.Minute) // the window is [t0+30m, now], the previous hour [t0-30m, t0+30m)
	clock.Set(now)
	record(t, e, now, "a", engine.NPS, repeat(2, 40)...)
	var got []Alert
	ev, err := New(Config{Engine: e, Notify: func(a Alert) { got = append(got, a) }, Rules: []Rule{
		{Name: "drop", Kind: Drop, Metric: engine.NPS, Window: time.Hour, MinResponses: 30},
		{Name: "rise", Kind: Rise, Metric: engine.NPS, Window: time.Hour, MinResponses: 30},
		{Name: "drop-needs-more", Kind: Drop, Metric: engine.NPS, Window: time.Hour, MinResponses: 41},
		{Name: "drop-csat", Kind: Drop, Metric: engine.CSAT, Window: time.Hour},
		{Name: "drop-b", Kind: Drop, Metric: engine.NPS, Window: time.Hour, Segment: "b"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ev.Evaluate(now)
	if len(got) != 1 || got[0].Rule != "drop" || got[0].State != Firing {
		t.Fatalf("got %+v, want the drop rule alone firing", got)
	}
	a := got[0]
	if !a.HasPValue || a.PValue >= 0.05 || a.Difference != -200 || a.Current.Responses != 40 || a.Baseline.Responses != 40 ||
		a.Current.Score != -100 || a.Baseline.Score != 100 || !(a.Low < a.High && a.High < 0) {
		t.Errorf("got evidence %+v, want NPS -100 against 100 from 40 each, p < 0.05, interval below 0", a)
	}
	// An hour later the window is empty: the drop resolves.
	ev.Evaluate(now.Add(time.Hour))
	if len(got) != 2 || got[1].State != Resolved || got[1].FiredID != a.EventID {
		t.Fatalf("got %+v, want the drop resolved", got[1:])
	}
}

func TestQueueFullDrops(t *testing.T) {
	e, _ := newEngine(t)
	defer e.Close()
	record(t, e, t0, "a", engine.CSAT, 1, 1, 1)
	var rules []Rule
	for i := range 5 {
		rules = append(rules, Rule{Name: fmt.Sprint("low", i), Kind: Threshold, Metric: engine.CSAT, Window: time.Hour, Bound: 50})
	}
	ev, err := New(Config{Engine: e, Rules: rules, Queue: 2})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { ev.Evaluate(t0); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Evaluate blocked on a full queue")
	}
	if n := len(ev.Alerts()); n != 2 {
		t.Errorf("got %d alerts queued, want 2", n)
	}
	var fired, dropped uint64
	for _, c := range ev.Counts() {
		fired, dropped = fired+c.Fired, dropped+c.Dropped
	}
	if fired != 5 || dropped != 3 {
		t.Errorf("got %d fired, %d dropped; want 5 and 3", fired, dropped)
	}
}

func TestNewRejects(t *testing.T) {
	e, _ := newEngine(t)
	defer e.Close()
	ok := Rule{Name: "r", Kind: Threshold, Metric: engine.CSAT, Window: time.Hour, Bound: 70}
	for name, tc := range map[string]struct {
		edit func(*Rule)
		want string
	}{
		"name":     {func(r *Rule) { r.Name = "" }, "name"},
		"kind":     {func(r *Rule) { r.Kind = 0 }, "kind"},
		"metric":   {func(r *Rule) { r.Metric = 0 }, "metric"},
		"window":   {func(r *Rule) { r.Window = 0 }, "window"},
		"min":      {func(r *Rule) { r.MinResponses = -1 }, "min_responses"},
		"cooldown": {func(r *Rule) { r.Cooldown = -time.Second }, "cooldown"},
		"against":  {func(r *Rule) { r.Against = engine.Rest }, "against"},
		"level":    {func(r *Rule) { r.Kind, r.Level = Drop, 1.5 }, "level"},
	} {
		r := ok
		tc.edit(&r)
		_, err := New(Config{Engine: e, Rules: []Rule{r}})
		if !errors.Is(err, ErrRule) || !containsWord(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want ErrRule naming %s", name, err, tc.want)
		}
	}
	if _, err := New(Config{Engine: e, Rules: []Rule{ok, ok}}); !errors.Is(err, ErrRule) {
		t.Errorf("twice: got %v, want ErrRule", err)
	}
	if _, err := New(Config{Rules: []Rule{ok}}); !errors.Is(err, ErrConfig) {
		t.Errorf("no engine: got %v, want ErrConfig", err)
	}
}

func containsWord(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if s[i:i+len(w)] == w {
			return true
		}
	}
	return false
}

func TestRunStops(t *testing.T) {
	e, _ := newEngine(t)
	defer e.Close()
	ev, err := New(Config{Engine: e})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- ev.Run(ctx, time.Millisecond) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// TestConcurrent records, evaluates and reads counters at once, for -race.
func TestConcurrent(t *testing.T) {
	e, _ := newEngine(t)
	defer e.Close()
	ev, err := New(Config{Engine: e, Queue: 4, Rules: []Rule{
		{Name: "low", Kind: Threshold, Metric: engine.CSAT, Window: time.Hour, Bound: 50},
		{Name: "drop", Kind: Drop, Metric: engine.CSAT, Window: time.Hour, Segment: "a"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				at := t0.Add(time.Duration(i) * time.Second)
				switch g {
				case 0:
					e.RecordAt(at, engine.Event{Segment: "a", Touchpoint: "web", Metric: engine.CSAT, Score: 1 + i%5, Time: at})
				case 1:
					ev.Evaluate(at)
				default:
					ev.Counts()
					select {
					case <-ev.Alerts():
					default:
					}
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("timed out")
	}
}
