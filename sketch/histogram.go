package sketch

import "fmt"

// Histogram counts responses per score value for the three metrics: five
// counters for CSAT, seven for CES and eleven for NPS. Counts are exact and
// add exactly, so any number of histograms merge into the histogram of all
// their responses, in any order.
//
// The zero value is an empty histogram ready to use. A Histogram is not safe
// for concurrent use; its owner guards it.
type Histogram struct {
	c [counters]uint64
}

// base[m] + score is the index of score's counter in Histogram.c.
var base = [...]int{
	CSAT: metricInfo[CSAT].offset - metricInfo[CSAT].min,
	CES:  metricInfo[CES].offset - metricInfo[CES].min,
	NPS:  metricInfo[NPS].offset - metricInfo[NPS].min,
}

// Add counts one response. It panics if m.Check(score) fails: validate data
// from outside with Check first.
func (h *Histogram) Add(m Metric, score int) { h.AddN(m, score, 1) }

// AddN counts n responses of the same score. It panics if m.Check(score) fails.
func (h *Histogram) AddN(m Metric, score int, n uint64) {
	if !m.Valid() || score < metricInfo[m].min || score > metricInfo[m].max {
		panic(fmt.Sprintf("sketch: Histogram.Add(%s, %d): %v", m, score, m.Check(score)))
	}
	h.c[base[m]+score] += n
}

// Remove takes back one response counted by Add: after h.Add(m, score) and
// h.Remove(m, score), h is as it was. Counters count modulo 2^64, so a
// histogram may hold a Remove whose Add is in another histogram; merging
// the two gives the exact counts again, in any order (the engine takes a
// corrected or retracted answer out this way). It panics if m.Check(score)
// fails.
func (h *Histogram) Remove(m Metric, score int) { h.AddN(m, score, ^uint64(0)) }

// Count returns the number of responses of m with the given score, 0 for a
// score off m's scale.
func (h *Histogram) Count(m Metric, score int) uint64 {
	if m.Check(score) != nil {
		return 0
	}
	return h.c[base[m]+score]
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, v := range o.c {
		h.c[i] += v
	}
}

// Reset empties h.
func (h *Histogram) Reset() { h.c = [counters]uint64{} }

// IsZero reports whether h holds no responses.
func (h *Histogram) IsZero() bool { return h.c == [counters]uint64{} }

// Responses returns the number of responses of m (0 for an invalid metric).
func (h *Histogram) Responses(m Metric) uint64 {
	if !m.Valid() {
		return 0
	}
	var n uint64
	for _, v := range h.counts(m) {
		n += v
	}
	return n
}

func (h *Histogram) counts(m Metric) []uint64 {
	info := &metricInfo[m]
	return h.c[info.offset : info.offset+info.max-info.min+1]
}

// CSAT returns the CSAT responses of h and the scores derived from them.
func (h *Histogram) CSAT() CSATSummary {
	var s CSATSummary
	copy(s.Counts[:], h.counts(CSAT))
	return s
}

// CES returns the CES responses of h and the scores derived from them.
func (h *Histogram) CES() CESSummary {
	var s CESSummary
	copy(s.Counts[:], h.counts(CES))
	return s
}

// NPS returns the NPS responses of h and the scores derived from them.
func (h *Histogram) NPS() NPSSummary {
	var s NPSSummary
	copy(s.Counts[:], h.counts(NPS))
	return s
}
