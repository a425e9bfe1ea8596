package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/server/internal/windowtext"
)

// Scores is the JSON of an engine.Result: the answer to GET /v1/scores and
// each point of GET /v1/trend. A score, margin of error or interval that
// does not exist (no responses; for the CES margin, fewer than two) is
// null, never 0. Each metric's Enough says whether it holds at least the
// engine's Config.MinResponses responses: a score below it exists but rests
// on too little data to act on.
//
// Window is what the request asked for: a sliding window such as "24h", a
// period such as "this_month", or "" for an absolute range (from=, to=).
// From and To are what the answer really covers, [From, To), as RFC 3339
// instants with the offset of the engine's time zone (Config.Location).
// Partial says the answer covers less than its whole period or trend step:
// the current day, week or month, or a trend's current step, which is
// still filling.
type Scores struct {
	Segment         string     `json:"segment"`
	Touchpoint      string     `json:"touchpoint"`
	Window          string     `json:"window"`
	From            time.Time  `json:"from"`
	To              time.Time  `json:"to"`
	Partial         bool       `json:"partial"`
	UniqueCustomers uint64     `json:"unique_customers"`
	CSAT            CSATScores `json:"csat"`
	CES             CESScores  `json:"ces"`
	NPS             NPSScores  `json:"nps"`
}

// CSATScores is the CSAT part of Scores: Score is the percentage of
// responses scoring 4 or 5.
type CSATScores struct {
	Responses     uint64       `json:"responses"`
	Enough        bool         `json:"enough"`
	Score         *float64     `json:"score"`
	MarginOfError *float64     `json:"margin_of_error"`
	Interval      *Interval    `json:"interval"`
	Distribution  Distribution `json:"distribution"`
}

// CESScores is the CES part of Scores: Score is the mean, EasyShare the
// share of responses scoring 5-7.
type CESScores struct {
	Responses     uint64       `json:"responses"`
	Enough        bool         `json:"enough"`
	Score         *float64     `json:"score"`
	EasyShare     *float64     `json:"easy_share"`
	MarginOfError *float64     `json:"margin_of_error"`
	Interval      *Interval    `json:"interval"`
	Distribution  Distribution `json:"distribution"`
}

// NPSScores is the NPS part of Scores: Score is the percentage of
// promoters (9-10) minus that of detractors (0-6).
type NPSScores struct {
	Responses     uint64       `json:"responses"`
	Enough        bool         `json:"enough"`
	Score         *float64     `json:"score"`
	Promoters     uint64       `json:"promoters"`
	Passives      uint64       `json:"passives"`
	Detractors    uint64       `json:"detractors"`
	MarginOfError *float64     `json:"margin_of_error"`
	Interval      *Interval    `json:"interval"`
	Distribution  Distribution `json:"distribution"`
}

// Interval is a 95% confidence interval of a score, in its units: for
// CSAT the Wilson interval, for CES the mean ± margin, for NPS the
// adjusted-Wald interval (centred on the adjusted score, so not always
// score ± margin), each clipped to the scale.
type Interval struct {
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// Distribution is the number of responses per score, Counts[i] being
// those of score Lowest+i. It is written as a JSON object in score order,
// {"1":3,"2":4,...}, and read back from one in any order.
type Distribution struct {
	Lowest int
	Counts []uint64
}

// MarshalJSON implements json.Marshaler.
func (d Distribution) MarshalJSON() ([]byte, error) {
	b := append(make([]byte, 0, 16*len(d.Counts)), '{')
	for i, c := range d.Counts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = strconv.AppendInt(b, int64(d.Lowest+i), 10)
		b = append(b, '"', ':')
		b = strconv.AppendUint(b, c, 10)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON implements json.Unmarshaler: the scores must be integers
// forming one run, such as 0 to 10.
func (d *Distribution) UnmarshalJSON(b []byte) error {
	var m map[string]uint64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*d = Distribution{}
	if len(m) == 0 {
		return nil
	}
	lo, hi := math.MaxInt, math.MinInt
	for k := range m {
		n, err := strconv.Atoi(k)
		if err != nil {
			return fmt.Errorf("distribution: score %q is not an integer", k)
		}
		lo, hi = min(lo, n), max(hi, n)
	}
	if hi-lo+1 != len(m) {
		return fmt.Errorf("distribution: scores %d to %d with gaps", lo, hi)
	}
	d.Lowest, d.Counts = lo, make([]uint64, len(m))
	for k, c := range m {
		n, _ := strconv.Atoi(k)
		d.Counts[n-lo] = c
	}
	return nil
}

func optional(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return &v
}

func optionalInterval(lo, hi float64, ok bool) *Interval {
	if !ok {
		return nil
	}
	return &Interval{lo, hi}
}

// NewScores returns the JSON of r, a result over a window written as
// win (such as "1h", "7d" or "this_month").
func NewScores(r *engine.Result, win string) Scores {
	s := Scores{
		Segment: r.Segment, Touchpoint: r.Touchpoint, Window: win,
		From: r.From, To: r.To, Partial: r.Partial, UniqueCustomers: r.UniqueCustomers,
	}
	csat, ces, nps := &r.CSAT, &r.CES, &r.NPS
	s.CSAT = CSATScores{
		Responses:     csat.Responses(),
		Enough:        r.Enough.CSAT,
		Score:         optional(csat.Score()),
		MarginOfError: optional(csat.MarginOfError()),
		Interval:      optionalInterval(csat.Interval()),
		Distribution:  Distribution{1, slices.Clone(csat.Counts[:])},
	}
	s.CES = CESScores{
		Responses:     ces.Responses(),
		Enough:        r.Enough.CES,
		Score:         optional(ces.Score()),
		EasyShare:     optional(ces.EasyShare()),
		MarginOfError: optional(ces.MarginOfError()),
		Interval:      optionalInterval(ces.Interval()),
		Distribution:  Distribution{1, slices.Clone(ces.Counts[:])},
	}
	s.NPS = NPSScores{
		Responses:     nps.Responses(),
		Enough:        r.Enough.NPS,
		Score:         optional(nps.Score()),
		Promoters:     nps.Promoters(),
		Passives:      nps.Passives(),
		Detractors:    nps.Detractors(),
		MarginOfError: optional(nps.MarginOfError()),
		Interval:      optionalInterval(nps.Interval()),
		Distribution:  Distribution{0, slices.Clone(nps.Counts[:])},
	}
	return s
}

// handleScores serves GET /v1/scores?segment=S&touchpoint=T&window=W, W a
// sliding window or a period name, or &from=F&to=T for an absolute range.
func (s *Handler) handleScores(w http.ResponseWriter, r *http.Request) {
	p, err := params(r, "segment", "touchpoint", "window", "from", "to")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q, win, err := query(p, "1h")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var res engine.Result
	if err := s.engine.QueryAt(s.clock.Now(), q, &res); err != nil {
		queryError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, NewScores(&res, win.Text))
}

// Trend is the answer to GET /v1/trend: one Scores per step, oldest
// first, the last holding now (and Partial) unless the period has ended.
// Steps are local hours, days, weeks and months in the engine's zone,
// whose IANA name Zone gives ("UTC", "America/New_York"), so that a
// dashboard can label them in it.
type Trend struct {
	Segment    string   `json:"segment"`
	Touchpoint string   `json:"touchpoint"`
	Window     string   `json:"window"`
	Step       string   `json:"step"`
	Zone       string   `json:"zone"`
	Points     []Scores `json:"points"`
}

// handleTrend serves GET /v1/trend?segment=S&touchpoint=T&window=W&step=D
// (or from= and to= instead of window=), D such as 1h, 1d, 1w or 1mo.
func (s *Handler) handleTrend(w http.ResponseWriter, r *http.Request) {
	p, err := params(r, "segment", "touchpoint", "window", "from", "to", "step")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q, win, err := query(p, "24h")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	stepText, step, err := windowtext.ParseStep(p["step"], "1h")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	results, err := s.engine.TrendAt(s.clock.Now(), q, step, nil)
	if err != nil {
		queryError(w, err)
		return
	}
	t := Trend{Segment: q.Segment, Touchpoint: q.Touchpoint, Window: win.Text, Step: stepText,
		Zone: s.engine.Location().String(), Points: make([]Scores, len(results))}
	for i := range results {
		t.Points[i] = NewScores(&results[i], stepText)
	}
	writeJSON(w, http.StatusOK, t)
}

// KeyList is the answer to GET /v1/keys: every segment, touchpoint and
// segment × touchpoint pair the engine holds, sorted.
type KeyList struct {
	Segments    []string `json:"segments"`
	Touchpoints []string `json:"touchpoints"`
	Keys        []Key    `json:"keys"`
}

// Key is a segment × touchpoint pair.
type Key struct {
	Segment    string `json:"segment"`
	Touchpoint string `json:"touchpoint"`
}

// handleKeys serves GET /v1/keys.
func (s *Handler) handleKeys(w http.ResponseWriter, r *http.Request) {
	if _, err := params(r); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	keys := s.engine.Keys(nil)
	l := KeyList{Segments: []string{}, Touchpoints: []string{}, Keys: make([]Key, len(keys))}
	for i, k := range keys {
		l.Keys[i] = Key(k)
		l.Segments = append(l.Segments, k.Segment)
		l.Touchpoints = append(l.Touchpoints, k.Touchpoint)
	}
	slices.Sort(l.Segments)
	slices.Sort(l.Touchpoints)
	l.Segments, l.Touchpoints = slices.Compact(l.Segments), slices.Compact(l.Touchpoints)
	writeJSON(w, http.StatusOK, l)
}

// windowArg is what a request asked for and the text it was written as:
// "1h", "this_month", or "" for an absolute range.
type windowArg struct {
	Text string
}

// query reads the selection and time of a scores or trend request: window=
// a sliding window (5m, 24h, 7d) or a period name (today, last_month), or
// from= and to= (RFC 3339; to may be left out for now), an absolute range.
func query(p map[string]string, defaultWindow string) (engine.Query, windowArg, error) {
	var q engine.Query
	var err error
	if q.Segment, err = label("segment", p["segment"]); err != nil {
		return q, windowArg{}, err
	}
	if q.Touchpoint, err = label("touchpoint", p["touchpoint"]); err != nil {
		return q, windowArg{}, err
	}
	from, hasFrom := p["from"]
	to, hasTo := p["to"]
	if hasFrom || hasTo {
		if _, ok := p["window"]; ok {
			return q, windowArg{}, errors.New("window= and from=/to= given; give a window or a period, or an absolute range from= to=, not both")
		}
		if !hasFrom {
			return q, windowArg{}, errors.New("to= without from=; an absolute range needs from= (RFC 3339), to= may be left out for now")
		}
		if q.From, err = instant("from", from); err != nil {
			return q, windowArg{}, err
		}
		if hasTo {
			if q.To, err = instant("to", to); err != nil {
				return q, windowArg{}, err
			}
		}
		return q, windowArg{}, nil
	}
	var win windowArg
	win.Text, q.Window, q.Period, err = windowOrPeriod(p["window"], defaultWindow)
	return q, win, err
}

// windowOrPeriod reads a window= parameter: a period name (today,
// last_month) or a sliding window (5m, 24h, 7d), the default if empty.
func windowOrPeriod(text, defaultWindow string) (string, time.Duration, engine.Period, error) {
	if text == "" {
		text = defaultWindow
	}
	if period, err := engine.ParsePeriod(text); err == nil {
		return text, 0, period, nil
	}
	text, win, err := windowtext.Parse("window", text, defaultWindow)
	if err != nil {
		return text, 0, 0, fmt.Errorf("%w, or one of the periods today, yesterday, this_week, last_week, this_month, last_month, this_quarter, last_quarter", err)
	}
	return text, win, 0, nil
}

// instant reads an RFC 3339 time parameter.
func instant(name, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, fmt.Errorf("%s %q: want an RFC 3339 time such as 2026-11-27T00:00:00-05:00", name, v)
	}
	return t, nil
}

// label checks a segment or touchpoint parameter: empty or * is every one.
// A value no event could have is an error rather than an empty result, so
// that a mistake shows.
func label(name, v string) (string, error) {
	switch {
	case v == "" || v == engine.All:
		return engine.All, nil
	case len(v) > engine.MaxLabelBytes:
		return "", fmt.Errorf("%s of %d bytes, want at most %d", name, len(v), engine.MaxLabelBytes)
	case !utf8.ValidString(v):
		return "", fmt.Errorf("%s %q is not valid UTF-8", name, v)
	}
	return v, nil
}

// queryError answers a failed query: the engine's reason for a window it
// cannot answer is the client's to fix.
func queryError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, engine.ErrWindow), errors.Is(err, engine.ErrBaseline):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, engine.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "shutting down")
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// Deleted is the answer to DELETE /v1/keys: how many keys were deleted.
type Deleted struct {
	Deleted int `json:"deleted"`
}

// handleDeleteKeys serves DELETE /v1/keys?segment=S&touchpoint=T: it
// forgets the key S × T, or every key of S without touchpoint (or with
// touchpoint=*), and everything recorded for them (engine.DeleteKeys, or
// the Deleter's).
func (s *Handler) handleDeleteKeys(w http.ResponseWriter, r *http.Request) {
	p, err := params(r, "segment", "touchpoint")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	seg, tp := p["segment"], p["touchpoint"]
	if seg == "" || seg == engine.All {
		writeError(w, http.StatusBadRequest, "segment: missing; DELETE /v1/keys deletes the keys of one segment (segment=S), or one key (and touchpoint=T)")
		return
	}
	if tp, err = label("touchpoint", tp); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if _, err := label("segment", seg); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var n int
	if s.deleter != nil {
		n, err = s.deleter.DeleteKeys(r.Context(), seg, tp)
		s.setApplied(w) // after the Deleter returned: it covers the deletion
	} else {
		n, err = s.engine.DeleteKeys(seg, tp)
	}
	switch {
	case err != nil && !s.deleteRefused(err):
		s.log.Warn("key deletion of unknown outcome", "segment", seg, "touchpoint", tp, "err", err)
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("the deletion of the keys of segment %q may or may not be applied: %v; retrying it is safe", seg, err))
		return
	case errors.Is(err, engine.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "shutting down; nothing was deleted")
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error()+"; nothing was deleted")
		return
	case n == 0:
		what := fmt.Sprintf("segment %q", seg)
		if tp != engine.All {
			what = fmt.Sprintf("segment %q × touchpoint %q", seg, tp)
		}
		writeError(w, http.StatusNotFound, "no key of "+what+"; nothing was deleted")
		return
	}
	s.deletes.Add(1) // a change for snapshot writes (Changes)
	s.log.Info("keys deleted", "segment", seg, "touchpoint", tp, "keys", n)
	writeJSON(w, http.StatusOK, Deleted{Deleted: n})
}
