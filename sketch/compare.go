package sketch

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Comparison is the difference between the scores of one metric in two
// groups of answers, the first minus the second, with a 95% interval of
// the difference and a two-sided p-value of "no difference". It is in the
// units of the metric's Score: NPS points, CSAT percentage points, CES
// scale points (higher is easier).
//
// What cannot be computed is marked by its flag being false: with no
// answers in a group there is no difference; see each Compare method for
// when there is no interval or p-value.
type Comparison struct {
	// Difference is the observed score of the first group minus that of
	// the second.
	Difference    float64
	HasDifference bool
	// Low and High bound the 95% interval of the difference.
	Low, High   float64
	HasInterval bool
	// PValue is the two-sided p-value of the test of no difference.
	PValue    float64
	HasPValue bool
}

// Significant reports whether the difference is significant at 5%: the
// p-value exists and is below 0.05. The interval is computed by a
// different method for CSAT (see CSATSummary.Compare), so near 5% it may
// disagree; the p-value decides.
func (c Comparison) Significant() (significant, ok bool) {
	return c.HasPValue && c.PValue < 0.05, c.HasPValue
}

// normalP is the two-sided p-value of a standard normal statistic,
// 2(1 − Φ(|z|)), computed as 2·Φ(−|z|) so that tiny p-values keep their
// digits.
func normalP(z float64) float64 { return 2 * distuv.UnitNormal.CDF(-math.Abs(z)) }

// Compare compares s with b by the adjusted-Wald method for the NPS
// (MeasuringU): in each group n' = n + 3, P' = (promoters + ¾)/n',
// D' = (detractors + ¾)/n', NPS' = P' − D' and V = P' + D' − NPS'²; then
// SE = √(V₁/n'₁ + V₂/n'₂), the interval is (NPS'₁ − NPS'₂) ± 1.96·SE and
// z = (NPS'₁ − NPS'₂)/SE. The reported difference is the observed Score
// of s minus that of b, so the interval is centred on the adjusted
// difference, not on it. Nothing is computed when either group has no
// answers; otherwise SE > 0 and everything is.
func (s NPSSummary) Compare(b NPSSummary) Comparison {
	var c Comparison
	x, okx := s.Score()
	y, oky := b.Score()
	if !okx || !oky {
		return c
	}
	c.Difference, c.HasDifference = x-y, true
	n1, p1, v1 := s.adjustedShares()
	n2, p2, v2 := b.adjustedShares()
	se := math.Sqrt(v1/n1 + v2/n2)
	d := p1 - p2
	c.Low, c.High, c.HasInterval = 100*(d-z*se), 100*(d+z*se), true
	c.PValue, c.HasPValue = normalP(d/se), true
	return c
}

// adjustedShares returns n' and the adjusted NPS' and V of the summary.
func (s NPSSummary) adjustedShares() (n3, nps, v float64) {
	n3 = float64(s.Responses()) + 3
	p := (float64(s.Promoters()) + 0.75) / n3
	d := (float64(s.Detractors()) + 0.75) / n3
	return n3, p - d, p + d - (p-d)*(p-d)
}

// Compare compares s with b, the satisfied shares (4-5) x₁/n₁ and x₂/n₂.
// The interval of the difference is Agresti-Caffo's: with p̃ᵢ = (xᵢ + 1)/
// (nᵢ + 2), (p̃₁ − p̃₂) ± 1.96·√(p̃₁(1 − p̃₁)/(n₁ + 2) + p̃₂(1 − p̃₂)/
// (n₂ + 2)). The p-value is the N − 1 two-proportion test's, which holds
// its 5% level better than the χ² and Fisher tests for small samples
// (Campbell 2007): N = n₁ + n₂, P = (x₁ + x₂)/N, z = (x₁/n₁ − x₂/n₂)·
// √((N − 1)/N) / √(P(1 − P)(1/n₁ + 1/n₂)). The difference is x₁/n₁ −
// x₂/n₂; all three in percentage points. Nothing is computed when either
// group has no answers, and there is no p-value when P is 0 or 1 (every
// answer in both groups satisfied, or none: nothing to test).
func (s CSATSummary) Compare(b CSATSummary) Comparison {
	var c Comparison
	x1, n1 := float64(s.Satisfied()), float64(s.Responses())
	x2, n2 := float64(b.Satisfied()), float64(b.Responses())
	if n1 == 0 || n2 == 0 {
		return c
	}
	d := x1/n1 - x2/n2
	c.Difference, c.HasDifference = 100*d, true
	q1, q2 := (x1+1)/(n1+2), (x2+1)/(n2+2)
	half := z * math.Sqrt(q1*(1-q1)/(n1+2)+q2*(1-q2)/(n2+2))
	c.Low, c.High, c.HasInterval = 100*(q1-q2-half), 100*(q1-q2+half), true
	N := n1 + n2
	P := (x1 + x2) / N
	if P == 0 || P == 1 {
		return c
	}
	zs := d * math.Sqrt((N-1)/N) / math.Sqrt(P*(1-P)*(1/n1+1/n2))
	c.PValue, c.HasPValue = normalP(zs), true
	return c
}

// Compare compares the mean effort scores of s and b by Welch's t test:
// the difference m₁ − m₂, SE = √(s₁²/n₁ + s₂²/n₂) with sample variances,
// the Welch-Satterthwaite degrees of freedom ν = (s₁²/n₁ + s₂²/n₂)² /
// ((s₁²/n₁)²/(n₁ − 1) + (s₂²/n₂)²/(n₂ − 1)), the interval difference ±
// t(0.975, ν)·SE and p = 2(1 − T_ν(|difference|/SE)). It uses the answers
// alone: the pseudo-answer of CESSummary.Interval is for one group's
// interval, not for a test. There is a difference when both groups have
// answers, and an interval and a p-value when both have at least two and
// SE > 0 (not every answer in both groups the same).
func (s CESSummary) Compare(b CESSummary) Comparison {
	var c Comparison
	m1, ok1 := s.Score()
	m2, ok2 := b.Score()
	if !ok1 || !ok2 {
		return c
	}
	c.Difference, c.HasDifference = m1-m2, true
	s1, ok1 := s.StdDev()
	s2, ok2 := b.StdDev()
	if !ok1 || !ok2 {
		return c
	}
	n1, n2 := float64(s.Responses()), float64(b.Responses())
	a, v := s1*s1/n1, s2*s2/n2
	se := math.Sqrt(a + v)
	if se == 0 {
		return c
	}
	nu := (a + v) * (a + v) / (a*a/(n1-1) + v*v/(n2-1))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: nu}
	half := t.Quantile(0.975) * se
	c.Low, c.High, c.HasInterval = c.Difference-half, c.Difference+half, true
	c.PValue, c.HasPValue = 2*t.CDF(-math.Abs(c.Difference)/se), true
	return c
}
