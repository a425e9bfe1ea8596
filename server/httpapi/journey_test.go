package httpapi

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// testJourney is a journey over compareFixture's touchpoints: checkout
// alone, then web and checkout together.
var testJourney = []Stage{
	{Name: "purchase", Touchpoints: []string{"checkout"}},
	{Name: "online", Touchpoints: []string{"web", "checkout"}},
}

// journeyFixture is compareFixture with testJourney, and in the hour
// before its hour 12 NPS detractors of enterprise × checkout: a change
// against the previous hour that is significant.
func journeyFixture(t *testing.T) *fixture {
	f := fillCompare(t, newFixture(t, engine.Config{}, Options{Journey: testJourney}))
	var events []string
	for i := range 12 {
		events = append(events, event("enterprise", "checkout", "nps", 3, fmt.Sprintf("p-%d", i), t0.Add(-90*time.Minute)))
	}
	if code, resp := f.post(ndjson, strings.Join(events, "\n")); code != 200 || resp.Accepted != 12 {
		t.Fatalf("got %d %+v, want 200 and 12 accepted", code, resp)
	}
	return f
}

type wireJourney struct {
	Window string `json:"window"`
	Stages []struct {
		Name        string          `json:"name"`
		Touchpoints []string        `json:"touchpoints"`
		Compare     json.RawMessage `json:"compare"`
	} `json:"stages"`
}

// TestJourneyWire: GET /v1/journey answers, per stage in order, exactly
// what GET /v1/compare answers for the stage's touchpoints.
func TestJourneyWire(t *testing.T) {
	f := journeyFixture(t)
	for _, tt := range []struct{ query, compare string }{
		{"window=1h", "window=1h"},
		{"segment=enterprise&window=1h", "segment=enterprise&window=1h"},
		{"segment=smb&segment=enterprise&window=2h&against=rest", "segment=smb&segment=enterprise&window=2h&against=rest"},
		{"", ""}, // 7d against previous
	} {
		code, text := f.do("GET", "/v1/journey?"+tt.query, "")
		if code != 200 {
			t.Fatalf("%s: got %d %s, want 200", tt.query, code, text)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal([]byte(text), &fields); err != nil || len(fields) != 2 || fields["window"] == nil || fields["stages"] == nil {
			t.Errorf("%s: got %s (%v), want window and stages", tt.query, text, err)
		}
		j := decodeJSON[wireJourney](t, text)
		if want := cmp.Or(mustQuery(t, tt.query).Get("window"), "7d"); j.Window != want || len(j.Stages) != len(testJourney) {
			t.Fatalf("%s: got window %q and %d stages, want %s and %d", tt.query, j.Window, len(j.Stages), want, len(testJourney))
		}
		for i, st := range j.Stages {
			want := testJourney[i]
			if st.Name != want.Name || strings.Join(st.Touchpoints, ",") != strings.Join(want.Touchpoints, ",") {
				t.Errorf("%s: stage %d is %s %q, want %s %q", tt.query, i, st.Name, st.Touchpoints, want.Name, want.Touchpoints)
			}
			q := tt.compare
			for _, tp := range want.Touchpoints {
				q += "&touchpoint=" + tp
			}
			code, one := f.do("GET", "/v1/compare?"+q, "")
			if code != 200 || string(st.Compare)+"\n" != one {
				t.Errorf("%s: stage %s's comparison\n%s\nwant /v1/compare?%s's\n%s", tt.query, st.Name, st.Compare, q, one)
			}
		}
	}

	// The numbers themselves: enterprise at checkout went from 12
	// detractors to 10 promoters and 2 detractors.
	_, text := f.do("GET", "/v1/journey?segment=enterprise&window=1h", "")
	var j struct {
		Stages []struct {
			Compare wireCompare `json:"compare"`
		} `json:"stages"`
	}
	if err := json.Unmarshal([]byte(text), &j); err != nil {
		t.Fatal(err)
	}
	c := j.Stages[0].Compare
	if c.Current.NPS.Responses != 12 || c.Baseline.NPS.Responses != 12 || c.NPS.Difference == nil ||
		math.Abs(*c.NPS.Difference-(100*8.0/12+100)) > 1e-9 || c.NPS.Significant == nil || !*c.NPS.Significant || c.Against != "previous" {
		t.Errorf("purchase: got current %+v, baseline %+v, change %+v; want 66.7 against −100, significant", c.Current.NPS, c.Baseline.NPS, c.NPS)
	}
	if c.CSAT.Enough || c.CSAT.Difference != nil {
		t.Errorf("purchase CSAT without answers: got %+v, want nulls, not enough", c.CSAT)
	}
}

func mustQuery(t *testing.T, q string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestJourneyNone: without a journey, GET /v1/journey answers no stages,
// an empty list rather than null.
func TestJourneyNone(t *testing.T) {
	f := compareFixture(t)
	code, text := f.do("GET", "/v1/journey", "")
	if want := `{"window":"7d","stages":[]}` + "\n"; code != 200 || text != want {
		t.Errorf("got %d %s, want 200 %s", code, text, want)
	}
}

func TestJourneyErrors(t *testing.T) {
	f := journeyFixture(t)
	for _, tt := range []struct{ query, want string }{
		{"touchpoint=web", `unknown parameter \"touchpoint\"; this endpoint takes segment, window, against`},
		{"against=yesterday", `against \"yesterday\": want previous`},
		{"window=2x", "window"},
		{"window=1h&window=2h", `parameter \"window\" given 2 times, want once`},
		{"segment=" + strings.Repeat("x", engine.MaxLabelBytes+1), "segment of"},
		{"window=45d", "window"}, // the previous 45 days are older than the 61 the tiers keep
	} {
		code, text := f.do("GET", "/v1/journey?"+tt.query, "")
		if code != 400 || !strings.Contains(text, tt.want) {
			t.Errorf("%s: got %d %s, want 400 saying %s", tt.query, code, text, tt.want)
		}
	}
	if code, text := f.do("POST", "/v1/journey", ""); code != 405 {
		t.Errorf("POST: got %d %s, want 405", code, text)
	}
	tf := newFixture(t, engine.Config{}, Options{Token: "tok", Journey: testJourney})
	if code, text := tf.do("GET", "/v1/journey", ""); code != 401 {
		t.Errorf("without the token: got %d %s, want 401", code, text)
	}
}

// TestNewJourney: New refuses a journey CheckJourney refuses, saying
// which stage is at fault, and keeps a copy of a good one.
func TestNewJourney(t *testing.T) {
	e, err := engine.New(engine.Config{CacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	long := strings.Repeat("x", engine.MaxLabelBytes+1)
	tps := []string{"web"}
	for _, tt := range []struct {
		name    string
		journey []Stage
		want    string
	}{
		{"no name", []Stage{{Name: " ", Touchpoints: tps}}, "journey: stage 1 has no name"},
		{"long name", []Stage{{Name: "a", Touchpoints: tps}, {Name: long, Touchpoints: tps}}, "journey: stage 2 has a name of 129 bytes, want at most 128"},
		{"name not UTF-8", []Stage{{Name: "\xff", Touchpoints: tps}}, "stage 1 has a name that is not valid UTF-8"},
		{"same name", []Stage{{Name: "a", Touchpoints: tps}, {Name: "b", Touchpoints: tps}, {Name: "a", Touchpoints: tps}}, `stage 3 is named "a" like stage 1; stage names must differ`},
		{"no touchpoints", []Stage{{Name: "a"}}, `stage 1 ("a") has no touchpoints; a stage needs at least one`},
		{"empty touchpoint", []Stage{{Name: "a", Touchpoints: []string{"web", ""}}}, `stage 1 ("a") has an empty touchpoint`},
		{"every touchpoint", []Stage{{Name: "a", Touchpoints: []string{"*"}}}, `stage 1 ("a") has touchpoint "*"`},
		{"long touchpoint", []Stage{{Name: "a", Touchpoints: []string{long}}}, `stage 1 ("a") has a touchpoint of 129 bytes, want at most 128`},
		{"touchpoint not UTF-8", []Stage{{Name: "a", Touchpoints: []string{"\xc3"}}}, "has a touchpoint that is not valid UTF-8"},
		{"touchpoint twice", []Stage{{Name: "a", Touchpoints: []string{"web", "app", "web"}}}, `stage 1 ("a") lists touchpoint "web" twice`},
		{"too many stages", make([]Stage, MaxJourneyStages+1), "journey: 33 stages, want at most 32"},
	} {
		if _, err := New(e, Options{Journey: tt.journey}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
	if err := CheckJourney(nil); err != nil {
		t.Errorf("no journey: got %v, want nil", err)
	}
	max := make([]Stage, MaxJourneyStages)
	for i := range max {
		max[i] = Stage{Name: fmt.Sprint("stage ", i), Touchpoints: []string{"web", "checkout"}}
	}
	if err := CheckJourney(max); err != nil {
		t.Errorf("%d stages: got %v, want nil", MaxJourneyStages, err)
	}

	mine := []Stage{{Name: "purchase", Touchpoints: []string{"checkout"}}}
	h, err := New(e, Options{Journey: mine})
	if err != nil {
		t.Fatal(err)
	}
	mine[0].Name, mine[0].Touchpoints[0] = "changed", "changed"
	f := &fixture{t: t, server: h}
	_, text := f.do("GET", "/v1/journey", "")
	if j := decodeJSON[wireJourney](t, text); len(j.Stages) != 1 || j.Stages[0].Name != "purchase" || j.Stages[0].Touchpoints[0] != "checkout" {
		t.Errorf("after the caller changed its journey: got %s, want New's copy", text)
	}
}
