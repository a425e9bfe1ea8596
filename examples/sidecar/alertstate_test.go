package main

import (
	"crypto/hmac"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cxscore/cxscore/alert"
)

// hookReceiver is a webhook receiver started by a test: it verifies every
// signature, dedupes deliveries on X-Cxscore-Event-Id, and answers as
// answer says (nil: 200).
type hookReceiver struct {
	t      *testing.T
	secret string
	answer func(id string, attempt int) int // a status; 0: hang until the client gives up

	mu        sync.Mutex
	attempts  map[string][]time.Time // by event id
	delivered map[string]int         // 2xx answers by event id
	bodies    map[string]map[string]any
}

func newHookReceiver(t *testing.T, secret string) *hookReceiver {
	return &hookReceiver{t: t, secret: secret, attempts: map[string][]time.Time{}, delivered: map[string]int{}, bodies: map[string]map[string]any{}}
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id := r.Header.Get("X-Cxscore-Event-Id")
	if sig := r.Header.Get("X-Cxscore-Signature"); !hmac.Equal([]byte(sig), []byte(alert.Sign(h.secret, body))) {
		h.t.Errorf("event %s: got signature %q, want that of the body", id, sig)
	}
	h.mu.Lock()
	h.attempts[id] = append(h.attempts[id], time.Now())
	n := len(h.attempts[id])
	answer := h.answer
	h.mu.Unlock()
	status := http.StatusOK
	if answer != nil {
		status = answer(id, n)
	}
	if status == 0 {
		<-r.Context().Done()
		return
	}
	if status/100 == 2 {
		var m map[string]any
		json.Unmarshal(body, &m)
		h.mu.Lock()
		h.delivered[id]++
		h.bodies[id] = m
		h.mu.Unlock()
	}
	w.WriteHeader(status)
}

func (h *hookReceiver) deliveredIDs() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := make(map[string]int, len(h.delivered))
	for id, n := range h.delivered {
		m[id] = n
	}
	return m
}

// downAddr is a loopback address nothing listens on (for now): a
// receiver that is down refuses connections there.
func downAddr(t *testing.T) string { return "127.0.0.1:" + strconv.Itoa(freePort(t)) }

// serveAt starts h at addr, the receiver coming up.
func serveAt(t *testing.T, addr string, h http.Handler) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may linger a moment
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(h)
	s.Listener.Close()
	s.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
}

func waitUntil(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
	}
}

func postEvents(t *testing.T, sc *sidecar, events ...string) time.Duration {
	t.Helper()
	start := time.Now()
	res, err := http.Post(sc.url+"/v1/events", ndjson, strings.NewReader(strings.Join(events, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("POST /v1/events: got %d, want 200", res.StatusCode)
	}
	return time.Since(start)
}

// metricValue returns the value of the sample line starting with name in
// a scrape, "" if none.
func metricValue(scrape, name string) string {
	for _, l := range strings.Split(scrape, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return v
		}
	}
	return ""
}

// TestAlertStateSurvivesRestart: a rule fires while its receiver is down;
// the sidecar is stopped (SIGTERM) and started again with the same
// -snapshot and -alerts; the receiver comes up: the pending alert arrives
// exactly once, with the event id it had before the restart, and the
// rule, still true, does not fire again.
func TestAlertStateSurvivesRestart(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("stops the sidecar with SIGTERM")
	}
	addr := downAddr(t)
	file := writeFile(t, `{"webhooks": [{"name": "ops", "url": "http://`+addr+`/hook", "secret": "s3cret",
	    "backoff": "50ms", "max_backoff": "100ms", "attempts": 1000, "timeout": "1s"}],
	  "rules": [{"name": "csat-low", "kind": "threshold", "metric": "csat", "window": "1h", "below": 70, "min_responses": 3, "webhook": "ops"}]}`)
	snap := filepath.Join(t.TempDir(), "cxscore.snap")
	bin := buildSidecar(t)
	args := []string{"-addr", "127.0.0.1:0", "-snapshot", snap, "-snapshot-every", "1h", "-alerts", file, "-alert-every", "50ms"}

	sc := startSidecar(t, bin, args...)
	var events []string
	for range 4 {
		events = append(events, event("smb", "support", "csat", 1, "", time.Time{}))
	}
	postEvents(t, sc, events...)
	line := sc.waitFor(t, "msg=alert ")
	m := regexp.MustCompile(`event_id=(\w+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no event id in %q", line)
	}
	id := m[1]
	waitUntil(t, "retries of the alert", 10*time.Second, func() bool {
		v := metricValue(sc.scrape(t), `cxscore_alerts_retried_total{rule="csat-low",webhook="ops"}`)
		return v != "" && v != "0" && v != "1"
	})
	if v := metricValue(sc.scrape(t), `cxscore_alerts_pending{rule="csat-low",webhook="ops"}`); v != "1" {
		t.Errorf("cxscore_alerts_pending: got %q, want 1", v)
	}
	stopSidecar(t, sc)
	state, err := os.ReadFile(snap + alertStateSuffix)
	if err != nil || !strings.Contains(string(state), `"fired_id":"`+id+`"`) || !strings.Contains(string(state), `"event_id":"`+id+`"`) {
		t.Fatalf("alert state file: got %s, %v; want csat-low firing as %s and its alert pending", state, err, id)
	}

	sc = startSidecar(t, bin, args...) // the state is loaded before it listens
	var list struct {
		Alerts []struct {
			Alert    map[string]any `json:"alert"`
			Delivery string         `json:"delivery"`
			Attempts int            `json:"attempts"`
		} `json:"alerts"`
	}
	sc.get(t, "/v1/alerts", &list)
	if len(list.Alerts) != 1 || list.Alerts[0].Alert["event_id"] != id || list.Alerts[0].Delivery != "pending" || list.Alerts[0].Attempts < 2 {
		t.Errorf("/v1/alerts after the restart: got %+v, want %s pending after its tries", list.Alerts, id)
	}
	time.Sleep(300 * time.Millisecond) // several evaluations, the rule still true
	rec := newHookReceiver(t, "s3cret")
	serveAt(t, addr, rec)
	waitUntil(t, "the delivery", 10*time.Second, func() bool { return len(rec.deliveredIDs()) > 0 })
	time.Sleep(300 * time.Millisecond) // nothing more comes
	if got := rec.deliveredIDs(); len(got) != 1 || got[id] != 1 {
		t.Errorf("got deliveries %v, want %s once", got, id)
	}
	if b := rec.bodies[id]; b["rule"] != "csat-low" || b["state"] != "firing" || b["responses"] != 4.0 {
		t.Errorf("got body %v, want csat-low firing from 4 responses", b)
	}
	scrape := sc.scrape(t)
	for name, want := range map[string]string{
		`cxscore_alerts_fired_total{rule="csat-low",state="firing"}`:    "0", // not again
		`cxscore_alerts_delivered_total{rule="csat-low",webhook="ops"}`: "1",
	} {
		if got := metricValue(scrape, name); got != want {
			t.Errorf("%s: got %q, want %s", name, got, want)
		}
	}
	stopSidecar(t, sc)
	state, _ = os.ReadFile(snap + alertStateSuffix)
	if strings.Contains(string(state), `"event_id"`) || !strings.Contains(string(state), `"firing":true`) {
		t.Errorf("alert state file at the end: got %s, want the rule firing and nothing pending", state)
	}
}

// TestAlertStateStartErrors: a damaged alert state file stops the start
// with an error naming it, and is left as it is.
func TestAlertStateStartErrors(t *testing.T) {
	file := writeFile(t, `{"rules": [{"name": "r", "kind": "threshold", "metric": "csat", "window": "1h", "below": 70}]}`)
	for name, text := range map[string]string{
		"not JSON":      `{"version": 1, "rules": [`,
		"version":       `{"version": 9}`,
		"pending alert": `{"version": 1, "pending": {"ops": [{"attempts": 1, "body": {}}]}}`,
	} {
		snap := filepath.Join(t.TempDir(), "cxscore.snap")
		if err := os.WriteFile(snap+alertStateSuffix, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		var stderr logBuffer
		err := run(t.Context(), []string{"-addr", "127.0.0.1:0", "-snapshot", snap, "-alerts", file}, func(string) string { return "" }, &stderr)
		if !errors.Is(err, alert.ErrState) || !strings.Contains(err.Error(), snap+alertStateSuffix) {
			t.Errorf("%s: got %v, want an alert.ErrState naming the file", name, err)
		}
		if strings.Contains(stderr.String(), "listening") {
			t.Errorf("%s: the sidecar started listening:\n%s", name, stderr.String())
		}
		if got, _ := os.ReadFile(snap + alertStateSuffix); string(got) != text {
			t.Errorf("%s: the file changed to %s", name, got)
		}
	}
}

// TestAlertsReceiverDown: the receiver refuses connections at first, then
// answers 500 and hangs on one try, for longer than several retries, then
// comes back: every alert arrives exactly once by event id, signed, after
// retries spaced by the backoff, and POST /v1/events answers promptly
// throughout.
func TestAlertsReceiverDown(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("stops the sidecar with SIGTERM")
	}
	const backoff = 50 * time.Millisecond
	addr := downAddr(t)
	segments := []string{"a", "b", "c", "d", "e"}
	var rules []string
	for _, s := range segments {
		rules = append(rules, `{"name": "low-`+s+`", "kind": "threshold", "metric": "csat", "window": "1h", "below": 70, "min_responses": 2,
		  "segment": "`+s+`", "webhook": "ops"}`)
	}
	file := writeFile(t, `{"webhooks": [{"name": "ops", "url": "http://`+addr+`/hook", "secret": "s3cret",
	    "backoff": "50ms", "max_backoff": "200ms", "attempts": 1000, "timeout": "300ms"}],
	  "rules": [`+strings.Join(rules, ",")+`]}`)
	sc := startSidecar(t, buildSidecar(t), "-addr", "127.0.0.1:0", "-alerts", file, "-alert-every", "50ms")

	// Down: refused connections while the rules fire.
	start := time.Now()
	var slowest time.Duration
	post := func() {
		var evs []string
		for _, s := range segments {
			evs = append(evs, event(s, "web", "csat", 1, "", time.Time{}))
		}
		slowest = max(slowest, postEvents(t, sc, evs...))
	}
	for time.Since(start) < 700*time.Millisecond {
		post()
		time.Sleep(20 * time.Millisecond)
	}
	// Up, but failing: 500s, and one try that hangs past the timeout.
	rec := newHookReceiver(t, "s3cret")
	var failing, hung atomic.Bool
	failing.Store(true)
	rec.answer = func(id string, attempt int) int {
		switch {
		case !failing.Load():
			return http.StatusOK
		case hung.CompareAndSwap(false, true):
			return 0
		}
		return http.StatusInternalServerError
	}
	serveAt(t, addr, rec)
	for up := time.Now(); time.Since(up) < 700*time.Millisecond; time.Sleep(20 * time.Millisecond) {
		post()
	}
	failing.Store(false)
	for up := time.Now(); time.Since(up) < 300*time.Millisecond; time.Sleep(20 * time.Millisecond) {
		post()
	}
	t.Logf("slowest POST /v1/events while the receiver was down or failing: %v", slowest)
	if slowest > time.Second {
		t.Errorf("the slowest POST /v1/events took %v while the receiver was down, want well under 1s", slowest)
	}
	waitUntil(t, "every alert delivered", 10*time.Second, func() bool { return len(rec.deliveredIDs()) == len(segments) })
	time.Sleep(300 * time.Millisecond) // nothing more comes
	got := rec.deliveredIDs()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rulesSeen := map[string]bool{}
	for id, n := range got {
		b := rec.bodies[id]
		if n != 1 || b["event_id"] != id || b["state"] != "firing" {
			t.Errorf("event %s: got %d deliveries, body %v; want one firing alert", id, n, b)
		}
		rulesSeen[b["rule"].(string)] = true
		tries := rec.attempts[id]
		if len(tries) < 2 {
			t.Errorf("event %s: got %d tries, want retries while the receiver failed", id, len(tries))
		}
		for i := 1; i < len(tries); i++ {
			if gap := tries[i].Sub(tries[i-1]); gap < backoff {
				t.Errorf("event %s: tries %d and %d %v apart, want at least the backoff %v", id, i-1, i, gap, backoff)
			}
		}
	}
	if len(got) != len(segments) || len(rulesSeen) != len(segments) {
		t.Errorf("got alerts of %v, want one of each of the %d rules", rulesSeen, len(segments))
	}
	scrape := sc.scrape(t)
	for _, s := range segments {
		for name, want := range map[string]string{
			`cxscore_alerts_fired_total{rule="low-` + s + `",state="firing"}`:    "1",
			`cxscore_alerts_delivered_total{rule="low-` + s + `",webhook="ops"}`: "1",
			`cxscore_alerts_given_up_total{rule="low-` + s + `",webhook="ops"}`:  "0",
			`cxscore_alerts_dropped_total{rule="low-` + s + `",webhook="ops"}`:   "0",
			`cxscore_alerts_pending{rule="low-` + s + `",webhook="ops"}`:         "0",
		} {
			if got := metricValue(scrape, name); got != want {
				t.Errorf("%s: got %q, want %s", name, got, want)
			}
		}
		if v := metricValue(scrape, `cxscore_alerts_retried_total{rule="low-`+s+`",webhook="ops"}`); v == "" || v == "0" {
			t.Errorf("low-%s: got %q retries, want some", s, v)
		}
	}
	stopSidecar(t, sc)
}

// TestAlertStateSurvivesCrash: as TestAlertStateSurvivesRestart, but the
// sidecar is killed (SIGKILL: no last write) soon after the rule fired,
// long before -snapshot-every: the alert state written when the rule
// fired is enough for the restart not to fire it again, and to deliver
// the pending alert with its event id.
func TestAlertStateSurvivesCrash(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("kills the sidecar with SIGKILL")
	}
	addr := downAddr(t)
	file := writeFile(t, `{"webhooks": [{"name": "ops", "url": "http://`+addr+`/hook", "secret": "s3cret", "backoff": "50ms", "max_backoff": "50ms"}],
	  "rules": [{"name": "csat-low", "kind": "threshold", "metric": "csat", "window": "1h", "below": 70, "min_responses": 3, "webhook": "ops"}]}`)
	snap := filepath.Join(t.TempDir(), "cxscore.snap")
	bin := buildSidecar(t)
	args := []string{"-addr", "127.0.0.1:0", "-snapshot", snap, "-snapshot-every", "1h", "-alerts", file, "-alert-every", "50ms"}
	// The events are in the engine snapshot of a first, clean run without
	// -alerts, so that the rule is true again after the crash.
	sc := startSidecar(t, bin, "-addr", "127.0.0.1:0", "-snapshot", snap)
	var events []string
	for range 4 {
		events = append(events, event("smb", "support", "csat", 1, "", time.Time{}))
	}
	postEvents(t, sc, events...)
	stopSidecar(t, sc)

	sc = startSidecar(t, bin, args...)
	line := sc.waitFor(t, "msg=alert ")
	id := regexp.MustCompile(`event_id=(\w+)`).FindStringSubmatch(line)[1]
	waitUntil(t, "the alert state written", 10*time.Second, func() bool {
		b, _ := os.ReadFile(snap + alertStateSuffix)
		return strings.Contains(string(b), `"event_id":"`+id+`"`)
	})
	sc.cmd.Process.Kill()
	<-sc.done

	sc = startSidecar(t, bin, args...)
	rec := newHookReceiver(t, "s3cret")
	serveAt(t, addr, rec)
	waitUntil(t, "the delivery", 10*time.Second, func() bool { return len(rec.deliveredIDs()) > 0 })
	time.Sleep(300 * time.Millisecond)
	if got := rec.deliveredIDs(); len(got) != 1 || got[id] != 1 {
		t.Errorf("got deliveries %v, want %s once", got, id)
	}
	if v := metricValue(sc.scrape(t), `cxscore_alerts_fired_total{rule="csat-low",state="firing"}`); v != "0" {
		t.Errorf("after the crash: fired %q, want 0: the rule was firing", v)
	}
	stopSidecar(t, sc)
}
