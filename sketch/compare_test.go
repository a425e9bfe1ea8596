package sketch

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
	"pgregory.net/rapid"
)

// TestCompareVectors checks every comparison against testdata/compare.json,
// computed by scipy and statsmodels (testdata/compare.py), to 1e-9.
func TestCompareVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/compare.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Metric     string
		A, B       []uint64
		Difference *float64
		Low, High  *float64
		PValue     *float64 `json:"p_value"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		var got Comparison
		switch c.Metric {
		case "nps":
			var a, b NPSSummary
			copy(a.Counts[:], c.A)
			copy(b.Counts[:], c.B)
			got = a.Compare(b)
		case "csat":
			var a, b CSATSummary
			copy(a.Counts[:], c.A)
			copy(b.Counts[:], c.B)
			got = a.Compare(b)
		case "ces":
			var a, b CESSummary
			copy(a.Counts[:], c.A)
			copy(b.Counts[:], c.B)
			got = a.Compare(b)
		}
		check := func(what string, v float64, ok bool, want *float64) {
			t.Helper()
			if ok != (want != nil) || ok && !near(v, *want) {
				t.Errorf("%s %v vs %v: %s %v (%t), want %v", c.Metric, c.A, c.B, what, v, ok, fmtPtr(want))
			}
		}
		check("difference", got.Difference, got.HasDifference, c.Difference)
		check("low", got.Low, got.HasInterval, c.Low)
		check("high", got.High, got.HasInterval, c.High)
		check("p-value", got.PValue, got.HasPValue, c.PValue)
		// Tiny p-values keep their digits too.
		if got.HasPValue && c.PValue != nil && *c.PValue > 0 && math.Abs(got.PValue / *c.PValue - 1) > 1e-6 {
			t.Errorf("%s %v vs %v: p-value %v, want %v relatively within 1e-6", c.Metric, c.A, c.B, got.PValue, *c.PValue)
		}
	}
	if len(cases) < 20 {
		t.Fatalf("%d vectors, want them all", len(cases))
	}
}

func fmtPtr(p *float64) any {
	if p == nil {
		return "null"
	}
	return *p
}

// answers draws up to max answers on a scale.
func answers(t *rapid.T, lo, hi, max int, name string) []int {
	return rapid.SliceOfN(rapid.IntRange(lo, hi), 0, max).Draw(t, name)
}

func normalSF2(z float64) float64 { return 2 * (1 - distuv.UnitNormal.CDF(math.Abs(z))) }

// TestCompareMatchesModel checks the comparisons against the issue's
// formulas computed by brute force over the raw answers.
func TestCompareMatchesModel(t *testing.T) {
	z := distuv.UnitNormal.Quantile(0.975)
	closeTo := func(a, b float64) bool { return math.Abs(a-b) <= 1e-7*max(1, math.Abs(b)) }
	rapid.Check(t, func(t *rapid.T) {
		max := rapid.SampledFrom([]int{3, 30, 300}).Draw(t, "size")
		// NPS
		a, b := answers(t, 0, 10, max, "nps a"), answers(t, 0, 10, max, "nps b")
		var sa, sb NPSSummary
		for _, x := range a {
			sa.Counts[x]++
		}
		for _, x := range b {
			sb.Counts[x]++
		}
		c := sa.Compare(sb)
		if (len(a) > 0 && len(b) > 0) != c.HasDifference || c.HasDifference != c.HasInterval || c.HasInterval != c.HasPValue {
			t.Fatalf("nps %v vs %v: %+v", a, b, c)
		}
		if c.HasDifference {
			shares := func(xs []int) (obs, adj, v, n3 float64) {
				var p, d float64
				for _, x := range xs {
					if x >= 9 {
						p++
					} else if x <= 6 {
						d++
					}
				}
				n := float64(len(xs))
				n3 = n + 3
				pp, dd := (p+0.75)/n3, (d+0.75)/n3
				return 100 * (p - d) / n, pp - dd, pp + dd - (pp-dd)*(pp-dd), n3
			}
			o1, a1, v1, m1 := shares(a)
			o2, a2, v2, m2 := shares(b)
			se := math.Sqrt(v1/m1 + v2/m2)
			if !closeTo(c.Difference, o1-o2) || !closeTo(c.Low, 100*(a1-a2-z*se)) || !closeTo(c.High, 100*(a1-a2+z*se)) ||
				!closeTo(c.PValue, normalSF2((a1-a2)/se)) {
				t.Fatalf("nps %v vs %v: got %+v", a, b, c)
			}
		}
		// CSAT
		a, b = answers(t, 1, 5, max, "csat a"), answers(t, 1, 5, max, "csat b")
		var ca, cb CSATSummary
		for _, x := range a {
			ca.Counts[x-1]++
		}
		for _, x := range b {
			cb.Counts[x-1]++
		}
		c = ca.Compare(cb)
		if c.HasDifference != (len(a) > 0 && len(b) > 0) || c.HasInterval != c.HasDifference {
			t.Fatalf("csat %v vs %v: %+v", a, b, c)
		}
		if c.HasDifference {
			sat := func(xs []int) (x, n float64) {
				for _, v := range xs {
					if v >= 4 {
						x++
					}
				}
				return x, float64(len(xs))
			}
			x1, n1 := sat(a)
			x2, n2 := sat(b)
			q1, q2 := (x1+1)/(n1+2), (x2+1)/(n2+2)
			h := z * math.Sqrt(q1*(1-q1)/(n1+2)+q2*(1-q2)/(n2+2))
			N, P := n1+n2, (x1+x2)/(n1+n2)
			if !closeTo(c.Difference, 100*(x1/n1-x2/n2)) || !closeTo(c.Low, 100*(q1-q2-h)) || !closeTo(c.High, 100*(q1-q2+h)) {
				t.Fatalf("csat %v vs %v: got %+v", a, b, c)
			}
			if c.HasPValue != (P > 0 && P < 1) {
				t.Fatalf("csat %v vs %v: p-value %t with pooled share %v", a, b, c.HasPValue, P)
			}
			if c.HasPValue && !closeTo(c.PValue, normalSF2((x1/n1-x2/n2)*math.Sqrt((N-1)/N)/math.Sqrt(P*(1-P)*(1/n1+1/n2)))) {
				t.Fatalf("csat %v vs %v: got p %v", a, b, c.PValue)
			}
		}
		// CES
		a, b = answers(t, 1, 7, max, "ces a"), answers(t, 1, 7, max, "ces b")
		var ea, eb CESSummary
		for _, x := range a {
			ea.Counts[x-1]++
		}
		for _, x := range b {
			eb.Counts[x-1]++
		}
		c = ea.Compare(eb)
		moments := func(xs []int) (m, v, n float64) {
			for _, x := range xs {
				m += float64(x)
			}
			n = float64(len(xs))
			m /= n
			for _, x := range xs {
				v += (float64(x) - m) * (float64(x) - m)
			}
			return m, v / (n - 1), n
		}
		if c.HasDifference != (len(a) > 0 && len(b) > 0) || c.HasInterval != c.HasPValue {
			t.Fatalf("ces %v vs %v: %+v", a, b, c)
		}
		if c.HasDifference {
			m1, v1, n1 := moments(a)
			m2, v2, n2 := moments(b)
			if !closeTo(c.Difference, m1-m2) {
				t.Fatalf("ces %v vs %v: difference %v, want %v", a, b, c.Difference, m1-m2)
			}
			testable := n1 >= 2 && n2 >= 2 && v1/n1+v2/n2 > 0
			if c.HasInterval != testable {
				t.Fatalf("ces %v vs %v: interval %t, want %t", a, b, c.HasInterval, testable)
			}
			if testable {
				se := math.Sqrt(v1/n1 + v2/n2)
				nu := math.Pow(v1/n1+v2/n2, 2) / (math.Pow(v1/n1, 2)/(n1-1) + math.Pow(v2/n2, 2)/(n2-1))
				td := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: nu}
				h := td.Quantile(0.975) * se
				if !closeTo(c.Low, m1-m2-h) || !closeTo(c.High, m1-m2+h) || !closeTo(c.PValue, 2*(1-td.CDF(math.Abs(m1-m2)/se))) {
					t.Fatalf("ces %v vs %v: got %+v", a, b, c)
				}
			}
		}
	})
}

// TestCompareSymmetry: swapping the groups negates the difference and
// mirrors the interval; the p-value stays. A group against itself has
// difference 0 and p-value 1. Where the interval and the test share their
// standard error (NPS, CES), "significant" is "the interval leaves out 0".
func TestCompareSymmetry(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var a, b Histogram
		for _, r := range rapid.SliceOf(genResponse()).Draw(t, "a") {
			a.Add(r.m, r.score)
		}
		for _, r := range rapid.SliceOf(genResponse()).Draw(t, "b") {
			b.Add(r.m, r.score)
		}
		for _, m := range []struct {
			name       string
			ab, ba, aa Comparison
			sharedSE   bool
		}{
			{"nps", a.NPS().Compare(b.NPS()), b.NPS().Compare(a.NPS()), a.NPS().Compare(a.NPS()), true},
			{"csat", a.CSAT().Compare(b.CSAT()), b.CSAT().Compare(a.CSAT()), a.CSAT().Compare(a.CSAT()), false},
			{"ces", a.CES().Compare(b.CES()), b.CES().Compare(a.CES()), a.CES().Compare(a.CES()), true},
		} {
			ab, ba := m.ab, m.ba
			if ab.HasDifference != ba.HasDifference || ab.HasInterval != ba.HasInterval || ab.HasPValue != ba.HasPValue ||
				!near(ab.Difference, -ba.Difference) || !near(ab.Low, -ba.High) || !near(ab.High, -ba.Low) || !near(ab.PValue, ba.PValue) {
				t.Fatalf("%s: a vs b %+v, b vs a %+v", m.name, ab, ba)
			}
			if ab.HasPValue && (ab.PValue < 0 || ab.PValue > 1) {
				t.Fatalf("%s: p-value %v", m.name, ab.PValue)
			}
			if ab.HasInterval && ab.Low > ab.High {
				t.Fatalf("%s: interval %v..%v", m.name, ab.Low, ab.High)
			}
			if aa := m.aa; aa.HasDifference && aa.Difference != 0 || aa.HasPValue && !near(aa.PValue, 1) {
				t.Fatalf("%s: a vs a %+v", m.name, aa)
			}
			if sig, ok := ab.Significant(); ok && m.sharedSE && math.Abs(ab.PValue-0.05) > 1e-9 && sig != (ab.Low > 0 || ab.High < 0) {
				t.Fatalf("%s: significant %t, interval %v..%v", m.name, sig, ab.Low, ab.High)
			}
		}
	})
}
