package alert

import (
	"bytes"
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
	"sync"
	"sync/atomic"
	"time"
)

// Webhook delivery defaults, for the zero fields of WebhookConfig. With
// them an alert is tried 8 times, the pauses between tries growing from
// 2 s to at most 1 min, each stretched by a random 0-50%: the last try is
// at least 182 s after the first.
const (
	DefaultTimeout    = 5 * time.Second
	DefaultAttempts   = 8
	DefaultBackoff    = 2 * time.Second
	DefaultMaxBackoff = time.Minute
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
	// Queue is how many alerts wait for delivery; Send drops (and counts)
	// what finds it full. Zero: DefaultQueue.
	Queue int
	// Client sends the requests. Zero: a client of its own.
	Client *http.Client
	// Done, if set, is called from the webhook's goroutine when an alert's
	// delivery ends: delivered after attempts tries, or given up. It must
	// not block for long: the next alert waits for it.
	Done func(a Alert, delivered bool, attempts int)
}

// Delivery counts one rule's alerts at a webhook.
type Delivery struct {
	// Delivered: answered 2xx. Retried: tries after a failed one. GivenUp:
	// alerts that failed every attempt (or were still queued at Close).
	// Dropped: alerts Send found no room for.
	Delivered, Retried, GivenUp, Dropped uint64
}

// Webhook delivers alerts to one URL, in the order they are sent, from a
// goroutine of its own, so that a slow or failing receiver delays only its
// own alerts. Every attempt of an alert carries the same body and
// X-Cxscore-Event-Id; a 2xx answer is delivery. Send, Counts and Close are
// safe for concurrent use.
type Webhook struct {
	c      WebhookConfig
	queue  chan Alert
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	closed atomic.Bool
	once   sync.Once

	// sleep pauses for d or until ctx ends; a seam for tests.
	sleep func(ctx context.Context, d time.Duration) error

	mu     sync.Mutex
	counts map[string]*Delivery
}

// NewWebhook validates c and starts the webhook's goroutine; Close stops
// it. Errors wrap ErrConfig.
func NewWebhook(c WebhookConfig) (*Webhook, error) { return newWebhook(c, sleepCtx) }

func newWebhook(c WebhookConfig, sleep func(context.Context, time.Duration) error) (*Webhook, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: webhook %q: url %q, want an http or https URL", ErrConfig, c.Name, c.URL)
	}
	if c.Timeout < 0 || c.Attempts < 0 || c.Backoff < 0 || c.MaxBackoff < 0 || c.Queue < 0 {
		return nil, fmt.Errorf("%w: webhook %q: negative timeout, attempts, backoff or queue", ErrConfig, c.Name)
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
	if c.Queue == 0 {
		c.Queue = DefaultQueue
	}
	if c.Client == nil {
		c.Client = &http.Client{}
	}
	w := &Webhook{c: c, queue: make(chan Alert, c.Queue), done: make(chan struct{}),
		sleep: sleep, counts: map[string]*Delivery{}}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	go w.loop()
	return w, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Send queues a for delivery without waiting. It reports false, and counts
// the alert dropped, when the queue is full or the webhook closed.
func (w *Webhook) Send(a Alert) bool {
	if !w.closed.Load() {
		select {
		case w.queue <- a:
			return true
		default:
		}
	}
	w.count(a.Rule, func(d *Delivery) { d.Dropped++ })
	return false
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
	d := w.counts[rule]
	if d == nil {
		d = &Delivery{}
		w.counts[rule] = d
	}
	f(d)
	w.mu.Unlock()
}

// Close stops the webhook: an attempt in flight is cancelled, and it and
// what is still queued are counted given up. It waits for the goroutine to
// end; it is idempotent and safe to call concurrently. It returns nil.
func (w *Webhook) Close() error {
	w.once.Do(func() {
		w.closed.Store(true)
		w.cancel()
	})
	<-w.done
	return nil
}

func (w *Webhook) loop() {
	defer close(w.done)
	for {
		select {
		case <-w.ctx.Done():
			for {
				select {
				case a := <-w.queue:
					w.count(a.Rule, func(d *Delivery) { d.GivenUp++ })
					w.finished(a, false, 0)
				default:
					return
				}
			}
		case a := <-w.queue:
			w.deliver(a)
		}
	}
}

// deliver tries a until it is delivered, given up or the webhook closed.
func (w *Webhook) deliver(a Alert) {
	body, err := Body(a)
	if err != nil { // cannot happen: every field encodes
		w.count(a.Rule, func(d *Delivery) { d.GivenUp++ })
		w.finished(a, false, 0)
		return
	}
	pause := w.c.Backoff
	for attempt := 1; ; attempt++ {
		if w.post(a.EventID, body) {
			w.count(a.Rule, func(d *Delivery) { d.Delivered++ })
			w.finished(a, true, attempt)
			return
		}
		if attempt == w.c.Attempts || w.sleep(w.ctx, jitter(pause)) != nil {
			w.count(a.Rule, func(d *Delivery) { d.GivenUp++ })
			w.finished(a, false, attempt)
			return
		}
		pause = min(2*pause, w.c.MaxBackoff)
		w.count(a.Rule, func(d *Delivery) { d.Retried++ })
	}
}

func (w *Webhook) finished(a Alert, delivered bool, attempts int) {
	if w.c.Done != nil {
		w.c.Done(a, delivered, attempts)
	}
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
// "difference", "interval" and "p_value" (null when not computed).
func Body(a Alert) ([]byte, error) {
	m := map[string]any{
		"event_id": a.EventID, "state": a.State.String(), "rule": a.Rule, "kind": a.Kind.String(),
		"segment": a.Segment, "touchpoint": a.Touchpoint, "metric": a.Metric.String(), "time": a.Time.UTC(),
	}
	if a.FiredID != "" {
		m["fired_id"] = a.FiredID
	}
	if a.Kind == Threshold {
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
