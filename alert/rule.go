package alert

import (
	"fmt"
	"math"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// Kind is what a rule tests.
type Kind uint8

const (
	// Threshold fires when the metric's score over the window is below (or
	// above) a bound, with at least MinResponses responses.
	Threshold Kind = iota + 1
	// Drop fires when the window's score is significantly lower than its
	// baseline's (engine.CompareAt), at Level, with at least MinResponses
	// responses on both sides.
	Drop
	// Rise is Drop the other way: significantly higher.
	Rise
	// Response fires on a single answer of the metric at or below
	// MaxScore (a detractor), once per response: see Evaluator.Observe.
	Response
)

// String returns the kind's wire name: threshold, drop, rise or response.
func (k Kind) String() string {
	switch k {
	case Threshold:
		return "threshold"
	case Drop:
		return "drop"
	case Rise:
		return "rise"
	case Response:
		return "response"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// DefaultLevel is Rule.Level when left zero.
const DefaultLevel = 0.05

// Rule is a score rule (Threshold, Drop, Rise), a test of one metric over
// one selection evaluated at every Evaluate, or a response rule
// (Response), a test of each answer the engine records (Evaluator.Observe).
// A response rule takes only Name, Kind, Metric, Segment, Touchpoint,
// MaxScore and Webhook, and New refuses one that sets another field.
type Rule struct {
	// Name identifies the rule in alerts and counters: required, unique.
	Name string
	Kind Kind
	// Metric is the metric scored: engine.CSAT, engine.CES or engine.NPS.
	Metric engine.Metric
	// Segment and Touchpoint select the keys; "" or engine.All ("*"):
	// every one.
	Segment, Touchpoint string
	// Window is the length of the window ending at the evaluation time:
	// required, > 0, one the engine's tiers answer. Score rules only.
	Window time.Duration
	// Bound and Above are a Threshold rule's test: the score below Bound
	// (Above false) or above it (Above true), in the units of the metric's
	// Score (CSAT percent, CES mean, NPS points). Ignored by drop and rise
	// rules.
	Bound float64
	Above bool
	// MinResponses is the fewest responses of the metric the window (and,
	// for Drop and Rise, the baseline too) must hold for the rule to be
	// true. Zero: no minimum of its own; a Drop or Rise rule still needs
	// the engine's Config.MinResponses on both sides, below which the
	// engine computes no p-value. Score rules only.
	MinResponses int
	// Cooldown is the least time between two firings of the rule. A rule
	// that stays true fires once; after it resolves, it fires again only
	// once Cooldown has passed since it last fired (and it is still true
	// then). Zero: no cooldown. Score rules only: a response rule fires
	// once per response.
	Cooldown time.Duration
	// Against is a Drop or Rise rule's baseline. Zero: engine.Previous.
	Against engine.Baseline
	// Level is a Drop or Rise rule's significance level: the rule is true
	// when the comparison's p-value is below it. Zero: DefaultLevel, 0.05.
	Level float64
	// MaxScore is a Response rule's test: an answer of Metric scoring at
	// most MaxScore fires (NPS 6 for detractors, CSAT 2, CES 3). It must
	// be on the metric's scale (Metric.Scale). Response rules only.
	MaxScore int
	// Webhook is passed through to the rule's alerts (Alert.Webhook), for
	// the receiver of alerts to route them; the evaluator does not read it.
	Webhook string
}

// check validates r and returns it with its defaults filled in.
func (r Rule) check() (Rule, error) {
	bad := func(format string, args ...any) (Rule, error) {
		return r, fmt.Errorf("%w: rule %q: %s", ErrRule, r.Name, fmt.Sprintf(format, args...))
	}
	if r.Name == "" {
		return bad("name: empty, want a name")
	}
	if r.Kind < Threshold || r.Kind > Response {
		return bad("kind: %v, want Threshold, Drop, Rise or Response", r.Kind)
	}
	if !r.Metric.Valid() {
		return bad("metric: %v, want CSAT, CES or NPS", r.Metric)
	}
	if r.Segment == "" {
		r.Segment = engine.All
	}
	if r.Touchpoint == "" {
		r.Touchpoint = engine.All
	}
	if r.Kind == Response {
		return r.checkResponse()
	}
	if r.MaxScore != 0 {
		return bad("max_score: %d, only for response rules", r.MaxScore)
	}
	if r.Window <= 0 {
		return bad("window: %v, want > 0", r.Window)
	}
	if r.MinResponses < 0 {
		return bad("min_responses: %d, want ≥ 0", r.MinResponses)
	}
	if r.Cooldown < 0 {
		return bad("cooldown: %v, want ≥ 0", r.Cooldown)
	}
	switch r.Kind {
	case Threshold:
		if math.IsNaN(r.Bound) || math.IsInf(r.Bound, 0) {
			return bad("bound: %v, want a finite number", r.Bound)
		}
		if r.Against != 0 || r.Level != 0 {
			return bad("against and level are for drop and rise rules, not threshold")
		}
	default:
		if r.Against == 0 {
			r.Against = engine.Previous
		}
		if r.Level == 0 {
			r.Level = DefaultLevel
		}
		if !(r.Level > 0 && r.Level < 1) {
			return bad("level: %v, want between 0 and 1", r.Level)
		}
	}
	return r, nil
}

// checkResponse validates a Response rule, whose Segment and Touchpoint
// are filled in. Fields of score rules are refused rather than ignored: a
// window or cooldown given to a response rule says its author expects
// something it does not do.
func (r Rule) checkResponse() (Rule, error) {
	bad := func(format string, args ...any) (Rule, error) {
		return r, fmt.Errorf("%w: rule %q: %s", ErrRule, r.Name, fmt.Sprintf(format, args...))
	}
	if lo, hi := r.Metric.Scale(); r.MaxScore < lo || r.MaxScore > hi {
		return bad("max_score: %d, want %d-%d, the %s scale", r.MaxScore, lo, hi, r.Metric)
	}
	switch {
	case r.Window != 0:
		return bad("window: %v, only for score rules: a response rule tests each answer", r.Window)
	case r.Cooldown != 0:
		return bad("cooldown: %v, only for score rules: a response rule fires once per response", r.Cooldown)
	case r.MinResponses != 0:
		return bad("min_responses: %d, only for score rules", r.MinResponses)
	case r.Bound != 0 || r.Above:
		return bad("bound and above are for threshold rules, not response")
	case r.Against != 0 || r.Level != 0:
		return bad("against and level are for drop and rise rules, not response")
	}
	return r, nil
}

func (r *Rule) selection() engine.Selection {
	return engine.Selection{Segments: []string{r.Segment}, Touchpoints: []string{r.Touchpoint}}
}
