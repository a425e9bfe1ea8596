package httpapi

import (
	"cmp"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/window"
)

// t0 is the tests' "now": mid-morning, so that a minute of clock skew never
// crosses a day.
var t0 = time.Date(2026, 11, 24, 10, 15, 30, 0, time.UTC)

// adminToken is the fixture's admin token when a test sets neither token.
const adminToken = "adm1n-token"

// fixture is a handler over a fresh engine, both on one manual clock,
// serving everything: the dashboard, merges, and /metrics over registry,
// which holds the handler's collector.
type fixture struct {
	t        testing.TB
	engine   *engine.Engine
	clock    *window.ManualClock
	server   *Handler
	registry *prometheus.Registry
}

func newFixture(t testing.TB, cfg engine.Config, o Options) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: window.NewManualClock(t0)}
	cfg.Clock = f.clock
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = -1 // ristretto's goroutines and memory are not what these tests test
	}
	var err error
	if f.engine, err = engine.New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.engine.Close() })
	o.Clock = f.clock
	o.Dashboard, o.Merge = true, true
	if o.Token == "" && o.AdminToken == "" {
		o.AdminToken = adminToken // merges need one
	}
	f.registry = prometheus.NewRegistry()
	if o.Metrics == nil {
		o.Metrics = promhttp.HandlerFor(f.registry, promhttp.HandlerOpts{})
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if f.server, err = New(f.engine, o); err != nil {
		t.Fatal(err)
	}
	f.registry.MustRegister(f.server.Collector())
	return f
}

// do sends a request to the server in process and returns the status and
// body. header is name, value pairs; a POST without Content-Type among
// them is sent as application/json.
func (f *fixture) do(method, target, body string, header ...string) (int, string) {
	f.t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if method == "POST" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return f.serve(r)
}

func (f *fixture) serve(r *http.Request) (int, string) {
	w := httptest.NewRecorder()
	f.server.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// post sends events and decodes the answer; contentType "" is
// application/json.
func (f *fixture) post(contentType, body string) (int, IngestResponse) {
	f.t.Helper()
	code, text := f.do("POST", "/v1/events", body, "Content-Type", cmp.Or(contentType, "application/json"))
	var resp IngestResponse
	if err := json.Unmarshal([]byte(text), &resp); err != nil {
		f.t.Fatalf("POST /v1/events answered %d %q: %v", code, text, err)
	}
	return code, resp
}

// total returns the responses of every metric the engine holds, over its
// whole retention.
func (f *fixture) total() uint64 {
	f.t.Helper()
	var r engine.Result
	if err := f.engine.Query(engine.Query{Window: 61 * 24 * time.Hour}, &r); err != nil {
		f.t.Fatal(err)
	}
	return r.Responses()
}

// wireResult is a /v1/scores answer as a client decodes it.
type wireResult struct {
	Segment         string    `json:"segment"`
	Touchpoint      string    `json:"touchpoint"`
	Window          string    `json:"window"`
	From            time.Time `json:"from"`
	To              time.Time `json:"to"`
	Partial         bool      `json:"partial"`
	UniqueCustomers uint64    `json:"unique_customers"`
	CSAT            wireScore `json:"csat"`
	CES             wireScore `json:"ces"`
	NPS             wireScore `json:"nps"`
}

type wireScore struct {
	Responses     uint64            `json:"responses"`
	Score         *float64          `json:"score"`
	MarginOfError *float64          `json:"margin_of_error"`
	EasyShare     *float64          `json:"easy_share"`
	Promoters     uint64            `json:"promoters"`
	Passives      uint64            `json:"passives"`
	Detractors    uint64            `json:"detractors"`
	Interval      *Interval         `json:"interval"`
	Distribution  map[string]uint64 `json:"distribution"`
}

type wireTrend struct {
	Segment    string       `json:"segment"`
	Touchpoint string       `json:"touchpoint"`
	Window     string       `json:"window"`
	Step       string       `json:"step"`
	Points     []wireResult `json:"points"`
}

func decodeJSON[T any](t testing.TB, text string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("decoding %q: %v", text, err)
	}
	return v
}

// event returns the JSON of an event at the given time.
func event(segment, touchpoint, metric string, score int, customer string, at time.Time) string {
	m := map[string]any{"segment": segment, "touchpoint": touchpoint, "metric": metric, "score": score}
	if customer != "" {
		m["customer_id"] = customer
	}
	if !at.IsZero() {
		m["time"] = at.Format(time.RFC3339Nano)
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}
