package alert

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cxscore/cxscore/engine"
)

// restart saves ev's state through its JSON form and restores it into a
// new evaluator of the same rules.
func restart(t tb, ev *Evaluator, e *engine.Engine, rules []Rule, notify func(Alert)) *Evaluator {
	t.Helper()
	b, err := Saved{Rules: ev.State()}.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSaved(b)
	if err != nil {
		t.Fatal(fmt.Sprint(err, " in ", string(b)))
	}
	ev2, err := New(Config{Engine: e, Rules: rules, Notify: notify})
	if err != nil {
		t.Fatal(err)
	}
	ev2.Restore(s.Rules)
	return ev2
}

// TestRestartMatchesModel: an evaluator restarted (through the JSON form
// of its state) at random moments raises the same alerts, at the same
// times, as one that never restarts: a restart neither fires a firing rule
// again nor forgets a cooldown, and a resolution names the firing it ends
// even across a restart.
func TestRestartMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e, clock := newEngine(t)
		defer e.Close()
		rules := []Rule{
			{Name: "low", Kind: Threshold, Metric: engine.CSAT, Window: 10 * time.Minute, Bound: 50,
				Cooldown: time.Duration(rapid.IntRange(0, 15).Draw(t, "cooldown")) * time.Minute},
			{Name: "high-a", Kind: Threshold, Metric: engine.CSAT, Segment: "a", Window: 5 * time.Minute, Bound: 50, Above: true, MinResponses: 2},
		}
		var model, got []Alert
		ref, err := New(Config{Engine: e, Rules: rules, Notify: func(a Alert) { model = append(model, a) }})
		if err != nil {
			t.Fatal(err)
		}
		notify := func(a Alert) { got = append(got, a) }
		ev := restart(t, ref, e, rules, notify)
		for i := range rapid.IntRange(1, 80).Draw(t, "steps") {
			now := clock.Now()
			switch rapid.IntRange(0, 4).Draw(t, fmt.Sprint("op", i)) {
			case 0:
				record(t, e, now, rapid.SampledFrom([]string{"a", "b"}).Draw(t, "seg"), engine.CSAT, rapid.IntRange(1, 5).Draw(t, "score"))
			case 1:
				clock.Advance(time.Duration(rapid.IntRange(0, 6).Draw(t, "minutes")) * time.Minute)
			case 2:
				ev = restart(t, ev, e, rules, notify)
			default:
				ref.Evaluate(now)
				ev.Evaluate(now)
			}
		}
		if len(got) != len(model) {
			t.Fatalf("got %d alerts, want the model's %d: %v vs %v", len(got), len(model), got, model)
		}
		fired := map[string]string{} // the event id of each rule's last firing
		for i := range got {
			g, m := got[i], model[i]
			if g.Rule != m.Rule || g.State != m.State || !g.Time.Equal(m.Time) {
				t.Fatalf("alert %d: got %s %v at %v, want %s %v at %v", i, g.Rule, g.State, g.Time, m.Rule, m.State, m.Time)
			}
			if g.State == Firing {
				fired[g.Rule] = g.EventID
			} else if g.FiredID != fired[g.Rule] || g.FiredID == "" {
				t.Fatalf("alert %d: resolves %q, want %s's last firing %q", i, g.FiredID, g.Rule, fired[g.Rule])
			}
		}
	})
}

// TestRestoreIgnoresChangedRules: a saved state applies only to a rule of
// the same name, kind, metric and selection.
func TestRestoreIgnoresChangedRules(t *testing.T) {
	e, _ := newEngine(t)
	defer e.Close()
	rules := []Rule{{Name: "r", Kind: Threshold, Metric: engine.CSAT, Segment: "a", Window: time.Hour, Bound: 50}, {Name: "s", Kind: Threshold, Metric: engine.CES, Window: time.Hour, Bound: 3}}
	ev, err := New(Config{Engine: e, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	saved := []RuleState{
		{Rule: "r", Kind: Threshold, Metric: engine.CSAT, Segment: "b", Touchpoint: "*", Firing: true, FiredID: "x", LastFired: t0}, // another segment
		{Rule: "s", Kind: Threshold, Metric: engine.CES, Segment: "*", Touchpoint: "*", Firing: true, FiredID: "y", LastFired: t0},
		{Rule: "gone", Kind: Drop, Metric: engine.NPS, Segment: "*", Touchpoint: "*"},
	}
	if n := ev.Restore(saved); n != 1 {
		t.Errorf("got %d restored, want 1 (s)", n)
	}
	want := []RuleState{
		{Rule: "r", Kind: Threshold, Metric: engine.CSAT, Segment: "a", Touchpoint: "*"},
		{Rule: "s", Kind: Threshold, Metric: engine.CES, Segment: "*", Touchpoint: "*", Firing: true, FiredID: "y", LastFired: t0},
	}
	if got := ev.State(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func validSaved() Saved {
	body, _ := Body(thresholdAlert("e1"))
	head, _ := parseHead(body)
	head.Webhook = "ops"
	return Saved{
		Rules: []RuleState{
			{Rule: "csat-low", Kind: Threshold, Metric: engine.CSAT, Segment: "*", Touchpoint: "web", Firing: true, FiredID: "e1", LastFired: t0},
			{Rule: "nps-drop", Kind: Drop, Metric: engine.NPS, Segment: "enterprise", Touchpoint: "*"},
		},
		Pending: map[string][]Pending{"ops": {{Alert: head, Body: body, Attempts: 3}}},
	}
}

func TestSavedRoundTrip(t *testing.T) {
	s := validSaved()
	b, err := s.AppendJSON([]byte("x"))
	if err != nil || b[0] != 'x' {
		t.Fatalf("AppendJSON: got %q, %v; want x and JSON", b, err)
	}
	got, err := ParseSaved(b[1:])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("got %+v, want %+v", got, s)
	}
	a := got.Pending["ops"][0].Alert
	if a.EventID != "e1" || a.Rule != "csat-low" || a.Kind != Threshold || a.State != Firing || a.Metric != engine.CSAT || !a.Time.Equal(t0) || a.Webhook != "ops" {
		t.Errorf("restored alert: got %+v, want e1 of csat-low", a)
	}
}

func TestParseSavedRejects(t *testing.T) {
	body := `{"event_id":"e","state":"firing","rule":"r","kind":"threshold","segment":"*","touchpoint":"*","metric":"csat","time":"2026-11-24T10:00:00Z"}`
	for name, tc := range map[string]struct{ in, want string }{
		"empty":         {``, "not the JSON"},
		"not JSON":      {`{"version": 1,`, "not the JSON"},
		"two values":    {`{"version": 1} {}`, "more than one"},
		"version":       {`{"version": 2}`, "version 2, want 1"},
		"no version":    {`{}`, "version 0"},
		"unknown field": {`{"version": 1, "rulez": []}`, "rulez"},
		"rule name":     {`{"version": 1, "rules": [{"kind": "threshold", "metric": "csat"}]}`, "rule: empty"},
		"kind":          {`{"version": 1, "rules": [{"rule": "r", "kind": "dip", "metric": "csat"}]}`, `kind "dip"`},
		"metric":        {`{"version": 1, "rules": [{"rule": "r", "kind": "drop", "metric": "xps"}]}`, `metric "xps"`},
		"firing no id":  {`{"version": 1, "rules": [{"rule": "r", "kind": "drop", "metric": "nps", "firing": true}]}`, "fired_id"},
		"attempts":      {`{"version": 1, "pending": {"ops": [{"attempts": -1, "body": ` + body + `}]}}`, "attempts -1"},
		"body missing":  {`{"version": 1, "pending": {"ops": [{"attempts": 1}]}}`, "body"},
		"body fields":   {`{"version": 1, "pending": {"ops": [{"attempts": 1, "body": {"event_id": "e"}}]}}`, "no kind, metric, rule, segment, state, time, touchpoint"},
		"body state":    {`{"version": 1, "pending": {"ops": [{"body": ` + bytes.NewBufferString(body).String()[:len(body)-1] + `,"state":"odd"}}]}}`, `state "odd"`},
	} {
		_, err := ParseSaved([]byte(tc.in))
		if !errors.Is(err, ErrState) || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
			t.Errorf("%s: got %v, want ErrState naming %s", name, err, tc.want)
		}
	}
}

// FuzzParseSaved: ParseSaved returns a Saved or an ErrState, never
// panics, and what it returns round-trips through AppendJSON.
func FuzzParseSaved(f *testing.F) {
	valid, _ := validSaved().AppendJSON(nil)
	f.Add(valid)
	f.Add([]byte(`{"version": 1}`))
	f.Add([]byte(`{"version": 1, "rules": [], "pending": {}}`))
	f.Add([]byte(`{"version": 1, "pending": {"ops": [{"attempts": 1, "body": {"event_id": "e"}}]}}`))
	f.Add(valid[:len(valid)/2])
	f.Add([]byte(`{"version": 2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSaved(b)
		if err != nil {
			if !errors.Is(err, ErrState) {
				t.Fatalf("got %v, want an ErrState", err)
			}
			return
		}
		again, err := s.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := ParseSaved(again)
		if err != nil {
			t.Fatalf("re-parsing %s: %v", again, err)
		}
		if len(s2.Rules) != len(s.Rules) || len(s2.Pending) != len(s.Pending) {
			t.Fatalf("round trip: got %+v, want %+v", s2, s)
		}
		for i := range s.Rules {
			if a, b := s.Rules[i], s2.Rules[i]; a.Rule != b.Rule || a.Kind != b.Kind || a.Firing != b.Firing || !a.LastFired.Equal(b.LastFired) {
				t.Fatalf("round trip rule %d: got %+v, want %+v", i, b, a)
			}
		}
		for hook, ps := range s.Pending {
			for i, p := range ps {
				if q := s2.Pending[hook][i]; q.Alert.EventID != p.Alert.EventID || q.Attempts != p.Attempts {
					t.Fatalf("round trip pending %s[%d]: got %+v, want %+v", hook, i, q, p)
				}
			}
		}
	})
}
