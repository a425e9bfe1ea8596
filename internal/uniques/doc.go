// Package uniques is the unique-customer sketch behind sketch.Uniques and
// the engine's time buckets: 32-bit customer fingerprints kept exactly
// while a hash table of them, at most half full, fits in the memory of a
// HyperLogLog sketch of its precision (2^p/8 of them: 512 and 4 KiB at the
// default precision 12), then a dense HyperLogLog sketch, as ClickHouse's
// uniqCombined does. Fingerprint collisions add about n²/2³³ to the error,
// under 0.1% below ten million customers. The dense sketch is
// axiomhq/hyperloglog's, kept here (dense.go): the same registers from the
// same hashes, the same estimate and the same encoding, so snapshots of
// every format read as before.
//
// The exact fingerprints are kept in one of four layouts (Hashed, Sorted,
// Appended, Packed) chosen by how a bucket is used; only cost and memory
// depend on the layout, never what is counted. The Packed layout, for
// buckets that sit sealed (days), keeps fingerprints in about 3.1 bytes
// each instead of 4 and a dense sketch's registers in 6 bits each instead
// of 8 (3 KiB at p = 12). A Set's form is a function of the
// customers it holds, never of its history, so equal sets of customers
// give equal estimates: merged replicas answer like one engine.
//
// Estimating a dense sketch takes one pass over its registers (about 3 µs
// at p = 12) and gives exactly axiomhq's estimate.
//
// A Set is not safe for concurrent use; its owner guards it. Insert does not
// allocate once the set's storage has grown; Reset keeps a promoted
// sketch's registers as a spare, so a reused busy bucket does not allocate
// a new one, and Seal gives the table and byte-per-register sketch it drops
// back to pools that the next busy bucket takes them from (recycle.go).
// UnmarshalBinary, a decoder of outside input, rejects anything
// malformed with ErrCorrupt and leaves its receiver untouched.
package uniques
