package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/window"
)

// newObserved returns an engine whose Observe feeds an evaluator of rules,
// and the evaluator.
func newObserved(t tb, rules []Rule, notify func(Alert)) (*engine.Engine, *Evaluator) {
	t.Helper()
	var ev *Evaluator
	e, err := engine.New(engine.Config{Clock: window.NewManualClock(t0), Observe: func(o *engine.Observation) { ev.Observe(o) }})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err = New(Config{Engine: e, Rules: rules, Notify: notify}); err != nil {
		t.Fatal(err)
	}
	return e, ev
}

// answer is the model's view of a response's answer.
type answer struct {
	seg, tp string
	metric  engine.Metric
	score   int
}

func (r *Rule) modelPasses(a answer) bool {
	return a.metric == r.Metric && a.score <= r.MaxScore &&
		(r.Segment == "*" || r.Segment == a.seg) && (r.Touchpoint == "*" || r.Touchpoint == "" || r.Touchpoint == a.tp)
}

// TestResponseRulesMatchModel records random events (anonymous and with
// ids, duplicates, older versions, corrections to passing and failing
// answers, across keys and metrics, deletions and re-creations) into an
// engine observed by random response rules: the multiset of alerts equals
// a model's, which holds each response's latest version and answer and
// fires a rule when an answer passes it and the response's previous
// answer did not.
func TestResponseRulesMatchModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var rules []Rule
		var metrics []engine.Metric
		for i := range rapid.IntRange(1, 4).Draw(t, "rules") {
			m := rapid.SampledFrom([]engine.Metric{engine.CSAT, engine.CES, engine.NPS}).Draw(t, "metric")
			lo, hi := m.Scale()
			rules = append(rules, Rule{Name: fmt.Sprint("r", i), Kind: Response, Metric: m,
				MaxScore:   rapid.IntRange(lo, hi).Draw(t, "max"),
				Segment:    rapid.SampledFrom([]string{"*", "a", "b"}).Draw(t, "segment"),
				Touchpoint: rapid.SampledFrom([]string{"*", "", "x", "y"}).Draw(t, "touchpoint")})
			metrics = append(metrics, m, m)
		}
		var got []string
		e, ev := newObserved(t, rules, func(a Alert) {
			if a.Kind != Response || a.State != Firing || a.Time != t0 {
				t.Fatalf("got alert %+v, want a firing response alert at %v", a, t0)
			}
			if r := a.Response.ResponseID; r != "" && a.EventID != ResponseEventID(a.Rule, r, a.Response.Version) {
				t.Fatalf("alert of %s v%d: event id %s, want ResponseEventID's", r, a.Response.Version, a.EventID)
			}
			got = append(got, fmt.Sprintf("%s %s/%d %s×%s %v %d", a.Rule, a.Response.ResponseID, a.Response.Version,
				a.Segment, a.Touchpoint, a.Metric, a.Response.Score))
		})
		defer e.Close()
		type held struct {
			version uint64
			ans     answer
		}
		model := map[string]held{}
		var want []string
		for i := range rapid.IntRange(1, 60).Draw(t, "steps") {
			id := rapid.SampledFrom([]string{"", "", "p", "q", "r"}).Draw(t, fmt.Sprint("id", i))
			if id != "" && rapid.IntRange(0, 9).Draw(t, "delete") == 0 {
				if _, err := e.DeleteResponseAt(t0, id); err != nil {
					t.Fatal(err)
				}
				continue // a deleted response keeps its version and answer in the model: re-created, it is compared with it
			}
			// Mostly the metric of a rule, and low scores half the time,
			// so that corrections between passing answers are common.
			m := rapid.SampledFrom(append(metrics, engine.CSAT, engine.CES, engine.NPS)).Draw(t, "m")
			lo, hi := m.Scale()
			if rapid.Bool().Draw(t, "low") {
				hi = lo + 2
			}
			a := answer{rapid.SampledFrom([]string{"a", "b"}).Draw(t, "seg"), rapid.SampledFrom([]string{"x", "y"}).Draw(t, "tp"),
				m, rapid.IntRange(lo, hi).Draw(t, "score")}
			v := uint64(rapid.IntRange(0, 4).Draw(t, "version"))
			if err := e.RecordAt(t0, engine.Event{Segment: a.seg, Touchpoint: a.tp, Metric: m, Score: a.score, ResponseID: id, Version: v}); err != nil {
				t.Fatal(err)
			}
			h, had := model[id]
			if id != "" && had && v <= h.version {
				continue // a duplicate
			}
			for _, r := range rules {
				if r.modelPasses(a) && !(id != "" && had && r.modelPasses(h.ans)) {
					seg, tp := a.seg, a.tp
					want = append(want, fmt.Sprintf("%s %s/%d %s×%s %v %d", r.Name, id, v, seg, tp, m, a.score))
				}
			}
			if id != "" {
				model[id] = held{v, a}
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("got alerts\n%v\nwant\n%v", got, want)
		}
		var fired uint64
		for _, c := range ev.Counts() {
			fired += c.Fired
		}
		if fired != uint64(len(want)) {
			t.Fatalf("Counts: %d fired, want %d", fired, len(want))
		}
	})
}

func TestResponseRuleRejects(t *testing.T) {
	ok := Rule{Name: "detractor", Kind: Response, Metric: engine.NPS, MaxScore: 6}
	if err := CheckRules([]Rule{ok}); err != nil {
		t.Fatalf("a detractor rule: %v", err)
	}
	for name, tc := range map[string]struct {
		edit func(*Rule)
		want string
	}{
		"max_score above":  {func(r *Rule) { r.MaxScore = 11 }, "max_score: 11, want 0-10"},
		"max_score below":  {func(r *Rule) { r.Metric, r.MaxScore = engine.CSAT, 0 }, "max_score: 0, want 1-5"},
		"window":           {func(r *Rule) { r.Window = time.Hour }, "window"},
		"cooldown":         {func(r *Rule) { r.Cooldown = time.Minute }, "cooldown"},
		"min_responses":    {func(r *Rule) { r.MinResponses = 3 }, "min_responses"},
		"bound":            {func(r *Rule) { r.Bound = 3 }, "bound"},
		"level":            {func(r *Rule) { r.Level = 0.01 }, "level"},
		"max_score scored": {func(r *Rule) { r.Kind, r.Window = Threshold, time.Hour }, "max_score: 6, only for response rules"},
	} {
		r := ok
		tc.edit(&r)
		if err := CheckRules([]Rule{r}); !errors.Is(err, ErrRule) || !containsWord(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want ErrRule with %q", name, err, tc.want)
		}
	}
	if _, err := New(Config{Rules: []Rule{ok}}); err != nil {
		t.Errorf("response rules alone, no engine: got %v, want none", err)
	}
}

func TestResponseEventID(t *testing.T) {
	id := ResponseEventID("detractor", "r-1", 2)
	if len(id) != 32 || id != ResponseEventID("detractor", "r-1", 2) {
		t.Fatalf("got %q, want 32 hex digits, the same every time", id)
	}
	for _, other := range []string{ResponseEventID("detractor", "r-1", 3), ResponseEventID("detractor", "r-2", 2),
		ResponseEventID("detractors", "r-1", 2), ResponseEventID("detractor-", "r-1", 2), ResponseEventID("detractor", "-r-1", 2)} {
		if other == id {
			t.Errorf("another rule, response or version: got the same id %s", id)
		}
	}
}

// A detractor fires once per response: not on its redelivery, not on a
// correction that stays a detractor, again on another response; a
// correction from a promoter fires; an anonymous one fires every time.
func TestResponseRuleFiresOnce(t *testing.T) {
	var got []Alert
	e, ev := newObserved(t, []Rule{
		{Name: "detractor", Kind: Response, Metric: engine.NPS, MaxScore: 6, Webhook: "ops"},
		{Name: "enterprise-web", Kind: Response, Metric: engine.NPS, MaxScore: 3, Segment: "enterprise", Touchpoint: "web"},
	}, func(a Alert) { got = append(got, a) })
	defer e.Close()
	rec := func(id string, v uint64, score int) {
		t.Helper()
		err := e.RecordAt(t0, engine.Event{Segment: "enterprise", Touchpoint: "web", Metric: engine.NPS, Score: score,
			ResponseID: id, Version: v, CustomerID: "c-7"})
		if err != nil {
			t.Fatal(err)
		}
	}
	rec("r-1", 1, 5)
	rec("r-1", 1, 5) // a duplicate
	rec("r-1", 2, 4) // still a detractor for "detractor"; newly ≤ 3? no: 4
	rec("r-2", 1, 9)
	rec("r-2", 2, 3) // a promoter corrected to a detractor: both rules
	rec("", 0, 6)
	rec("", 0, 6)
	var names []string
	for _, a := range got {
		names = append(names, a.Rule+" "+a.Response.ResponseID)
	}
	want := []string{"detractor r-1", "detractor r-2", "enterprise-web r-2", "detractor ", "detractor "}
	if !slices.Equal(names, want) {
		t.Fatalf("got %q, want %q", names, want)
	}
	if got[3].EventID == got[4].EventID {
		t.Errorf("two anonymous detractors: the same event id %s, want two", got[3].EventID)
	}
	a := got[1]
	if a.Webhook != "ops" || a.Segment != "enterprise" || a.Touchpoint != "web" || a.Response.CustomerID != "c-7" ||
		a.Response.Score != 3 || a.Response.Version != 2 || a.EventID != ResponseEventID("detractor", "r-2", 2) {
		t.Errorf("got %+v", a)
	}
	if c := ev.Counts()["detractor"]; c.Fired != 4 || c.Resolved != 0 {
		t.Errorf("got counts %+v, want 4 fired, none resolved", c)
	}
}

func TestResponseBody(t *testing.T) {
	at := time.Date(2026, 11, 24, 11, 0, 0, 0, time.FixedZone("", 3600))
	a := Alert{EventID: "e", Rule: "detractor", Kind: Response, State: Firing, Metric: engine.NPS, Segment: "enterprise",
		Touchpoint: "web", Time: at, Response: engine.Event{ResponseID: "r-1", Version: 2, CustomerID: "c-7", Score: 3, Time: at}}
	b, err := Body(a)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	r, _ := m["response"].(map[string]any)
	if m["kind"] != "response" || m["rule"] != "detractor" || m["segment"] != "enterprise" || m["touchpoint"] != "web" ||
		m["metric"] != "nps" || m["time"] != "2026-11-24T10:00:00Z" || m["current"] != nil || m["score"] != nil ||
		r["response_id"] != "r-1" || r["customer_id"] != "c-7" || r["score"] != 3.0 || r["version"] != 2.0 || r["time"] != "2026-11-24T10:00:00Z" {
		t.Errorf("got body %s", b)
	}
	a.Response.ResponseID, a.Response.CustomerID = "", ""
	b, _ = Body(a)
	m = nil
	json.Unmarshal(b, &m)
	if r, _ := m["response"].(map[string]any); len(r) != 3 {
		t.Errorf("an anonymous response: got %s, want no response_id or customer_id", b)
	}
}

func TestResponseQueueFullDrops(t *testing.T) {
	var ev *Evaluator
	e, err := engine.New(engine.Config{Observe: func(o *engine.Observation) { ev.Observe(o) }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if ev, err = New(Config{Queue: 2, Rules: []Rule{{Name: "low", Kind: Response, Metric: engine.CSAT, MaxScore: 2}}}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := e.Record(engine.Event{Segment: "s", Touchpoint: "t", Metric: engine.CSAT, Score: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if c := ev.Counts()["low"]; c.Fired != 5 || c.Dropped != 3 || len(ev.Alerts()) != 2 {
		t.Errorf("got %+v and %d queued, want 5 fired, 3 dropped, 2 queued", c, len(ev.Alerts()))
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	e, ev := newObserved(t, tenResponseRules(), nil)
	defer e.Close()
	for name, event := range map[string]engine.Event{
		"a promoter":                  {Segment: "s", Touchpoint: "t", Metric: engine.NPS, Score: 9, CustomerID: "c"},
		"a detractor of another key":  {Segment: "s", Touchpoint: "t", Metric: engine.NPS, Score: 2, CustomerID: "c"},
		"a duplicate of a detractor":  {Segment: "s", Touchpoint: "web", Metric: engine.NPS, Score: 2, ResponseID: "r", Version: 1},
		"a correction of a detractor": {Segment: "s", Touchpoint: "web", Metric: engine.NPS, Score: 2, ResponseID: "r2", Version: 1},
		"an answer of another metric": {Segment: "s", Touchpoint: "web", Metric: engine.CES, Score: 1},
	} {
		ev0 := event
		e.Record(ev0)
		n := testing.AllocsPerRun(1000, func() {
			if name == "a correction of a detractor" {
				ev0.Version++
			}
			e.Record(ev0)
		})
		if n != 0 {
			t.Errorf("Record of %s with 10 response rules: got %v allocs, want 0", name, n)
		}
	}
	if c := ev.Counts()["r0"]; c.Fired != 2 || c.Dropped != 0 {
		t.Errorf("got %+v, want only the first deliveries of the two detractors fired", c)
	}
}

// tenResponseRules are ten detractor rules on touchpoint "web" of as many
// segments (one of them "s"), as a service alerting per team has.
func tenResponseRules() []Rule {
	var rules []Rule
	for i := range 10 {
		seg := fmt.Sprint("team-", i)
		if i == 0 {
			seg = "s"
		}
		rules = append(rules, Rule{Name: fmt.Sprint("r", i), Kind: Response, Metric: engine.NPS, MaxScore: 6, Segment: seg, Touchpoint: "web"})
	}
	return rules
}

// Record from several goroutines while Evaluate runs, under -race: every
// detractor fires once.
func TestObserveConcurrent(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	responses := 0
	rules := append(tenResponseRules()[:1], Rule{Name: "low", Kind: Threshold, Metric: engine.NPS, Window: time.Hour, Bound: 50})
	e, ev := newObserved(t, rules, func(a Alert) {
		mu.Lock()
		seen[a.EventID]++
		if a.Kind == Response {
			responses++
		}
		mu.Unlock()
	})
	defer e.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				// Every goroutine delivers every response: each is recorded once, the rest are duplicates.
				e.RecordAt(t0, engine.Event{Segment: "s", Touchpoint: "web", Metric: engine.NPS, Score: (i + g) % 11,
					ResponseID: fmt.Sprint("r", i), Version: uint64(1 + (i+g)%2)})
				if i%50 == 0 {
					ev.Evaluate(t0)
				}
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for id, k := range seen {
		if k != 1 {
			t.Errorf("event id %s seen %d times, want once", id, k)
		}
	}
	if c := ev.Counts()["r0"]; c.Fired != uint64(responses) || c.Fired == 0 {
		t.Errorf("got %d response alerts, %d counted, want as many and some", responses, c.Fired)
	}
}

// A response alert pending at shutdown comes back from the saved state
// with its kind, event id and body byte for byte.
func TestResponseAlertSaved(t *testing.T) {
	a := Alert{EventID: ResponseEventID("detractor", "r-1", 2), Rule: "detractor", Kind: Response, State: Firing, Metric: engine.NPS,
		Segment: "smb", Touchpoint: "web", Time: t0, Response: engine.Event{ResponseID: "r-1", Version: 2, Score: 3, Time: t0}}
	body, err := Body(a)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Saved{Pending: map[string][]Pending{"ops": {{Alert: a, Body: body, Attempts: 2}}}}.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSaved(b)
	if err != nil {
		t.Fatal(err)
	}
	p := s.Pending["ops"]
	if len(p) != 1 || p[0].Alert.Kind != Response || p[0].Alert.EventID != a.EventID || string(p[0].Body) != string(body) || p[0].Attempts != 2 {
		t.Errorf("got %+v, want the response alert back", p)
	}
}
