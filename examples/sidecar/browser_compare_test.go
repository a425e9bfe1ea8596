package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cxscore/cxscore/server/httpapi"
)

// demoJourney is a journey over demoEvents' touchpoints, for the
// browser test: a stage of one touchpoint, and two of two.
const demoJourney = `{"stages": [
	{"name": "sign-up", "touchpoints": ["onboarding"]},
	{"name": "purchase", "touchpoints": ["checkout", "billing"]},
	{"name": "use", "touchpoints": ["app", "support"]}
]}`

// writeDemoJourney writes demoJourney to a file and returns its path.
func writeDemoJourney(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journey.json")
	if err := os.WriteFile(path, []byte(demoJourney), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitFor calls check until it returns nil, for at most 30 seconds; the
// window slides and the page refreshes every 5 seconds, so both the page
// and the API may move on between two reads.
func (tb *tab) waitFor(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s after 30s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond) // waiting on the page's refresh
	}
}

// apiTry decodes the JSON answer to GET base+path into v and returns its
// status; a 400 leaves v alone.
func apiTry(t *testing.T, base, path string, v any) int {
	t.Helper()
	res, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode == 200 {
		if err := json.NewDecoder(res.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	} else if res.StatusCode != 400 {
		t.Fatalf("GET %s: got %d, want 200 or 400", path, res.StatusCode)
	}
	return res.StatusCode
}

// changeLine is what the page writes for a change it could compute.
var changeLine = regexp.MustCompile(`^(?:([▲▼]) )?([+-]?[0-9]+\.[0-9]+)((?: pts)?) vs (.+?)(?: \((not significant|not tested)\))?$`)

// periodBaselines are the calendar periods the page compares periods with.
var periodBaselines = map[string]string{
	"today": "yesterday", "yesterday": "the day before", "this_week": "last week", "last_week": "the week before",
	"this_month": "last month", "last_month": "the month before", "this_quarter": "last quarter", "last_quarter": "the quarter before",
}

// baselineName is what the page says a window is compared with.
func baselineName(window string) string {
	if b, ok := periodBaselines[window]; ok {
		return b
	}
	return "previous " + window
}

// windowName is how the page names a window in a title.
func windowName(window string) string {
	if _, ok := periodBaselines[window]; ok {
		return strings.Replace(window, "_", " ", 1)
	}
	return "last " + window
}

// checkChange says how text differs from what the page should write for
// a metric's change c over window, c nil when the sidecar refused to
// compare: ▲ or ▼ exactly when the change is significant, the difference
// to the score's decimals, and why it is not marked otherwise.
func checkChange(text, metric string, c *httpapi.Change, window string) error {
	switch {
	case c == nil:
		want := "no previous " + window + " to compare with"
		if _, ok := periodBaselines[window]; ok {
			want = baselineName(window) + " is not kept to compare with"
		}
		if text != want {
			return fmt.Errorf("%s change: got %q, want %q", metric, text, want)
		}
		return nil
	case !c.Enough || c.Difference == nil:
		if want := "not enough data vs " + baselineName(window); text != want {
			return fmt.Errorf("%s change: got %q, want %q (enough %t)", metric, text, want, c.Enough)
		}
		return nil
	}
	m := changeLine.FindStringSubmatch(text)
	if m == nil {
		return fmt.Errorf("%s change: got %q, want a difference vs %s", metric, text, baselineName(window))
	}
	arrow, number, unit, win, why := m[1], m[2], m[3], m[4], m[5]
	d := *c.Difference
	sig := c.Significant != nil && *c.Significant
	wantArrow, wantWhy := "", ""
	switch {
	case sig && d > 0:
		wantArrow = "▲"
	case sig:
		wantArrow = "▼"
	case c.Significant == nil:
		wantWhy = "not tested"
	default:
		wantWhy = "not significant"
	}
	wantUnit := ""
	if metric == "csat" {
		wantUnit = " pts"
	}
	if arrow != wantArrow || why != wantWhy || unit != wantUnit || win != baselineName(window) ||
		!shows(number, d, scoreDigits[metric]) || !signOK(number, d) {
		p := "none"
		if c.PValue != nil {
			p = strconv.FormatFloat(*c.PValue, 'g', 3, 64)
		}
		return fmt.Errorf("%s change: got %q, want %+.3f%s vs %s, significant %t (p %s)", metric, text, d, wantUnit, baselineName(window), sig, p)
	}
	return nil
}

// signOK reports whether a difference d is shown with the right sign:
// "+" when positive, "-" when negative, none when it rounds to zero.
func signOK(number string, d float64) bool {
	if v, _ := strconv.ParseFloat(number, 64); v == 0 {
		return number[0] != '+' && number[0] != '-'
	}
	return strings.HasPrefix(number, "+") == (d > 0)
}

// changesOf is a comparison's three changes, by metric.
func changesOf(c *httpapi.Compare) map[string]*httpapi.Change {
	if c == nil {
		return map[string]*httpapi.Change{"nps": nil, "csat": nil, "ces": nil}
	}
	return map[string]*httpapi.Change{"nps": &c.NPS, "csat": &c.CSAT, "ces": &c.CES}
}

// domChanges is what one card shows of its changes, by metric.
type domChanges struct {
	Touchpoint string            `json:"touchpoint"`
	Changes    map[string]string `json:"changes"`
}

const readChanges = `[...document.querySelectorAll('#cards .card')].map((c) => ({
	touchpoint: c.dataset.touchpoint,
	changes: Object.fromEntries([...c.querySelectorAll('tr.change')].map((r) => [r.dataset.metric, r.querySelector('.change-text').textContent])),
}))`

// waitForChanges waits until every card shows the change of each of its
// scores against the previous period that GET /v1/compare gives.
func (tb *tab) waitForChanges(t *testing.T, base, segment, window string) {
	t.Helper()
	tb.waitFor(t, fmt.Sprintf("changes of %s over %s", segment, window), func() error {
		got := eval[[]domChanges](t, tb, readChanges)
		want := apiCards(t, base, "", segment, window)
		if len(got) != len(want) {
			return fmt.Errorf("got %d cards, want %d", len(got), len(want))
		}
		for i, w := range want {
			if got[i].Touchpoint != w.Touchpoint {
				return fmt.Errorf("card %d: got %q, want %q", i, got[i].Touchpoint, w.Touchpoint)
			}
			var c httpapi.Compare
			cp := &c
			q := url.Values{"segment": {segment}, "touchpoint": {w.Touchpoint}, "window": {window}, "against": {"previous"}}
			if apiTry(t, base, "/v1/compare?"+q.Encode(), &c) != 200 {
				cp = nil
			}
			for metric, ch := range changesOf(cp) {
				if err := checkChange(got[i].Changes[metric], metric, ch, window); err != nil {
					return fmt.Errorf("%s: %v", w.Touchpoint, err)
				}
			}
		}
		return nil
	})
}

type domHeatmap struct {
	Touchpoints []string `json:"touchpoints"`
	Rows        []struct {
		Segment string `json:"segment"`
		Cells   []struct {
			Touchpoint string `json:"touchpoint"`
			Score      string `json:"score"`
			Count      string `json:"count"`
			Few        bool   `json:"few"`
			Empty      bool   `json:"empty"`
			Background string `json:"background"`
		} `json:"cells"`
	} `json:"rows"`
	Caption string `json:"caption"`
}

const readHeatmap = `({
	touchpoints: [...document.querySelectorAll('#heatmap thead th')].slice(1).map((th) => th.textContent),
	rows: [...document.querySelectorAll('#heatmap tbody tr')].map((r) => ({
		segment: r.dataset.segment,
		cells: [...r.querySelectorAll('td')].map((td) => ({
			touchpoint: td.dataset.touchpoint,
			score: td.querySelector('.cell-score').textContent,
			count: td.querySelector('.cell-count').textContent,
			few: td.classList.contains('few'),
			empty: td.classList.contains('empty'),
			background: td.style.backgroundColor,
		})),
	})),
	caption: document.querySelector('#heatmap-span').textContent,
})`

var rgb = regexp.MustCompile(`^rgb\((\d+), (\d+), (\d+)\)$`)

// waitForHeatmap waits until the heat map shows what GET /v1/matrix says
// of metric over window: a row per segment, a column per touchpoint, each
// key's score and responses, greyed "too few" where enough is false, an
// empty cell where there is no key; and a scored cell orange below the
// middle of the scale, blue above (beyond 1% of the scale from it).
func (tb *tab) waitForHeatmap(t *testing.T, base, window, metric string) {
	t.Helper()
	tb.waitFor(t, fmt.Sprintf("the %s heat map over %s", metric, window), func() error {
		got := eval[domHeatmap](t, tb, readHeatmap)
		var m httpapi.Matrix
		apiGet(t, base, "", "/v1/matrix?window="+window, &m)
		if !strings.Contains(got.Caption, windowName(window)) || !strings.Contains(got.Caption, strings.ToUpper(metric)) {
			return fmt.Errorf("caption %q, want %s over %s", got.Caption, metric, window)
		}
		if !slices.Equal(got.Touchpoints, m.Touchpoints) || len(got.Rows) != len(m.Segments) {
			return fmt.Errorf("got columns %q and %d rows, want %q and %q", got.Touchpoints, len(got.Rows), m.Touchpoints, m.Segments)
		}
		keys := map[[2]string]httpapi.Scores{}
		for _, k := range m.Keys {
			keys[[2]string{k.Segment, k.Touchpoint}] = k
		}
		scored := 0
		for i, row := range got.Rows {
			if row.Segment != m.Segments[i] || len(row.Cells) != len(m.Touchpoints) {
				return fmt.Errorf("row %d: got %s with %d cells, want %s with %d", i, row.Segment, len(row.Cells), m.Segments[i], len(m.Touchpoints))
			}
			for j, cell := range row.Cells {
				where := row.Segment + " × " + m.Touchpoints[j]
				k, ok := keys[[2]string{row.Segment, m.Touchpoints[j]}]
				if cell.Touchpoint != m.Touchpoints[j] || cell.Empty == ok {
					return fmt.Errorf("%s: got cell %+v, want a key %t", where, cell, ok)
				}
				if !ok {
					if cell.Score != "–" || cell.Count != "" || cell.Background != "" {
						return fmt.Errorf("%s: got %+v, want an empty cell", where, cell)
					}
					continue
				}
				responses, enough, score := k.NPS.Responses, k.NPS.Enough, k.NPS.Score
				mid, span := 0.0, 200.0 // the middle and width of the metric's scale
				switch metric {
				case "csat":
					responses, enough, score, mid, span = k.CSAT.Responses, k.CSAT.Enough, k.CSAT.Score, 50, 100
				case "ces":
					responses, enough, score, mid, span = k.CES.Responses, k.CES.Enough, k.CES.Score, 4, 6
				}
				if want := "n = " + formatCount(responses); cell.Count != want {
					return fmt.Errorf("%s: got count %q, want %q", where, cell.Count, want)
				}
				if !enough || score == nil {
					want := "too few"
					if responses == 0 {
						want = "none"
					}
					if !cell.Few || cell.Score != want || cell.Background != "" {
						return fmt.Errorf("%s: got %+v, want greyed %q from %d responses", where, cell, want, responses)
					}
					continue
				}
				scored++
				if cell.Few || !shows(strings.TrimSuffix(cell.Score, "%"), *score, scoreDigits[metric]) {
					return fmt.Errorf("%s: got %+v, want score %v", where, cell, *score)
				}
				c := rgb.FindStringSubmatch(cell.Background)
				if c == nil {
					return fmt.Errorf("%s: got background %q, want a colour", where, cell.Background)
				}
				red, _ := strconv.Atoi(c[1])
				blue, _ := strconv.Atoi(c[3])
				// Near the middle both are near grey, and rounding may tip them.
				if far := math.Abs(*score-mid) > span/100; far && (*score > mid && blue <= red || *score < mid && red <= blue) {
					return fmt.Errorf("%s: score %v coloured %s, want blue above %v and orange below", where, *score, cell.Background, mid)
				}
			}
		}
		if scored == 0 {
			return fmt.Errorf("no cell scored, want some")
		}
		return nil
	})
}

type domJourney struct {
	Hidden bool   `json:"hidden"`
	Note   string `json:"note"`
	Stages []struct {
		Name        string `json:"name"`
		Touchpoints string `json:"touchpoints"`
		Metrics     map[string]struct {
			Score     string `json:"score"`
			Responses string `json:"responses"`
			Change    string `json:"change"`
			Few       bool   `json:"few"`
		} `json:"metrics"`
	} `json:"stages"`
}

const readJourneyCard = `({
	hidden: document.querySelector('#journey-section').hidden,
	note: document.querySelector('#journey-note').hidden ? '' : document.querySelector('#journey-note').textContent,
	stages: [...document.querySelectorAll('#journey tbody tr')].map((r) => ({
		name: r.querySelector('.stage-name').textContent,
		touchpoints: r.querySelector('.stage-touchpoints').textContent,
		metrics: Object.fromEntries([...r.querySelectorAll('td')].map((td) => [td.dataset.metric, {
			score: td.querySelector('.score').textContent,
			responses: td.querySelector('.responses').textContent,
			change: td.querySelector('.change-text').textContent,
			few: td.classList.contains('few'),
		}])),
	})),
})`

// waitForJourney waits until the journey scorecard shows what GET
// /v1/journey says for segment over window: each stage in order with its
// NPS, CSAT and CES, their responses, and their changes against the
// previous period, ▲ or ▼ where significant. Without a journey the
// scorecard is hidden; when the sidecar cannot compare the window, it says
// why.
func (tb *tab) waitForJourney(t *testing.T, base, segment, window string) {
	t.Helper()
	tb.waitFor(t, fmt.Sprintf("the journey of %s over %s", segment, window), func() error {
		got := eval[domJourney](t, tb, readJourneyCard)
		var j httpapi.Journey
		if apiTry(t, base, "/v1/journey?"+url.Values{"segment": {segment}, "window": {window}}.Encode(), &j) != 200 {
			if got.Hidden || !strings.Contains(got.Note, "cannot be compared over "+window) {
				return fmt.Errorf("refused: got hidden %t, note %q; want the reason shown", got.Hidden, got.Note)
			}
			return nil
		}
		if got.Hidden != (len(j.Stages) == 0) || got.Note != "" || len(got.Stages) != len(j.Stages) {
			return fmt.Errorf("got hidden %t, note %q, %d stages; want %d stages", got.Hidden, got.Note, len(got.Stages), len(j.Stages))
		}
		for i, st := range j.Stages {
			g := got.Stages[i]
			if g.Name != st.Name || g.Touchpoints != strings.Join(st.Touchpoints, ", ") {
				return fmt.Errorf("stage %d: got %s (%s), want %s %q", i, g.Name, g.Touchpoints, st.Name, st.Touchpoints)
			}
			current := st.Compare.Current
			for metric, ch := range changesOf(&st.Compare) {
				gm := g.Metrics[metric]
				responses, score := current.NPS.Responses, current.NPS.Score
				switch metric {
				case "csat":
					responses, score = current.CSAT.Responses, current.CSAT.Score
				case "ces":
					responses, score = current.CES.Responses, current.CES.Score
				}
				what := st.Name + " " + metric
				if gm.Responses != formatCount(responses)+" responses" {
					return fmt.Errorf("%s: got %q, want %d responses", what, gm.Responses, responses)
				}
				if few := responses < minResponses; few != gm.Few {
					return fmt.Errorf("%s: got too few %t, want %t from %d responses", what, gm.Few, few, responses)
				}
				if gm.Few {
					want := "too few"
					if responses == 0 {
						want = "none"
					}
					if gm.Score != want {
						return fmt.Errorf("%s: got %q, want %q", what, gm.Score, want)
					}
				} else if !shows(strings.TrimSuffix(gm.Score, "%"), *score, scoreDigits[metric]) {
					return fmt.Errorf("%s: got score %q, want %v", what, gm.Score, *score)
				}
				if err := checkChange(gm.Change, metric, ch, window); err != nil {
					return fmt.Errorf("%s: %v", st.Name, err)
				}
			}
		}
		return nil
	})
}
