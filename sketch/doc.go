// Package sketch holds the two summaries a cxscore time bucket keeps: exact
// score histograms and a unique-customer sketch. Both are small, both merge,
// and merging is how every window and roll-up is answered.
//
// # Histogram and scores
//
// A Histogram counts responses per score value of the three survey metrics:
//
//	metric  scale  score                                          also
//	CSAT    1-5    100 × share of 4-5 ("satisfied")               Wilson 95% interval
//	CES     1-7    mean                                           share of 5-7 ("easy"), Student t
//	                                                              95% interval (see CESSummary.Interval)
//	NPS     0-10   100 × (share of 9-10 − share of 0-6)           promoters 9-10, passives 7-8,
//	                                                              detractors 0-6, adjusted-Wald interval
//
// Counts are exact and histograms add exactly. Every score is derived from
// the counts on demand (CSATSummary, CESSummary, NPSSummary); with no
// responses there is no score, signalled by ok == false, never a 0.
//
// Every interval lies on its metric's scale and holds the score itself,
// and MarginOfError is always half the width of Interval, so "score ±
// margin" and the interval never disagree. Intervals need not be symmetric
// around the score (near the ends of a scale they are not): where they are
// not, show the interval. The CES interval adds one pseudo-answer at the
// middle of the scale, which keeps its coverage at 93% or more for ten
// skewed answers (the plain t interval covers 89% there, and claims a width
// of 0 when every answer agrees). Intervals assume independent answers: a
// customer who answers five times narrows them more than five customers
// would; count one answer per customer per period where that matters.
//
// # Comparisons
//
// Each summary's Compare tests it against another group (another period,
// or everything else) and returns a Comparison: the observed difference,
// its 95% interval and a two-sided p-value, as MeasuringU publishes the
// tests: adjusted Wald for the NPS, Agresti-Caffo's interval with the N − 1
// two-proportion test for CSAT, Welch's t for CES. The vectors in
// testdata/compare.json come from scipy and statsmodels
// (testdata/compare.py) and are matched to 1e-9. Whether a group holds
// enough answers to be worth comparing is the caller's decision (the
// engine's Config.MinResponses).

// # Unique customers
//
// Unique customers never add up: the customers of Monday and Tuesday are not
// the sum of each day's. Uniques is a set sketch that unions instead. It keeps
// 32-bit customer fingerprints exactly up to ExactLimit (512 of them, 4 KiB,
// at the default precision 12), then promotes itself to a dense
// axiomhq/hyperloglog sketch: standard error 1.04/√(2^p), 1.6% at p = 12.
// Fingerprint collisions add about n²/2³³ to the error, under 0.1% below ten
// million customers. Estimating a dense sketch takes one pass over its
// registers (about 3 µs at p = 12) and gives exactly axiomhq's estimate.
//
// A Uniques is exact exactly when it holds at most its limit of
// fingerprints, whatever its history, so equal sets of customers always
// give equal estimates: merging replicas answers like one engine that saw
// every event.
//
// # Concurrency and cost
//
// Neither type is safe for concurrent use; the engine guards its own.
// Histogram.Add is one bounds check and an add. Uniques.Insert is a
// hash-table insert while exact and a register update once dense; neither
// allocates once the sketch's storage has grown.
//
// Uniques.AppendBinary and UnmarshalBinary encode a sketch compactly; a
// decoder of outside input, UnmarshalBinary rejects anything malformed with
// ErrCorrupt and leaves its receiver untouched.
package sketch
