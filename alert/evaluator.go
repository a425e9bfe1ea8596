package alert

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// State is whether an alert announces that its rule became true (Firing)
// or stopped being true (Resolved).
type State uint8

const (
	Firing State = iota + 1
	Resolved
)

// String returns the state's wire name: firing or resolved.
func (s State) String() string {
	switch s {
	case Firing:
		return "firing"
	case Resolved:
		return "resolved"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Summary is one side of an alert's evidence: a metric's score over a
// window, its 95% interval and its responses. HasScore is false when the
// window holds no response of the metric.
type Summary struct {
	Score, Low, High float64
	HasScore         bool
	Responses        uint64
	// From and To are the time the window really covers (engine.Result).
	From, To time.Time
}

// Alert is one notice of a rule: that it fired, or that it resolved.
type Alert struct {
	// EventID is unique per alert (128 bits in hex): a receiver
	// deduplicates retried deliveries on it. It is random, except in the
	// alert of a response rule on a response with an id: there it is
	// derived from the rule's name and the response's id and version
	// (ResponseEventID), so that every engine that sees the response (two
	// replicas, a restart replaying a stream) raises the alert under the
	// same id, and the receiver keeps one.
	EventID string
	// FiredID is, in a Resolved alert, the EventID of the Firing alert it
	// resolves; empty in a Firing one.
	FiredID             string
	Rule                string
	Kind                Kind
	State               State
	Webhook             string // the rule's Webhook
	Metric              engine.Metric
	Segment, Touchpoint string
	// Time is the evaluation time at which the rule was found true (or no
	// longer true); for a response rule, the response's time.
	Time time.Time
	// Response is, in a response rule's alert, the event that fired it:
	// its ResponseID (empty for an anonymous one), Version, CustomerID
	// (if any), Score and Time, and its key and metric.
	Response engine.Event
	// Current is the window's summary; Baseline, for Drop and Rise, the
	// baseline's.
	Current, Baseline Summary
	// Difference (Current minus Baseline), its 95% interval Low-High and
	// the p-value of no difference, for Drop and Rise; HasPValue is false
	// when the comparison had too few responses for a test.
	Difference, Low, High, PValue float64
	HasPValue                     bool
}

// Counts are one rule's counters.
type Counts struct {
	// Fired and Resolved count the alerts of each state the rule raised;
	// Dropped those of them the queue had no room for. A response rule
	// never resolves.
	Fired, Resolved, Dropped uint64
	// Errors counts evaluations the engine could not answer (a window its
	// tiers do not retain, a closed engine); the rule's state is unchanged.
	Errors uint64
}

// DefaultQueue is Config.Queue when left zero.
const DefaultQueue = 1024

// Config configures an Evaluator.
type Config struct {
	// Engine is what score rules query: required when Rules hold one.
	Engine *engine.Engine
	// Rules are the score and response rules, each validated by New.
	Rules []Rule
	// Notify, when set, is called with every alert instead of the queue:
	// a score rule's from within Evaluate, a response rule's from within
	// Observe, and so from within the engine's Record. It must not block
	// and must be safe for concurrent use: hand the alert on (a Webhook's
	// Send does).
	Notify func(Alert)
	// Queue is the capacity of the channel Alerts returns, when Notify is
	// nil. An alert that finds it full is dropped and counted
	// (Counts.Dropped): neither evaluation nor the engine's Record (for
	// response rules) waits for a reader. Zero:
	// DefaultQueue.
	Queue int
}

// Evaluator evaluates score rules over an engine at the times it is given.
// It keeps, per rule, whether the rule is firing and when it last fired;
// nothing per key, and no goroutine of its own (Run borrows the caller's).
// Its methods are safe for concurrent use; evaluations are serialized.
//
// An evaluation costs one engine query (Threshold) or comparison (Drop,
// Rise) per rule.
type Evaluator struct {
	eng    *engine.Engine
	notify func(Alert)
	queue  chan Alert

	mu     sync.Mutex
	rules  []ruleState // score rules
	result engine.Result
	cmp    engine.Comparison

	responses responseRules // not guarded by mu: Observe never waits for Evaluate
}

type ruleState struct {
	Rule
	sel       engine.Selection // built once: a query takes it without allocating
	firing    bool
	firedID   string
	lastFired time.Time
	fired     bool // ever fired: lastFired is set
	counts    Counts
}

// New returns an evaluator of c's rules. Errors wrap ErrRule (naming the
// rule and its bad field) or ErrConfig (a score rule without an Engine, a
// negative Queue).
func New(c Config) (*Evaluator, error) {
	if c.Queue < 0 {
		return nil, fmt.Errorf("%w: Queue %d, want ≥ 0", ErrConfig, c.Queue)
	}
	ev := &Evaluator{eng: c.Engine, notify: c.Notify}
	rules, err := checkRules(c.Rules)
	if err != nil {
		return nil, err
	}
	var responses []Rule
	for _, r := range rules {
		if r.Kind == Response {
			responses = append(responses, r)
			continue
		}
		if c.Engine == nil {
			return nil, fmt.Errorf("%w: no Engine for score rule %q", ErrConfig, r.Name)
		}
		ev.rules = append(ev.rules, ruleState{Rule: r, sel: r.selection()})
	}
	ev.responses = compileResponses(responses)
	if ev.notify == nil {
		q := c.Queue
		if q == 0 {
			q = DefaultQueue
		}
		ev.queue = make(chan Alert, q)
	}
	return ev, nil
}

// CheckRules validates rules as New does, without an engine: for a
// program to refuse a bad configuration before it starts. Errors wrap
// ErrRule and name the rule and its field.
func CheckRules(rules []Rule) error {
	_, err := checkRules(rules)
	return err
}

func checkRules(rules []Rule) ([]Rule, error) {
	seen := map[string]bool{}
	out := make([]Rule, 0, len(rules))
	for _, r := range rules {
		r, err := r.check()
		if err != nil {
			return nil, err
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("%w: rule %q: name: used twice", ErrRule, r.Name)
		}
		seen[r.Name] = true
		out = append(out, r)
	}
	return out, nil
}

// Alerts returns the queue of alerts, nil when Config.Notify is set. It is
// never closed.
func (ev *Evaluator) Alerts() <-chan Alert { return ev.queue }

// Evaluate evaluates every score rule at now and raises the alerts due:
//   - a rule found true that is not firing fires, unless it fired less
//     than its Cooldown before now (it is then tried again at the next
//     evaluation);
//   - a firing rule found false resolves.
//
// A rule is true when its window holds at least MinResponses responses of
// the metric (on both sides for Drop and Rise) and its test passes; too
// few responses make it false. A rule the engine cannot answer keeps its
// state and counts an error.
func (ev *Evaluator) Evaluate(now time.Time) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for i := range ev.rules {
		rs := &ev.rules[i]
		a := Alert{Rule: rs.Name, Kind: rs.Kind, Webhook: rs.Webhook, Metric: rs.Metric,
			Segment: rs.Segment, Touchpoint: rs.Touchpoint, Time: now}
		ok, err := ev.test(now, &rs.Rule, &rs.sel, &a)
		if err != nil {
			rs.counts.Errors++
			continue
		}
		switch {
		case ok && !rs.firing && (!rs.fired || now.Sub(rs.lastFired) >= rs.Cooldown):
			a.State, a.EventID = Firing, newID()
			rs.firing, rs.fired, rs.lastFired, rs.firedID = true, true, now, a.EventID
			rs.counts.Fired++
			ev.emit(rs, a)
		case !ok && rs.firing:
			a.State, a.EventID, a.FiredID = Resolved, newID(), rs.firedID
			rs.firing, rs.firedID = false, ""
			rs.counts.Resolved++
			ev.emit(rs, a)
		}
	}
}

func (ev *Evaluator) emit(rs *ruleState, a Alert) {
	if ev.notify != nil {
		ev.notify(a)
		return
	}
	select {
	case ev.queue <- a:
	default:
		rs.counts.Dropped++
	}
}

// test reports whether r is true at now, filling a's evidence.
func (ev *Evaluator) test(now time.Time, r *Rule, sel *engine.Selection, a *Alert) (bool, error) {
	min := uint64(r.MinResponses)
	if r.Kind == Threshold {
		if err := ev.eng.SelectAt(now, *sel, r.Window, &ev.result); err != nil {
			return false, err
		}
		a.Current = summarize(&ev.result, r.Metric)
		s := &a.Current
		if !s.HasScore || s.Responses < min {
			return false, nil
		}
		if r.Above {
			return s.Score > r.Bound, nil
		}
		return s.Score < r.Bound, nil
	}
	if err := ev.eng.CompareAt(now, *sel, r.Window, r.Against, &ev.cmp); err != nil {
		return false, err
	}
	a.Current, a.Baseline = summarize(&ev.cmp.Current, r.Metric), summarize(&ev.cmp.Baseline, r.Metric)
	var mc engine.MetricComparison
	switch r.Metric {
	case engine.CSAT:
		mc = ev.cmp.CSAT
	case engine.CES:
		mc = ev.cmp.CES
	default:
		mc = ev.cmp.NPS
	}
	a.Difference, a.Low, a.High, a.PValue, a.HasPValue = mc.Difference, mc.Low, mc.High, mc.PValue, mc.HasPValue
	if a.Current.Responses < min || a.Baseline.Responses < min || !mc.HasPValue || !mc.HasDifference {
		return false, nil
	}
	if mc.PValue >= r.Level {
		return false, nil
	}
	if r.Kind == Drop {
		return mc.Difference < 0, nil
	}
	return mc.Difference > 0, nil
}

func summarize(r *engine.Result, m engine.Metric) Summary {
	s := Summary{From: r.From, To: r.To}
	switch m {
	case engine.CSAT:
		s.Score, s.HasScore = r.CSAT.Score()
		s.Low, s.High, _ = r.CSAT.Interval()
		s.Responses = r.CSAT.Responses()
	case engine.CES:
		s.Score, s.HasScore = r.CES.Score()
		s.Low, s.High, _ = r.CES.Interval()
		s.Responses = r.CES.Responses()
	default:
		s.Score, s.HasScore = r.NPS.Score()
		s.Low, s.High, _ = r.NPS.Interval()
		s.Responses = r.NPS.Responses()
	}
	return s
}

func newID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// Counts returns each rule's counters, by rule name.
func (ev *Evaluator) Counts() map[string]Counts {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	m := make(map[string]Counts, len(ev.rules)+len(ev.responses.rules))
	for i := range ev.rules {
		m[ev.rules[i].Name] = ev.rules[i].counts
	}
	for i := range ev.responses.rules {
		r := &ev.responses.rules[i]
		m[r.Name] = Counts{Fired: r.fired.Load(), Dropped: r.dropped.Load()}
	}
	return m
}

// Run evaluates the score rules every interval, at the engine's clock
// (Engine.Now), until ctx ends; it returns ctx's error. every must be > 0.
// Without score rules it only waits for ctx.
func (ev *Evaluator) Run(ctx context.Context, every time.Duration) error {
	if len(ev.rules) == 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			ev.Evaluate(ev.eng.Now())
		}
	}
}
