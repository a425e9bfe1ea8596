package alert

import (
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// Webhook delivery defaults, for the zero fields of WebhookConfig. With
// them an alert is tried 8 times, the pauses between tries growing from
// 2 s to at most 1 min, each stretched by a random 0-50%: the last try is
// at least 182 s after the first. At most DefaultParallel tries are in
// flight at once.
const (
	DefaultTimeout    = 5 * time.Second
	DefaultAttempts   = 8
	DefaultBackoff    = 2 * time.Second
	DefaultMaxBackoff = time.Minute
	DefaultParallel   = 4
)

// WebhookConfig configures a Webhook.
type WebhookConfig struct {
	// Name identifies the webhook in counters and logs.
	Name string
	// URL receives the POSTs: required, http or https.
	URL string
	// Secret keys the HMAC-SHA256 signature of every body
	// (X-Cxscore-Signature: sha256=<hex>). Empty: the header is still
	// sent, keyed by the empty secret.
	Secret string
	// Timeout bounds one attempt, answer included. Zero: DefaultTimeout.
	Timeout time.Duration
	// Attempts is the most tries of one alert before it is given up.
	// Zero: DefaultAttempts.
	Attempts int
	// Backoff is the pause after the first failed try, doubled after each
	// further one up to MaxBackoff, each pause stretched by a random 0-50%
	// (jitter, so that retries of many senders spread). Zero:
	// DefaultBackoff and DefaultMaxBackoff.
	Backoff, MaxBackoff time.Duration
	// Parallel is the most tries in flight at once. An alert waiting for
	// its next try holds no slot, so a retried alert never delays a fresh
	// one; only Parallel receivers hanging until Timeout at once do.
	// Zero: DefaultParallel.
	Parallel int
	// Queue is how many alerts the webhook holds undelivered (waiting for
	// a first try, for a retry, or in flight); Send drops (and counts)
	// what finds it full. Zero: DefaultQueue.
	Queue int
	// Client sends the requests. Zero: a client of its own.
	Client *http.Client
	// Done, if set, is called when an alert's delivery ends: delivered
	// after attempts tries, or given up. It is called from the goroutine
	// of the alert's last try, possibly concurrently for different
	// alerts; Close waits for it to return, so it must not block for long.
	Done func(a Alert, delivered bool, attempts int)
}

// Delivery counts one rule's alerts at a webhook.
type Delivery struct {
	// Delivered: answered 2xx. Retried: tries scheduled after a failed
	// one. GivenUp: alerts that failed every attempt. Dropped: alerts
	// Send or Restore found no room for.
	Delivered, Retried, GivenUp, Dropped uint64
}

// Pending is an alert a webhook has not delivered yet: waiting for its
// first try or a retry, or in flight. Webhook.Pending lists them, for a
// program to save them across a restart and give them to Restore.
type Pending struct {
	// Alert is the alert as sent. After a restore it carries only the
	// fields common to every kind (EventID, FiredID, Rule, Kind, State,
	// Webhook, Metric, Segment, Touchpoint, Time), read from Body.
	Alert Alert
	// Body is what every try POSTs (Body(Alert) for a sent alert), and
	// what a restored alert is sent with, byte for byte.
	Body []byte
	// Attempts is how many tries were made and failed. A try cut short
	// by Close is not counted: the receiver may have had it, and will
	// see it again with the same X-Cxscore-Event-Id.
	Attempts int
}

// Webhook delivers alerts to one URL. A scheduler goroutine keeps the
// alerts waiting for a try in order of their due time (the oldest first
// among those due) and starts each try in a goroutine of its own, at most
// Parallel at once; a failed alert is due again after its backoff, and
// meanwhile holds no slot, so a retried alert never delays a fresh one,
// and a slow or failing receiver delays only its own alerts. Every try of
// an alert carries the same body and X-Cxscore-Event-Id; a 2xx answer is
// delivery. The alerts held, waiting or in flight, are at most Queue.
// Send, Restore, Pending, Counts and Close are safe for concurrent use.
type Webhook struct {
	c      WebhookConfig
	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{} // capacity 1: the schedule changed
	done   chan struct{}
	once   sync.Once
	tries  sync.WaitGroup

	// pause turns a backoff into the wait before the retry; a seam for
	// tests, which record it and wait for nothing.
	pause func(d time.Duration) time.Duration

	mu       sync.Mutex
	closed   bool
	waiting  dueHeap
	inFlight map[*pendingAlert]struct{}
	seq      uint64
	counts   map[string]*Delivery
}

// pendingAlert is an alert the webhook holds.
type pendingAlert struct {
	Pending
	seq   uint64        // order of arrival, for ties and for Pending
	due   time.Time     // of the next try
	pause time.Duration // the backoff after the next failure, before jitter
	index int           // in waiting
}

// dueHeap orders alerts by due time, then arrival (container/heap).
type dueHeap []*pendingAlert

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *dueHeap) Push(x any) {
	p := x.(*pendingAlert)
	p.index = len(*h)
	*h = append(*h, p)
}
func (h *dueHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return p
}

// NewWebhook validates c and starts the webhook's scheduler goroutine;
// Close stops it. Errors wrap ErrConfig.
func NewWebhook(c WebhookConfig) (*Webhook, error) {
	return newWebhook(c, func(d time.Duration) time.Duration { return d })
}

func newWebhook(c WebhookConfig, pause func(time.Duration) time.Duration) (*Webhook, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: webhook %q: url %q, want an http or https URL", ErrConfig, c.Name, c.URL)
	}
	if c.Timeout < 0 || c.Attempts < 0 || c.Backoff < 0 || c.MaxBackoff < 0 || c.Queue < 0 || c.Parallel < 0 {
		return nil, fmt.Errorf("%w: webhook %q: negative timeout, attempts, backoff, parallel or queue", ErrConfig, c.Name)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Attempts == 0 {
		c.Attempts = DefaultAttempts
	}
	if c.Backoff == 0 {
		c.Backoff = DefaultBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.MaxBackoff < c.Backoff {
		c.MaxBackoff = c.Backoff
	}
	if c.Parallel == 0 {
		c.Parallel = DefaultParallel
	}
	if c.Queue == 0 {
		c.Queue = DefaultQueue
	}
	if c.Client == nil {
		c.Client = &http.Client{}
	}
	w := &Webhook{c: c, wake: make(chan struct{}, 1), done: make(chan struct{}),
		pause: pause, inFlight: map[*pendingAlert]struct{}{}, counts: map[string]*Delivery{}}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	go w.loop()
	return w, nil
}

// Send queues a for delivery without waiting. It reports false, and counts
// the alert dropped, when the webhook holds Queue alerts already or is
// closed.
func (w *Webhook) Send(a Alert) bool {
	body, err := Body(a)
	if err != nil { // cannot happen: every field encodes
		w.count(a.Rule, func(d *Delivery) { d.Dropped++ })
		return false
	}
	return w.hold(Pending{Alert: a, Body: body})
}

// Restore queues alerts saved from Pending (of this webhook before a
// restart, say), due at once, with the tries they already made: each has
// what is left of Attempts, and at least one more try. It returns how
// many it queued; those it found no room for are dropped and counted, as
// by Send.
func (w *Webhook) Restore(ps []Pending) int {
	n := 0
	for _, p := range ps {
		if w.hold(p) {
			n++
		}
	}
	return n
}

// hold queues p, due now.
func (w *Webhook) hold(p Pending) bool {
	w.mu.Lock()
	if w.closed || len(w.waiting)+len(w.inFlight) >= w.c.Queue {
		w.mu.Unlock()
		w.count(p.Alert.Rule, func(d *Delivery) { d.Dropped++ })
		return false
	}
	pause := w.c.Backoff
	for range max(p.Attempts-1, 0) {
		if pause = 2 * pause; pause >= w.c.MaxBackoff {
			pause = w.c.MaxBackoff
			break
		}
	}
	w.seq++
	heap.Push(&w.waiting, &pendingAlert{Pending: p, seq: w.seq, due: time.Now(), pause: pause})
	w.mu.Unlock()
	w.poke()
	return true
}

func (w *Webhook) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Pending returns the alerts not delivered yet, in the order they came:
// waiting for a try or in flight. After Close it is every alert neither
// delivered nor given up, for a program to save.
func (w *Webhook) Pending() []Pending {
	w.mu.Lock()
	all := make([]*pendingAlert, 0, len(w.waiting)+len(w.inFlight))
	all = append(all, w.waiting...)
	for p := range w.inFlight {
		all = append(all, p)
	}
	w.mu.Unlock()
	slices.SortFunc(all, func(a, b *pendingAlert) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]Pending, len(all))
	for i, p := range all {
		out[i] = p.Pending
	}
	return out
}

// Counts returns the delivery counters by rule name.
func (w *Webhook) Counts() map[string]Delivery {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := make(map[string]Delivery, len(w.counts))
	for r, d := range w.counts {
		m[r] = *d
	}
	return m
}

func (w *Webhook) count(rule string, f func(*Delivery)) {
	w.mu.Lock()
	w.countLocked(rule, f)
	w.mu.Unlock()
}

func (w *Webhook) countLocked(rule string, f func(*Delivery)) {
	d := w.counts[rule]
	if d == nil {
		d = &Delivery{}
		w.counts[rule] = d
	}
	f(d)
}

// Close stops the webhook: tries in flight are cancelled (and not
// counted), and no new one starts. The alerts not delivered stay listed
// by Pending, neither given up nor counted, for a program to save and
// Restore after a restart; Send and Restore drop what comes after. Close
// waits for the webhook's goroutines to end; it is idempotent and safe to
// call concurrently. It returns nil.
func (w *Webhook) Close() error {
	w.once.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		w.cancel()
	})
	<-w.done
	return nil
}

// loop starts the tries due, Parallel at most, until the webhook closes.
func (w *Webhook) loop() {
	defer close(w.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		w.mu.Lock()
		now := time.Now()
		for len(w.waiting) > 0 && len(w.inFlight) < w.c.Parallel && !w.waiting[0].due.After(now) {
			p := heap.Pop(&w.waiting).(*pendingAlert)
			w.inFlight[p] = struct{}{}
			w.tries.Add(1)
			go w.try(p)
		}
		if len(w.waiting) > 0 && len(w.inFlight) < w.c.Parallel {
			timer.Reset(w.waiting[0].due.Sub(now))
		}
		w.mu.Unlock()
		select {
		case <-w.ctx.Done():
			timer.Stop()
			w.tries.Wait()
			return
		case <-w.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// try makes one attempt of p, then delivers, gives up or reschedules it.
func (w *Webhook) try(p *pendingAlert) {
	defer w.tries.Done()
	ok := w.post(p.Alert.EventID, p.Body)
	w.mu.Lock()
	delete(w.inFlight, p)
	if !ok && w.ctx.Err() != nil { // cut short by Close: still pending
		heap.Push(&w.waiting, p)
		w.mu.Unlock()
		return
	}
	p.Attempts++
	rule, ended := p.Alert.Rule, true
	switch {
	case ok:
		w.countLocked(rule, func(d *Delivery) { d.Delivered++ })
	case p.Attempts >= w.c.Attempts:
		w.countLocked(rule, func(d *Delivery) { d.GivenUp++ })
	default:
		ended = false
		p.due = time.Now().Add(w.pause(jitter(p.pause)))
		p.pause = min(2*p.pause, w.c.MaxBackoff)
		heap.Push(&w.waiting, p)
		w.countLocked(rule, func(d *Delivery) { d.Retried++ })
	}
	w.mu.Unlock()
	if ended && w.c.Done != nil {
		w.c.Done(p.Alert, ok, p.Attempts)
	}
	w.poke()
}

// jitter stretches d by a random 0-50%.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/2+1))
}

// post makes one attempt; true on a 2xx answer.
func (w *Webhook) post(id string, body []byte) bool {
	ctx, cancel := context.WithTimeout(w.ctx, w.c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.c.URL, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Cxscore-Event-Id", id)
	req.Header.Set("X-Cxscore-Signature", Sign(w.c.Secret, body))
	resp, err := w.c.Client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// Sign returns the X-Cxscore-Signature of body: "sha256=" and the hex of
// HMAC-SHA256(secret, body). A receiver recomputes it over the raw body and
// compares with hmac.Equal.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

type summaryJSON struct {
	Score     *float64    `json:"score"`
	Interval  *[2]float64 `json:"interval"`
	Responses uint64      `json:"responses"`
	From      time.Time   `json:"from"`
	To        time.Time   `json:"to"`
}

func summaryOf(s Summary) summaryJSON {
	j := summaryJSON{Responses: s.Responses, From: s.From, To: s.To}
	if s.HasScore {
		j.Score, j.Interval = &s.Score, &[2]float64{s.Low, s.High}
	}
	return j
}

// Body returns the JSON body a webhook POSTs for a: always "event_id",
// "state" ("firing" or "resolved"), "rule", "kind", "segment",
// "touchpoint", "metric", "time" (RFC 3339), "fired_id" in a resolved
// alert; for a threshold alert "score" and "interval" (null without
// responses) and "responses"; for a drop or rise alert "current" and
// "baseline" (each {"score", "interval", "responses", "from", "to"}),
// "difference", "interval" and "p_value" (null when not computed); for a
// response alert "response": {"response_id" (absent for an anonymous
// one), "version", "customer_id" (if any), "score", "time"}, its
// "segment" and "touchpoint" those of the response.
func Body(a Alert) ([]byte, error) {
	m := map[string]any{
		"event_id": a.EventID, "state": a.State.String(), "rule": a.Rule, "kind": a.Kind.String(),
		"segment": a.Segment, "touchpoint": a.Touchpoint, "metric": a.Metric.String(), "time": a.Time.UTC(),
	}
	if a.FiredID != "" {
		m["fired_id"] = a.FiredID
	}
	if a.Kind == Response {
		m["response"] = responseOf(a.Response)
	} else if a.Kind == Threshold {
		s := summaryOf(a.Current)
		m["score"], m["interval"], m["responses"] = s.Score, s.Interval, s.Responses
		m["from"], m["to"] = s.From, s.To
	} else {
		m["current"], m["baseline"] = summaryOf(a.Current), summaryOf(a.Baseline)
		m["difference"] = a.Difference
		if a.HasPValue {
			m["interval"], m["p_value"] = [2]float64{a.Low, a.High}, a.PValue
		} else {
			m["interval"], m["p_value"] = nil, nil
		}
	}
	return json.Marshal(m)
}

type responseJSON struct {
	ResponseID string    `json:"response_id,omitempty"`
	Version    uint64    `json:"version"`
	CustomerID string    `json:"customer_id,omitempty"`
	Score      int       `json:"score"`
	Time       time.Time `json:"time"`
}

func responseOf(e engine.Event) responseJSON {
	return responseJSON{ResponseID: e.ResponseID, Version: e.Version, CustomerID: e.CustomerID, Score: e.Score, Time: e.Time.UTC()}
}
