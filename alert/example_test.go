package alert_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/cxscore/cxscore/alert"
	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/window"
)

func Example() {
	clock := window.NewManualClock(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	e, _ := engine.New(engine.Config{Clock: clock})
	defer e.Close()
	ev, err := alert.New(alert.Config{Engine: e, Rules: []alert.Rule{{
		Name: "csat-low", Kind: alert.Threshold, Metric: engine.CSAT,
		Window: time.Hour, Bound: 70, MinResponses: 3, Cooldown: 10 * time.Minute,
	}}})
	if err != nil {
		panic(err)
	}
	for _, score := range []int{5, 2, 1, 2} {
		e.Record(engine.Event{Segment: "smb", Touchpoint: "support", Metric: engine.CSAT, Score: score})
	}
	ev.Evaluate(clock.Now()) // fires: 25% satisfied from 4 responses
	clock.Advance(time.Minute)
	ev.Evaluate(clock.Now()) // still true: nothing new
	clock.Advance(2 * time.Hour)
	ev.Evaluate(clock.Now()) // the window is empty: resolved
	for len(ev.Alerts()) > 0 {
		a := <-ev.Alerts()
		fmt.Printf("%s %s at %s: CSAT %.0f from %d responses\n", a.Rule, a.State, a.Time.Format("15:04"), a.Current.Score, a.Current.Responses)
	}
	// Output:
	// csat-low firing at 10:00: CSAT 25 from 4 responses
	// csat-low resolved at 12:01: CSAT 0 from 0 responses
}

// A drop rule: this hour's NPS significantly below the previous hour's.
func ExampleRule_drop() {
	clock := window.NewManualClock(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	e, _ := engine.New(engine.Config{Clock: clock})
	defer e.Close()
	record := func(score, n int) {
		for range n {
			e.Record(engine.Event{Segment: "enterprise", Touchpoint: "web", Metric: engine.NPS, Score: score})
		}
	}
	record(10, 30)
	clock.Advance(90 * time.Minute) // the window ends now; the previous hour holds the 10s
	record(3, 30)
	ev, _ := alert.New(alert.Config{Engine: e, Notify: func(a alert.Alert) {
		fmt.Printf("%s %s: NPS %+.0f (%.0f → %.0f), p < 0.001: %v\n", a.Rule, a.State,
			a.Difference, a.Baseline.Score, a.Current.Score, a.PValue < 0.001)
	}, Rules: []alert.Rule{{
		Name: "nps-drop", Kind: alert.Drop, Metric: engine.NPS, Segment: "enterprise",
		Window: time.Hour, Against: engine.Previous, MinResponses: 30,
	}}})
	ev.Evaluate(clock.Now())
	// Output: nps-drop firing: NPS -200 (100 → -100), p < 0.001: true
}

// A receiver checks a delivery's signature over the raw body.
func ExampleSign() {
	body := []byte(`{"rule":"csat-low","state":"firing"}`)
	fmt.Println(alert.Sign("s3cret", body))
	// Output: sha256=12b546d5a1594d12dfe27b8a6f5992ee05bf12d4cc841de2c63bdbacddd88546
}

// Keeping alert state across a restart: the saved JSON restored into a new
// evaluator, which does not fire the rule that is still firing again.
func ExampleEvaluator_Restore() {
	clock := window.NewManualClock(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	e, _ := engine.New(engine.Config{Clock: clock})
	defer e.Close()
	rules := []alert.Rule{{Name: "csat-low", Kind: alert.Threshold, Metric: engine.CSAT, Window: time.Hour, Bound: 70}}
	notify := func(a alert.Alert) { fmt.Println(a.Rule, a.State, a.Time.Format("15:04")) }
	ev, _ := alert.New(alert.Config{Engine: e, Rules: rules, Notify: notify})
	e.Record(engine.Event{Segment: "smb", Touchpoint: "support", Metric: engine.CSAT, Score: 1})
	ev.Evaluate(clock.Now()) // fires

	saved, _ := alert.Saved{Rules: ev.State()}.AppendJSON(nil) // written to a file at shutdown
	s, err := alert.ParseSaved(saved)                          // read from it at start
	if err != nil {
		panic(err)
	}
	restarted, _ := alert.New(alert.Config{Engine: e, Rules: rules, Notify: notify})
	restarted.Restore(s.Rules)
	clock.Advance(time.Minute)
	restarted.Evaluate(clock.Now()) // still true, already firing: nothing
	clock.Advance(2 * time.Hour)
	restarted.Evaluate(clock.Now()) // resolved
	// Output:
	// csat-low firing 10:00
	// csat-low resolved 12:01
}

// Undelivered alerts across a restart: Pending after Close, saved, and
// Restore in the next process's webhook, which sends them with the same
// event id and body.
func ExampleWebhook_Restore() {
	down, _ := alert.NewWebhook(alert.WebhookConfig{Name: "ops", URL: "http://127.0.0.1:1/hook"}) // nothing listens
	down.Send(alert.Alert{EventID: "9f2c", Rule: "csat-low", Kind: alert.Threshold, State: alert.Firing,
		Metric: engine.CSAT, Segment: "*", Touchpoint: "web", Time: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)})
	down.Close() // at shutdown: the alert stays pending
	saved, _ := alert.Saved{Pending: map[string][]alert.Pending{"ops": down.Pending()}}.AppendJSON(nil)

	s, _ := alert.ParseSaved(saved) // in the next process
	got := make(chan string, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("X-Cxscore-Event-Id")
	}))
	defer receiver.Close()
	up, _ := alert.NewWebhook(alert.WebhookConfig{Name: "ops", URL: receiver.URL})
	defer up.Close()
	up.Restore(s.Pending["ops"])
	fmt.Println("delivered", <-got)
	// Output: delivered 9f2c
}

// A response rule: every NPS detractor, once per response. The engine
// tells the evaluator of each answer through Config.Observe; the
// evaluator needs no engine for response rules alone, so it is made first.
func ExampleEvaluator_Observe() {
	ev, err := alert.New(alert.Config{Notify: func(a alert.Alert) {
		fmt.Printf("%s: %s scored %d in %s × %s\n", a.Rule, a.Response.ResponseID, a.Response.Score, a.Segment, a.Touchpoint)
	}, Rules: []alert.Rule{{Name: "detractor", Kind: alert.Response, Metric: engine.NPS, MaxScore: 6}}})
	if err != nil {
		panic(err)
	}
	e, _ := engine.New(engine.Config{Observe: ev.Observe})
	defer e.Close()
	answer := func(id string, version uint64, score int) {
		e.Record(engine.Event{Segment: "enterprise", Touchpoint: "support", Metric: engine.NPS,
			Score: score, ResponseID: id, Version: version})
	}
	answer("r-1", 1, 4)
	answer("r-1", 1, 4) // a redelivery: not again
	answer("r-1", 2, 2) // corrected, still a detractor: not again
	answer("r-2", 1, 9)
	answer("r-2", 2, 3) // corrected from a promoter: fires
	// Output:
	// detractor: r-1 scored 4 in enterprise × support
	// detractor: r-2 scored 3 in enterprise × support
}
