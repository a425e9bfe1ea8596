package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// Compare is the answer to GET /v1/compare: the selection's scores over
// the window, those of the baseline, and per metric the change from the
// baseline to the current window.
type Compare struct {
	// Segments and Touchpoints are the selection as asked, every label
	// once; empty means every one.
	Segments    []string `json:"segments"`
	Touchpoints []string `json:"touchpoints"`
	Window      string   `json:"window"`
	Against     string   `json:"against"`
	Current     Scores   `json:"current"`
	Baseline    Scores   `json:"baseline"`
	NPS         Change   `json:"nps"`
	CSAT        Change   `json:"csat"`
	CES         Change   `json:"ces"`
}

// Change is one metric's comparison, current minus baseline, in the units
// of its score: NPS points, CSAT percentage points, CES scale points
// (higher is easier, so a positive CES change is an improvement). A field
// that cannot be computed is null: the difference without answers on
// either side; the interval, p-value and significance also when a side
// holds fewer than the engine's MinResponses answers of the metric
// (Enough is then false: "not enough data", not "no change").
type Change struct {
	Difference  *float64  `json:"difference"`
	Interval    *Interval `json:"interval"`
	PValue      *float64  `json:"p_value"`
	Significant *bool     `json:"significant"`
	Enough      bool      `json:"enough"`
}

// NewChange returns the JSON of one metric's comparison.
func NewChange(c engine.MetricComparison) Change {
	ch := Change{
		Difference: optional(c.Difference, c.HasDifference),
		Interval:   optionalInterval(c.Low, c.High, c.HasInterval),
		PValue:     optional(c.PValue, c.HasPValue),
		Enough:     c.Enough,
	}
	if sig, ok := c.Significant(); ok {
		ch.Significant = &sig
	}
	return ch
}

// handleCompare serves GET /v1/compare?segment=S&touchpoint=T&window=W&against=B,
// segment and touchpoint repeatable.
func (s *Handler) handleCompare(w http.ResponseWriter, r *http.Request) {
	sel, p, err := comparisonRequest(r, "segment", "touchpoint")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var c engine.Comparison
	out, err := s.compare(s.clock.Now(), sel, p, &c)
	if err != nil {
		queryError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// compareParams are the window (or period) and baseline of a
// comparison, and the text they were asked as.
type compareParams struct {
	winText, againstText string
	win                  time.Duration
	period               engine.Period // instead of win: a calendar period
	against              engine.Baseline
}

// comparisonRequest reads the selection (the labels repeatable), window
// and baseline of a /v1/compare or /v1/journey request.
func comparisonRequest(r *http.Request, labels ...string) (engine.Selection, compareParams, error) {
	q, err := values(r, labels, append(labels, "window", "against")...)
	if err != nil {
		return engine.Selection{}, compareParams{}, err
	}
	sel, err := selection(q)
	if err != nil {
		return sel, compareParams{}, err
	}
	p, err := comparison(q)
	return sel, p, err
}

// comparison reads the window (default 7d) and against (default previous)
// parameters of /v1/compare and /v1/journey.
func comparison(q url.Values) (compareParams, error) {
	var p compareParams
	var err error
	if p.winText, p.win, p.period, err = windowOrPeriod(q.Get("window"), "7d"); err != nil {
		return p, err
	}
	p.againstText = q.Get("against")
	if p.againstText == "" {
		p.againstText = "previous"
	}
	if p.against, err = engine.ParseBaseline(p.againstText); err != nil {
		return p, fmt.Errorf("against %q: want previous (the period of the same length just before, or the calendar period before), week (the same window or day a week earlier), year (52 weeks earlier, or the same month a year earlier, with tiers that keep a year) or rest (every other key over the same window)", p.againstText)
	}
	return p, nil
}

// compare compares sel over p's window ending at now with p's baseline,
// using c as scratch, and returns the answer's JSON. Errors are the
// engine's.
func (s *Handler) compare(now time.Time, sel engine.Selection, p compareParams, c *engine.Comparison) (Compare, error) {
	var err error
	if p.period != 0 {
		err = s.engine.ComparePeriodAt(now, sel, p.period, p.against, c)
	} else {
		err = s.engine.CompareAt(now, sel, p.win, p.against, c)
	}
	if err != nil {
		return Compare{}, err
	}
	return Compare{
		Segments: sel.Segments, Touchpoints: sel.Touchpoints,
		Window: p.winText, Against: p.againstText,
		Current: NewScores(&c.Current, p.winText), Baseline: NewScores(&c.Baseline, p.winText),
		NPS: NewChange(c.NPS), CSAT: NewChange(c.CSAT), CES: NewChange(c.CES),
	}, nil
}

// selection reads the segments and touchpoints of a request, each label
// once; * (or an empty value) anywhere in a list stands for every label.
func selection(q url.Values) (engine.Selection, error) {
	var sel engine.Selection
	for _, side := range []struct {
		name string
		dst  *[]string
	}{{"segment", &sel.Segments}, {"touchpoint", &sel.Touchpoints}} {
		labels := []string{}
		for _, v := range q[side.name] {
			l, err := label(side.name, v)
			if err != nil {
				return sel, err
			}
			if l == engine.All {
				labels = []string{}
				break
			}
			if !slices.Contains(labels, l) {
				labels = append(labels, l)
			}
		}
		*side.dst = labels
	}
	return sel, nil
}

// Matrix is the answer to GET /v1/matrix: the scores of every segment ×
// touchpoint key over the window, sorted by segment then touchpoint, and
// the segments and touchpoints they hold (a heat map's rows and columns).
type Matrix struct {
	Window      string   `json:"window"`
	Segments    []string `json:"segments"`
	Touchpoints []string `json:"touchpoints"`
	Keys        []Scores `json:"keys"`
}

// handleMatrix serves GET /v1/matrix?window=W, W a sliding window or a
// calendar period.
func (s *Handler) handleMatrix(w http.ResponseWriter, r *http.Request) {
	p, err := params(r, "window")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	winText, win, period, err := windowOrPeriod(p["window"], "24h")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var results []engine.Result
	if period != 0 {
		results, err = s.engine.MatrixPeriodAt(s.clock.Now(), period, nil)
	} else {
		results, err = s.engine.MatrixAt(s.clock.Now(), win, nil)
	}
	if err != nil {
		queryError(w, err)
		return
	}
	m := Matrix{Window: winText, Segments: []string{}, Touchpoints: []string{}, Keys: make([]Scores, len(results))}
	for i := range results {
		m.Keys[i] = NewScores(&results[i], winText)
		m.Segments = append(m.Segments, results[i].Segment)
		m.Touchpoints = append(m.Touchpoints, results[i].Touchpoint)
	}
	slices.Sort(m.Touchpoints)
	m.Segments, m.Touchpoints = slices.Compact(m.Segments), slices.Compact(m.Touchpoints)
	writeJSON(w, http.StatusOK, m)
}
