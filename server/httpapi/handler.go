package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/window"
)

// Options configures a Handler. The zero value serves the /v1/ API without
// a token, with the system clock and the default limits, and without the
// dashboard, /metrics or POST /v1/merge; each field says what its zero
// value means.
type Options struct {
	// Clock is the handler's clock: it stamps events without a time and
	// ends every query's window. Zero: the system clock. Give it the same
	// clock as the engine's.
	Clock window.Clock
	// Token, if set, is the bearer token every /v1/ endpoint and /metrics
	// require. It may not contain white space. Zero: no authentication.
	Token string
	// MaxBodyBytes bounds the body of POST /v1/events; a larger one is
	// answered 413. Zero: DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxEventBytes bounds the JSON text of one event (an NDJSON line, an
	// array element): a larger one is rejected (too_large) without being
	// held, and the events after it are read as usual. It is also what a
	// request holds of its body at most. Zero: DefaultMaxEventBytes.
	MaxEventBytes int64
	// MaxMergeBytes bounds the body of POST /v1/merge; a larger one is
	// answered 413. Zero: DefaultMaxMergeBytes.
	MaxMergeBytes int64
	// Merge serves POST /v1/merge, which adds a snapshot to the engine
	// and so can change every score: New refuses it without Token or
	// AdminToken. Zero: not served (404).
	Merge bool
	// AdminToken, if set, is the bearer token POST /v1/merge requires
	// instead of Token, so that clients that record and read cannot
	// merge. It may not contain white space. Zero: merges take Token.
	AdminToken string
	// CheckHost answers 403 to requests whose Host header is neither a
	// loopback name or address (localhost, *.localhost, 127.0.0.0/8,
	// [::1]) nor one of AllowedHosts. Set it when the server listens on
	// loopback only: a web page cannot then reach it through DNS
	// rebinding (a name of the page's that resolves to 127.0.0.1). Zero:
	// any Host, unless AllowedHosts is set.
	CheckHost bool
	// AllowedHosts are host names or addresses, without port, that a
	// request's Host may name besides loopback ones; setting any implies
	// CheckHost.
	AllowedHosts []string
	// Dashboard serves the live dashboard at / and its files under
	// /static/, without the token: they hold no data. Zero: not served.
	Dashboard bool
	// Metrics, if set, is served at GET /metrics behind the token, for
	// example promhttp.HandlerFor over a registry holding the collector of
	// package metrics and Handler.Collector. Zero: not served.
	Metrics http.Handler
	// Alerts, if set, is served at GET /v1/alerts behind the token: the
	// recent alerts and their delivery state, as the sidecar keeps them.
	// Zero: not served.
	Alerts http.Handler
	// Ready, if set, is asked by GET /readyz: a non-nil error answers 503
	// with the error's text, for example while snapshot writes fail. Zero:
	// ready until Drain.
	Ready func() error
	// Logger receives the handler's logs; at level debug, one line per
	// request. Zero: slog.Default().
	Logger *slog.Logger
	// Recorder, if set, records the events of POST /v1/events in place of
	// the engine, for example a replica (package
	// github.com/cxscore/cxscore/replica) that stores them in a replicated
	// log and applies the log to the engine. Queries still read the engine.
	// Since DELETE /v1/keys, DELETE /v1/responses/{id} and POST /v1/merge
	// would change this engine alone, they are not served with a Recorder,
	// unless it is also a Deleter: then it serves the two deletions (POST
	// /v1/merge stays unserved). Zero: the engine records and deletes.
	Recorder Recorder
	// Journey is the customer journey that GET /v1/journey compares stage
	// by stage, in order; New refuses one that CheckJourney refuses, and
	// keeps a copy. Zero: no journey (GET /v1/journey answers no stages).
	Journey []Stage
}

// A Recorder records events for POST /v1/events. RecordBatch has the
// contract of engine.Engine.RecordBatchAt: it records the valid events and
// returns nil or an *engine.BatchError listing the rejected ones, which
// changed nothing; and it returns only once a query of the engine sees
// what it recorded. Any other error means it cannot tell which events were
// recorded: the request is answered 503 with what is known.
type Recorder interface {
	RecordBatch(ctx context.Context, events []engine.Event) error
}

// An OutcomeRecorder is a Recorder that also says what each event did, as
// engine.Engine.RecordBatchResponsesAt does: RecordBatchOutcomes stores in
// out[i] (out is at least as long as events) Recorded, Duplicate, Updated,
// or Rejected for the events of its *engine.BatchError, when it returns
// nil or a BatchError. With one, the "accepted", "duplicates" and
// "updated" counts of POST /v1/events are those of an engine alone; with a
// plain Recorder every event it did not reject counts as accepted (package
// replica's Replica is an OutcomeRecorder: it reports what its engine did
// as it applied the events from the log).
type OutcomeRecorder interface {
	Recorder
	RecordBatchOutcomes(ctx context.Context, events []engine.Event, out []engine.Outcome) error
}

// A Deleter deletes for DELETE /v1/responses/{id} and DELETE /v1/keys in
// place of the engine, when the Options' Recorder is one too (package
// replica's Replica is one: it publishes the deletion to the replicated
// log, so that every replica's engine applies it in log order). Each method
// has the contract of the engine's own (engine.Engine.DeleteResponseAt,
// engine.Engine.DeleteKeys) and returns only once a query of this engine
// sees the deletion, with what this engine answered: whether it held the
// response, how many keys it deleted. So the answers are those of an engine
// alone: 200 {"deleted": ...}, or 404 when nothing was held.
//
// An error wrapping engine.ErrInvalidResponseID, engine.ErrInvalidSegment
// or engine.ErrInvalidTouchpoint means nothing was deleted: 400. Any other
// means the Deleter cannot tell whether the deletion will be applied: 503,
// saying so (a deletion is idempotent, so the client may retry it).
type Deleter interface {
	DeleteResponse(ctx context.Context, id string) (held bool, err error)
	DeleteKeys(ctx context.Context, segment, touchpoint string) (deleted int, err error)
}

// DefaultMaxBodyBytes is the default limit on the body of POST /v1/events,
// about 100,000 events. Bodies are read in batches, never held whole, so
// the limit bounds the work of one request rather than its memory.
const DefaultMaxBodyBytes = 16 << 20

// maxMaxEventBytes bounds Options.MaxEventBytes: every request may hold
// that much.
const maxMaxEventBytes = 16 << 20

// DefaultMaxMergeBytes is the default limit on the body of POST /v1/merge.
// The engine checks a snapshot whole before it merges anything, so a
// merge holds about as much memory as its body: the limit bounds that.
const DefaultMaxMergeBytes = 1 << 30

// Handler is the HTTP API over one engine, an http.Handler. It serves its
// routes at their full paths (/v1/events, /metrics, ...), so mount it at
// "/" or at "/v1/" of a caller's http.ServeMux. It is safe for concurrent
// use.
type Handler struct {
	engine    *engine.Engine
	clock     window.Clock
	log       *slog.Logger
	maxBody   int64
	maxEvent  int
	maxMerge  int64
	ready     func() error
	guard     *guard
	recorder  Recorder        // nil: the engine records
	sequencer Sequencer       // the recorder, if it is one
	outcomer  OutcomeRecorder // the recorder, if it is one
	deleter   Deleter         // the recorder, if it is one
	metrics   *requestMetrics
	journey   []Stage // Options.Journey, copied
	mux       *http.ServeMux
	ingests   sync.Pool // *ingest
	draining  atomic.Bool
	accepted  atomic.Uint64 // events recorded, since New
	merges    atomic.Uint64 // snapshots merged, since New
	deletes   atomic.Uint64 // DELETE /v1/keys that deleted something, since New
	// Since New: events acknowledged as duplicates, corrections applied, and
	// responses deleted by DELETE /v1/responses/{id}.
	duplicates, updates, respDeletes atomic.Uint64
}

// New returns the HTTP API over e. The error, if any, is about o.
func New(e *engine.Engine, o Options) (*Handler, error) {
	h := &Handler{engine: e, clock: o.Clock, log: o.Logger, maxBody: o.MaxBodyBytes, maxMerge: o.MaxMergeBytes, ready: o.Ready, recorder: o.Recorder}
	if h.clock == nil {
		h.clock = window.SystemClock{}
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.maxBody < 0 {
		return nil, fmt.Errorf("max body bytes %d, want > 0", h.maxBody)
	}
	switch n := o.MaxEventBytes; {
	case n == 0:
		h.maxEvent = DefaultMaxEventBytes
	case n < 64 || n > maxMaxEventBytes:
		return nil, fmt.Errorf("max event bytes %d, want 64 to %d", n, maxMaxEventBytes)
	default:
		h.maxEvent = int(n)
	}
	if h.maxMerge == 0 {
		h.maxMerge = DefaultMaxMergeBytes
	}
	if h.maxMerge < 0 {
		return nil, fmt.Errorf("max merge bytes %d, want > 0", h.maxMerge)
	}
	for _, tok := range []string{o.Token, o.AdminToken} {
		if strings.TrimSpace(tok) != tok || strings.ContainsAny(tok, " \t\r\n") {
			return nil, errors.New("token must not contain white space")
		}
	}
	if o.Merge && o.Token == "" && o.AdminToken == "" {
		return nil, errors.New("merge needs a token or an admin token: a merge can change every score")
	}
	var err error
	if h.guard, err = newGuard(o.CheckHost, o.AllowedHosts); err != nil {
		return nil, err
	}
	if err := CheckJourney(o.Journey); err != nil {
		return nil, fmt.Errorf("journey: %w", err)
	}
	for _, st := range o.Journey {
		h.journey = append(h.journey, Stage{Name: st.Name, Touchpoints: slices.Clone(st.Touchpoints)})
	}
	h.sequencer, _ = h.recorder.(Sequencer)
	h.outcomer, _ = h.recorder.(OutcomeRecorder)
	h.deleter, _ = h.recorder.(Deleter)
	h.ingests.New = func() any { return new(ingest) }
	h.metrics = newRequestMetrics(h)

	auth := requireToken(o.Token)
	h.mux = http.NewServeMux()
	route := func(pattern string, hd http.Handler) {
		path := pattern[strings.IndexByte(pattern, ' ')+1:]
		h.mux.Handle(pattern, h.metrics.instrument(path, hd))
	}
	route("POST /v1/events", auth(http.HandlerFunc(h.handleEvents)))
	route("GET /v1/scores", auth(h.atSequence(http.HandlerFunc(h.handleScores))))
	route("GET /v1/trend", auth(h.atSequence(http.HandlerFunc(h.handleTrend))))
	route("GET /v1/keys", auth(h.atSequence(http.HandlerFunc(h.handleKeys))))
	route("GET /v1/compare", auth(h.atSequence(http.HandlerFunc(h.handleCompare))))
	route("GET /v1/matrix", auth(h.atSequence(http.HandlerFunc(h.handleMatrix))))
	route("GET /v1/journey", auth(h.atSequence(http.HandlerFunc(h.handleJourney))))
	if h.recorder == nil || h.deleter != nil {
		route("DELETE /v1/keys", auth(http.HandlerFunc(h.handleDeleteKeys)))
		route("DELETE /v1/responses/{id}", auth(http.HandlerFunc(h.handleDeleteResponse)))
	}
	route("GET /v1/snapshot", auth(h.atSequence(http.HandlerFunc(h.handleSnapshot))))
	if o.Merge && h.recorder == nil {
		admin := auth
		if o.AdminToken != "" {
			admin = requireToken(o.AdminToken)
		}
		route("POST /v1/merge", admin(http.HandlerFunc(h.handleMerge)))
	}
	if o.Metrics != nil {
		route("GET /metrics", auth(o.Metrics))
	}
	if o.Alerts != nil {
		route("GET /v1/alerts", auth(o.Alerts))
	}
	route("GET /healthz", http.HandlerFunc(h.handleHealth))
	route("GET /readyz", http.HandlerFunc(h.handleReady))
	if o.Dashboard {
		d := newDashboard() // the page and its files, open: they hold no data (dashboard.go)
		route("GET /{$}", d)
		route("GET /static/", d)
	}
	return h, nil
}

// ServeHTTP serves the API. A path it does not serve is 404 and a method a
// path does not take is 405 (with Allow), both with a JSON error body like
// every other answer.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.log.Enabled(r.Context(), slog.LevelDebug) {
		h.serve(w, r)
		return
	}
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	h.serve(rec, r)
	h.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	if status, msg := h.guard.check(r); status != 0 {
		writeError(w, status, msg)
		return
	}
	hd, pattern := h.mux.Handler(r)
	if pattern != "" {
		h.mux.ServeHTTP(w, r) // not hd: the mux's own ServeHTTP sets the path values ({id})
		return
	}
	// The mux's own answer (404, 405 with Allow, or a redirect to a
	// cleaned path): keep its status and headers, say it in JSON.
	c := &capture{header: http.Header{}}
	hd.ServeHTTP(c, r)
	for _, name := range []string{"Allow", "Location"} {
		if v := c.header.Get(name); v != "" {
			w.Header().Set(name, v)
		}
	}
	switch c.status {
	case http.StatusNotFound:
		writeError(w, c.status, fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path))
	case http.StatusMethodNotAllowed:
		writeError(w, c.status, fmt.Sprintf("%s %s: method not allowed; this endpoint takes %s", r.Method, r.URL.Path, c.header.Get("Allow")))
	default:
		writeError(w, c.status, http.StatusText(c.status))
	}
}

// capture records the status and headers of the mux's fallback answers.
type capture struct {
	header http.Header
	status int
}

func (c *capture) Header() http.Header { return c.header }
func (c *capture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}
func (c *capture) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return len(p), nil
}

// Drain marks the handler as shutting down: /readyz answers 503 from now
// on, so that load balancers stop sending traffic while in-flight requests
// end.
func (h *Handler) Drain() { h.draining.Store(true) }

// Changes returns a count that grows with every change the handler made to
// the engine: events recorded, snapshots merged and keys deleted. It is counted after
// each change, so a snapshot written after reading a count holds at least
// the changes it counts; package snapfile uses it to skip writes that
// would hold nothing new.
func (h *Handler) Changes() uint64 {
	return h.accepted.Load() + h.updates.Load() + h.merges.Load() + h.deletes.Load() + h.respDeletes.Load()
}

// Health is the answer of GET /healthz and GET /readyz.
type Health struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

func (h *Handler) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, Health{Status: "ok"})
}

func (h *Handler) handleReady(w http.ResponseWriter, r *http.Request) {
	if h.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, Health{Status: "shutting down"})
		return
	}
	if h.ready != nil {
		if err := h.ready(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, Health{Status: "not ready", Error: err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, Health{Status: "ready"})
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

// Error is the body of every answer that is not a success, except those of
// POST /v1/events, which are an IngestResponse with Error set.
type Error struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, Error{msg})
}

// params parses a request's query string, which may hold only the given
// names, each at most once.
func params(r *http.Request, names ...string) (map[string]string, error) {
	q, err := values(r, nil, names...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(q))
	for name, vs := range q {
		out[name] = vs[0]
	}
	return out, nil
}

// values reads the query string of r: each parameter must be one of names,
// and given once unless it is one of repeatable.
func values(r *http.Request, repeatable []string, names ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("malformed query string: %v", err)
	}
	for name, vs := range q {
		switch {
		case !slices.Contains(names, name) && len(names) == 0:
			return nil, fmt.Errorf("unknown parameter %q; this endpoint takes no parameters", name)
		case !slices.Contains(names, name):
			return nil, fmt.Errorf("unknown parameter %q; this endpoint takes %s", name, strings.Join(names, ", "))
		case len(vs) > 1 && !slices.Contains(repeatable, name):
			return nil, fmt.Errorf("parameter %q given %d times, want once", name, len(vs))
		}
	}
	return q, nil
}
