package sketch

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
	"pgregory.net/rapid"
)

type response struct {
	m     Metric
	score int
}

func genResponse() *rapid.Generator[response] {
	return rapid.Custom(func(t *rapid.T) response {
		m := Metric(rapid.IntRange(int(CSAT), int(NPS)).Draw(t, "metric"))
		lo, hi := m.Scale()
		return response{m, rapid.IntRange(lo, hi).Draw(t, "score")}
	})
}

// refScores is the reference model: brute-force counts over a list of responses.
type refScores struct {
	n, good map[Metric]float64 // responses; satisfied / easy / promoters
	bad     float64            // detractors
	cesSum  float64
}

func reference(rs []response) refScores {
	r := refScores{n: map[Metric]float64{}, good: map[Metric]float64{}}
	for _, x := range rs {
		r.n[x.m]++
		switch {
		case x.m == CSAT && x.score >= 4, x.m == CES && x.score >= 5, x.m == NPS && x.score >= 9:
			r.good[x.m]++
		case x.m == NPS && x.score <= 6:
			r.bad++
		}
		if x.m == CES {
			r.cesSum += float64(x.score)
		}
	}
	return r
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, math.Abs(b)) }

func TestHistogramMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rs := rapid.SliceOf(genResponse()).Draw(t, "responses")
		var h Histogram
		for _, r := range rs {
			h.Add(r.m, r.score)
		}
		ref := reference(rs)
		for _, r := range rs {
			var want uint64
			for _, o := range rs {
				if o == r {
					want++
				}
			}
			if got := h.Count(r.m, r.score); got != want {
				t.Fatalf("Count(%s, %d): got %d, want %d", r.m, r.score, got, want)
			}
		}
		for m := CSAT; m <= NPS; m++ {
			if got := h.Responses(m); float64(got) != ref.n[m] {
				t.Fatalf("Responses(%s): got %d, want %v", m, got, ref.n[m])
			}
		}
		check := func(name string, got float64, ok bool, want float64, wantOK bool) {
			t.Helper()
			if ok != wantOK || (ok && !near(got, want)) {
				t.Fatalf("%s: got %v (ok=%v), want %v (ok=%v)", name, got, ok, want, wantOK)
			}
		}
		csat, ces, nps := h.CSAT(), h.CES(), h.NPS()
		got, ok := csat.Score()
		check("CSAT score", got, ok, 100*ref.good[CSAT]/ref.n[CSAT], ref.n[CSAT] > 0)
		got, ok = ces.Score()
		check("CES mean", got, ok, ref.cesSum/ref.n[CES], ref.n[CES] > 0)
		got, ok = ces.EasyShare()
		check("CES easy share", got, ok, 100*ref.good[CES]/ref.n[CES], ref.n[CES] > 0)
		got, ok = nps.Score()
		check("NPS", got, ok, 100*(ref.good[NPS]-ref.bad)/ref.n[NPS], ref.n[NPS] > 0)
		if got := float64(nps.Promoters() + nps.Passives() + nps.Detractors()); got != ref.n[NPS] {
			t.Fatalf("promoters+passives+detractors: got %v, want %v", got, ref.n[NPS])
		}
		for _, s := range []interface {
			Interval() (float64, float64, bool)
			MarginOfError() (float64, bool)
		}{csat, ces, nps} {
			lo, hi, ok := s.Interval()
			moe, ok2 := s.MarginOfError()
			if ok && (lo > hi || moe < 0 || !ok2) {
				t.Fatalf("%T: interval [%v, %v], margin %v (ok=%v)", s, lo, hi, moe, ok2)
			}
		}
	})
}

func TestHistogramMergeIsOrderFree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rs := rapid.SliceOf(genResponse()).Draw(t, "responses")
		parts := rapid.IntRange(1, 5).Draw(t, "parts")
		hs := make([]Histogram, parts)
		var whole Histogram
		for _, r := range rs {
			whole.Add(r.m, r.score)
			hs[rapid.IntRange(0, parts-1).Draw(t, "part")].Add(r.m, r.score)
		}
		order := rapid.Permutation(hs).Draw(t, "order")
		var merged Histogram
		for i := range order {
			merged.Merge(&order[i])
		}
		if merged != whole {
			t.Fatalf("merged parts: got %v, want %v", merged, whole)
		}
	})
}

func TestMetricCheck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		m     Metric
		score int
		want  error
	}{
		{"csat low", CSAT, 1, nil},
		{"csat high", CSAT, 5, nil},
		{"csat zero", CSAT, 0, ErrScoreOutOfRange},
		{"ces 8", CES, 8, ErrScoreOutOfRange},
		{"nps 0", NPS, 0, nil},
		{"nps 10", NPS, 10, nil},
		{"nps 11", NPS, 11, ErrScoreOutOfRange},
		{"nps negative", NPS, -1, ErrScoreOutOfRange},
		{"zero metric", 0, 3, ErrUnknownMetric},
		{"metric 4", 4, 3, ErrUnknownMetric},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.m.Check(tc.score); !errors.Is(err, tc.want) {
				t.Fatalf("Check: got %v, want %v", err, tc.want)
			}
		})
	}
	if err := NPS.Check(11); err.Error() != "score out of range: nps score 11, want 0-10" {
		t.Fatalf("message: got %q", err)
	}
	for name, want := range map[string]Metric{"csat": CSAT, "ces": CES, "nps": NPS, "NPS": NPS, "Csat": CSAT, "cEs": CES} {
		if m, err := ParseMetric(name); err != nil || m != want {
			t.Fatalf("ParseMetric(%q): got %v, %v, want %v", name, m, err, want)
		}
	}
	for _, name := range []string{"", "csat ", "net promoter", "np"} {
		if _, err := ParseMetric(name); !errors.Is(err, ErrUnknownMetric) {
			t.Fatalf("ParseMetric(%q): got %v, want ErrUnknownMetric", name, err)
		}
	}
}

func TestHistogramAddPanicsOnBadScore(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Add(CSAT, 6) did not panic")
		}
	}()
	var h Histogram
	h.Add(CSAT, 6) // would be CES score 1 if unchecked
}

// TestIntervalVectors checks every interval and margin against values
// computed independently by testdata/intervals.py (scipy, statsmodels).
func TestIntervalVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/intervals.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct {
		Metric            string
		Counts            []uint64
		Low, High, Margin float64
	}
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, math.Abs(b)) }
	for _, v := range vectors {
		m, err := ParseMetric(v.Metric)
		if err != nil {
			t.Fatal(err)
		}
		var h Histogram
		lo, _ := m.Scale()
		for i, c := range v.Counts {
			h.AddN(m, lo+i, c)
		}
		var s interface {
			Interval() (float64, float64, bool)
			MarginOfError() (float64, bool)
		}
		switch m {
		case CSAT:
			s = h.CSAT()
		case CES:
			s = h.CES()
		case NPS:
			s = h.NPS()
		}
		l, hi, ok := s.Interval()
		moe, ok2 := s.MarginOfError()
		if !ok || !ok2 || !near(l, v.Low) || !near(hi, v.High) || !near(moe, v.Margin) {
			t.Errorf("%s %v: got %.12f-%.12f ± %.12f (ok %v %v), want %.12f-%.12f ± %.12f",
				m, v.Counts, l, hi, moe, ok, ok2, v.Low, v.High, v.Margin)
		}
	}
	if len(vectors) < 20 {
		t.Errorf("got %d vectors, want at least 20", len(vectors))
	}
}

// TestIntervalsHoldTheScore: every interval lies on its metric's scale,
// holds the score itself, and the margin is exactly half its width.
func TestIntervalsHoldTheScore(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var h Histogram
		for _, r := range rapid.SliceOfN(genResponse(), 0, 60).Draw(t, "responses") {
			h.Add(r.m, r.score)
		}
		if rapid.Bool().Draw(t, "unanimous") { // the edge cases: every answer the same
			m := Metric(rapid.IntRange(int(CSAT), int(NPS)).Draw(t, "metric"))
			lo, hi := m.Scale()
			h.AddN(m, rapid.IntRange(lo, hi).Draw(t, "score"), rapid.Uint64Range(1, 30).Draw(t, "n"))
		}
		type summary interface {
			Score() (float64, bool)
			Interval() (float64, float64, bool)
			MarginOfError() (float64, bool)
		}
		for _, c := range []struct {
			name         string
			s            summary
			lowest, high float64
			min          uint64
			n            uint64
		}{
			{"csat", h.CSAT(), 0, 100, 1, h.Responses(CSAT)},
			{"ces", h.CES(), 1, 7, 2, h.Responses(CES)},
			{"nps", h.NPS(), -100, 100, 1, h.Responses(NPS)},
		} {
			score, okScore := c.s.Score()
			lo, hi, ok := c.s.Interval()
			moe, okMoe := c.s.MarginOfError()
			if ok != (c.n >= c.min) || okMoe != ok || okScore != (c.n > 0) {
				t.Fatalf("%s of %d responses: got ok %v (interval), %v (margin), want %v", c.name, c.n, ok, okMoe, c.n >= c.min)
			}
			if !ok {
				continue
			}
			if lo < c.lowest || hi > c.high || lo > score || score > hi || lo == hi {
				t.Fatalf("%s: score %v, interval %v-%v, want inside %v-%v, holding the score, not empty", c.name, score, lo, hi, c.lowest, c.high)
			}
			if moe != (hi-lo)/2 {
				t.Fatalf("%s: margin %v, want half the interval's width %v", c.name, moe, (hi-lo)/2)
			}
		}
	})
}

func TestIntervalEdges(t *testing.T) {
	var h Histogram
	h.Add(CES, 1)
	if _, ok := h.CES().MarginOfError(); ok {
		t.Error("CES margin of one response: got ok, want none")
	}
	var empty Histogram
	if _, ok := empty.NPS().Score(); ok {
		t.Error("NPS of no responses: got a score, want none")
	}
	if _, ok := empty.CSAT().MarginOfError(); ok {
		t.Error("CSAT margin of no responses: got one, want none")
	}
	if _, _, ok := empty.NPS().Interval(); ok {
		t.Error("NPS interval of no responses: got one, want none")
	}
	// The case that was wrong before: one promoter scored 100 with an
	// interval of −48.5..98.5 and a margin of ±73.5.
	h.Reset()
	h.Add(NPS, 10)
	score, _ := h.NPS().Score()
	lo, hi, _ := h.NPS().Interval()
	if lo > score || hi < score {
		t.Errorf("one promoter: score %v outside its interval %v-%v", score, lo, hi)
	}
}

func TestZ(t *testing.T) {
	if got := distuv.UnitNormal.Quantile(0.975); math.Abs(got-z) > 1e-15 {
		t.Errorf("got Φ⁻¹(0.975) = %.17g, want %.17g", got, z)
	}
}
