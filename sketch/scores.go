package sketch

import (
	"math"
	"sync/atomic"

	"gonum.org/v1/gonum/stat/distuv"
)

// z is the two-sided 95% quantile of the standard normal distribution,
// Φ⁻¹(0.975), correctly rounded (gonum's distuv gives it within 1e-15).
const z = 1.959963984540054

// t975 returns t(0.975, df), the two-sided 95% quantile of Student's t
// distribution with df degrees of freedom. Whole df up to len(tTable) are
// computed once each (a quantile costs microseconds).
func t975(df int) float64 {
	if df < 1 || df > len(tTable) {
		return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(0.975)
	}
	c := &tTable[df-1]
	if v := c.Load(); v != 0 {
		return math.Float64frombits(v)
	}
	v := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(0.975)
	c.Store(math.Float64bits(v))
	return v
}

var tTable [4096]atomic.Uint64

// CSATSummary is the CSAT part of a histogram. Counts[i] is the number of
// responses scoring i+1.
type CSATSummary struct {
	Counts [5]uint64
}

// Responses returns the number of CSAT responses.
func (s CSATSummary) Responses() uint64 { return sum(s.Counts[:]) }

// Satisfied returns the number of responses scoring 4 or 5.
func (s CSATSummary) Satisfied() uint64 { return s.Counts[3] + s.Counts[4] }

// Score returns 100 × the share of responses scoring 4 or 5, in 0-100.
// ok is false when there are no responses: there is no score, not a score of 0.
func (s CSATSummary) Score() (score float64, ok bool) {
	return percent(s.Satisfied(), s.Responses())
}

// Interval returns the 95% Wilson score interval of the satisfied share, in
// the units of Score; it always holds Score. ok is false when there are no
// responses.
func (s CSATSummary) Interval() (lo, hi float64, ok bool) {
	return wilson(s.Satisfied(), s.Responses())
}

// MarginOfError returns half the width of Interval, in the units of Score,
// so that the margin and the interval never disagree (the Wilson interval
// is not symmetric around the score; show it where that matters).
func (s CSATSummary) MarginOfError() (float64, bool) { return halfWidth(s.Interval()) }

// CESSummary is the CES part of a histogram. Counts[i] is the number of
// responses scoring i+1 (1 is the most effort, 7 the least).
type CESSummary struct {
	Counts [7]uint64
}

// Responses returns the number of CES responses.
func (s CESSummary) Responses() uint64 { return sum(s.Counts[:]) }

// Easy returns the number of responses scoring 5, 6 or 7.
func (s CESSummary) Easy() uint64 { return s.Counts[4] + s.Counts[5] + s.Counts[6] }

// Score returns the mean score, in 1-7. ok is false when there are no responses.
func (s CESSummary) Score() (mean float64, ok bool) {
	n := s.Responses()
	if n == 0 {
		return 0, false
	}
	var total float64
	for i, c := range s.Counts {
		total += float64(i+1) * float64(c)
	}
	return total / float64(n), true
}

// EasyShare returns 100 × the share of responses scoring 5-7, in 0-100.
// ok is false when there are no responses.
func (s CESSummary) EasyShare() (float64, bool) { return percent(s.Easy(), s.Responses()) }

// StdDev returns the sample standard deviation of the scores (divisor
// n − 1). ok is false with fewer than two responses.
func (s CESSummary) StdDev() (float64, bool) {
	n := s.Responses()
	if n < 2 {
		return 0, false
	}
	mean, _ := s.Score()
	var squares float64
	for i, c := range s.Counts {
		d := float64(i+1) - mean
		squares += d * d * float64(c)
	}
	return math.Sqrt(squares / float64(n-1)), true
}

// Interval returns the 95% interval of the mean, clipped to the scale 1-7.
// ok is false with fewer than two responses.
//
// It is a Student t interval, centre ± t(0.975, n − 1)·s/√(n + 1), with
// the centre and the sample standard deviation s taken from the n answers
// plus one pseudo-answer at the middle of the scale, 4 (or, when every
// answer is 4, at 5). The plain t interval of the n answers alone, mean ±
// t(0.975, n − 1)·s/√n, covers only 89-92% at n = 10 when answers are
// skewed towards one end, as effort answers are: a sample that missed the
// rare hard answers is both too easy and too uniform, and n identical
// answers give s = 0, an interval of width 0. The pseudo-answer pulls the
// centre a little towards the middle and keeps s above 0, as the
// Agresti-Coull and Wilson intervals do for a share; its weight, 1 in
// n + 1, fades as answers accumulate. Ten identical answers of 7 give
// 6.33-7. TestCESCoverage shows by simulation that coverage is at least
// 93% at n = 10 (and 5 and 20) on skewed and unskewed distributions.
//
// The interval always holds the mean itself (Score): where the adjusted
// interval would end short of it, it is widened to reach it.
func (s CESSummary) Interval() (lo, hi float64, ok bool) {
	n := s.Responses()
	if n < 2 {
		return 0, 0, false
	}
	pseudo := 4
	if s.Counts[3] == n {
		pseudo = 5
	}
	var total, squares float64
	for i, c := range s.Counts {
		total += float64(i+1) * float64(c)
	}
	total += float64(pseudo)
	m := float64(n) + 1
	centre := total / m
	for i, c := range s.Counts {
		d := float64(i+1) - centre
		squares += d * d * float64(c)
	}
	d := float64(pseudo) - centre
	squares += d * d
	moe := t975(int(n-1)) * math.Sqrt(squares/(m-1)/m)
	mean, _ := s.Score()
	return min(max(centre-moe, 1), mean), max(min(centre+moe, 7), mean), true
}

// MarginOfError returns half the width of Interval, in score units, so that
// the margin shown beside a score and the interval never disagree: where
// the interval is clipped at the end of the scale it is not symmetric
// around the mean, and the interval is the answer to show. ok is false with
// fewer than two responses.
func (s CESSummary) MarginOfError() (float64, bool) { return halfWidth(s.Interval()) }

// NPSSummary is the NPS part of a histogram. Counts[i] is the number of
// responses scoring i.
type NPSSummary struct {
	Counts [11]uint64
}

// Responses returns the number of NPS responses.
func (s NPSSummary) Responses() uint64 { return sum(s.Counts[:]) }

// Promoters returns the number of responses scoring 9 or 10.
func (s NPSSummary) Promoters() uint64 { return s.Counts[9] + s.Counts[10] }

// Passives returns the number of responses scoring 7 or 8.
func (s NPSSummary) Passives() uint64 { return s.Counts[7] + s.Counts[8] }

// Detractors returns the number of responses scoring 0 to 6.
func (s NPSSummary) Detractors() uint64 { return sum(s.Counts[:7]) }

// Score returns 100 × (promoters − detractors) / responses, in −100..100.
// ok is false when there are no responses.
func (s NPSSummary) Score() (float64, bool) {
	n := s.Responses()
	if n == 0 {
		return 0, false
	}
	return 100 * (float64(s.Promoters()) - float64(s.Detractors())) / float64(n), true
}

// Interval returns the adjusted-Wald 95% interval of the score (Rocks
// 2016, MeasuringU): with n' = n + 3 and the promoter and detractor shares
// P' = (promoters + ¾)/n', D' = (detractors + ¾)/n', it is 100 × ((P' − D')
// ± 1.96·√((P' + D' − (P' − D')²)/n')), clipped to −100..100. The
// adjustment keeps the interval honest for small samples, where the plain
// Wald margin collapses to 0 when every answer agrees.
//
// The adjusted interval is centred on 100 × (P' − D'), not on Score, and
// for a few unanimous answers it can leave the score itself out (one
// promoter: 100, adjusted interval −48.5..98.5). An interval that excludes
// the observed score reads as a contradiction, so it is widened to reach
// the score: one promoter gives −48.5..100. This only widens, so coverage
// can only rise. ok is false when there are no responses.
func (s NPSSummary) Interval() (lo, hi float64, ok bool) {
	score, ok := s.Score()
	if !ok {
		return 0, 0, false
	}
	center, moe := s.adjusted()
	lo, hi = max(center-moe, -100), min(center+moe, 100)
	return min(lo, score), max(hi, score), true
}

// MarginOfError returns half the width of Interval, in NPS points, so that
// the margin shown beside a score and the interval never disagree (the
// interval need not be symmetric around the score; show it where it is
// not). ok is false when there are no responses.
func (s NPSSummary) MarginOfError() (float64, bool) { return halfWidth(s.Interval()) }

// adjusted returns the adjusted-Wald centre and margin, unclipped, × 100.
// The summary must hold a response.
func (s NPSSummary) adjusted() (center, moe float64) {
	n3 := float64(s.Responses()) + 3
	p := (float64(s.Promoters()) + 0.75) / n3
	d := (float64(s.Detractors()) + 0.75) / n3
	variance := (p + d - (p-d)*(p-d)) / n3
	return 100 * (p - d), 100 * z * math.Sqrt(variance)
}

func sum(counts []uint64) uint64 {
	var n uint64
	for _, c := range counts {
		n += c
	}
	return n
}

func percent(part, n uint64) (float64, bool) {
	if n == 0 {
		return 0, false
	}
	return 100 * float64(part) / float64(n), true
}

// wilson returns the 95% Wilson score interval of the share x/n, × 100.
func wilson(x, n uint64) (lo, hi float64, ok bool) {
	if n == 0 {
		return 0, 0, false
	}
	fn := float64(n)
	p := float64(x) / fn
	denom := 1 + z*z/fn
	center := (p + z*z/(2*fn)) / denom
	half := z / denom * math.Sqrt(p*(1-p)/fn+z*z/(4*fn*fn))
	// Exactly, the interval holds p and reaches 0 at x = 0 and 1 at x = n;
	// the clamps keep rounding from moving an end past the score.
	return 100 * min(max(center-half, 0), p), 100 * max(min(center+half, 1), p), true
}

func halfWidth(lo, hi float64, ok bool) (float64, bool) {
	if !ok {
		return 0, false
	}
	return (hi - lo) / 2, true
}
