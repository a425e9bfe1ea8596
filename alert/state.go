package alert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// RuleState is what an Evaluator keeps of one rule (and its selection)
// between evaluations: whether it is firing, under which event id, and
// when it last fired, for its cooldown.
type RuleState struct {
	Rule                string
	Kind                Kind
	Metric              engine.Metric
	Segment, Touchpoint string
	// Firing: the rule fired (under FiredID) and has not resolved since.
	Firing  bool
	FiredID string
	// LastFired is when the rule last fired; zero if it never did.
	LastFired time.Time
}

// State returns the state of every rule, in the order of Config.Rules,
// for Restore in a new Evaluator (after a restart, say).
func (ev *Evaluator) State() []RuleState {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	out := make([]RuleState, len(ev.rules))
	for i := range ev.rules {
		rs := &ev.rules[i]
		out[i] = RuleState{Rule: rs.Name, Kind: rs.Kind, Metric: rs.Metric, Segment: rs.Segment, Touchpoint: rs.Touchpoint,
			Firing: rs.firing, FiredID: rs.firedID}
		if rs.fired {
			out[i].LastFired = rs.lastFired
		}
	}
	return out
}

// Restore sets the state of the rules states name: a rule takes the state
// of the same name whose kind, metric, segment and touchpoint are still
// its own; the state of a rule removed or changed since is ignored, and
// the rule starts afresh. A rule restored firing does not fire again
// while it stays true, and resolves, with the saved FiredID, when it stops
// being true. It returns how many rules it restored.
func (ev *Evaluator) Restore(states []RuleState) int {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	n := 0
	for _, s := range states {
		for i := range ev.rules {
			rs := &ev.rules[i]
			if rs.Name != s.Rule || rs.Kind != s.Kind || rs.Metric != s.Metric || rs.Segment != s.Segment || rs.Touchpoint != s.Touchpoint {
				continue
			}
			rs.firing, rs.firedID = s.Firing && s.FiredID != "", s.FiredID
			if !rs.firing {
				rs.firedID = ""
			}
			rs.fired, rs.lastFired = !s.LastFired.IsZero(), s.LastFired
			n++
			break
		}
	}
	return n
}

// SavedVersion is the version of the JSON form of Saved that AppendJSON
// writes; ParseSaved reads it alone.
const SavedVersion = 1

// Saved is what alerting keeps across a restart: the evaluator's rule
// states and each webhook's undelivered alerts, by webhook name.
//
// A pending alert's Kind is 0 when its body names a kind this version of
// the package does not define.
//
// Its JSON form (version 1):
//
//	{"version": 1,
//	 "rules": [{"rule": "csat-low", "kind": "threshold", "metric": "csat", "segment": "*", "touchpoint": "web",
//	            "firing": true, "fired_id": "9f…", "last_fired": "2026-11-24T10:00:00Z"}],
//	 "pending": {"ops": [{"attempts": 2, "body": {"event_id": "9f…", "rule": "csat-low", ...}}]}}
//
// "last_fired" is omitted for a rule that never fired, "fired_id" for one
// not firing. Each pending "body" is the alert's webhook body (Body),
// kept verbatim: it is what the next try sends.
type Saved struct {
	Rules   []RuleState
	Pending map[string][]Pending
}

type savedJSON struct {
	Version int                      `json:"version"`
	Rules   []ruleStateJSON          `json:"rules"`
	Pending map[string][]pendingJSON `json:"pending"`
}

type ruleStateJSON struct {
	Rule       string     `json:"rule"`
	Kind       string     `json:"kind"`
	Metric     string     `json:"metric"`
	Segment    string     `json:"segment"`
	Touchpoint string     `json:"touchpoint"`
	Firing     bool       `json:"firing"`
	FiredID    string     `json:"fired_id,omitempty"`
	LastFired  *time.Time `json:"last_fired,omitempty"`
}

type pendingJSON struct {
	Attempts int             `json:"attempts"`
	Body     json.RawMessage `json:"body"`
}

// bodyHead is the part of a webhook body common to every kind of alert.
type bodyHead struct {
	EventID    *string    `json:"event_id"`
	FiredID    string     `json:"fired_id"`
	State      *string    `json:"state"`
	Rule       *string    `json:"rule"`
	Kind       *string    `json:"kind"`
	Segment    *string    `json:"segment"`
	Touchpoint *string    `json:"touchpoint"`
	Metric     *string    `json:"metric"`
	Time       *time.Time `json:"time"`
}

// AppendJSON appends s's JSON form (SavedVersion) to b.
func (s Saved) AppendJSON(b []byte) ([]byte, error) {
	j := savedJSON{Version: SavedVersion, Rules: []ruleStateJSON{}, Pending: map[string][]pendingJSON{}}
	for _, r := range s.Rules {
		rj := ruleStateJSON{Rule: r.Rule, Kind: r.Kind.String(), Metric: r.Metric.String(), Segment: r.Segment,
			Touchpoint: r.Touchpoint, Firing: r.Firing, FiredID: r.FiredID}
		if !r.LastFired.IsZero() {
			t := r.LastFired.UTC()
			rj.LastFired = &t
		}
		j.Rules = append(j.Rules, rj)
	}
	for hook, ps := range s.Pending {
		list := make([]pendingJSON, 0, len(ps))
		for _, p := range ps {
			list = append(list, pendingJSON{Attempts: p.Attempts, Body: p.Body})
		}
		j.Pending[hook] = list
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // the bodies verbatim
	if err := enc.Encode(j); err != nil {
		return b, fmt.Errorf("%w: %v", ErrState, err)
	}
	return append(b, out.Bytes()...), nil
}

// ParseSaved reads the JSON form of a Saved (AppendJSON's). Every pending
// alert's body must carry the fields common to every kind (event_id,
// state, rule, kind, segment, touchpoint, metric, time), which fill its
// Alert; the body itself is kept verbatim. Errors wrap ErrState and say
// what is wrong, and where.
func ParseSaved(b []byte) (Saved, error) {
	bad := func(format string, args ...any) (Saved, error) {
		return Saved{}, fmt.Errorf("%w: %s", ErrState, fmt.Sprintf(format, args...))
	}
	var j savedJSON
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&j); err != nil {
		return bad("not the JSON of saved alert state: %v", err)
	}
	if d.More() {
		return bad("more than one JSON value")
	}
	if j.Version != SavedVersion {
		return bad("version %d, want %d", j.Version, SavedVersion)
	}
	var s Saved
	for i, r := range j.Rules {
		at := fmt.Sprintf("rules[%d] %q", i, r.Rule)
		rs := RuleState{Rule: r.Rule, Segment: r.Segment, Touchpoint: r.Touchpoint, Firing: r.Firing, FiredID: r.FiredID}
		var ok bool
		if r.Rule == "" {
			return bad("%s: rule: empty, want a rule name", at)
		}
		if rs.Kind, ok = parseKind(r.Kind); !ok {
			return bad("%s: kind %q, want a kind such as threshold or drop", at, r.Kind)
		}
		m, err := engine.ParseMetric(r.Metric)
		if err != nil {
			return bad("%s: metric %q, want csat, ces or nps", at, r.Metric)
		}
		rs.Metric = m
		if r.Firing && r.FiredID == "" {
			return bad("%s: firing without a fired_id", at)
		}
		if r.LastFired != nil {
			rs.LastFired = *r.LastFired
		}
		s.Rules = append(s.Rules, rs)
	}
	for hook, ps := range j.Pending {
		for i, p := range ps {
			at := fmt.Sprintf("pending %q[%d]", hook, i)
			if p.Attempts < 0 {
				return bad("%s: attempts %d, want ≥ 0", at, p.Attempts)
			}
			a, err := parseHead(p.Body)
			if err != nil {
				return bad("%s: body: %v", at, err)
			}
			a.Webhook = hook
			if s.Pending == nil {
				s.Pending = map[string][]Pending{}
			}
			s.Pending[hook] = append(s.Pending[hook], Pending{Alert: a, Body: bytes.Clone(p.Body), Attempts: p.Attempts})
		}
	}
	return s, nil
}

// parseHead reads the fields common to every kind from a webhook body.
func parseHead(body []byte) (Alert, error) {
	var h bodyHead
	if err := json.Unmarshal(body, &h); err != nil {
		return Alert{}, fmt.Errorf("not an alert's JSON object: %v", err)
	}
	var missing []string
	for name, p := range map[string]*string{"event_id": h.EventID, "state": h.State, "rule": h.Rule, "kind": h.Kind,
		"segment": h.Segment, "touchpoint": h.Touchpoint, "metric": h.Metric} {
		if p == nil || *p == "" {
			missing = append(missing, name)
		}
	}
	if h.Time == nil {
		missing = append(missing, "time")
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return Alert{}, fmt.Errorf("no %s", strings.Join(missing, ", "))
	}
	a := Alert{EventID: *h.EventID, FiredID: h.FiredID, Rule: *h.Rule, Segment: *h.Segment, Touchpoint: *h.Touchpoint, Time: *h.Time}
	a.Kind, _ = parseKind(*h.Kind) // a kind this version does not know stays 0: the body is what is sent
	switch *h.State {
	case "firing":
		a.State = Firing
	case "resolved":
		a.State = Resolved
	default:
		return Alert{}, fmt.Errorf("state %q, want firing or resolved", *h.State)
	}
	m, err := engine.ParseMetric(*h.Metric)
	if err != nil {
		return Alert{}, fmt.Errorf("metric %q, want csat, ces or nps", *h.Metric)
	}
	a.Metric = m
	return a, nil
}

// parseKind is the inverse of Kind.String, for every kind defined.
func parseKind(s string) (Kind, bool) {
	for k := Kind(1); k != 0; k++ {
		if k.String() == s && s != fmt.Sprintf("kind(%d)", uint8(k)) {
			return k, true
		}
	}
	return 0, false
}
