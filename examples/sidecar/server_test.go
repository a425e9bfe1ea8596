package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cxscore/cxscore/engine"
)

func TestAuth(t *testing.T) {
	const token = "s3cret-token"
	f := newFixture(t, engine.Config{}, Options{Token: token})
	open := newFixture(t, engine.Config{}, Options{})
	body := event("s", "t", "nps", 9, "", time.Time{})
	tests := []struct {
		name, method, target, auth string
		status                     int
	}{
		{"events with token", "POST", "/v1/events", "Bearer " + token, 200},
		{"scheme in lower case", "POST", "/v1/events", "bearer " + token, 200},
		{"events without token", "POST", "/v1/events", "", 401},
		{"wrong token", "POST", "/v1/events", "Bearer s3cret-tokem", 401},
		{"token prefix", "POST", "/v1/events", "Bearer s3cret", 401},
		{"token and more", "POST", "/v1/events", "Bearer " + token + "x", 401},
		{"token without scheme", "POST", "/v1/events", token, 401},
		{"basic auth", "POST", "/v1/events", "Basic " + token, 401},
		{"scores", "GET", "/v1/scores", "Bearer " + token, 200},
		{"scores without token", "GET", "/v1/scores", "", 401},
		{"trend without token", "GET", "/v1/trend", "", 401},
		{"keys without token", "GET", "/v1/keys", "", 401},
		{"metrics", "GET", "/metrics", "Bearer " + token, 200},
		{"metrics without token", "GET", "/metrics", "", 401},
		{"healthz is open", "GET", "/healthz", "", 200},
		{"readyz is open", "GET", "/readyz", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, text := f.do(tt.method, tt.target, body, "Authorization", tt.auth)
			if code != tt.status {
				t.Errorf("got %d %s, want %d", code, text, tt.status)
			}
			if code == 401 && !strings.Contains(text, "Authorization: Bearer <token>") {
				t.Errorf("got %s, want the answer to say which header to send", text)
			}
			if code, _ := open.do(tt.method, tt.target, body); code != 200 {
				t.Errorf("without a token configured: got %d, want 200", code)
			}
		})
	}
	if got := f.total(); got != 2 {
		t.Errorf("engine holds %d responses, want the 2 posted with the token", got)
	}
}

func TestHealth(t *testing.T) {
	f := newFixture(t, engine.Config{}, Options{})
	check := func(target string, status int, want string) {
		t.Helper()
		code, text := f.do("GET", target, "")
		if code != status || !strings.Contains(text, want) {
			t.Errorf("GET %s: got %d %s, want %d %s", target, code, text, status, want)
		}
	}
	check("/healthz", 200, `"ok"`)
	check("/readyz", 200, `"ready"`)
	f.server.Drain()
	check("/healthz", 200, `"ok"`)
	check("/readyz", 503, `"shutting down"`)
}

func TestNewServerChecks(t *testing.T) {
	e, err := engine.New(engine.Config{CacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	tests := []struct {
		name string
		o    Options
		err  string
	}{
		{"window beyond retention", Options{MetricsWindows: []Window{{"40d", 40 * 24 * time.Hour}}}, "metrics window 40d: window cannot be answered"},
		{"token with a space", Options{Token: "a b"}, "white space"},
		{"negative body limit", Options{MaxBodyBytes: -1}, "max body bytes -1"},
	}
	for _, tt := range tests {
		if _, err := NewServer(e, tt.o); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: got %v, want an error with %q", tt.name, err, tt.err)
		}
	}
}

// metricsFixture is a server with one key of each metric and the default
// metrics windows.
func metricsFixture(t *testing.T) *fixture {
	f := newFixture(t, engine.Config{}, Options{})
	f.post(ndjson, strings.Join([]string{
		event("enterprise", "checkout", "nps", 10, "c-1", t0.Add(-10*time.Minute)),
		event("enterprise", "checkout", "nps", 3, "c-2", t0.Add(-10*time.Minute)),
		event("enterprise", "web", "csat", 5, "c-1", t0),
		event("smb", "app", "ces", 6, "", t0.Add(-2*time.Hour)),
		event("smb", "app", "nps", 11, "", t0),
	}, "\n"))
	return f
}

func TestMetricsValues(t *testing.T) {
	f := metricsFixture(t)
	want := `
# HELP cxscore_nps_score NPS: percentage of promoters (9-10) minus percentage of detractors (0-6), -100 to 100. Absent when the window has no NPS responses.
# TYPE cxscore_nps_score gauge
cxscore_nps_score{segment="enterprise",touchpoint="checkout",window="1h"} 0
cxscore_nps_score{segment="enterprise",touchpoint="checkout",window="24h"} 0
# HELP cxscore_ces_score CES: mean score, 1-7. Absent when the window has no CES responses.
# TYPE cxscore_ces_score gauge
cxscore_ces_score{segment="smb",touchpoint="app",window="24h"} 6
# HELP cxscore_unique_customers Distinct customers who answered in the window (exact up to 2^precision/4 customers, a HyperLogLog estimate beyond).
# TYPE cxscore_unique_customers gauge
cxscore_unique_customers{segment="enterprise",touchpoint="checkout",window="1h"} 2
cxscore_unique_customers{segment="enterprise",touchpoint="checkout",window="24h"} 2
cxscore_unique_customers{segment="enterprise",touchpoint="checkout",window="5m"} 0
cxscore_unique_customers{segment="enterprise",touchpoint="web",window="1h"} 1
cxscore_unique_customers{segment="enterprise",touchpoint="web",window="24h"} 1
cxscore_unique_customers{segment="enterprise",touchpoint="web",window="5m"} 1
cxscore_unique_customers{segment="smb",touchpoint="app",window="1h"} 0
cxscore_unique_customers{segment="smb",touchpoint="app",window="24h"} 0
cxscore_unique_customers{segment="smb",touchpoint="app",window="5m"} 0
# HELP cxscore_sidecar_events_accepted_total Events recorded through POST /v1/events.
# TYPE cxscore_sidecar_events_accepted_total counter
cxscore_sidecar_events_accepted_total 4
# HELP cxscore_keys Segment x touchpoint keys the engine holds.
# TYPE cxscore_keys gauge
cxscore_keys 3
`
	names := []string{"cxscore_nps_score", "cxscore_ces_score", "cxscore_unique_customers", "cxscore_sidecar_events_accepted_total", "cxscore_keys"}
	if err := testutil.GatherAndCompare(f.server.registry, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(f.server.registry, "cxscore_responses"); err != nil || n != 3*3*3 {
		t.Errorf("got %d cxscore_responses series (%v), want 3 keys × 3 windows × 3 metrics", n, err)
	}
	if got := testutil.ToFloat64(f.server.metrics.rejectedBy["score_out_of_range"]); got != 1 {
		t.Errorf("got %v events rejected as score_out_of_range, want 1", got)
	}
}

// TestMetricsLint checks the exposition with client_golang's linter, the
// rules promtool check metrics applies.
func TestMetricsLint(t *testing.T) {
	f := metricsFixture(t)
	f.do("GET", "/v1/scores", "") // so that the latency histogram has a series
	problems, err := testutil.GatherAndLint(f.server.registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	if problems, err := testutil.CollectAndLint(newScoreCollector(f.engine, f.clock, DefaultMetricsWindows)); err != nil || len(problems) > 0 {
		t.Errorf("score collector: got %v, %v; want no problems", problems, err)
	}
}

// TestMetricsPromtool runs promtool check metrics over GET /metrics, if
// promtool is installed (or named by $PROMTOOL):
//
//	go install github.com/prometheus/prometheus/cmd/promtool@v0.316.0
func TestMetricsPromtool(t *testing.T) {
	promtool := os.Getenv("PROMTOOL")
	if promtool == "" {
		var err error
		if promtool, err = exec.LookPath("promtool"); err != nil {
			t.Skip("promtool not installed; TestMetricsLint applies the same rules")
		}
	}
	f := metricsFixture(t)
	f.do("GET", "/v1/scores", "")
	code, text := f.do("GET", "/metrics", "")
	if code != 200 {
		t.Fatalf("GET /metrics: got %d, want 200", code)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out.String())
	}
}
