package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/replica"
	"github.com/cxscore/cxscore/server/httpapi"
	"github.com/cxscore/cxscore/server/metrics"
	"github.com/cxscore/cxscore/server/snapfile"
)

func main() {
	err := run(context.Background(), os.Args[1:], os.Getenv, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "sidecar:", err)
		os.Exit(1)
	}
}

// Timeouts that are not flags. ReadHeaderTimeout stops clients that open
// connections and never finish a request (Slowloris); IdleTimeout closes
// keep-alive connections left unused.
const (
	readHeaderTimeout = 5 * time.Second
	idleTimeout       = 2 * time.Minute
)

// config is what the flags say.
type config struct {
	addr            string
	token           string
	adminToken      string
	allowedHosts    []string
	maxKeys         int
	overflow        string // the overflow key's segment and touchpoint; "": none
	maxBytes        int64
	maxHeld         int
	maxFuture       time.Duration
	location        *time.Location
	precision       uint
	cacheBytes      int64
	maxBody         int64
	maxEvent        int64
	metricsWindows  []metrics.Window
	metricsRollups  bool
	merge           bool
	readTimeout     time.Duration
	writeTimeout    time.Duration
	shutdownTimeout time.Duration
	logLevel        slog.Level
	logJSON         bool
	snapshotPath    string
	snapshotEvery   time.Duration
	maxMergeBytes   int64
	nats            natsConfig
	journeyPath     string
	journey         []httpapi.Stage // read from journeyPath
	alertsPath      string
	alerts          *alertsConfig // read from alertsPath; nil: none
	alertEvery      time.Duration
}

var errUsage = errors.New("usage")

const usageHeader = `Usage: sidecar [flags]

Serves a cxscore engine (in memory) over HTTP:

  POST /v1/events   record events: a JSON object, an array of them, or NDJSON
  GET  /v1/scores   ?segment=S&touchpoint=T&window=W  (S, T: omitted or * for all; W: 1h, 90m, 7d)
  GET  /v1/trend    ?segment=S&touchpoint=T&window=24h&step=1h
  GET  /v1/keys     the segments and touchpoints seen
  GET  /v1/compare  ?segment=S&touchpoint=T&window=7d&against=previous|week|year|rest  (S, T repeatable: a set)
  GET  /v1/matrix   ?window=W  every segment × touchpoint's scores
  GET  /v1/journey  ?segment=S&window=7d  each -journey stage compared with the previous period
  GET  /v1/snapshot the whole state, to keep or to merge elsewhere (curl -o cxscore.snap)
  POST /v1/merge    add a snapshot (the body, curl --data-binary @cxscore.snap) to the state (with -merge)
  DELETE /v1/keys   ?segment=S&touchpoint=T  forget a key, or a whole segment without touchpoint
  GET  /v1/alerts   the last 100 alerts of the -alerts rules and their delivery state
  DELETE /v1/responses/ID  forget a response (sent with a response_id) and take its answer out of every score
  GET  /metrics     Prometheus exposition
  GET  /healthz     alive;  GET /readyz  ready for traffic (503 while shutting down)

With a token (-token or CXSCORE_TOKEN), /v1/ and /metrics need the header
"Authorization: Bearer <token>"; /healthz and /readyz never do. Without one,
any program on the machine can read and write: set one beyond a laptop.
Web pages cannot: cross-origin writes are refused, POST bodies need
Content-Type application/json or application/x-ndjson, and on loopback only
loopback Host names are answered (-allowed-hosts to add some).
SIGINT or SIGTERM stops it gracefully: in-flight requests finish first.
With -snapshot FILE the state survives restarts: FILE is loaded at start and
replaced every -snapshot-every and at shutdown.
With -nats URLS (or -nats embedded) events are recorded through a NATS
JetStream stream that several sidecars share, and every one of them answers
for all of them; -snapshot FILE is then a local copy of the newest
checkpoint, loaded at start when newer than the stream's own checkpoints.
With -journey FILE, a JSON file of ordered stages, each a name and its
touchpoints,
  {"stages": [{"name": "purchase", "touchpoints": ["checkout", "web"]},
              {"name": "post-purchase", "touchpoints": ["delivery", "returns", "support"]}]}
GET /v1/journey and the dashboard's journey scorecard compare every stage
with the previous period.
The dashboard is at / (its URL is logged at start).

Flags:
`

// parseFlags reads the command line; getenv supplies CXSCORE_TOKEN. Usage
// and flag errors go to out. It returns flag.ErrHelp for -help, and an
// error wrapping errUsage for a bad command line.
func parseFlags(args []string, getenv func(string) string, out io.Writer) (config, error) {
	c := config{}
	fs := flag.NewFlagSet("sidecar", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, usageHeader)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "`host:port` to listen on; port 0 picks a free port (the log says which)")
	fs.StringVar(&c.token, "token", "", "bearer `token` required on /v1/ and /metrics (default $CXSCORE_TOKEN; prefer the variable:\ncommand lines are visible to other users)")
	fs.StringVar(&c.adminToken, "admin-token", "", "bearer `token` that POST /v1/merge requires instead of -token (default $CXSCORE_ADMIN_TOKEN)")
	hosts := fs.String("allowed-hosts", "", "comma-separated host `names` that requests may name in their Host header besides loopback ones\n(localhost, 127.0.0.1, [::1]); checked when listening on loopback, against DNS rebinding, and whenever set")
	fs.IntVar(&c.maxKeys, "max-keys", 10_000, "most segment × touchpoint keys; events that would add more are rejected (too_many_keys)")
	fs.StringVar(&c.overflow, "overflow", "", "at -max-keys, record the events of new keys into the key `name` × name (e.g. _other)\nrather than reject them; the count is cxscore_overflowed")
	fs.Int64Var(&c.maxBytes, "max-bytes", 0, "memory budget, in `bytes`, for what keys hold (cxscore_bytes); beyond it events of new keys are\nrejected (memory_budget) or go to -overflow; 0: none")
	fs.IntVar(&c.maxHeld, "max-held-responses", 1_000_000, "most responses with a response_id held for retries and corrections (24 bytes each);\nbeyond, those aged out are forgotten first, else new ids are rejected (too_many_responses)")
	fs.DurationVar(&c.maxFuture, "max-future", time.Minute, "how far ahead of the server's clock an event's time may be (clock skew); 0 or negative: not at all")
	timezone := fs.String("timezone", "UTC", "IANA `name` of the business time zone, such as America/New_York: days, weeks and months\n(window=today, this_month, trend steps 1d, 1w, 1mo) start at its local midnight, and answers give\ntheir times with its offset")
	fs.UintVar(&c.precision, "precision", 12, "unique-customer sketch precision p, 8-16: exact up to 2^p/8 customers, then ±1.04/√(2^p)")
	fs.Int64Var(&c.cacheBytes, "cache-bytes", 32<<20, "`bytes` of memory for cached results of closed time buckets (0: the default); negative: no cache")
	fs.Int64Var(&c.maxBody, "max-body", httpapi.DefaultMaxBodyBytes, "largest body of POST /v1/events, in `bytes`; larger ones get 413")
	fs.Int64Var(&c.maxEvent, "max-event-bytes", httpapi.DefaultMaxEventBytes, "largest JSON text of one event (an NDJSON line, an array element), in `bytes`;\nlarger ones are rejected (too_large) without being held, 64 to 16 MiB")
	windows := fs.String("metrics-windows", "5m,1h,24h", "comma-separated `windows` that /metrics reports scores over")
	fs.BoolVar(&c.metricsRollups, "metrics-rollups", true, "also report every segment over all touchpoints (touchpoint=\"*\"), every touchpoint over all\nsegments (segment=\"*\") and everything, computed by the engine (unique customers do not add up)")
	fs.BoolVar(&c.merge, "merge", false, "serve POST /v1/merge, which adds a snapshot to the state; needs a token (-token, -admin-token or\ntheir variables)")
	fs.DurationVar(&c.readTimeout, "read-timeout", time.Minute, "longest time to read a request, body included")
	fs.DurationVar(&c.writeTimeout, "write-timeout", 2*time.Minute, "longest time from the end of a request's headers to the end of its response;\nkeep it above -read-timeout, since events are answered once their body is read")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 30*time.Second, "longest wait for in-flight requests on SIGINT or SIGTERM")
	logLevel := fs.String("log-level", "info", "`level` of logs: debug (one line per request), info, warn or error")
	logFormat := fs.String("log-format", "text", "`format` of logs on stderr: text or json")
	fs.StringVar(&c.snapshotPath, "snapshot", "", "`file` that keeps the state across restarts: loaded at start (missing: start empty; unreadable:\nexit 1, the file untouched), replaced atomically every -snapshot-every if anything changed, and at shutdown;\n"+
		"with -nats, a local copy of the newest checkpoint tagged with its stream and sequence, loaded at start only if newer\n"+
		"than the stream's checkpoints and the stream still holds what follows it; with -alerts, the alert state (rules firing,\n"+
		"alerts not yet delivered) is kept the same way in FILE.alerts")
	fs.DurationVar(&c.snapshotEvery, "snapshot-every", snapfile.DefaultEvery, "pause between the end of one -snapshot write and the start of the next; a crash loses at most\nthis much plus one write's time (cxscore_sidecar_snapshot_last_duration_seconds)")
	fs.Int64Var(&c.maxMergeBytes, "max-merge-bytes", httpapi.DefaultMaxMergeBytes, "largest body of POST /v1/merge, in `bytes`; larger ones get 413")
	natsURLs := fs.String("nats", "", "record through a NATS JetStream stream shared with other sidecars: comma-separated nats:// `URLs`\nof its servers, or embedded to run a JetStream server in this process (see -nats-dir)")
	fs.StringVar(&c.nats.stream, "nats-stream", "CXSCORE", "`name` of the JetStream stream of events (created if missing)")
	fs.IntVar(&c.nats.replicas, "nats-replicas", 1, "copies JetStream keeps of the stream when this sidecar creates it: 1 for a single server,\n3 to survive the loss of any node of a cluster")
	fs.StringVar(&c.nats.name, "nats-name", "", "`name` of this replica (and of its embedded server); default the host name")
	fs.StringVar(&c.nats.dir, "nats-dir", "cxscore-jetstream", "`folder` of the embedded JetStream server's files")
	fs.StringVar(&c.nats.listen, "nats-listen", "127.0.0.1:4222", "`host:port` the embedded NATS server listens on for clients")
	fs.StringVar(&c.nats.cluster, "nats-cluster", "", "`name` of the JetStream cluster the embedded server joins (needs -nats-name); empty: a single server")
	fs.StringVar(&c.nats.clusterListen, "nats-cluster-listen", "127.0.0.1:6222", "`host:port` the embedded server listens on for the cluster's routes")
	fs.StringVar(&c.journeyPath, "journey", "", "`file` of the customer journey that GET /v1/journey and the dashboard score stage by stage:\n"+
		`{"stages": [{"name": "purchase", "touchpoints": ["checkout", "web"]}, ...]}, read at start`)
	fs.StringVar(&c.alertsPath, "alerts", "", "`file` of alert webhooks and rules, read at start: "+
		`{"webhooks": [{"name": "ops", "url": "...", "secret": "..."}], "rules": [{"name": "csat-low", "kind": "threshold", ...}]}`+
		"\n(kinds response, with max_score, checked on every answer; threshold, drop and rise, evaluated every -alert-every)")
	fs.DurationVar(&c.alertEvery, "alert-every", 30*time.Second, "how often the -alerts score rules (threshold, drop, rise) are evaluated")
	natsRoutes := fs.String("nats-routes", "", "comma-separated nats-route://host:port `URLs` of the cluster's servers (this one's may be listed)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	bad := func(format string, args ...any) (config, error) {
		err := fmt.Errorf(format, args...)
		fmt.Fprintf(out, "sidecar: %v\n", err)
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q; the sidecar takes only flags", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["token"] {
		c.token = getenv("CXSCORE_TOKEN")
	}
	if !set["admin-token"] {
		c.adminToken = getenv("CXSCORE_ADMIN_TOKEN")
	}
	for _, h := range strings.Split(*hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			c.allowedHosts = append(c.allowedHosts, h)
		}
	}
	if c.precision > 255 {
		return bad("-precision %d, want 8-16", c.precision)
	}
	if c.maxKeys <= 0 {
		return bad("-max-keys %d, want > 0", c.maxKeys)
	}
	if c.overflow != "" && (c.overflow == engine.All || len(c.overflow) > engine.MaxLabelBytes || !utf8.ValidString(c.overflow) || strings.TrimSpace(c.overflow) != c.overflow) {
		return bad("-overflow %q: want a segment and touchpoint name of at most %d bytes of UTF-8, not * and without surrounding spaces", c.overflow, engine.MaxLabelBytes)
	}
	if c.maxBytes < 0 {
		return bad("-max-bytes %d, want ≥ 0 (0: no budget)", c.maxBytes)
	}
	if c.maxHeld <= 0 {
		return bad("-max-held-responses %d, want > 0", c.maxHeld)
	}
	if c.maxBody <= 0 {
		return bad("-max-body %d, want > 0", c.maxBody)
	}
	if c.maxEvent < 64 || c.maxEvent > 16<<20 {
		return bad("-max-event-bytes %d, want 64 to %d", c.maxEvent, 16<<20)
	}
	if c.snapshotEvery <= 0 {
		return bad("-snapshot-every %v, want > 0", c.snapshotEvery)
	}
	if c.maxMergeBytes <= 0 {
		return bad("-max-merge-bytes %d, want > 0", c.maxMergeBytes)
	}
	loc, err := time.LoadLocation(*timezone)
	if err != nil || *timezone == "" || *timezone == "Local" {
		return bad("-timezone %q: want an IANA time zone name such as UTC, Europe/Berlin or America/New_York", *timezone)
	}
	c.location = loc
	if c.maxFuture == 0 {
		c.maxFuture = -1 // the engine reads 0 as its default; the flag means none
	}
	if c.merge && c.token == "" && c.adminToken == "" {
		return bad("-merge needs a token (-token, -admin-token, CXSCORE_TOKEN or CXSCORE_ADMIN_TOKEN): a merge can change every score")
	}
	c.nats.urls, c.nats.routes = splitList(*natsURLs), splitList(*natsRoutes)
	if err := c.nats.check(set); err != nil {
		return bad("%v", err)
	}
	if len(c.nats.urls) > 0 || c.nats.embedded {
		if c.merge {
			return bad("-merge cannot be used with -nats: a merge would change this replica alone")
		}
	}
	if c.journeyPath != "" {
		if c.journey, err = readJourney(c.journeyPath); err != nil {
			return bad("-journey %s: %v", c.journeyPath, err)
		}
	}
	if c.alertEvery <= 0 {
		return bad("-alert-every %v, want > 0", c.alertEvery)
	}
	if c.alertsPath != "" {
		if c.alerts, err = readAlerts(c.alertsPath); err != nil {
			return bad("-alerts %s: %v", c.alertsPath, err)
		}
	}
	if c.metricsWindows, err = metrics.ParseWindows(*windows); err != nil {
		return bad("-metrics-windows: %v", err)
	}
	if err := c.logLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return bad("-log-level %q: want debug, info, warn or error", *logLevel)
	}
	switch *logFormat {
	case "text":
	case "json":
		c.logJSON = true
	default:
		return bad("-log-format %q: want text or json", *logFormat)
	}
	return c, nil
}

// run is the sidecar: it serves until ctx ends or a SIGINT or SIGTERM
// arrives (or, when run by go run, the go command goes away), then shuts
// down gracefully. It logs to stderr, including the address it listens on
// and the dashboard's URL.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	c, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	opts := &slog.HandlerOptions{Level: c.logLevel}
	var logger *slog.Logger
	if c.logJSON {
		logger = slog.New(slog.NewJSONHandler(stderr, opts))
	} else {
		logger = slog.New(slog.NewTextHandler(stderr, opts))
	}

	ec := engine.Config{
		MaxKeys:          c.maxKeys,
		MaxFuture:        c.maxFuture,
		Precision:        uint8(c.precision),
		CacheBytes:       c.cacheBytes,
		MaxBytes:         c.maxBytes,
		MaxHeldResponses: c.maxHeld,
		Overflow:         engine.Key{Segment: c.overflow, Touchpoint: c.overflow},
		Location:         c.location,
	}
	var obs observer // response rules: the engine tells the evaluator of every answer
	if c.alerts != nil && c.alerts.hasResponseRules() {
		ec.Observe = obs.observe
	}
	e, err := engine.New(ec)
	if err != nil {
		return err
	}
	defer e.Close()
	// The evaluator before anything records (replica, HTTP, snapshot
	// merges fire nothing anyway): response rules see every event.
	var al *alerting // nil without -alerts
	if c.alerts != nil {
		if al, err = newAlerting(c.alerts, e, logger); err != nil {
			return err
		}
		defer al.closeHooks() // on a way out before start; stop closes them too
		if c.snapshotPath != "" {
			if err := al.keepState(c.snapshotPath+alertStateSuffix, c.snapshotEvery); err != nil {
				return err
			}
		}
		obs.eval.Store(al.eval)
	}

	collector, err := metrics.New(e, metrics.Options{Windows: c.metricsWindows, Rollups: c.metricsRollups})
	if err != nil {
		return err
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collector,
	)
	var keeper *snapfile.Keeper // nil without -snapshot
	var rep *replica.Replica    // nil without -nats
	if len(c.nats.urls) > 0 || c.nats.embedded {
		var stopNATS func()
		open := func(local io.Reader) error {
			var err error
			rep, stopNATS, err = openNATS(ctx, c.nats, e, local, logger)
			if errors.Is(err, replica.ErrLocalCorrupt) || errors.Is(err, replica.ErrLocalStream) {
				return fmt.Errorf("snapshot %s: %w; the file is left as it is: move it away (or give -snapshot another path) "+
					"to start from the stream's checkpoints", c.snapshotPath, err)
			}
			return err
		}
		if c.snapshotPath != "" {
			// The file is a local copy of a checkpoint (replica.WriteLocal):
			// loaded at start if newer than the bucket's, then rewritten.
			keeper, err = snapfile.Open(e, snapfile.Config{
				Path: c.snapshotPath, Every: c.snapshotEvery, Logger: logger, Restore: open,
				Changes: func() uint64 { return rep.Applied() },
				Write: func(w io.Writer) (int64, error) {
					_, n, err := rep.WriteLocal(w)
					return n, err
				},
			})
		} else {
			err = open(nil)
		}
		if stopNATS != nil {
			defer stopNATS() // before e.Close, deferred above; after keeper.Close, deferred below
		}
		if err != nil {
			return err
		}
		registry.MustRegister(replicaCollector{r: rep, now: time.Now})
		if keeper != nil {
			registry.MustRegister(keeper.Collector())
		}
	}
	ready := func() error {
		if rep != nil {
			if err := natsReady(rep); err != nil {
				return err
			}
		}
		if keeper == nil {
			return nil
		}
		return keeper.Err()
	}
	// Listen before building the handler, which checks Host headers when
	// the address is loopback; nothing is served before Serve below.
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	var alertsHandler http.Handler // nil without -alerts: GET /v1/alerts is not served
	if al != nil {
		registry.MustRegister(al)
		alertsHandler = al
	}
	var recorder httpapi.Recorder // nil: the engine records
	if rep != nil {
		recorder = rep
	}
	h, err := httpapi.New(e, httpapi.Options{
		Token:         c.token,
		AdminToken:    c.adminToken,
		CheckHost:     isLoopback(ln.Addr()),
		AllowedHosts:  c.allowedHosts,
		MaxBodyBytes:  c.maxBody,
		MaxEventBytes: c.maxEvent,
		MaxMergeBytes: c.maxMergeBytes,
		Merge:         c.merge,
		Dashboard:     true,
		// Concurrent scrapes share one gathering (at 10,000 keys it is
		// the cost of a scrape); a scraper that does not read is cut by
		// -write-timeout, releasing what it holds.
		Metrics: promhttp.HandlerFor(metrics.Shared(registry), promhttp.HandlerOpts{
			ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError),
		}),
		Ready:    ready,
		Logger:   logger,
		Recorder: recorder,
		Journey:  c.journey,
		Alerts:   alertsHandler,
	})
	if err != nil {
		return err
	}
	registry.MustRegister(h.Collector())
	if c.snapshotPath != "" && rep == nil {
		keeper, err = snapfile.Open(e, snapfile.Config{
			Path: c.snapshotPath, Every: c.snapshotEvery, Changes: h.Changes, Logger: logger,
		})
		if err != nil {
			return err
		}
		registry.MustRegister(keeper.Collector())
	}

	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       c.readTimeout,
		WriteTimeout:      c.writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("listening", "addr", ln.Addr().String(), "token", c.token != "",
		"max_keys", c.maxKeys, "max_body", c.maxBody, "journey_stages", len(c.journey))
	logger.Info("dashboard", "url", dashboardURL(ln.Addr()))
	if !isLoopback(ln.Addr()) && c.token == "" {
		logger.Warn("listening beyond loopback without a token: anyone who can reach the port can read and write scores")
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = stopWithGoRun(ctx, logger) // go run's SIGTERM kills only the go command (gorun.go)
	if keeper != nil {
		keeper.Start()
		defer keeper.Close() // a last write on every way out; the one below reports its error
	}
	if al != nil {
		al.start(ctx, c.alertEvery)
		defer al.stop() // before e.Close, deferred above; on a normal shutdown, stopped below
		logger.Info("alerts", "rules", len(c.alerts.rules), "webhooks", len(c.alerts.webhooks), "every", c.alertEvery)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	stop() // a second signal kills the process the usual way
	logger.Info("shutting down", "timeout", c.shutdownTimeout)
	h.Drain()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		hs.Close()
		return fmt.Errorf("shutdown: in-flight requests did not finish within %v: %w", c.shutdownTimeout, err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if al != nil {
		if err := al.stop(); err != nil {
			return fmt.Errorf("last alert state: %w", err)
		}
	}
	if keeper != nil {
		if err := keeper.Close(); err != nil {
			return fmt.Errorf("last snapshot: %w", err)
		}
	}
	logger.Info("stopped")
	return nil
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// dashboardURL is where a person on this machine opens the dashboard:
// the listening address, with a host a browser can reach for 0.0.0.0 or ::.
func dashboardURL(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String() + "/"
	}
	host := ta.IP.String()
	if ta.IP.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(ta.Port)) + "/"
}
