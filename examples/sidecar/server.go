package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/window"
)

// Options configures a Server. The zero value serves without a token, with
// the system clock and the default limits; each field says what its zero
// value means.
type Options struct {
	// Clock is the server's clock: it stamps events without a time and ends
	// every query's window. Zero: the system clock. Give it the same clock
	// as the engine's.
	Clock window.Clock
	// Token, if set, is the bearer token every /v1/ endpoint and /metrics
	// require. Zero: no authentication.
	Token string
	// MaxBodyBytes bounds the body of POST /v1/events; a larger one is
	// answered 413. Zero: DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MetricsWindows are the windows /metrics reports scores over, each
	// with the text of its window label. Zero: DefaultMetricsWindows.
	MetricsWindows []Window
	// Logger receives the server's logs. Zero: slog.Default().
	Logger *slog.Logger
	// MaxMergeBytes bounds the body of POST /v1/merge; a larger one is
	// answered 413. Zero: DefaultMaxMergeBytes.
	MaxMergeBytes int64
	// SnapshotPath is the file that keeps the engine's state across
	// restarts: NewServer merges it into the engine, which should be empty
	// (a missing file is an empty state), and StartSnapshots replaces it
	// (snapshot.go). Zero: no file.
	SnapshotPath string
}

// Window is a window length and how to write it, e.g. "7d" for 168 hours.
type Window struct {
	Text     string
	Duration time.Duration
}

// DefaultMaxBodyBytes is the default limit on the body of POST /v1/events,
// about 100,000 events. Bodies are read in batches, never held whole, so
// the limit bounds the work of one request rather than its memory.
const DefaultMaxBodyBytes = 16 << 20

// DefaultMetricsWindows are the windows /metrics reports by default.
var DefaultMetricsWindows = []Window{{"5m", 5 * time.Minute}, {"1h", time.Hour}, {"24h", 24 * time.Hour}}

// Server is the sidecar's http.Handler: the HTTP API over one engine. It
// is safe for concurrent use.
type Server struct {
	engine   *engine.Engine
	clock    window.Clock
	log      *slog.Logger
	maxBody  int64
	metrics  *serverMetrics
	registry *prometheus.Registry
	handler  http.Handler
	ingests  sync.Pool // *ingest
	draining atomic.Bool
	snap     *snapshots // snapshot.go
}

// NewServer returns the HTTP API over e. It checks that every metrics
// window can be answered by e. With o.SnapshotPath it restores e from that
// file, and fails if the file exists but cannot be read whole.
func NewServer(e *engine.Engine, o Options) (*Server, error) {
	s := &Server{engine: e, clock: o.Clock, log: o.Logger, maxBody: o.MaxBodyBytes}
	if s.clock == nil {
		s.clock = window.SystemClock{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxBody == 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.maxBody < 0 {
		return nil, fmt.Errorf("max body bytes %d, want > 0", s.maxBody)
	}
	windows := o.MetricsWindows
	if windows == nil {
		windows = DefaultMetricsWindows
	}
	var r engine.Result
	for _, w := range windows {
		if err := e.QueryAt(s.clock.Now(), engine.Query{Window: w.Duration}, &r); err != nil {
			return nil, fmt.Errorf("metrics window %s: %w", w.Text, err)
		}
	}
	if strings.TrimSpace(o.Token) != o.Token || strings.ContainsAny(o.Token, " \t\r\n") {
		return nil, errors.New("token must not contain white space")
	}
	s.ingests.New = func() any { return new(ingest) }

	s.registry = prometheus.NewRegistry()
	s.metrics = newServerMetrics()
	s.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		s.metrics,
		newScoreCollector(e, s.clock, windows),
	)
	if err := s.initSnapshots(o); err != nil {
		return nil, err
	}

	auth := requireToken(o.Token)
	mux := http.NewServeMux()
	route := func(pattern string, h http.Handler) {
		path := pattern[strings.IndexByte(pattern, ' ')+1:]
		mux.Handle(pattern, s.metrics.instrument(path, h))
	}
	route("POST /v1/events", auth(http.HandlerFunc(s.handleEvents)))
	route("GET /v1/scores", auth(http.HandlerFunc(s.handleScores)))
	route("GET /v1/trend", auth(http.HandlerFunc(s.handleTrend)))
	route("GET /v1/keys", auth(http.HandlerFunc(s.handleKeys)))
	route("GET /v1/snapshot", auth(http.HandlerFunc(s.handleSnapshot)))
	route("POST /v1/merge", auth(http.HandlerFunc(s.handleMerge)))
	route("GET /metrics", auth(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelError),
	})))
	route("GET /healthz", http.HandlerFunc(s.handleHealth))
	route("GET /readyz", http.HandlerFunc(s.handleReady))
	dashboard := newDashboard() // the page and its files, open: they hold no data (dashboard.go)
	route("GET /{$}", dashboard)
	route("GET /static/", dashboard)
	s.handler = mux
	return s, nil
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.log.Enabled(r.Context(), slog.LevelDebug) {
		s.handler.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.handler.ServeHTTP(rec, r)
	s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
}

// Drain marks the server as shutting down: /readyz answers 503 from now on,
// so that load balancers stop sending traffic while in-flight requests end.
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v) // the client may be gone; nothing to do about it
}

type errorResponse struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorResponse{msg})
}

// params parses a request's query string, which may hold only the given
// names, each at most once.
func params(r *http.Request, names ...string) (map[string]string, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("malformed query string: %v", err)
	}
	out := make(map[string]string, len(q))
	for name, vs := range q {
		known := false
		for _, n := range names {
			known = known || n == name
		}
		switch {
		case !known:
			return nil, fmt.Errorf("unknown parameter %q; this endpoint takes %s", name, strings.Join(names, ", "))
		case len(vs) > 1:
			return nil, fmt.Errorf("parameter %q given %d times, want once", name, len(vs))
		}
		out[name] = vs[0]
	}
	return out, nil
}
