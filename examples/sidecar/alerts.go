package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cxscore/cxscore/alert"
	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/server/metrics"
	"github.com/cxscore/cxscore/server/snapfile"
)

// alertsFile is the format of -alerts's file: webhooks, and rules that
// name one of them.
//
//	{"webhooks": [{"name": "ops", "url": "http://127.0.0.1:9000/hook", "secret": "s3cret"}],
//	 "rules": [{"name": "detractor", "kind": "response", "metric": "nps", "max_score": 6,
//	            "segment": "*", "touchpoint": "*", "webhook": "ops"},
//	           {"name": "csat-low", "kind": "threshold", "metric": "csat", "window": "1h", "below": 70,
//	            "min_responses": 20, "cooldown": "10m", "webhook": "ops"}, ...]}
type alertsFile struct {
	Webhooks []webhookJSON `json:"webhooks"`
	Rules    []ruleJSON    `json:"rules"`
}

type webhookJSON struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	Secret string `json:"secret"`
	// Optional delivery schedule, Go durations ("5s", "500ms"); omitted:
	// the alert package's defaults (5s, 8 tries, 2s doubling to 1m).
	Timeout    string `json:"timeout"`
	Attempts   int    `json:"attempts"`
	Backoff    string `json:"backoff"`
	MaxBackoff string `json:"max_backoff"`
}

type ruleJSON struct {
	Name         string   `json:"name"`
	Kind         string   `json:"kind"`
	Metric       string   `json:"metric"`
	Window       string   `json:"window"`
	Below        *float64 `json:"below"`
	Above        *float64 `json:"above"`
	MinResponses int      `json:"min_responses"`
	Cooldown     string   `json:"cooldown"`
	Against      string   `json:"against"`
	Level        float64  `json:"level"`
	Segment      string   `json:"segment"`
	Touchpoint   string   `json:"touchpoint"`
	Webhook      string   `json:"webhook"`
	MaxScore     *int     `json:"max_score"` // response rules only
}

// alertsConfig is a checked -alerts file.
type alertsConfig struct {
	webhooks []alert.WebhookConfig
	rules    []alert.Rule
}

// readAlerts reads and checks an -alerts file. Its errors name the bad
// field: rules[2] "nps-drop": window "1x": ...
func readAlerts(path string) (*alertsConfig, error) {
	var j alertsFile
	if err := readJSONFile(path, jsonFile{shape: `{"webhooks": [...], "rules": [...]}`}, &j); err != nil {
		return nil, err
	}
	var err error
	c := &alertsConfig{}
	hooks := map[string]bool{}
	for i, w := range j.Webhooks {
		at := fmt.Sprintf("webhooks[%d] %q", i, w.Name)
		if w.Name == "" {
			return nil, fmt.Errorf("%s: name: empty, want a name for rules to use", at)
		}
		if hooks[w.Name] {
			return nil, fmt.Errorf("%s: name: used twice", at)
		}
		hooks[w.Name] = true
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%s: url: %q, want an http:// or https:// URL", at, w.URL)
		}
		wc := alert.WebhookConfig{Name: w.Name, URL: w.URL, Secret: w.Secret, Attempts: w.Attempts}
		if w.Attempts < 0 {
			return nil, fmt.Errorf("%s: attempts: %d, want > 0 (omitted: %d)", at, w.Attempts, alert.DefaultAttempts)
		}
		for _, d := range []struct {
			field, text string
			to          *time.Duration
		}{{"timeout", w.Timeout, &wc.Timeout}, {"backoff", w.Backoff, &wc.Backoff}, {"max_backoff", w.MaxBackoff, &wc.MaxBackoff}} {
			if d.text == "" {
				continue
			}
			v, err := time.ParseDuration(d.text)
			if err != nil || v <= 0 {
				return nil, fmt.Errorf("%s: %s: %q, want a duration > 0 such as \"5s\" or \"500ms\"", at, d.field, d.text)
			}
			*d.to = v
		}
		c.webhooks = append(c.webhooks, wc)
	}
	if len(j.Rules) == 0 {
		return nil, errors.New(`rules: none; want {"rules": [{"name": ..., "kind": "threshold", ...}]}`)
	}
	for i, r := range j.Rules {
		at := fmt.Sprintf("rules[%d] %q", i, r.Name)
		bad := func(format string, args ...any) (*alertsConfig, error) {
			return nil, fmt.Errorf("%s: %s", at, fmt.Sprintf(format, args...))
		}
		ar := alert.Rule{Name: r.Name, Segment: r.Segment, Touchpoint: r.Touchpoint, MinResponses: r.MinResponses,
			Level: r.Level, Webhook: r.Webhook}
		switch r.Kind {
		case "threshold":
			ar.Kind = alert.Threshold
		case "drop":
			ar.Kind = alert.Drop
		case "rise":
			ar.Kind = alert.Rise
		case "response":
			ar.Kind = alert.Response
		default:
			return bad("kind: %q, want response, threshold, drop or rise", r.Kind)
		}
		if ar.Metric, err = engine.ParseMetric(r.Metric); err != nil {
			return bad("metric: %q, want csat, ces or nps", r.Metric)
		}
		if ar.Kind == alert.Response {
			if err := responseRule(r, &ar); err != nil {
				return bad("%v", err)
			}
			if r.Webhook != "" && !hooks[r.Webhook] {
				return bad("webhook: %q is not among the webhooks", r.Webhook)
			}
			c.rules = append(c.rules, ar)
			continue
		}
		if r.MaxScore != nil {
			return bad("max_score: only for response rules")
		}
		if r.Window == "" {
			return bad(`window: missing, want a window such as "1h" or "7d"`)
		}
		if ws, err := metrics.ParseWindows(r.Window); err != nil || len(ws) != 1 {
			return bad(`window: %q, want a window such as "1h" or "7d"`, r.Window)
		} else {
			ar.Window = ws[0].Duration
		}
		if r.Cooldown != "" {
			ws, err := metrics.ParseWindows(r.Cooldown)
			if err != nil || len(ws) != 1 {
				return bad(`cooldown: %q, want a duration such as "10m"`, r.Cooldown)
			}
			ar.Cooldown = ws[0].Duration
		}
		if ar.Kind == alert.Threshold {
			switch {
			case (r.Below == nil) == (r.Above == nil):
				return bad("below, above: want exactly one of them in a threshold rule")
			case r.Below != nil:
				ar.Bound = *r.Below
			default:
				ar.Bound, ar.Above = *r.Above, true
			}
			if r.Against != "" {
				return bad("against: only for drop and rise rules")
			}
		} else {
			if r.Below != nil || r.Above != nil {
				return bad("below, above: only for threshold rules")
			}
			ar.Against = engine.Previous
			if r.Against != "" {
				if ar.Against, err = engine.ParseBaseline(r.Against); err != nil {
					return bad("against: %q, want previous, week, year or rest", r.Against)
				}
			}
		}
		if r.Webhook != "" && !hooks[r.Webhook] {
			return bad("webhook: %q is not among the webhooks", r.Webhook)
		}
		c.rules = append(c.rules, ar)
	}
	if err := alert.CheckRules(c.rules); err != nil {
		return nil, err
	}
	return c, nil
}

// responseRule completes ar, a response rule, from r: max_score is
// required and on the metric's scale; the fields of score rules are
// refused, not ignored (a response rule fires once per response: no
// window, cooldown or minimum applies).
func responseRule(r ruleJSON, ar *alert.Rule) error {
	lo, hi := ar.Metric.Scale()
	switch {
	case r.MaxScore == nil:
		return fmt.Errorf("max_score: missing, want the highest score that fires, %d-%d for %s (6 for NPS detractors)", lo, hi, ar.Metric)
	case *r.MaxScore < lo || *r.MaxScore > hi:
		return fmt.Errorf("max_score: %d, want %d-%d, the %s scale", *r.MaxScore, lo, hi, ar.Metric)
	case r.Window != "":
		return errors.New("window: only for score rules; a response rule tests each answer")
	case r.Cooldown != "":
		return errors.New("cooldown: only for score rules; a response rule fires once per response")
	case r.MinResponses != 0:
		return errors.New("min_responses: only for score rules")
	case r.Below != nil || r.Above != nil:
		return errors.New("below, above: only for threshold rules")
	case r.Against != "" || r.Level != 0:
		return errors.New("against, level: only for drop and rise rules")
	}
	ar.MaxScore = *r.MaxScore
	return nil
}

// hasResponseRules reports whether c has a response rule, which the
// engine's Config.Observe must feed.
func (c *alertsConfig) hasResponseRules() bool {
	for _, r := range c.rules {
		if r.Kind == alert.Response {
			return true
		}
	}
	return false
}

// observer forwards engine.Config.Observe to an evaluator made after the
// engine (it needs the engine for its score rules); until then nothing
// is recorded (see run).
type observer struct {
	eval atomic.Pointer[alert.Evaluator]
}

func (o *observer) observe(ob *engine.Observation) {
	if ev := o.eval.Load(); ev != nil {
		ev.Observe(ob)
	}
}

// alerting is the running alert machinery of the sidecar.
type alerting struct {
	eng    *engine.Engine
	eval   *alert.Evaluator
	hooks  map[string]*alert.Webhook
	logger *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}

	// responses queues response rules' alerts, raised within the engine's
	// Record, for start's goroutine to log and send; one that finds it
	// full is dropped and counted in queueDropped (guarded by mu).
	responses    chan alert.Alert
	queueDropped map[string]uint64

	// statePath keeps the alert state across restarts (-snapshot FILE:
	// FILE.alerts); "": not kept. saved is what it holds.
	statePath string
	saveEvery time.Duration
	saveMu    sync.Mutex
	saved     []byte
	raised    atomic.Bool // an alert was raised since the last save

	mu     sync.Mutex
	recent []recentAlert // the last maxRecentAlerts, oldest first
}

// maxRecentAlerts is how many alerts GET /v1/alerts lists.
const maxRecentAlerts = 100

// recentAlert is one entry of GET /v1/alerts: the alert's webhook body
// and its delivery state.
type recentAlert struct {
	Alert    json.RawMessage `json:"alert"`
	Webhook  string          `json:"webhook,omitempty"`
	Delivery string          `json:"delivery"` // none (no webhook), pending, delivered, given_up or dropped
	Attempts int             `json:"attempts"`
	eventID  string
}

// note adds an alert to the recent ones.
func (a *alerting) note(al alert.Alert, delivery string) {
	body, _ := alert.Body(al)
	a.noteBody(al, body, delivery, 0)
}

func (a *alerting) noteBody(al alert.Alert, body []byte, delivery string, attempts int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.recent) == maxRecentAlerts {
		a.recent = append(a.recent[:0], a.recent[1:]...)
	}
	a.recent = append(a.recent, recentAlert{Alert: body, Webhook: al.Webhook, Delivery: delivery, Attempts: attempts, eventID: al.EventID})
}

// delivered records the end of an alert's delivery.
func (a *alerting) delivered(al alert.Alert, ok bool, attempts int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := len(a.recent) - 1; i >= 0; i-- {
		if r := &a.recent[i]; r.eventID == al.EventID {
			r.Delivery, r.Attempts = "given_up", attempts
			if ok {
				r.Delivery = "delivered"
			}
			return
		}
	}
}

func (a *alerting) markDropped(al alert.Alert) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := len(a.recent) - 1; i >= 0; i-- {
		if a.recent[i].eventID == al.EventID {
			a.recent[i].Delivery = "dropped"
			return
		}
	}
}

// ServeHTTP answers GET /v1/alerts: {"alerts": [...]}, newest first; a
// pending alert's attempts are the tries it has failed so far.
func (a *alerting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tried := map[string]int{}
	for _, h := range a.hooks {
		for _, p := range h.Pending() {
			tried[p.Alert.EventID] = p.Attempts
		}
	}
	a.mu.Lock()
	list := make([]recentAlert, 0, len(a.recent))
	for i := len(a.recent) - 1; i >= 0; i-- {
		ra := a.recent[i]
		if n, ok := tried[ra.eventID]; ok && ra.Delivery == "pending" {
			ra.Attempts = n
		}
		list = append(list, ra)
	}
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"alerts": list})
}

// newAlerting builds c's webhooks (their goroutines run from here on) and
// an evaluator of its rules; start runs the evaluator.
func newAlerting(c *alertsConfig, e *engine.Engine, logger *slog.Logger) (*alerting, error) {
	a := &alerting{eng: e, logger: logger, hooks: map[string]*alert.Webhook{}, done: make(chan struct{}), cancel: func() {},
		responses: make(chan alert.Alert, alert.DefaultQueue), queueDropped: map[string]uint64{}}
	for _, r := range c.rules {
		if r.Kind == alert.Response {
			a.queueDropped[r.Name] = 0 // counted from the start in /metrics
		}
	}
	for _, wc := range c.webhooks {
		wc.Done = a.delivered
		w, err := alert.NewWebhook(wc)
		if err != nil {
			a.closeHooks()
			return nil, err
		}
		a.hooks[wc.Name] = w
	}
	var err error
	a.eval, err = alert.New(alert.Config{Engine: e, Rules: c.rules, Notify: func(al alert.Alert) {
		if al.Kind == alert.Response {
			a.queueResponse(al) // from within the engine's Record: no log, no JSON there
			return
		}
		a.raised.Store(true)
		a.handle(al)
	}})
	if err != nil {
		a.closeHooks()
		return nil, err
	}
	close(a.done) // nothing to wait for until start
	return a, nil
}

// handle logs an alert, notes it for GET /v1/alerts and sends it to its
// webhook.
func (a *alerting) handle(al alert.Alert) {
	a.logger.Info("alert", "rule", al.Rule, "state", al.State.String(), "event_id", al.EventID,
		"segment", al.Segment, "touchpoint", al.Touchpoint, "metric", al.Metric.String(), "webhook", al.Webhook)
	w := a.hooks[al.Webhook]
	if w == nil {
		a.note(al, "none")
		return
	}
	a.note(al, "pending") // before Send, which may deliver at once
	if !w.Send(al) {
		a.markDropped(al)
		a.logger.Warn("alert dropped: the webhook's queue is full", "rule", al.Rule, "webhook", al.Webhook)
	}
}

// queueResponse queues a response rule's alert for start's goroutine
// without waiting: it is called from within the engine's Record.
func (a *alerting) queueResponse(al alert.Alert) {
	select {
	case a.responses <- al:
	default:
		a.mu.Lock()
		a.queueDropped[al.Rule]++
		a.mu.Unlock()
	}
}

// alertStateSuffix names the file of the alert state beside -snapshot's.
const alertStateSuffix = ".alerts"

// keepState loads the alert state from path, if it exists, into the
// evaluator and the webhooks (before start), and has start and stop save
// it there every saveEvery and at the end. A missing file is a first
// start; an unreadable or damaged one an error naming it, the file left
// as it is.
func (a *alerting) keepState(path string, saveEvery time.Duration) error {
	a.statePath, a.saveEvery = path, saveEvery
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		a.logger.Info("no alert state file yet; no rule firing, no alert pending", "path", path)
		return nil
	}
	if err == nil && !info.Mode().IsRegular() {
		err = fmt.Errorf("not a regular file (%v)", info.Mode().Type())
	}
	var b []byte
	if err == nil {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return fmt.Errorf("alert state %s: %w", path, err)
	}
	s, err := alert.ParseSaved(b)
	if err != nil {
		return fmt.Errorf("alert state %s: %w; the file is left as it is: restore it from a backup, or move it away "+
			"to start with no rule firing and no alert pending", path, err)
	}
	rules := a.eval.Restore(s.Rules)
	pending, lost := 0, 0
	for _, name := range slices.Sorted(maps.Keys(s.Pending)) {
		w := a.hooks[name]
		for _, p := range s.Pending[name] {
			if w == nil {
				lost++
				continue
			}
			a.noteBody(p.Alert, p.Body, "pending", p.Attempts) // before Restore, which may deliver at once
			if w.Restore([]alert.Pending{p}) == 1 {
				pending++
			} else {
				a.markDropped(p.Alert)
			}
		}
	}
	if lost > 0 {
		a.logger.Warn("alert state: alerts pending for webhooks no longer in -alerts are dropped", "path", path, "alerts", lost)
	}
	a.saved = b
	a.logger.Info("alert state loaded", "path", path, "rules", rules, "pending", pending)
	return nil
}

// save writes the alert state to statePath if it changed since the last
// write. It is called between evaluations (from start's goroutine) or
// after them (stop), so that the rules' state and the webhooks' pending
// alerts agree.
func (a *alerting) save() error {
	if a.statePath == "" {
		return nil
	}
	s := alert.Saved{Rules: a.eval.State(), Pending: map[string][]alert.Pending{}}
	for name, w := range a.hooks {
		if ps := w.Pending(); len(ps) > 0 {
			s.Pending[name] = ps
		}
	}
	b, err := s.AppendJSON(nil)
	if err != nil {
		return err
	}
	a.saveMu.Lock()
	defer a.saveMu.Unlock()
	if bytes.Equal(b, a.saved) {
		return nil
	}
	if err := snapfile.WriteFile(a.statePath, b); err != nil {
		return fmt.Errorf("alert state %s: %w", a.statePath, err)
	}
	a.saved = b
	return nil
}

// start evaluates the rules every interval, and saves the alert state
// (with keepState) after every evaluation that raised an alert, so that a
// crash never fires a rule again, and every saveEvery for the deliveries
// since, until ctx ends or stop. Saves happen between evaluations. A
// second goroutine hands response rules' alerts to the webhooks; the
// save after the next evaluation holds those still undelivered.
func (a *alerting) start(ctx context.Context, every time.Duration) {
	ctx, a.cancel = context.WithCancel(ctx)
	a.done = make(chan struct{})
	var saves <-chan time.Time
	if a.statePath != "" {
		t := time.NewTicker(a.saveEvery)
		saves = t.C
		context.AfterFunc(ctx, t.Stop)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				a.eval.Evaluate(a.eng.Now())
				if !a.raised.Swap(false) {
					continue
				}
			case <-saves:
			}
			if err := a.save(); err != nil {
				a.logger.Error("alert state not saved; the next period tries again", "err", err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case al := <-a.responses:
				a.handle(al)
				a.raised.Store(true)
			case <-ctx.Done():
				for { // raised before the stop: sent, then saved by stop if undelivered
					select {
					case al := <-a.responses:
						a.handle(al)
					default:
						return
					}
				}
			}
		}
	}()
	go func() {
		wg.Wait()
		close(a.done)
	}()
}

// stop stops the evaluator, waits for it, closes the webhooks, then saves
// the alert state a last time (with keepState): the alerts not delivered
// are in it, to be tried again after a restart. Without keepState they are
// lost. Safe to call twice.
func (a *alerting) stop() error {
	a.cancel()
	<-a.done
	a.closeHooks()
	return a.save()
}

func (a *alerting) closeHooks() {
	for _, w := range a.hooks {
		w.Close()
	}
}

// Descriptions of the alert counters in /metrics.
var (
	alertFiredDesc = prometheus.NewDesc("cxscore_alerts_fired_total",
		"Alerts raised by a rule of -alerts, by state: firing or resolved.", []string{"rule", "state"}, nil)
	alertDroppedDesc = prometheus.NewDesc("cxscore_alerts_dropped_total",
		"Alerts dropped because the webhook's queue was full.", []string{"rule", "webhook"}, nil)
	alertQueueDroppedDesc = prometheus.NewDesc("cxscore_alerts_queue_dropped_total",
		"Response rules' alerts dropped because the queue from the record path to the webhooks was full.", []string{"rule"}, nil)
	alertErrorsDesc = prometheus.NewDesc("cxscore_alerts_evaluation_errors_total",
		"Evaluations of a rule the engine could not answer (a window its tiers do not retain).", []string{"rule"}, nil)
	alertDeliveredDesc = prometheus.NewDesc("cxscore_alerts_delivered_total",
		"Alerts a webhook answered with 2xx.", []string{"rule", "webhook"}, nil)
	alertRetriedDesc = prometheus.NewDesc("cxscore_alerts_retried_total",
		"Delivery attempts after a failed one.", []string{"rule", "webhook"}, nil)
	alertGivenUpDesc = prometheus.NewDesc("cxscore_alerts_given_up_total",
		"Alerts given up after every attempt failed.", []string{"rule", "webhook"}, nil)
	alertPendingDesc = prometheus.NewDesc("cxscore_alerts_pending",
		"Alerts not delivered yet: waiting for a first try or a retry, or in flight (kept across restarts with -snapshot).", []string{"rule", "webhook"}, nil)
)

// Describe implements prometheus.Collector.
func (a *alerting) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{alertFiredDesc, alertDroppedDesc, alertErrorsDesc, alertDeliveredDesc, alertRetriedDesc, alertGivenUpDesc, alertPendingDesc, alertQueueDroppedDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: the evaluator's counters by
// rule, and each webhook's by rule.
func (a *alerting) Collect(ch chan<- prometheus.Metric) {
	for rule, c := range a.eval.Counts() {
		ch <- prometheus.MustNewConstMetric(alertFiredDesc, prometheus.CounterValue, float64(c.Fired), rule, "firing")
		ch <- prometheus.MustNewConstMetric(alertFiredDesc, prometheus.CounterValue, float64(c.Resolved), rule, "resolved")
		ch <- prometheus.MustNewConstMetric(alertErrorsDesc, prometheus.CounterValue, float64(c.Errors), rule)
	}
	a.mu.Lock()
	for rule, n := range a.queueDropped {
		ch <- prometheus.MustNewConstMetric(alertQueueDroppedDesc, prometheus.CounterValue, float64(n), rule)
	}
	a.mu.Unlock()
	for name, w := range a.hooks {
		pending := map[string]int{}
		for _, p := range w.Pending() {
			pending[p.Alert.Rule]++
		}
		for rule, d := range w.Counts() {
			ch <- prometheus.MustNewConstMetric(alertPendingDesc, prometheus.GaugeValue, float64(pending[rule]), rule, name)
			delete(pending, rule)
			ch <- prometheus.MustNewConstMetric(alertDeliveredDesc, prometheus.CounterValue, float64(d.Delivered), rule, name)
			ch <- prometheus.MustNewConstMetric(alertRetriedDesc, prometheus.CounterValue, float64(d.Retried), rule, name)
			ch <- prometheus.MustNewConstMetric(alertGivenUpDesc, prometheus.CounterValue, float64(d.GivenUp), rule, name)
			ch <- prometheus.MustNewConstMetric(alertDroppedDesc, prometheus.CounterValue, float64(d.Dropped), rule, name)
		}
		for rule, n := range pending { // restored, not counted yet
			ch <- prometheus.MustNewConstMetric(alertPendingDesc, prometheus.GaugeValue, float64(n), rule, name)
		}
	}
}
