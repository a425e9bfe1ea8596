package httpapi

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// TestComparePeriods: /v1/compare, /v1/matrix and /v1/journey take a
// calendar period as their window: this month so far against all of last
// month, with the engine's answer (ComparePeriodAt, MatrixPeriodAt) and
// partial set on the current side only.
func TestComparePeriods(t *testing.T) {
	f := newFixture(t, engine.Config{}, Options{Journey: []Stage{{Name: "buy", Touchpoints: []string{"checkout"}}}})
	var events []string
	for i := range 12 { // November (t0 is November 24): 10 promoters; October: 12 detractors
		events = append(events, event("enterprise", "checkout", "nps", 10-10*(i/10), fmt.Sprintf("n-%d", i), t0.Add(-time.Duration(i)*24*time.Hour)))
		events = append(events, event("enterprise", "checkout", "nps", 3, fmt.Sprintf("o-%d", i), time.Date(2026, 10, 2+2*i, 12, 0, 0, 0, time.UTC)))
	}
	if code, resp := f.post(ndjson, strings.Join(events, "\n")); code != 200 || resp.Accepted != 24 {
		t.Fatalf("got %d %+v, want 200 and 24 accepted", code, resp)
	}

	code, text := f.do("GET", "/v1/compare?window=this_month&against=previous", "")
	if code != 200 {
		t.Fatalf("this_month: got %d %s", code, text)
	}
	c := decodeJSON[wireCompare](t, text)
	var want engine.Comparison
	if err := f.engine.ComparePeriodAt(t0, engine.Selection{}, engine.ThisMonth, engine.Previous, &want); err != nil {
		t.Fatal(err)
	}
	nov, oct := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	if c.Window != "this_month" || !c.Current.From.Equal(nov) || !c.Current.To.Equal(t0) || !c.Current.Partial ||
		!c.Baseline.From.Equal(oct) || !c.Baseline.To.Equal(nov) || c.Baseline.Partial {
		t.Errorf("this month against last: got current [%v, %v) partial %t, baseline [%v, %v) partial %t",
			c.Current.From, c.Current.To, c.Current.Partial, c.Baseline.From, c.Baseline.To, c.Baseline.Partial)
	}
	if c.Current.NPS.Responses != 12 || c.Baseline.NPS.Responses != 12 || c.NPS.Difference == nil || *c.NPS.Difference != want.NPS.Difference ||
		c.NPS.Significant == nil || !*c.NPS.Significant || math.Abs(*c.NPS.Difference-(100*8.0/12+100)) > 1e-9 {
		t.Errorf("nps: got %+v (current %d, baseline %d answers), want the engine's %+v: 66.7 against −100, significant",
			c.NPS, c.Current.NPS.Responses, c.Baseline.NPS.Responses, want.NPS)
	}

	// The journey's stages compare the same way, byte for byte.
	_, one := f.do("GET", "/v1/compare?touchpoint=checkout&window=this_month", "")
	_, journey := f.do("GET", "/v1/journey?window=this_month", "")
	if !strings.Contains(journey, strings.TrimSpace(one)) {
		t.Errorf("journey stage differs from /v1/compare:\n%s\n%s", journey, one)
	}

	code, text = f.do("GET", "/v1/matrix?window=last_month", "")
	m := decodeJSON[wireMatrix](t, text)
	if code != 200 || m.Window != "last_month" || len(m.Keys) != 1 || m.Keys[0].NPS.Responses != 12 || !m.Keys[0].From.Equal(oct) || !m.Keys[0].To.Equal(nov) || m.Keys[0].Partial {
		t.Errorf("matrix of last month: got %d %s", code, text)
	}

	for _, tt := range []struct{ query, want string }{
		{"window=this_month&against=week", "no week-earlier baseline"},
		{"window=last_month&against=previous", "older than the tiers keep"}, // September: days are kept 61 days
		{"window=this_quarter&against=year", "older than the tiers keep"},
	} {
		if code, text := f.do("GET", "/v1/compare?"+tt.query, ""); code != 400 || !strings.Contains(text, tt.want) {
			t.Errorf("%s: got %d %s, want 400 saying %s", tt.query, code, text, tt.want)
		}
	}
}
