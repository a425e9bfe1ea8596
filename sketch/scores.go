package sketch

import "math"

// z is the two-sided 95% quantile of the standard normal distribution.
const z = 1.959963984540054

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
// the units of Score. ok is false when there are no responses.
func (s CSATSummary) Interval() (lo, hi float64, ok bool) {
	return wilson(s.Satisfied(), s.Responses())
}

// MarginOfError returns half the width of Interval, in the units of Score.
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

// MarginOfError returns the 95% margin of the mean, 1.96 × s / √n with s the
// sample standard deviation, in score units. ok is false with fewer than two
// responses, where s is undefined.
func (s CESSummary) MarginOfError() (float64, bool) {
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
	variance := squares / float64(n-1)
	return z * math.Sqrt(variance/float64(n)), true
}

// Interval returns Score ± MarginOfError, clipped to the scale 1-7.
func (s CESSummary) Interval() (lo, hi float64, ok bool) {
	mean, ok := s.Score()
	moe, ok2 := s.MarginOfError()
	if !ok || !ok2 {
		return 0, 0, false
	}
	return max(mean-moe, 1), min(mean+moe, 7), true
}

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

// MarginOfError returns the 95% margin of the score by the adjusted-Wald
// method (Rocks 2016): with n' = n + 3 and the promoter and detractor shares
// P' = (promoters + ¾)/n', D' = (detractors + ¾)/n', it is
// 100 × 1.96 × √((P' + D' − (P' − D')²) / n'). The adjustment keeps the
// margin honest for small samples, where the plain Wald margin collapses
// to 0 when every answer agrees. ok is false when there are no responses.
func (s NPSSummary) MarginOfError() (float64, bool) {
	_, moe, ok := s.adjusted()
	return moe, ok
}

// Interval returns the adjusted-Wald 95% interval: 100 × (P' − D') ±
// MarginOfError, clipped to −100..100.
func (s NPSSummary) Interval() (lo, hi float64, ok bool) {
	center, moe, ok := s.adjusted()
	if !ok {
		return 0, 0, false
	}
	return max(center-moe, -100), min(center+moe, 100), true
}

func (s NPSSummary) adjusted() (center, moe float64, ok bool) {
	n := s.Responses()
	if n == 0 {
		return 0, 0, false
	}
	n3 := float64(n) + 3
	p := (float64(s.Promoters()) + 0.75) / n3
	d := (float64(s.Detractors()) + 0.75) / n3
	variance := (p + d - (p-d)*(p-d)) / n3
	return 100 * (p - d), 100 * z * math.Sqrt(variance), true
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
	return 100 * max(center-half, 0), 100 * min(center+half, 1), true
}

func halfWidth(lo, hi float64, ok bool) (float64, bool) {
	if !ok {
		return 0, false
	}
	return (hi - lo) / 2, true
}
