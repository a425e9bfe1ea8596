package main

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cxscore/cxscore/engine"
)

// scores is the JSON of an engine.Result: the answer to GET /v1/scores and
// each point of GET /v1/trend. A score, margin of error or interval that
// does not exist (no responses; for the CES margin, fewer than two) is
// null, never 0.
type scores struct {
	Segment         string     `json:"segment"`
	Touchpoint      string     `json:"touchpoint"`
	Window          string     `json:"window"`
	From            time.Time  `json:"from"`
	To              time.Time  `json:"to"`
	UniqueCustomers uint64     `json:"unique_customers"`
	CSAT            csatScores `json:"csat"`
	CES             cesScores  `json:"ces"`
	NPS             npsScores  `json:"nps"`
}

type csatScores struct {
	Responses     uint64       `json:"responses"`
	Score         *float64     `json:"score"`
	MarginOfError *float64     `json:"margin_of_error"`
	Interval      *interval    `json:"interval"`
	Distribution  distribution `json:"distribution"`
}

type cesScores struct {
	Responses     uint64       `json:"responses"`
	Score         *float64     `json:"score"`
	EasyShare     *float64     `json:"easy_share"`
	MarginOfError *float64     `json:"margin_of_error"`
	Interval      *interval    `json:"interval"`
	Distribution  distribution `json:"distribution"`
}

type npsScores struct {
	Responses     uint64       `json:"responses"`
	Score         *float64     `json:"score"`
	Promoters     uint64       `json:"promoters"`
	Passives      uint64       `json:"passives"`
	Detractors    uint64       `json:"detractors"`
	MarginOfError *float64     `json:"margin_of_error"`
	Interval      *interval    `json:"interval"`
	Distribution  distribution `json:"distribution"`
}

// interval is a 95% confidence interval of a score, in its units: for
// CSAT the Wilson interval, for CES the mean ± margin, for NPS the
// adjusted-Wald interval (centred on the adjusted score, so not always
// score ± margin), each clipped to the scale.
type interval struct {
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// distribution is the number of responses per score, written as a JSON
// object in score order: {"1":3,"2":4,...}.
type distribution struct {
	lowest int
	counts []uint64
}

func (d distribution) MarshalJSON() ([]byte, error) {
	b := append(make([]byte, 0, 16*len(d.counts)), '{')
	for i, c := range d.counts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = strconv.AppendInt(b, int64(d.lowest+i), 10)
		b = append(b, '"', ':')
		b = strconv.AppendUint(b, c, 10)
	}
	return append(b, '}'), nil
}

func optional(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return &v
}

func optionalInterval(lo, hi float64, ok bool) *interval {
	if !ok {
		return nil
	}
	return &interval{lo, hi}
}

// newScores returns the JSON of r, a result over a window written as window.
func newScores(r *engine.Result, window string) scores {
	s := scores{
		Segment: r.Segment, Touchpoint: r.Touchpoint, Window: window,
		From: r.From, To: r.To, UniqueCustomers: r.UniqueCustomers,
	}
	csat, ces, nps := &r.CSAT, &r.CES, &r.NPS
	s.CSAT = csatScores{
		Responses:     csat.Responses(),
		Score:         optional(csat.Score()),
		MarginOfError: optional(csat.MarginOfError()),
		Interval:      optionalInterval(csat.Interval()),
		Distribution:  distribution{1, slices.Clone(csat.Counts[:])},
	}
	s.CES = cesScores{
		Responses:     ces.Responses(),
		Score:         optional(ces.Score()),
		EasyShare:     optional(ces.EasyShare()),
		MarginOfError: optional(ces.MarginOfError()),
		Interval:      optionalInterval(ces.Interval()),
		Distribution:  distribution{1, slices.Clone(ces.Counts[:])},
	}
	s.NPS = npsScores{
		Responses:     nps.Responses(),
		Score:         optional(nps.Score()),
		Promoters:     nps.Promoters(),
		Passives:      nps.Passives(),
		Detractors:    nps.Detractors(),
		MarginOfError: optional(nps.MarginOfError()),
		Interval:      optionalInterval(nps.Interval()),
		Distribution:  distribution{0, slices.Clone(nps.Counts[:])},
	}
	return s
}

// handleScores serves GET /v1/scores?segment=S&touchpoint=T&window=W.
func (s *Server) handleScores(w http.ResponseWriter, r *http.Request) {
	p, err := params(r, "segment", "touchpoint", "window")
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
	writeJSON(w, http.StatusOK, newScores(&res, win.Text))
}

// trend is the answer to GET /v1/trend: one scores object per step, oldest
// first, the last holding now.
type trend struct {
	Segment    string   `json:"segment"`
	Touchpoint string   `json:"touchpoint"`
	Window     string   `json:"window"`
	Step       string   `json:"step"`
	Points     []scores `json:"points"`
}

// handleTrend serves GET /v1/trend?segment=S&touchpoint=T&window=W&step=D.
func (s *Server) handleTrend(w http.ResponseWriter, r *http.Request) {
	p, err := params(r, "segment", "touchpoint", "window", "step")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q, win, err := query(p, "24h")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	step, err := parseWindow("step", p["step"], "1h")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	results, err := s.engine.TrendAt(s.clock.Now(), q, step.Duration, nil)
	if err != nil {
		queryError(w, err)
		return
	}
	t := trend{Segment: q.Segment, Touchpoint: q.Touchpoint, Window: win.Text, Step: step.Text, Points: make([]scores, len(results))}
	for i := range results {
		t.Points[i] = newScores(&results[i], step.Text)
	}
	writeJSON(w, http.StatusOK, t)
}

// keyList is the answer to GET /v1/keys: every segment, touchpoint and
// segment × touchpoint pair the engine has recorded, sorted.
type keyList struct {
	Segments    []string  `json:"segments"`
	Touchpoints []string  `json:"touchpoints"`
	Keys        []keyJSON `json:"keys"`
}

type keyJSON struct {
	Segment    string `json:"segment"`
	Touchpoint string `json:"touchpoint"`
}

// handleKeys serves GET /v1/keys.
func (s *Server) handleKeys(w http.ResponseWriter, r *http.Request) {
	if _, err := params(r); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	keys := s.engine.Keys(nil)
	l := keyList{Segments: []string{}, Touchpoints: []string{}, Keys: make([]keyJSON, len(keys))}
	for i, k := range keys {
		l.Keys[i] = keyJSON(k)
		l.Segments = append(l.Segments, k.Segment)
		l.Touchpoints = append(l.Touchpoints, k.Touchpoint)
	}
	slices.Sort(l.Segments)
	slices.Sort(l.Touchpoints)
	l.Segments, l.Touchpoints = slices.Compact(l.Segments), slices.Compact(l.Touchpoints)
	writeJSON(w, http.StatusOK, l)
}

// query reads the selection and window of a scores or trend request.
func query(p map[string]string, defaultWindow string) (engine.Query, Window, error) {
	var q engine.Query
	var err error
	if q.Segment, err = label("segment", p["segment"]); err != nil {
		return q, Window{}, err
	}
	if q.Touchpoint, err = label("touchpoint", p["touchpoint"]); err != nil {
		return q, Window{}, err
	}
	win, err := parseWindow("window", p["window"], defaultWindow)
	q.Window = win.Duration
	return q, win, err
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

// maxDays bounds the "Nd" form of a window, far beyond any retention, so
// that N days always fits a time.Duration.
const maxDays = 10_000

// parseWindow reads a window or step: a Go duration such as 90m or 24h,
// or a whole number of days such as 7d. Empty is def. name is the
// parameter or flag it came from, for the message.
func parseWindow(name, text, def string) (Window, error) {
	if text == "" {
		text = def
	}
	bad := func() (Window, error) {
		return Window{}, fmt.Errorf("%s %q: want a Go duration such as 90m or 24h, or a whole number of days such as 7d", name, text)
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(text, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > maxDays {
			return bad()
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(text); err != nil {
			return bad()
		}
	}
	if d <= 0 {
		return Window{}, fmt.Errorf("%s %q: want more than 0", name, text)
	}
	return Window{Text: text, Duration: d}, nil
}

// queryError answers a failed query: the engine's reason for a window it
// cannot answer is the client's to fix.
func queryError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, engine.ErrWindow):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, engine.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "shutting down")
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}
