package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/window"
)

// TestMountInServeMux mounts the handler in a plain http.ServeMux beside a
// route of the caller's own, serves it on a real listener, and exercises
// both: the API answers under /v1/, the caller's route is untouched.
func TestMountInServeMux(t *testing.T) {
	clock := window.NewManualClock(t0)
	e, err := engine.New(engine.Config{Clock: clock, CacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	api, err := New(e, Options{Clock: clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", api)
	mux.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "the service's own route") })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, err := http.Post(srv.URL+"/v1/events", "application/json", strings.NewReader(event("enterprise", "checkout", "nps", 9, "c-1", t0)))
	if err != nil {
		t.Fatal(err)
	}
	var ing IngestResponse
	if err := json.NewDecoder(res.Body).Decode(&ing); err != nil || res.StatusCode != 200 || ing.Accepted != 1 {
		t.Fatalf("POST /v1/events: got %d %+v, %v; want 200 and 1 accepted", res.StatusCode, ing, err)
	}
	res.Body.Close()

	res, err = http.Get(srv.URL + "/v1/scores?segment=enterprise")
	if err != nil {
		t.Fatal(err)
	}
	var sc Scores
	if err := json.NewDecoder(res.Body).Decode(&sc); err != nil || res.StatusCode != 200 {
		t.Fatalf("GET /v1/scores: got %d, %v", res.StatusCode, err)
	}
	res.Body.Close()
	if sc.NPS.Responses != 1 || sc.NPS.Score == nil || *sc.NPS.Score != 100 || sc.UniqueCustomers != 1 ||
		len(sc.NPS.Distribution.Counts) != 11 || sc.NPS.Distribution.Counts[9] != 1 {
		t.Errorf("GET /v1/scores: got %+v, want one promoter", sc)
	}

	res, err = http.Get(srv.URL + "/orders")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != "the service's own route" {
		t.Errorf("GET /orders: got %d %q, want the caller's route", res.StatusCode, b)
	}

	// Not mounted there: the caller's mux answers, not the API.
	if res, err := http.Get(srv.URL + "/healthz"); err != nil || res.StatusCode != 404 {
		t.Errorf("GET /healthz outside the mounted prefix: got %v, %v; want the mux's 404", res.StatusCode, err)
	}
}

// TestZeroOptions checks what the zero Options leave out: the dashboard,
// merges and /metrics, each a JSON 404.
func TestZeroOptions(t *testing.T) {
	e, err := engine.New(engine.Config{CacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	h, err := New(e, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ method, target string }{{"GET", "/"}, {"GET", "/static/app.js"}, {"POST", "/v1/merge"}, {"GET", "/metrics"}} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.target, nil))
		if w.Code != 404 || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: got %d %s, want a JSON 404", tt.method, tt.target, w.Code, w.Header().Get("Content-Type"))
		}
	}
}

// TestJSONErrors checks that the answers the mux makes itself are JSON
// too, with their status and headers.
func TestJSONErrors(t *testing.T) {
	f := newFixture(t, engine.Config{}, Options{})
	tests := []struct {
		method, target string
		status         int
		allow, msg     string
	}{
		{"GET", "/v1/nope", 404, "", "no such endpoint: GET /v1/nope"},
		{"GET", "/nope", 404, "", "no such endpoint"},
		{"PUT", "/v1/events", 405, "POST", "PUT /v1/events: method not allowed; this endpoint takes POST"},
		{"POST", "/v1/scores", 405, "GET, HEAD", "method not allowed"},
		{"POST", "/v1/keys", 405, "DELETE, GET, HEAD", "method not allowed"},
		{"GET", "/v1/keys?x=1", 400, "", `unknown parameter "x"; this endpoint takes no parameters`},
		{"GET", "/v1/scores?x=1", 400, "", `unknown parameter "x"; this endpoint takes segment, touchpoint, window`},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.target, nil)
		w := httptest.NewRecorder()
		f.server.ServeHTTP(w, r)
		var body Error
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: got %q (%s), want a JSON error", tt.method, tt.target, w.Body, w.Header().Get("Content-Type"))
			continue
		}
		if w.Code != tt.status || !strings.Contains(body.Error, tt.msg) || w.Header().Get("Allow") != tt.allow {
			t.Errorf("%s %s: got %d %q Allow %q, want %d %q Allow %q", tt.method, tt.target, w.Code, body.Error,
				w.Header().Get("Allow"), tt.status, tt.msg, tt.allow)
		}
	}
}

// TestReady checks /readyz against Options.Ready and Drain.
func TestReady(t *testing.T) {
	var failing error
	f := newFixture(t, engine.Config{}, Options{Ready: func() error { return failing }})
	check := func(status int, want string) {
		t.Helper()
		code, text := f.do("GET", "/readyz", "")
		if code != status || !strings.Contains(text, want) {
			t.Errorf("GET /readyz: got %d %s, want %d %s", code, text, status, want)
		}
	}
	check(200, `"ready"`)
	failing = errors.New("the last snapshot write failed: disk full")
	check(503, `{"status":"not ready","error":"the last snapshot write failed: disk full"}`)
	failing = nil
	check(200, `"ready"`)
	f.server.Drain()
	check(503, `"shutting down"`)
}

func TestDistributionRoundTrip(t *testing.T) {
	d := Distribution{Lowest: 0, Counts: []uint64{1, 0, 0, 0, 0, 0, 0, 0, 0, 7, 2}}
	b, err := json.Marshal(d)
	if err != nil || string(b) != `{"0":1,"1":0,"2":0,"3":0,"4":0,"5":0,"6":0,"7":0,"8":0,"9":7,"10":2}` {
		t.Fatalf("got %s, %v", b, err)
	}
	var got Distribution
	if err := json.Unmarshal(b, &got); err != nil || got.Lowest != 0 || len(got.Counts) != 11 || got.Counts[9] != 7 || got.Counts[10] != 2 {
		t.Errorf("got %+v, %v; want %+v", got, err, d)
	}
	for _, bad := range []string{`{"1":1,"3":1}`, `{"x":1}`, `[1]`} {
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("%s: got no error", bad)
		}
	}
}

func TestDeleteKeys(t *testing.T) {
	f := newFixture(t, engine.Config{}, Options{Token: "tok"})
	auth := []string{"Authorization", "Bearer tok"}
	code, _ := f.do("POST", "/v1/events", strings.Join([]string{
		event("a", "web", "nps", 9, "", t0), event("a", "app", "nps", 9, "", t0),
		event("a", "mail", "nps", 9, "", t0), event("b", "web", "nps", 9, "", t0),
	}, "\n"), append(auth, "Content-Type", ndjson)...)
	if code != 200 {
		t.Fatalf("POST: got %d", code)
	}
	before := f.server.Changes()
	tests := []struct {
		target string
		status int
		want   string
	}{
		{"/v1/keys?segment=a&touchpoint=web", 200, `{"deleted":1}`},
		{"/v1/keys?segment=a&touchpoint=web", 404, `no key of segment \"a\" × touchpoint \"web\"; nothing was deleted`},
		{"/v1/keys?segment=a", 200, `{"deleted":2}`},
		{"/v1/keys?segment=a&touchpoint=*", 404, `no key of segment \"a\"`},
		{"/v1/keys", 400, "segment: missing"},
		{"/v1/keys?segment=*", 400, "segment: missing"},
		{"/v1/keys?segment=b&x=1", 400, `unknown parameter \"x\"`},
		{"/v1/keys?segment=b&segment=c", 400, "given 2 times"},
	}
	for _, tt := range tests {
		code, text := f.do("DELETE", tt.target, "", auth...)
		if code != tt.status || !strings.Contains(text, tt.want) {
			t.Errorf("DELETE %s: got %d %s, want %d %s", tt.target, code, text, tt.status, tt.want)
		}
	}
	if code, _ := f.do("DELETE", "/v1/keys?segment=b", ""); code != 401 {
		t.Errorf("DELETE without the token: got %d, want 401", code)
	}
	_, text := f.do("GET", "/v1/keys", "", auth...)
	if keys := decodeJSON[KeyList](t, text); len(keys.Keys) != 1 || keys.Keys[0] != (Key{"b", "web"}) {
		t.Errorf("keys after the deletes: got %+v, want b × web", keys.Keys)
	}
	if f.server.Changes() != before+2 {
		t.Errorf("Changes: got %d, want %d (two deletes)", f.server.Changes(), before+2)
	}
}
