package httpapi

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// compareFixture holds, in the hour before t0, NPS answers of 12 customers
// in enterprise × checkout (10 promoters, 2 detractors), of 12 in smb ×
// checkout (3 promoters, 9 detractors) and of 2 in smb × web (a promoter
// who also answered at checkout, and a detractor): MinResponses is 10.
func compareFixture(t *testing.T) *fixture {
	return fillCompare(t, newFixture(t, engine.Config{}, Options{}))
}

// fillCompare records compareFixture's answers in f.
func fillCompare(t *testing.T, f *fixture) *fixture {
	t.Helper()
	var events []string
	for i := range 12 {
		score := 10
		if i >= 10 {
			score = 0
		}
		events = append(events, event("enterprise", "checkout", "nps", score, fmt.Sprintf("e-%d", i), t0.Add(-time.Duration(i)*time.Minute)))
		score = 0
		if i < 3 {
			score = 9
		}
		events = append(events, event("smb", "checkout", "nps", score, fmt.Sprintf("s-%d", i), t0.Add(-time.Duration(i)*time.Minute)))
	}
	events = append(events, event("smb", "web", "nps", 10, "s-0", t0), event("smb", "web", "nps", 2, "s-99", t0))
	if code, resp := f.post(ndjson, strings.Join(events, "\n")); code != 200 || resp.Accepted != 26 {
		t.Fatalf("got %d %+v, want 200 and 26 accepted", code, resp)
	}
	return f
}

type wireCompare struct {
	Segments    []string   `json:"segments"`
	Touchpoints []string   `json:"touchpoints"`
	Window      string     `json:"window"`
	Against     string     `json:"against"`
	Current     wireResult `json:"current"`
	Baseline    wireResult `json:"baseline"`
	NPS         Change     `json:"nps"`
	CSAT        Change     `json:"csat"`
	CES         Change     `json:"ces"`
}

// TestCompareWire: GET /v1/compare answers what engine.CompareAt does, in
// the fields the API documents, null where a value cannot be computed.
func TestCompareWire(t *testing.T) {
	f := compareFixture(t)
	code, text := f.do("GET", "/v1/compare?segment=enterprise&window=1h&against=rest", "")
	if code != 200 {
		t.Fatalf("got %d %s, want 200", code, text)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &fields); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"segments", "touchpoints", "window", "against", "current", "baseline", "nps", "csat", "ces"} {
		if _, ok := fields[name]; !ok {
			t.Errorf("no %q in %s", name, text)
		}
	}
	if got, want := string(fields["csat"]), `{"difference":null,"interval":null,"p_value":null,"significant":null,"enough":false}`; got != want {
		t.Errorf("csat without answers: got %s, want %s", got, want)
	}

	var want engine.Comparison
	if err := f.engine.CompareAt(t0, engine.Selection{Segments: []string{"enterprise"}}, time.Hour, engine.Rest, &want); err != nil {
		t.Fatal(err)
	}
	c := decodeJSON[wireCompare](t, text)
	if c.Against != "rest" || c.Window != "1h" || len(c.Segments) != 1 || c.Segments[0] != "enterprise" || len(c.Touchpoints) != 0 {
		t.Errorf("selection echoed as %+v", c)
	}
	if c.Current.NPS.Responses != 12 || c.Baseline.NPS.Responses != 14 || c.Baseline.Segment != "*" || c.Current.Segment != "enterprise" {
		t.Errorf("current %+v, baseline %+v: want 12 answers of enterprise against 14 of the rest", c.Current.NPS, c.Baseline.NPS)
	}
	nps := c.NPS
	if !nps.Enough || nps.Difference == nil || *nps.Difference != want.NPS.Difference || nps.Interval == nil ||
		nps.Interval.Low != want.NPS.Low || nps.Interval.High != want.NPS.High || nps.PValue == nil || *nps.PValue != want.NPS.PValue ||
		nps.Significant == nil || !*nps.Significant {
		t.Errorf("nps: got %+v, want the engine's %+v, significant", nps, want.NPS)
	}
	if d := *nps.Difference; math.Abs(d-(100*8.0/12-100*-6.0/14)) > 1e-9 {
		t.Errorf("nps difference %v, want 66.7 − (−42.9): 8 net promoters of 12 against −6 of 14", d)
	}

	// Two answers of smb × web against the rest: a difference, no test.
	code, text = f.do("GET", "/v1/compare?segment=smb&touchpoint=web&window=1h&against=rest", "")
	c = decodeJSON[wireCompare](t, text)
	if code != 200 || c.NPS.Enough || c.NPS.Difference == nil || c.NPS.Interval != nil || c.NPS.PValue != nil || c.NPS.Significant != nil {
		t.Errorf("2 answers: got %d %+v, want a difference and nulls (not enough data)", code, c.NPS)
	}
}

// TestCompareSets: repeated segments and touchpoints select a set, whose
// unique customers are a union; * anywhere stands for every label.
func TestCompareSets(t *testing.T) {
	f := compareFixture(t)
	code, text := f.do("GET", "/v1/compare?segment=smb&touchpoint=checkout&touchpoint=web&touchpoint=checkout&window=1h&against=previous", "")
	c := decodeJSON[wireCompare](t, text)
	if code != 200 || c.Current.NPS.Responses != 14 || c.Current.UniqueCustomers != 13 || c.Current.Touchpoint != "*" || c.Current.Segment != "smb" {
		t.Errorf("smb × {checkout, web}: got %d %+v, want 14 answers of 13 customers", code, c.Current)
	}
	if len(c.Touchpoints) != 2 || c.Touchpoints[0] != "checkout" || c.Touchpoints[1] != "web" {
		t.Errorf("touchpoints echoed as %q, want each once", c.Touchpoints)
	}
	if c.Baseline.NPS.Responses != 0 || c.NPS.Difference != nil || c.NPS.Enough {
		t.Errorf("the hour before held nothing: got baseline %+v, change %+v", c.Baseline.NPS, c.NPS)
	}
	code, text = f.do("GET", "/v1/compare?segment=smb&segment=*&window=1h", "")
	c = decodeJSON[wireCompare](t, text)
	if code != 200 || c.Current.NPS.Responses != 26 || len(c.Segments) != 0 || c.Against != "previous" || c.Window != "1h" {
		t.Errorf("smb and *: got %d %+v, want every segment", code, c)
	}
}

func TestCompareErrors(t *testing.T) {
	f := compareFixture(t)
	for _, tt := range []struct{ query, want string }{
		{"against=yesterday", `against \"yesterday\": want previous`},
		{"window=2x", "window"},
		{"window=1h&window=2h", `parameter \"window\" given 2 times, want once`},
		{"colour=red", `unknown parameter \"colour\"`},
		{"segment=" + strings.Repeat("x", engine.MaxLabelBytes+1), "segment of"},
		{"window=1h&against=week", "week"},          // minutes are not kept a week
		{"window=7d&against=year", "year baseline"}, // the default tiers keep 35 days
	} {
		code, text := f.do("GET", "/v1/compare?"+tt.query, "")
		if code != 400 || !strings.Contains(text, tt.want) {
			t.Errorf("%s: got %d %s, want 400 saying %s", tt.query, code, text, tt.want)
		}
	}
	if code, text := f.do("GET", "/v1/scores?segment=a&segment=b", ""); code != 400 {
		t.Errorf("/v1/scores with two segments: got %d %s, want 400", code, text)
	}
}

type wireMatrix struct {
	Window      string       `json:"window"`
	Segments    []string     `json:"segments"`
	Touchpoints []string     `json:"touchpoints"`
	Keys        []wireResult `json:"keys"`
}

// TestMatrix: GET /v1/matrix gives every key's /v1/scores, sorted, and the
// heat map's rows and columns.
func TestMatrix(t *testing.T) {
	f := compareFixture(t)
	code, text := f.do("GET", "/v1/matrix?window=1h", "")
	m := decodeJSON[wireMatrix](t, text)
	if code != 200 || m.Window != "1h" || strings.Join(m.Segments, ",") != "enterprise,smb" || strings.Join(m.Touchpoints, ",") != "checkout,web" || len(m.Keys) != 3 {
		t.Fatalf("got %d %s, want 3 keys of enterprise, smb × checkout, web", code, text)
	}
	for i, want := range [][2]string{{"enterprise", "checkout"}, {"smb", "checkout"}, {"smb", "web"}} {
		k := m.Keys[i]
		if k.Segment != want[0] || k.Touchpoint != want[1] {
			t.Fatalf("key %d is %s × %s, want %s × %s", i, k.Segment, k.Touchpoint, want[0], want[1])
		}
		_, one := f.do("GET", "/v1/scores?window=1h&segment="+want[0]+"&touchpoint="+want[1], "")
		s := decodeJSON[wireResult](t, one)
		if k.NPS.Responses != s.NPS.Responses || *k.NPS.Score != *s.NPS.Score || k.UniqueCustomers != s.UniqueCustomers || !k.From.Equal(s.From) {
			t.Errorf("%s × %s: matrix %+v, scores %+v", want[0], want[1], k, s)
		}
	}
	f.clock.Advance(40 * 24 * time.Hour)
	code, text = f.do("GET", "/v1/matrix?window=1m", "")
	if m = decodeJSON[wireMatrix](t, text); code != 200 || len(m.Keys) != 3 || m.Keys[0].NPS.Responses != 0 {
		t.Errorf("40 days on: got %d %s, want every key, empty", code, text)
	}
	for _, q := range []string{"window=1y", "segment=smb"} {
		if code, text := f.do("GET", "/v1/matrix?"+q, ""); code != 400 {
			t.Errorf("%s: got %d %s, want 400", q, code, text)
		}
	}
}
