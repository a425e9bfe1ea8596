package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestDashboardAlertsInBrowser opens the dashboard of a sidecar with
// -alerts in headless Chromium: the recent alerts are listed, newest
// first, with their time, rule, kind, selection, state and delivery, as
// GET /v1/alerts has them; a delivery that ends is updated in place. (The
// section is hidden without -alerts: TestDashboardInBrowser's token step.)
func TestDashboardAlertsInBrowser(t *testing.T) {
	chromium := findChromium(t)
	var fail = make(chan struct{})
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-fail:
		default:
			w.WriteHeader(http.StatusServiceUnavailable) // until the test says
			return
		}
	}))
	defer recv.Close()
	file := writeFile(t, `{"webhooks": [{"name": "ops", "url": "`+recv.URL+`", "backoff": "50ms", "max_backoff": "50ms", "attempts": 1000}],
	  "rules": [
	    {"name": "csat-low", "kind": "threshold", "metric": "csat", "window": "1h", "below": 70, "min_responses": 3, "segment": "smb", "touchpoint": "support", "webhook": "ops"},
	    {"name": "ces-hard", "kind": "threshold", "metric": "ces", "window": "1h", "below": 4, "min_responses": 3}
	  ]}`)
	sc := startSidecar(t, buildSidecar(t), "-addr", "127.0.0.1:0", "-alerts", file, "-alert-every", "50ms")
	var events []string
	for range 4 {
		events = append(events, event("smb", "support", "csat", 1, "", time.Time{}), event("smb", "web", "ces", 2, "", time.Time{}))
	}
	postEvents(t, sc, events...)
	browser := newBrowser(t, chromium)
	tab := openTab(t, browser, sc.url+"/")

	tab.poll(t, "two alerts listed", `document.querySelectorAll('#alerts tbody tr').length === 2`)
	if eval[bool](t, tab, `document.querySelector('#alerts-section').hidden`) {
		t.Fatal("with -alerts: the alerts section is hidden")
	}
	row := func(rule string) map[string]string {
		t.Helper()
		return eval[map[string]string](t, tab, `(() => {
			const row = [...document.querySelectorAll('#alerts tbody tr')].find((r) => r.querySelector('[data-field="rule"]').textContent === '`+rule+`');
			if (!row) return {};
			return Object.fromEntries([...row.cells].map((c) => [c.dataset.field, c.textContent]));
		})()`)
	}
	tab.poll(t, "csat-low retrying", `[...document.querySelectorAll('#alerts [data-field="delivery"]')].some((c) => c.textContent.startsWith('ops: retrying'))`)
	for rule, want := range map[string]map[string]string{
		"csat-low": {"kind": "threshold · CSAT", "selection": "smb × support", "state": "firing", "delivery": "ops: retrying"},
		"ces-hard": {"kind": "threshold · CES", "selection": "all segments × all touchpoints", "state": "firing", "delivery": "no webhook"},
	} {
		got := row(rule)
		for field, w := range want {
			if !strings.HasPrefix(got[field], w) {
				t.Errorf("%s: %s: got %q, want %q", rule, field, got[field], w)
			}
		}
		if !strings.Contains(got["time"], ":") {
			t.Errorf("%s: time: got %q, want a date and clock time", rule, got["time"])
		}
	}
	close(fail) // the receiver accepts: the row turns delivered in place
	tab.poll(t, "csat-low delivered", `[...document.querySelectorAll('#alerts [data-field="delivery"]')].some((c) => /^ops: delivered \(\d+ tries\)$/.test(c.textContent))`)
	tab.checkConsole(t)
}
