package main

import (
	"crypto/hmac"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cxscore/cxscore/alert"
	"github.com/cxscore/cxscore/engine"
)

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "alerts.json")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodAlerts = `{
  "webhooks": [{"name": "ops", "url": "http://127.0.0.1:9000/hook", "secret": "s3cret"}],
  "rules": [
    {"name": "detractor", "kind": "response", "metric": "nps", "max_score": 6, "segment": "*", "touchpoint": "*", "webhook": "ops"},
    {"name": "csat-low", "kind": "threshold", "metric": "csat", "window": "1h", "below": 70, "min_responses": 20, "cooldown": "10m", "webhook": "ops"},
    {"name": "nps-drop", "kind": "drop", "metric": "nps", "window": "1h", "against": "previous", "min_responses": 30, "cooldown": "10m", "segment": "enterprise", "touchpoint": "*", "webhook": "ops"},
    {"name": "ces-high", "kind": "threshold", "metric": "ces", "window": "7d", "above": 6},
    {"name": "csat-rise", "kind": "rise", "metric": "csat", "window": "24h", "against": "rest", "level": 0.01, "segment": "smb"}
  ]
}`

func TestAlertsFlag(t *testing.T) {
	c, err := parseFlags([]string{"-alerts", writeFile(t, goodAlerts), "-alert-every", "5s"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []alert.Rule{
		{Name: "detractor", Kind: alert.Response, Metric: engine.NPS, MaxScore: 6, Segment: "*", Touchpoint: "*", Webhook: "ops"},
		{Name: "csat-low", Kind: alert.Threshold, Metric: engine.CSAT, Window: time.Hour, Bound: 70, MinResponses: 20, Cooldown: 10 * time.Minute, Webhook: "ops"},
		{Name: "nps-drop", Kind: alert.Drop, Metric: engine.NPS, Window: time.Hour, Against: engine.Previous, MinResponses: 30, Cooldown: 10 * time.Minute,
			Segment: "enterprise", Touchpoint: "*", Webhook: "ops"},
		{Name: "ces-high", Kind: alert.Threshold, Metric: engine.CES, Window: 7 * 24 * time.Hour, Bound: 6, Above: true},
		{Name: "csat-rise", Kind: alert.Rise, Metric: engine.CSAT, Window: 24 * time.Hour, Against: engine.Rest, Level: 0.01, Segment: "smb"},
	}
	if c.alertEvery != 5*time.Second || c.alerts == nil || len(c.alerts.rules) != len(want) {
		t.Fatalf("got every %v, alerts %+v; want 5s and %d rules", c.alertEvery, c.alerts, len(want))
	}
	for i := range want {
		if c.alerts.rules[i] != want[i] {
			t.Errorf("rule %d: got %+v, want %+v", i, c.alerts.rules[i], want[i])
		}
	}
	if w := c.alerts.webhooks; len(w) != 1 || w[0].Name != "ops" || w[0].URL != "http://127.0.0.1:9000/hook" || w[0].Secret != "s3cret" {
		t.Errorf("got webhooks %+v, want ops", w)
	}
	if c, _ := parseFlags(nil, func(string) string { return "" }, io.Discard); c.alertEvery != 30*time.Second || c.alerts != nil {
		t.Errorf("defaults: got every %v, alerts %v; want 30s and none", c.alertEvery, c.alerts)
	}
}

func TestAlertsFlagRejects(t *testing.T) {
	hook := `"webhooks": [{"name": "ops", "url": "http://127.0.0.1:9000/hook"}], `
	rule := func(fields string) string {
		return `{` + hook + `"rules": [{"name": "r", ` + fields + `}]}`
	}
	const ok = `"kind": "threshold", "metric": "csat", "window": "1h", "below": 70`
	for name, tc := range map[string]struct{ file, want string }{
		"not JSON":        {`{"rules": [`, "ends in the middle"},
		"empty":           {``, "empty"},
		"unknown field":   {rule(ok + `, "belwo": 3`), `"belwo"`},
		"no rules":        {`{` + hook + `"rules": []}`, "rules: none"},
		"no max_score":    {rule(`"kind": "response", "metric": "nps"`), "max_score: missing"},
		"max_score high":  {rule(`"kind": "response", "metric": "nps", "max_score": 11`), "max_score: 11, want 0-10"},
		"max_score low":   {rule(`"kind": "response", "metric": "csat", "max_score": 0`), "max_score: 0, want 1-5"},
		"max_score float": {rule(`"kind": "response", "metric": "nps", "max_score": 6.5`), "max_score"},
		"response window": {rule(`"kind": "response", "metric": "nps", "max_score": 6, "window": "1h"`), "window: only for score rules"},
		"response cool":   {rule(`"kind": "response", "metric": "nps", "max_score": 6, "cooldown": "10m"`), "cooldown: only for score rules"},
		"response min":    {rule(`"kind": "response", "metric": "nps", "max_score": 6, "min_responses": 3`), "min_responses"},
		"response below":  {rule(`"kind": "response", "metric": "nps", "max_score": 6, "below": 3`), "below, above"},
		"response level":  {rule(`"kind": "response", "metric": "nps", "max_score": 6, "level": 0.1`), "against, level"},
		"response hook":   {rule(`"kind": "response", "metric": "nps", "max_score": 6, "webhook": "pager"`), "webhook"},
		"max_score score": {rule(ok + `, "max_score": 6`), "max_score: only for response rules"},
		"kind":            {rule(`"kind": "dip", "metric": "csat", "window": "1h"`), "kind"},
		"metric":          {rule(`"kind": "threshold", "metric": "xps", "window": "1h", "below": 7`), "metric"},
		"window":          {rule(`"kind": "threshold", "metric": "csat", "window": "1x", "below": 7`), "window"},
		"no window":       {rule(`"kind": "threshold", "metric": "csat", "below": 7`), "window: missing"},
		"cooldown":        {rule(ok + `, "cooldown": "soon"`), "cooldown"},
		"both bounds":     {rule(ok + `, "above": 90`), "below, above"},
		"no bound":        {rule(`"kind": "threshold", "metric": "csat", "window": "1h"`), "below, above"},
		"bound on drop":   {rule(`"kind": "drop", "metric": "csat", "window": "1h", "below": 7`), "below, above"},
		"against":         {rule(`"kind": "drop", "metric": "csat", "window": "1h", "against": "yesterday"`), "against"},
		"level":           {rule(`"kind": "drop", "metric": "csat", "window": "1h", "level": 2`), "level"},
		"min_responses":   {rule(ok + `, "min_responses": -1`), "min_responses"},
		"min as a string": {rule(ok + `, "min_responses": "20"`), "min_responses"},
		"unknown webhook": {rule(ok + `, "webhook": "pager"`), "webhook"},
		"webhook url":     {`{"webhooks": [{"name": "ops", "url": "ftp://x"}], "rules": [{"name": "r", ` + ok + `}]}`, "url"},
		"webhook name":    {`{"webhooks": [{"url": "http://x"}], "rules": [{"name": "r", ` + ok + `}]}`, "name"},
		"rule name":       {`{"rules": [{` + ok + `}]}`, "name"},
		"same rule twice": {`{"rules": [{"name": "r", ` + ok + `}, {"name": "r", ` + ok + `}]}`, "used twice"},
	} {
		var out strings.Builder
		_, err := parseFlags([]string{"-alerts", writeFile(t, tc.file)}, func(string) string { return "" }, &out)
		if !errors.Is(err, errUsage) || !strings.Contains(out.String(), tc.want) || !strings.Contains(out.String(), "-alerts") {
			t.Errorf("%s: got %v, output %q; want a usage error naming %s", name, err, out.String(), tc.want)
		}
	}
	var out strings.Builder
	if _, err := parseFlags([]string{"-alert-every", "0s"}, func(string) string { return "" }, &out); !errors.Is(err, errUsage) || !strings.Contains(out.String(), "-alert-every") {
		t.Errorf("-alert-every 0: got %v, %q; want a usage error", err, out.String())
	}
	if _, err := parseFlags([]string{"-alerts", filepath.Join(t.TempDir(), "missing.json")}, func(string) string { return "" }, io.Discard); !errors.Is(err, errUsage) {
		t.Errorf("missing file: got %v, want a usage error", err)
	}
}

// TestAlertsEndToEnd runs the sidecar with a threshold rule, a detractor
// response rule and a webhook to a receiver started here: low CSAT answers
// arrive as one signed firing alert; a detractor posted twice with the
// same response_id arrives once, a correction from 9 to 3 once, each under
// the event id ResponseEventID gives; SIGTERM stops the sidecar cleanly.
func TestAlertsEndToEnd(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("stops the sidecar with SIGTERM")
	}
	var mu sync.Mutex
	got := map[string][]map[string]any{} // bodies by event id
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if sig := r.Header.Get("X-Cxscore-Signature"); !hmac.Equal([]byte(sig), []byte(alert.Sign("s3cret", body))) {
			t.Errorf("got signature %q, want that of the body", sig)
		}
		var m map[string]any
		json.Unmarshal(body, &m)
		mu.Lock()
		got[r.Header.Get("X-Cxscore-Event-Id")] = append(got[r.Header.Get("X-Cxscore-Event-Id")], m)
		mu.Unlock()
	}))
	defer recv.Close()
	file := writeFile(t, `{"webhooks": [{"name": "ops", "url": "`+recv.URL+`", "secret": "s3cret"}],
	  "rules": [{"name": "csat-low", "kind": "threshold", "metric": "csat", "window": "1h", "below": 70, "min_responses": 3, "webhook": "ops"},
	    {"name": "detractor", "kind": "response", "metric": "nps", "max_score": 6, "segment": "*", "touchpoint": "*", "webhook": "ops"}]}`)
	sc := startSidecar(t, buildSidecar(t), "-addr", "127.0.0.1:0", "-alerts", file, "-alert-every", "50ms")
	post := func(lines ...string) {
		t.Helper()
		res, err := http.Post(sc.url+"/v1/events", ndjson, strings.NewReader(strings.Join(lines, "\n")))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			t.Fatalf("POST /v1/events: %s", res.Status)
		}
	}
	var events []string
	for range 4 {
		events = append(events, event("smb", "support", "csat", 1, "", time.Time{}))
	}
	post(events...)
	detractor := `{"segment": "smb", "touchpoint": "support", "metric": "nps", "score": 2, "customer_id": "c-1", "response_id": "r-1", "version": 1}`
	post(detractor)
	post(detractor) // a redelivery: no second alert
	post(`{"segment": "smb", "touchpoint": "support", "metric": "nps", "score": 9, "response_id": "r-2", "version": 1}`)
	post(`{"segment": "smb", "touchpoint": "support", "metric": "nps", "score": 3, "response_id": "r-2", "version": 2}`)
	sc.waitFor(t, "msg=alert")
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // several more evaluations: the rule stays true, nothing more fires
	mu.Lock()
	if len(got) != 3 {
		t.Errorf("got %d alerts %v, want 3", len(got), got)
	}
	for id, bodies := range got {
		b := bodies[0]
		if len(bodies) != 1 {
			t.Errorf("event id %s: got %d deliveries %v, want 1", id, len(bodies), bodies)
		}
		switch b["rule"] {
		case "csat-low":
			if b["state"] != "firing" || b["score"] != 0.0 || b["responses"] != 4.0 {
				t.Errorf("got %v, want one firing csat-low alert, score 0 from 4 responses", b)
			}
		case "detractor":
			r, _ := b["response"].(map[string]any)
			rid, _ := r["response_id"].(string)
			v, _ := r["version"].(float64)
			if id != alert.ResponseEventID("detractor", rid, uint64(v)) || b["kind"] != "response" || b["segment"] != "smb" || b["metric"] != "nps" {
				t.Errorf("event id %s: got %v, want a detractor alert under ResponseEventID", id, b)
			}
			if !(rid == "r-1" && v == 1 && r["score"] == 2.0 && r["customer_id"] == "c-1") && !(rid == "r-2" && v == 2 && r["score"] == 3.0) {
				t.Errorf("got response %v, want r-1 v1 score 2 of c-1 or r-2 v2 score 3", r)
			}
		default:
			t.Errorf("got %v, want csat-low or detractor", b)
		}
	}
	mu.Unlock()
	var list struct {
		Alerts []struct {
			Alert    map[string]any `json:"alert"`
			Webhook  string         `json:"webhook"`
			Delivery string         `json:"delivery"`
			Attempts int            `json:"attempts"`
		} `json:"alerts"`
	}
	delivered := func() bool {
		for _, a := range list.Alerts {
			if a.Delivery != "delivered" || a.Attempts != 1 || a.Webhook != "ops" {
				return false
			}
		}
		return len(list.Alerts) == 3
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		sc.get(t, "/v1/alerts", &list)
		if delivered() || time.Now().After(deadline) {
			break
		}
	}
	if !delivered() {
		t.Errorf("/v1/alerts: got %+v, want 3 alerts delivered to ops in 1 attempt each", list.Alerts)
	}
	metrics := sc.scrape(t)
	for _, want := range []string{`cxscore_alerts_fired_total{rule="csat-low",state="firing"} 1`,
		`cxscore_alerts_delivered_total{rule="csat-low",webhook="ops"} 1`, `cxscore_alerts_given_up_total{rule="csat-low",webhook="ops"} 0`,
		`cxscore_alerts_fired_total{rule="detractor",state="firing"} 2`, `cxscore_alerts_delivered_total{rule="detractor",webhook="ops"} 2`,
		`cxscore_alerts_queue_dropped_total{rule="detractor"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics: no %s in\n%s", want, grepLines(metrics, "cxscore_alerts"))
		}
	}
	sc.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-sc.done:
		if err != nil {
			t.Errorf("exit: %v, want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the sidecar did not stop within 30s of SIGTERM")
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// FuzzReadAlerts feeds readAlerts arbitrary files: it never panics, and
// what it accepts is a set of rules alert.New takes, each response rule's
// max_score on its metric's scale.
func FuzzReadAlerts(f *testing.F) {
	f.Add(goodAlerts)
	f.Add(`{"rules": [{"name": "d", "kind": "response", "metric": "nps", "max_score": 6}]}`)
	f.Add(`{"rules": [{"name": "d", "kind": "response", "metric": "csat", "max_score": 9, "window": "1h"}]}`)
	f.Add(`{"rules": [{"name": "d", "kind": "threshold", "metric": "ces", "window": "1h", "above": 5, "max_score": 3}]}`)
	f.Add(`{"rules": [`)
	dir := f.TempDir()
	fuzzEngine, err := engine.New(engine.Config{})
	if err != nil {
		f.Fatal(err)
	}
	defer fuzzEngine.Close()
	f.Fuzz(func(t *testing.T, text string) {
		p := filepath.Join(dir, "alerts.json")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := readAlerts(p)
		if err != nil {
			return
		}
		for _, r := range c.rules {
			if lo, hi := r.Metric.Scale(); r.Kind == alert.Response && (r.MaxScore < lo || r.MaxScore > hi || r.Window != 0 || r.Cooldown != 0) {
				t.Fatalf("accepted response rule %+v", r)
			}
		}
		if _, err := alert.New(alert.Config{Engine: fuzzEngine, Rules: c.rules}); err != nil {
			t.Fatalf("accepted %q, which alert.New refuses: %v", text, err)
		}
	})
}
