package alert

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"

	"github.com/cxscore/cxscore/engine"
)

// responseRules are the response rules compiled for Observe: byScore[m][s]
// lists the rules of metric m that an answer scoring s passes, each with
// its selection, so that an answer no rule's MaxScore reaches costs one
// table lookup and one that does a scan of labels held side by side.
type responseRules struct {
	rules   []responseRule
	byScore [engine.NPS + 1][11][]matcher
}

type responseRule struct {
	Rule
	fired, dropped atomic.Uint64
}

// matcher is a rule's selection: "" for every segment or touchpoint
// (labels are never empty).
type matcher struct {
	seg, tp string
	rule    *responseRule
}

func (m *matcher) selects(seg, tp string) bool {
	return (m.seg == "" || m.seg == seg) && (m.tp == "" || m.tp == tp)
}

func compileResponses(rules []Rule) responseRules {
	var rr responseRules
	rr.rules = make([]responseRule, len(rules))
	for i, r := range rules {
		rr.rules[i].Rule = r
		m := matcher{seg: r.Segment, tp: r.Touchpoint, rule: &rr.rules[i]}
		if m.seg == engine.All {
			m.seg = ""
		}
		if m.tp == engine.All {
			m.tp = ""
		}
		for s := 0; s <= r.MaxScore; s++ {
			rr.byScore[r.Metric][s] = append(rr.byScore[r.Metric][s], m)
		}
	}
	return rr
}

// selects reports whether the rule's selection holds the key seg × tp.
func (r *Rule) selects(seg, tp string) bool {
	return (r.Segment == engine.All || r.Segment == seg) && (r.Touchpoint == engine.All || r.Touchpoint == tp)
}

// passes reports whether an answer passes the response rule r.
func (r *Rule) passes(a engine.Answer) bool {
	return a.Metric == r.Metric && a.Score <= r.MaxScore &&
		// A key no longer held: taken as matching, so that a correction
		// of it never raises a second alert.
		(a.Key == engine.Key{} || r.selects(a.Key.Segment, a.Key.Touchpoint))
}

// Observe tests an event the engine recorded against the response rules
// and raises their alerts: pass it as engine.Config.Observe. An event
// fires each response rule whose selection holds its key and whose
// MaxScore its score of the rule's metric is at or below, unless the
// answer the engine held for the response before (Observation.Previous:
// the one a correction replaced, or a deleted one) passed the rule too
// (one whose key the engine no longer holds is taken as passing if its
// metric and score do: no second alert rather than a doubtful one). So
// a response fires a rule once: the engine does not observe duplicates,
// and a correction fires only if it newly passes. An anonymous event (no
// ResponseID) fires every time it passes. Response rules have no state
// here, no cooldown and no resolution: an alert is an event, not a state.
//
// Observe is safe for concurrent use and never waits: not for Evaluate,
// not for a reader of the queue (an alert that finds it full is dropped
// and counted). An event that fires no rule costs a lookup in a table by
// metric and score, then a comparison of labels per rule its score
// passes, and does not allocate.
func (ev *Evaluator) Observe(o *engine.Observation) {
	m, s := uint(o.Event.Metric), uint(o.Event.Score)
	if m >= uint(len(ev.responses.byScore)) || s >= uint(len(ev.responses.byScore[0])) {
		return
	}
	if rules := ev.responses.byScore[m][s]; len(rules) != 0 {
		ev.observe(o, rules)
	}
}

func (ev *Evaluator) observe(o *engine.Observation, rules []matcher) {
	e := &o.Event
	for i := range rules {
		if !rules[i].selects(e.Segment, e.Touchpoint) {
			continue
		}
		r := rules[i].rule
		if r.passes(o.Previous) {
			continue
		}
		a := Alert{Rule: r.Name, Kind: Response, State: Firing, Webhook: r.Webhook, Metric: r.Metric,
			Segment: e.Segment, Touchpoint: e.Touchpoint, Time: e.Time, Response: *e}
		if e.ResponseID != "" {
			a.EventID = ResponseEventID(r.Name, e.ResponseID, e.Version)
		} else {
			a.EventID = newID()
		}
		r.fired.Add(1)
		if ev.notify != nil {
			ev.notify(a)
			continue
		}
		select {
		case ev.queue <- a:
		default:
			r.dropped.Add(1)
		}
	}
}

// ResponseEventID is the EventID of the alert a response rule raises for a
// response with an id: the hex of the first 16 bytes of the SHA-256 of the
// rule's name, the response id (each preceded by its length as a uvarint)
// and the version (8 bytes, big-endian). Every engine that records the
// response at that version raises its alert under this id, so a receiver
// deduplicating on X-Cxscore-Event-Id keeps one whichever replica, or
// which run after a restart, delivered it.
func ResponseEventID(rule, responseID string, version uint64) string {
	b := make([]byte, 0, 2*binary.MaxVarintLen64+len(rule)+len(responseID)+8)
	b = binary.AppendUvarint(b, uint64(len(rule)))
	b = append(b, rule...)
	b = binary.AppendUvarint(b, uint64(len(responseID)))
	b = append(b, responseID...)
	b = binary.BigEndian.AppendUint64(b, version)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
