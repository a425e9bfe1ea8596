package alert

import (
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cxscore/cxscore/engine"
)

// receiver is a webhook receiver that answers 500 to the first failures
// attempts of each event, and dedupes deliveries on the event id.
type receiver struct {
	secret   string
	failures int
	t        *testing.T

	mu        sync.Mutex
	attempts  map[string]int
	delivered map[string]int // 2xx answers by event id
	bodies    map[string]map[string]any
}

func newReceiver(t *testing.T, secret string, failures int) (*receiver, *httptest.Server) {
	r := &receiver{secret: secret, failures: failures, t: t,
		attempts: map[string]int{}, delivered: map[string]int{}, bodies: map[string]map[string]any{}}
	s := httptest.NewServer(r)
	t.Cleanup(s.Close)
	return r, s
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id := req.Header.Get("X-Cxscore-Event-Id")
	if got, want := req.Header.Get("X-Cxscore-Signature"), Sign(r.secret, body); !hmac.Equal([]byte(got), []byte(want)) {
		r.t.Errorf("got signature %q, want %q", got, want)
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/json" || req.Method != http.MethodPost {
		r.t.Errorf("got %s with Content-Type %q, want POST of application/json", req.Method, ct)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts[id]++
	if r.attempts[id] <= r.failures {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	r.delivered[id]++
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		r.t.Errorf("body %s: %v", body, err)
	}
	r.bodies[id] = m
}

// pauses records the pauses a webhook takes, without taking them.
type pauses struct {
	mu sync.Mutex
	d  []time.Duration
}

func (p *pauses) pause(d time.Duration) time.Duration {
	p.mu.Lock()
	p.d = append(p.d, d)
	p.mu.Unlock()
	return 0
}

func waitFor(t interface {
	Helper()
	Fatalf(string, ...any)
}, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func thresholdAlert(id string) Alert {
	return Alert{EventID: id, Rule: "csat-low", Kind: Threshold, State: Firing, Metric: engine.CSAT,
		Segment: "*", Touchpoint: "web", Time: t0,
		Current: Summary{Score: 40, Low: 30, High: 50, HasScore: true, Responses: 25, From: t0.Add(-time.Hour), To: t0}}
}

func TestWebhookRetriesThenDelivers(t *testing.T) {
	rec, srv := newReceiver(t, "s3cret", 3)
	var p pauses
	done := make(chan string, 2)
	w, err := newWebhook(WebhookConfig{Name: "ops", URL: srv.URL, Secret: "s3cret", Backoff: time.Second, MaxBackoff: 3 * time.Second,
		Done: func(a Alert, delivered bool, attempts int) { done <- fmt.Sprintln(a.EventID, delivered, attempts) }}, p.pause)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if !w.Send(thresholdAlert("e1")) || !w.Send(thresholdAlert("e2")) {
		t.Fatal("Send refused an alert with room in the queue")
	}
	waitFor(t, "both delivered", func() bool { return w.Counts()["csat-low"].Delivered == 2 })
	if d1, d2 := <-done, <-done; d1+d2 != "e1 true 4\ne2 true 4\n" && d1+d2 != "e2 true 4\ne1 true 4\n" {
		t.Errorf("Done: got %s, %s; want e1 true 4, e2 true 4", d1, d2)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, id := range []string{"e1", "e2"} {
		if rec.delivered[id] != 1 || rec.attempts[id] != 4 {
			t.Errorf("%s: got %d deliveries in %d attempts, want 1 in 4", id, rec.delivered[id], rec.attempts[id])
		}
	}
	if got := w.Counts()["csat-low"]; got != (Delivery{Delivered: 2, Retried: 6}) {
		t.Errorf("got counts %+v, want 2 delivered, 6 retried", got)
	}
	// Exponential, capped, jittered by 0-50%: 1 s, 2 s, 3 s for each alert
	// (the two alerts' tries interleave: sorted, two of each).
	p.mu.Lock()
	defer p.mu.Unlock()
	base := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}
	if len(p.d) != 6 {
		t.Fatalf("got pauses %v, want 6", p.d)
	}
	slices.Sort(p.d)
	for i, d := range p.d {
		if b := base[i/2]; d < b || d > b+b/2 {
			t.Errorf("pause %d: got %v, want %v to %v", i, d, b, b+b/2)
		}
	}
	body := rec.bodies["e1"]
	for k, want := range map[string]any{"rule": "csat-low", "kind": "threshold", "state": "firing", "segment": "*",
		"touchpoint": "web", "metric": "csat", "time": "2026-11-24T10:00:00Z", "score": 40.0, "responses": 25.0, "event_id": "e1"} {
		if body[k] != want {
			t.Errorf("body %s: got %v, want %v", k, body[k], want)
		}
	}
	if iv, _ := body["interval"].([]any); len(iv) != 2 || iv[0] != 30.0 || iv[1] != 50.0 {
		t.Errorf("body interval: got %v, want [30 50]", body["interval"])
	}
}

func TestWebhookGivesUp(t *testing.T) {
	rec, srv := newReceiver(t, "", 1000)
	var p pauses
	done := make(chan string, 1)
	w, err := newWebhook(WebhookConfig{Name: "ops", URL: srv.URL, Attempts: 6, Done: func(a Alert, delivered bool, attempts int) {
		done <- fmt.Sprintln(a.EventID, delivered, attempts)
	}}, p.pause)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Send(thresholdAlert("e1"))
	waitFor(t, "given up", func() bool { return w.Counts()["csat-low"].GivenUp == 1 })
	if got := <-done; got != "e1 false 6\n" {
		t.Errorf("Done: got %s, want e1 false 6", got)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.attempts["e1"] != 6 || rec.delivered["e1"] != 0 {
		t.Errorf("got %d attempts, %d delivered; want 6 and 0", rec.attempts["e1"], rec.delivered["e1"])
	}
	if got := w.Counts()["csat-low"]; got != (Delivery{Retried: 5, GivenUp: 1}) {
		t.Errorf("got counts %+v, want 5 retried, 1 given up", got)
	}
}

// TestDefaultSchedule checks the bound on the default schedule:
// at least 6 attempts over at least 2 minutes, without jitter (its least).
func TestDefaultSchedule(t *testing.T) {
	var total time.Duration
	pause := DefaultBackoff
	for range DefaultAttempts - 1 {
		total += pause
		pause = min(2*pause, DefaultMaxBackoff)
	}
	if DefaultAttempts < 6 || total < 2*time.Minute || DefaultTimeout != 5*time.Second {
		t.Errorf("got %d attempts over %v, timeout %v; want ≥ 6 over ≥ 2m, 5s", DefaultAttempts, total, DefaultTimeout)
	}
}

// TestWebhookTimeoutIsolated: a receiver that hangs is cut by the timeout,
// and delays only its own webhook's alerts.
func TestWebhookTimeoutIsolated(t *testing.T) {
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(hang)
	rec, fast := newReceiver(t, "", 0)
	var p pauses
	ws, err := newWebhook(WebhookConfig{Name: "slow", URL: slow.URL, Timeout: 50 * time.Millisecond, Attempts: 2}, p.pause)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	wf, err := newWebhook(WebhookConfig{Name: "fast", URL: fast.URL}, p.pause)
	if err != nil {
		t.Fatal(err)
	}
	defer wf.Close()
	ws.Send(thresholdAlert("s1"))
	wf.Send(thresholdAlert("f1"))
	waitFor(t, "the fast webhook's delivery", func() bool { return wf.Counts()["csat-low"].Delivered == 1 })
	waitFor(t, "the slow webhook giving up", func() bool { return ws.Counts()["csat-low"].GivenUp == 1 })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.delivered["f1"] != 1 {
		t.Errorf("got %d deliveries of f1, want 1", rec.delivered["f1"])
	}
}

func TestWebhookFullQueueDrops(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hang)
	w, err := NewWebhook(WebhookConfig{Name: "ops", URL: srv.URL, Queue: 2})
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	done := make(chan struct{})
	go func() {
		for i := range 10 {
			if w.Send(thresholdAlert(string(rune('a' + i)))) {
				sent++
			}
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Send blocked on a full queue")
	}
	// Two held, waiting or in flight.
	c := w.Counts()["csat-low"]
	if sent != 2 || c.Dropped != 8 {
		t.Errorf("got %d sent, %d dropped; want 2 sent, 8 dropped", sent, c.Dropped)
	}
	w.Close()
	w.Close() // idempotent
	if c := w.Counts()["csat-low"]; c.GivenUp != 0 {
		t.Errorf("after Close: got %d given up, want 0: undelivered alerts stay pending", c.GivenUp)
	}
	if p := w.Pending(); len(p) != 2 || p[0].Alert.EventID != "a" || p[1].Alert.EventID != "b" || p[0].Attempts != 0 {
		t.Errorf("after Close: got pending %+v, want a and b, no attempt counted", p)
	}
	if w.Send(thresholdAlert("z")) {
		t.Error("Send after Close: got true, want false")
	}
}

func TestDropBody(t *testing.T) {
	a := Alert{EventID: "e", FiredID: "f", Rule: "nps-drop", Kind: Drop, State: Resolved, Metric: engine.NPS, Segment: "enterprise", Touchpoint: "*", Time: t0,
		Current: Summary{Score: -10, HasScore: true, Responses: 40}, Baseline: Summary{Score: 30, HasScore: true, Responses: 35},
		Difference: -40, Low: -60, High: -20, PValue: 0.001, HasPValue: true}
	b, err := Body(a)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	cur, _ := m["current"].(map[string]any)
	base, _ := m["baseline"].(map[string]any)
	if m["state"] != "resolved" || m["fired_id"] != "f" || m["kind"] != "drop" || m["difference"] != -40.0 || m["p_value"] != 0.001 ||
		cur["score"] != -10.0 || cur["responses"] != 40.0 || base["score"] != 30.0 {
		t.Errorf("got body %s", b)
	}
	if iv, _ := m["interval"].([]any); len(iv) != 2 || iv[0] != -60.0 {
		t.Errorf("got interval %v, want [-60 -20]", m["interval"])
	}
}

func TestSign(t *testing.T) {
	// echo -n '{"a":1}' | openssl dgst -sha256 -hmac s3cret
	if got, want := Sign("s3cret", []byte(`{"a":1}`)), "sha256=5910e62016ef5034272c926c27071992a465c2335cecf41851bda071577f4f6d"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestWebhookRetryDoesNotDelayFresh: an alert waiting for its retry holds
// no slot, so a fresh alert on the same webhook goes out at once, even
// with one try in flight at most.
func TestWebhookRetryDoesNotDelayFresh(t *testing.T) {
	var mu sync.Mutex
	failA := true
	seen := map[string]int{} // 2xx answers by event id
	var order []string       // event ids in the order they were accepted
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Cxscore-Event-Id")
		mu.Lock()
		defer mu.Unlock()
		if id == "a" && failA {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		seen[id]++
		order = append(order, id)
	}))
	defer srv.Close()
	w, err := NewWebhook(WebhookConfig{Name: "ops", URL: srv.URL, Parallel: 1, Attempts: 1000,
		Backoff: 20 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Send(thresholdAlert("a"))
	waitFor(t, "a's first retry", func() bool { return w.Counts()["csat-low"].Retried >= 1 })
	w.Send(thresholdAlert("b"))
	// Counted once its answer is back, a moment after the receiver saw it.
	waitFor(t, "b's delivery", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return seen["b"] == 1 && w.Counts()["csat-low"].Delivered >= 1
	})
	if c := w.Counts()["csat-low"]; c.Delivered != 1 || c.GivenUp != 0 {
		t.Errorf("with a still failing: got %+v, want b alone delivered, a still retried", c)
	}
	mu.Lock()
	failA = false
	mu.Unlock()
	waitFor(t, "a's delivery", func() bool { return w.Counts()["csat-low"].Delivered == 2 })
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(order, []string{"b", "a"}) || seen["a"] != 1 {
		t.Errorf("got deliveries %v, want b then a, once each", order)
	}
}

// TestWebhookPendingRestore: alerts undelivered at Close are listed by
// Pending with their tries, and a new webhook given them by Restore
// delivers each once, with the same event id and body, counting on from
// the tries already made.
func TestWebhookPendingRestore(t *testing.T) {
	down, srvDown := newReceiver(t, "k", 1000)
	var p pauses
	w, err := newWebhook(WebhookConfig{Name: "ops", URL: srvDown.URL, Secret: "k", Attempts: 8}, p.pause)
	if err != nil {
		t.Fatal(err)
	}
	w.pause = func(time.Duration) time.Duration { return time.Hour } // one failed try each, then wait
	for _, id := range []string{"e1", "e2", "e3"} {
		w.Send(thresholdAlert(id))
	}
	waitFor(t, "a failed try of each", func() bool { return w.Counts()["csat-low"].Retried == 3 })
	w.Close()
	saved := w.Pending()
	if len(saved) != 3 {
		t.Fatalf("got %d pending, want 3", len(saved))
	}
	for i, s := range saved {
		want, _ := Body(thresholdAlert(s.Alert.EventID))
		if s.Alert.EventID != fmt.Sprintf("e%d", i+1) || s.Attempts != 1 || string(s.Body) != string(want) {
			t.Errorf("pending %d: got %s after %d tries, body %s; want e%d after 1, body %s", i, s.Alert.EventID, s.Attempts, s.Body, i+1, want)
		}
	}
	down.mu.Lock()
	if len(down.delivered) != 0 {
		t.Errorf("the down receiver got %v, want nothing", down.delivered)
	}
	down.mu.Unlock()

	up, srvUp := newReceiver(t, "k", 0)
	done := make(chan string, 3)
	w2, err := NewWebhook(WebhookConfig{Name: "ops", URL: srvUp.URL, Secret: "k", Queue: 2,
		Done: func(a Alert, delivered bool, attempts int) {
			done <- fmt.Sprintf("%s %v %d", a.EventID, delivered, attempts)
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	if n := w2.Restore(saved); n != 2 {
		t.Errorf("Restore into a queue of 2: got %d queued, want 2", n)
	}
	waitFor(t, "two delivered", func() bool { return w2.Counts()["csat-low"].Delivered == 2 })
	if got := w2.Counts()["csat-low"]; got.Dropped != 1 {
		t.Errorf("got counts %+v, want the third dropped", got)
	}
	got := []string{<-done, <-done}
	slices.Sort(got)
	if !slices.Equal(got, []string{"e1 true 2", "e2 true 2"}) {
		t.Errorf("Done: got %v, want e1 and e2 delivered at their second try", got)
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	for _, id := range []string{"e1", "e2"} {
		if up.delivered[id] != 1 || up.bodies[id]["event_id"] != id {
			t.Errorf("%s: got %d deliveries, body %v; want 1 with its event id", id, up.delivered[id], up.bodies[id])
		}
	}
}

// TestWebhookMatchesModel checks deliveries against a model: each alert
// (its receiver failing it a drawn number of times) is delivered once if
// it fails fewer than Attempts times, in failures+1 tries, else given up
// after Attempts; never more than Parallel tries are in flight; and a
// Close at a random moment, then Pending restored into a new webhook,
// changes none of it: every alert is delivered once or given up, by event
// id, across the two.
func TestWebhookMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		attempts := rapid.IntRange(1, 4).Draw(t, "attempts")
		parallel := rapid.IntRange(1, 3).Draw(t, "parallel")
		n := rapid.IntRange(1, 12).Draw(t, "alerts")
		failures := map[string]int{}
		var mu sync.Mutex
		tries, delivered := map[string]int{}, map[string]int{}
		inFlight, most := 0, 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get("X-Cxscore-Event-Id")
			mu.Lock()
			inFlight++
			most = max(most, inFlight)
			tries[id]++
			fail := tries[id] <= failures[id]
			mu.Unlock()
			time.Sleep(time.Millisecond) // a moment in flight, for others to overlap
			mu.Lock()
			inFlight--
			if !fail {
				delivered[id]++
			}
			mu.Unlock()
			if fail {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}))
		defer srv.Close()
		cfg := WebhookConfig{Name: "ops", URL: srv.URL, Attempts: attempts, Parallel: parallel}
		w, err := newWebhook(cfg, func(time.Duration) time.Duration { return 0 })
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprint("e", i)
			mu.Lock()
			failures[ids[i]] = rapid.IntRange(0, attempts+1).Draw(t, "failures")
			mu.Unlock()
		}
		closeAfter := rapid.IntRange(0, n).Draw(t, "close after")
		for i, id := range ids {
			if !w.Send(thresholdAlert(id)) {
				t.Fatalf("Send %s refused with room", id)
			}
			if i+1 == closeAfter {
				break
			}
		}
		var w2 *Webhook = w
		if closeAfter > 0 {
			w.Close()
			w2, err = newWebhook(cfg, func(time.Duration) time.Duration { return 0 })
			if err != nil {
				t.Fatal(err)
			}
			w2.Restore(w.Pending())
			for _, id := range ids[closeAfter:] {
				w2.Send(thresholdAlert(id))
			}
		}
		defer w2.Close()
		ended := func() uint64 {
			var sum uint64
			for _, x := range []*Webhook{w, w2} {
				c := x.Counts()["csat-low"]
				sum += c.Delivered + c.GivenUp
			}
			if w == w2 {
				sum /= 2
			}
			return sum
		}
		waitFor(t, "every alert ended", func() bool { return ended() == uint64(n) })
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			f := failures[id]
			wantDelivered, wantTries := 0, attempts
			if f < attempts {
				wantDelivered, wantTries = 1, f+1
			}
			// A try cut short by Close may have reached the receiver,
			// and even been answered 2xx, uncounted: it is repeated, so
			// it can add one try, and one delivery of the same event id
			// (which is why the receiver dedupes on it).
			extra := 0
			if closeAfter > 0 {
				extra = 1
			}
			if delivered[id] < wantDelivered || delivered[id] > wantDelivered+extra || tries[id] < wantTries || tries[id] > wantTries+extra {
				t.Fatalf("%s failing %d of %d attempts: got %d deliveries in %d tries, want %d in %d", id, f, attempts, delivered[id], tries[id], wantDelivered, wantTries)
			}
		}
		if closeAfter == 0 && most > parallel { // a try cut by Close may linger at the receiver
			t.Fatalf("got %d tries in flight at once, want at most %d", most, parallel)
		}
	})
}
