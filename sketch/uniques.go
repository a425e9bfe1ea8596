package sketch

import (
	"github.com/cespare/xxhash/v2"

	"github.com/cxscore/cxscore/internal/uniques"
)

// Precisions a Uniques sketch accepts: 2^p HyperLogLog registers, standard
// error about 1.04/√(2^p) (1.6% at the default 12).
const (
	MinPrecision     = uniques.MinPrecision
	MaxPrecision     = uniques.MaxPrecision
	DefaultPrecision = uniques.DefaultPrecision
)

// ExactLimit returns how many customers a Uniques of the given precision
// counts exactly before it becomes a HyperLogLog estimate: 2^p/8, 512 at
// the default precision.
func ExactLimit(precision uint8) int { return uniques.ExactLimit(precision) }

// Uniques counts distinct customers. It keeps their 32-bit fingerprints
// exactly up to ExactLimit (512 at precision 12, held in at most 4 KiB) and
// is exact up to fingerprint collisions there; beyond that it promotes
// itself to a dense axiomhq HyperLogLog sketch of precision p. This is the
// scheme of ClickHouse's uniqCombined: most time buckets see few customers,
// so they stay small and exact, and a busy one never costs more than a
// dense sketch.
//
// Sketches merge: the union of any Uniques of one precision, in any order
// and grouping, gives the same estimate as one Uniques fed every customer.
// Its form depends only on the customers it holds, never on its history,
// so two Uniques holding the same customers give the same estimate.
//
// The zero value is an empty sketch of DefaultPrecision. A Uniques is not
// safe for concurrent use; Estimate, AppendBinary and being merged into
// another only read it. Do not copy a Uniques once used (use Clone): a copy
// shares its storage, which it reuses and gives back for reuse as it grows.
type Uniques struct {
	s uniques.Set
}

// Hash returns the hash Insert expects for a customer id: xxhash64, the hash
// used everywhere in cxscore.
func Hash(customerID string) uint64 { return xxhash.Sum64String(customerID) }

// NewUniques returns an empty sketch of the given precision. It returns an
// error wrapping ErrPrecision unless MinPrecision ≤ precision ≤ MaxPrecision.
func NewUniques(precision uint8) (*Uniques, error) {
	u := new(Uniques)
	if err := u.s.Init(precision, uniques.Hashed); err != nil {
		return nil, err
	}
	return u, nil
}

// Precision returns u's HyperLogLog precision.
func (u *Uniques) Precision() uint8 { return u.s.Precision() }

// Exact reports whether u counts exactly: it holds at most ExactLimit
// customers.
func (u *Uniques) Exact() bool { return u.s.Exact() }

// Insert adds a customer by the 64-bit hash of its id (see Hash). Only the
// upper 32 bits are kept, as the customer's fingerprint.
func (u *Uniques) Insert(hash uint64) { u.s.Insert(hash) }

// Merge adds o's customers to u. It returns an error wrapping ErrPrecision,
// and leaves u unchanged, if the precisions differ.
func (u *Uniques) Merge(o *Uniques) error { return u.s.Merge(&o.s) }

// Reset empties u, keeping its precision and storage.
func (u *Uniques) Reset() { u.s.Reset() }

// Clone returns an independent copy of u.
func (u *Uniques) Clone() *Uniques { return &Uniques{s: *u.s.Clone()} }

// Estimate returns the number of distinct customers: exact while Exact, a
// HyperLogLog estimate with standard error 1.04/√(2^p) beyond.
func (u *Uniques) Estimate() uint64 { return u.s.Estimate() }

// AppendBinary appends u's compact binary encoding to b.
func (u *Uniques) AppendBinary(b []byte) ([]byte, error) { return u.s.AppendBinary(b) }

// MarshalBinary returns u's compact binary encoding.
func (u *Uniques) MarshalBinary() ([]byte, error) { return u.s.AppendBinary(nil) }

// UnmarshalBinary replaces u with the sketch data encodes. It rejects
// anything malformed with an error wrapping ErrCorrupt (or ErrPrecision for
// a precision out of range) and then leaves u unchanged.
func (u *Uniques) UnmarshalBinary(data []byte) error { return u.s.UnmarshalBinary(data) }
