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
)

// String returns the kind's wire name: threshold, drop or rise.
func (k Kind) String() string {
	switch k {
	case Threshold:
		return "threshold"
	case Drop:
		return "drop"
	case Rise:
		return "rise"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// DefaultLevel is Rule.Level when left zero.
const DefaultLevel = 0.05

// Rule is a score rule: a test of one metric over one selection, evaluated
// at every Evaluate.
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
	// required, > 0, one the engine's tiers answer.
	Window time.Duration
	// Bound and Above are a Threshold rule's test: the score below Bound
	// (Above false) or above it (Above true), in the units of the metric's
	// Score (CSAT percent, CES mean, NPS points). Ignored by other kinds.
	Bound float64
	Above bool
	// MinResponses is the fewest responses of the metric the window (and,
	// for Drop and Rise, the baseline too) must hold for the rule to be
	// true. Zero: no minimum of its own; a Drop or Rise rule still needs
	// the engine's Config.MinResponses on both sides, below which the
	// engine computes no p-value.
	MinResponses int
	// Cooldown is the least time between two firings of the rule. A rule
	// that stays true fires once; after it resolves, it fires again only
	// once Cooldown has passed since it last fired (and it is still true
	// then). Zero: no cooldown.
	Cooldown time.Duration
	// Against is a Drop or Rise rule's baseline. Zero: engine.Previous.
	Against engine.Baseline
	// Level is a Drop or Rise rule's significance level: the rule is true
	// when the comparison's p-value is below it. Zero: DefaultLevel, 0.05.
	Level float64
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
	if r.Kind < Threshold || r.Kind > Rise {
		return bad("kind: %v, want Threshold, Drop or Rise", r.Kind)
	}
	if !r.Metric.Valid() {
		return bad("metric: %v, want CSAT, CES or NPS", r.Metric)
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
	if r.Segment == "" {
		r.Segment = engine.All
	}
	if r.Touchpoint == "" {
		r.Touchpoint = engine.All
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

func (r *Rule) selection() engine.Selection {
	return engine.Selection{Segments: []string{r.Segment}, Touchpoints: []string{r.Touchpoint}}
}
