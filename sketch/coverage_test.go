package sketch

import (
	"math/rand/v2"
	"testing"
)

// cesDistributions are skewed CES answer distributions, P(score 1..7),
// shaped like real effort surveys: most answers easy, a tail of hard ones.
var cesDistributions = []struct {
	name string
	p    [7]float64
}{
	{"mostly easy", [7]float64{0.02, 0.03, 0.05, 0.10, 0.20, 0.30, 0.30}},
	{"very easy", [7]float64{0.01, 0.01, 0.02, 0.04, 0.12, 0.30, 0.50}},
	{"top-heavy", [7]float64{0, 0, 0, 0.02, 0.08, 0.20, 0.70}},
	{"nearly unanimous", [7]float64{0, 0, 0, 0, 0, 0.10, 0.90}},
	{"polarized", [7]float64{0.15, 0.05, 0.05, 0.05, 0.10, 0.20, 0.40}},
	{"mostly hard", [7]float64{0.35, 0.25, 0.15, 0.10, 0.07, 0.05, 0.03}},
	{"rare hard tail", [7]float64{0.05, 0, 0, 0, 0, 0.15, 0.80}},
	{"two values", [7]float64{0, 0, 0, 0, 0, 0.5, 0.5}},
	// Not skewed, for contrast.
	{"uniform", [7]float64{1. / 7, 1. / 7, 1. / 7, 1. / 7, 1. / 7, 1. / 7, 1. / 7}},
	{"bell", [7]float64{0.02, 0.08, 0.2, 0.4, 0.2, 0.08, 0.02}},
}

func cesMean(p [7]float64) float64 {
	var m float64
	for i, q := range p {
		m += float64(i+1) * q
	}
	return m
}

// TestCESCoverage draws 20,000 samples of n answers from each distribution
// (seeded, so every run sees the same samples) and counts how often
// Interval holds the true mean: at least 93% for each at n = 10, and at
// n = 5 and 20 too. The plain t interval, mean ± t(0.975, n − 1)·s/√n,
// falls to 89% here at n = 10 ("top-heavy") and 69% ("rare hard tail"),
// which is why Interval adds a pseudo-answer.
func TestCESCoverage(t *testing.T) {
	const trials = 20000
	for _, n := range []int{5, 10, 20} {
		for _, d := range cesDistributions {
			rng := rand.New(rand.NewPCG(12, uint64(n)))
			var cum [7]float64
			acc := 0.0
			for i, q := range d.p {
				acc += q
				cum[i] = acc
			}
			mean := cesMean(d.p)
			covered := 0
			for range trials {
				var s CESSummary
				for range n {
					u := rng.Float64() * acc
					k := 0
					for k < 6 && u >= cum[k] {
						k++
					}
					s.Counts[k]++
				}
				if lo, hi, _ := s.Interval(); lo <= mean && mean <= hi {
					covered++
				}
			}
			got := float64(covered) / trials
			if testing.Verbose() {
				t.Logf("n = %2d, %-16s mean %.2f: coverage %.2f%%", n, d.name, mean, 100*got)
			}
			if got < 0.93 {
				t.Errorf("n = %d, %s: coverage %.2f%%, want ≥ 93%%", n, d.name, 100*got)
			}
		}
	}
}
