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
//	CES     1-7    mean                                           share of 5-7 ("easy"), 1.96·s/√n margin
//	NPS     0-10   100 × (share of 9-10 − share of 0-6)           promoters 9-10, passives 7-8,
//	                                                              detractors 0-6, adjusted-Wald margin
//
// Counts are exact and histograms add exactly. Every score is derived from
// the counts on demand (CSATSummary, CESSummary, NPSSummary); with no
// responses there is no score, signalled by ok == false, never a 0.
//
// # Unique customers
//
// Unique customers never add up: the customers of Monday and Tuesday are not
// the sum of each day's. Uniques is a set sketch that unions instead. It keeps
// 32-bit customer fingerprints exactly while a hash table of them, at most
// half full, fits in the memory of a HyperLogLog sketch of its precision (512
// of them, 4 KiB, at the default precision 12), then promotes itself to a
// dense axiomhq/hyperloglog sketch:
// standard error 1.04/√(2^p), 1.6% at p = 12. Fingerprint collisions add
// about n²/2³³ to the error, under 0.1% below ten million customers.
// Estimating a dense sketch takes one pass over its registers (about 3 µs at
// p = 12) and gives exactly axiomhq's estimate.
//
// # Concurrency and cost
//
// Neither type is safe for concurrent use; the engine guards them. Histogram.Add
// is one bounds check and an add. Uniques.Insert queues the fingerprint and
// adds eight at a time (so their cache misses overlap): a hash-table insert
// while exact, a register update once dense. Neither allocates once the
// bucket's storage has grown. Reset keeps a promoted sketch as a spare, so a
// reused busy bucket does not allocate a new one. A Uniques made compact
// keeps its exact fingerprints in a sorted array instead: half the memory,
// for buckets that are mostly read.
//
// A Uniques is exact exactly when it holds at most its limit of
// fingerprints, whatever its history, so equal sets of customers always
// give equal estimates: merging replicas answers like one engine that saw
// every event.
//
// Uniques.AppendBinary and UnmarshalBinary encode a sketch compactly; a
// decoder of outside input, UnmarshalBinary rejects anything malformed with
// ErrCorrupt and leaves its receiver untouched.
package sketch
