package sketch

import (
	"errors"
	"math"
	"testing"

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

// Margins against values computed by hand from the published formulas.
func TestMargins(t *testing.T) {
	f := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6 {
			t.Errorf("%s: got %.9f, want %.9f", name, got, want)
		}
	}
	var h Histogram
	h.AddN(CSAT, 5, 8)
	h.AddN(CSAT, 2, 2)
	lo, hi, _ := h.CSAT().Interval()
	f("wilson 8/10 low", lo, 49.016247153664175)
	f("wilson 8/10 high", hi, 94.33178485456249)

	h.Reset()
	h.AddN(CSAT, 1, 10)
	lo, hi, _ = h.CSAT().Interval()
	f("wilson 0/10 low", lo, 0)
	f("wilson 0/10 high", hi, 27.75327998628892)
	moe, _ := h.CSAT().MarginOfError()
	f("wilson 0/10 margin", moe, 27.75327998628892/2)

	h.Reset()
	h.AddN(NPS, 10, 10)
	moe, _ = h.NPS().MarginOfError()
	f("nps all promoters margin", moe, 29.419525378286714)
	lo, hi, _ = h.NPS().Interval()
	f("nps all promoters low", lo, 76.92307692307692-29.419525378286714)
	f("nps all promoters high", hi, 100)

	h.Reset()
	h.AddN(NPS, 9, 60)
	h.AddN(NPS, 7, 34)
	h.AddN(NPS, 3, 26)
	moe, _ = h.NPS().MarginOfError()
	f("nps 60/34/26 margin", moe, 14.082281368315217)

	h.Reset()
	h.Add(CES, 1)
	if _, ok := h.CES().MarginOfError(); ok {
		t.Error("CES margin of one response: got ok, want none")
	}
	h.Add(CES, 7)
	moe, _ = h.CES().MarginOfError()
	f("ces {1,7} margin", moe, 5.87989195362016)

	var empty Histogram
	if _, ok := empty.NPS().Score(); ok {
		t.Error("NPS of no responses: got a score, want none")
	}
	if _, ok := empty.CSAT().MarginOfError(); ok {
		t.Error("CSAT margin of no responses: got one, want none")
	}
}
