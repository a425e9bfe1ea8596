package sketch

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/axiomhq/hyperloglog"
	"github.com/cespare/xxhash/v2"
)

// Precisions a Uniques sketch accepts: 2^p HyperLogLog registers, standard
// error about 1.04/√(2^p) (1.6% at the default 12).
const (
	MinPrecision     = 8
	MaxPrecision     = 16
	DefaultPrecision = 12
)

// Uniques counts distinct customers. It keeps their 32-bit fingerprints
// exactly while they fit in the memory of a HyperLogLog sketch (2^p/4 of
// them: 1,024 at precision 12, 4 KiB) and is exact up to fingerprint
// collisions there; beyond that it promotes itself to a dense axiomhq
// HyperLogLog sketch of precision p. This is the scheme of ClickHouse's
// uniqCombined: most time buckets see few customers, so they stay small and
// exact, and a busy bucket never costs more than a dense sketch.
//
// Both forms merge: the union of any Uniques of one precision, in any order
// and grouping, gives the same estimate as one Uniques fed every customer.
//
// Its form is a function of the customers it holds, never of its history: it
// is exact exactly when it holds at most the limit of fingerprints. So two
// Uniques holding the same customers give the same estimate, however they
// were filled, merged, reset or decoded.
//
// The zero value is an empty sketch of DefaultPrecision. A Uniques is not
// safe for concurrent use, and Estimate only reads it. Reset keeps a
// promoted sketch's registers as a spare for the next promotion, so a busy
// bucket reused for the next time slot does not allocate a new sketch.
type Uniques struct {
	p     uint8               // 0 means DefaultPrecision
	set   []uint32            // sorted distinct fingerprints; used while hll == nil
	hll   *hyperloglog.Sketch // dense, precision p; non-nil once promoted
	spare *hyperloglog.Sketch // a dense sketch kept by Reset for reuse
}

// Hash returns the hash Insert expects for a customer id: xxhash64, the hash
// used everywhere in cxscore.
func Hash(customerID string) uint64 { return xxhash.Sum64String(customerID) }

// NewUniques returns an empty sketch of the given precision. It returns an
// error wrapping ErrPrecision unless MinPrecision ≤ precision ≤ MaxPrecision.
func NewUniques(precision uint8) (*Uniques, error) {
	u := new(Uniques)
	if err := u.Init(precision); err != nil {
		return nil, err
	}
	return u, nil
}

// Init empties u and sets its precision; see NewUniques.
func (u *Uniques) Init(precision uint8) error {
	if precision < MinPrecision || precision > MaxPrecision {
		return fmt.Errorf("%w: %d, want %d-%d", ErrPrecision, precision, MinPrecision, MaxPrecision)
	}
	*u = Uniques{p: precision}
	return nil
}

// Precision returns u's HyperLogLog precision.
func (u *Uniques) Precision() uint8 {
	if u.p == 0 {
		return DefaultPrecision
	}
	return u.p
}

// exactLimit is how many fingerprints fit in the memory of a dense sketch.
func (u *Uniques) exactLimit() int { return 1 << u.Precision() / 4 }

// Bytes returns about how much memory u holds: its fingerprints, or its
// registers once promoted, plus a spare sketch kept by Reset.
func (u *Uniques) Bytes() int {
	n := 40 + 4*cap(u.set)
	for _, sk := range []*hyperloglog.Sketch{u.hll, u.spare} {
		if sk != nil {
			n += 64 + 1<<u.Precision()
		}
	}
	return n
}

// Exact reports whether u still counts exactly (it has not been promoted).
func (u *Uniques) Exact() bool { return u.hll == nil }

// IsZero reports whether u is empty.
func (u *Uniques) IsZero() bool { return u.hll == nil && len(u.set) == 0 }

// Insert adds a customer by the 64-bit hash of its id (see Hash). Only the
// upper 32 bits are kept, as the customer's fingerprint.
func (u *Uniques) Insert(hash uint64) {
	fp := uint32(hash >> 32)
	if u.hll != nil {
		u.hll.InsertHash(expand(fp))
		return
	}
	i := search(u.set, fp)
	if i < len(u.set) && u.set[i] == fp {
		return
	}
	if len(u.set) < u.exactLimit() {
		u.set = slices.Insert(u.set, i, fp)
		return
	}
	u.promote()
	u.hll.InsertHash(expand(fp))
}

// search returns the index of the first element of the sorted set that is
// ≥ fp. It is slices.BinarySearch without the generic comparison, which
// showed as a fifth of Record's time.
func search(set []uint32, fp uint32) int {
	lo, hi := 0, len(set)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if set[mid] < fp {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// promote moves the exact fingerprints into a dense sketch: the spare, or a
// new one. The exact set's storage is dropped: a dense bucket needs none, and
// most buckets never promote.
func (u *Uniques) promote() {
	sk := u.spare
	if sk != nil {
		u.spare = nil
		sk.Reset() // keeps it dense
	} else {
		var err error
		if sk, err = hyperloglog.NewSketch(u.Precision(), false); err != nil {
			panic(err) // Init validated the precision
		}
	}
	for _, fp := range u.set {
		sk.InsertHash(expand(fp))
	}
	u.hll, u.set = sk, nil
}

// Merge adds o's customers to u. It returns an error wrapping ErrPrecision,
// and leaves u unchanged, if the precisions differ.
func (u *Uniques) Merge(o *Uniques) error {
	if o == u || o.IsZero() {
		return nil
	}
	if u.Precision() != o.Precision() {
		return fmt.Errorf("%w: cannot merge precision %d into %d", ErrPrecision, o.Precision(), u.Precision())
	}
	switch {
	case o.hll != nil:
		if u.hll == nil {
			u.promote()
		}
		return u.hll.Merge(o.hll)
	case u.hll != nil:
		for _, fp := range o.set {
			u.hll.InsertHash(expand(fp))
		}
	default:
		u.set = mergeSorted(u.set, o.set)
		if len(u.set) > u.exactLimit() {
			u.promote()
		}
	}
	return nil
}

// mergeSorted returns the sorted union of the sorted, duplicate-free a and b,
// in a's storage when it has room.
func mergeSorted(a, b []uint32) []uint32 {
	n := len(a)
	a = append(a, b...)
	i, j := n-1, len(b)-1
	for k := len(a) - 1; j >= 0; k-- {
		if i >= 0 && a[i] > b[j] {
			a[k] = a[i]
			i--
		} else {
			a[k] = b[j]
			j--
		}
	}
	return slices.Compact(a)
}

// Reset empties u, back to the exact form; a dense sketch is kept as spare.
func (u *Uniques) Reset() {
	if u.hll != nil {
		u.spare, u.hll = u.hll, nil
	}
	u.set = u.set[:0]
}

// Clone returns a deep copy of u.
func (u *Uniques) Clone() *Uniques {
	c := &Uniques{p: u.p, set: slices.Clone(u.set)}
	if u.hll != nil {
		c.hll = u.hll.Clone()
	}
	return c
}

// Estimate returns the number of distinct customers: exact (up to
// fingerprint collisions) while u is exact, the HyperLogLog estimate after.
// It does not modify u.
func (u *Uniques) Estimate() uint64 {
	if u.hll == nil {
		return uint64(len(u.set))
	}
	return estimateDense(u.hll, u.Precision())
}

// expand turns a 32-bit fingerprint into the 64-bit hash the HyperLogLog
// sketch takes: the fingerprint on top (it picks the register and the first
// 32-p bits of the rank), a mix of it below. The mix keeps the low half as
// uniform as the top half, and because it is a function of the fingerprint,
// a customer lands in the same register whether it was inserted directly or
// promoted from an exact set.
func expand(fp uint32) uint64 {
	// murmur3's fmix32 finalizer.
	h := fp
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return uint64(fp)<<32 | uint64(h)
}

// Encoding forms.
const (
	formExact = 1
	formDense = 2
)

// AppendBinary appends u's encoding to b: a form byte, the precision, then
// either the exact fingerprints (a uvarint count, then uvarint gaps between
// successive sorted values) or axiomhq's dense encoding (a uvarint length,
// then its bytes).
func (u *Uniques) AppendBinary(b []byte) ([]byte, error) {
	if u.hll == nil {
		b = append(b, formExact, u.Precision())
		b = binary.AppendUvarint(b, uint64(len(u.set)))
		var prev uint32
		for i, fp := range u.set {
			gap := fp - prev
			if i == 0 {
				gap = fp
			}
			b = binary.AppendUvarint(b, uint64(gap))
			prev = fp
		}
		return b, nil
	}
	b = append(b, formDense, u.Precision())
	b = binary.AppendUvarint(b, uint64(8+1<<u.Precision()))
	return u.hll.AppendBinary(b)
}

// MarshalBinary returns u's encoding; see AppendBinary.
func (u *Uniques) MarshalBinary() ([]byte, error) { return u.AppendBinary(nil) }

// UnmarshalBinary replaces u with the sketch encoded in data, which must hold
// exactly one encoding. Malformed input returns an error wrapping ErrCorrupt
// (or ErrPrecision for a precision out of range) and leaves u unchanged.
func (u *Uniques) UnmarshalBinary(data []byte) error {
	if len(data) < 2 {
		return fmt.Errorf("%w: %d bytes, want at least 2", ErrCorrupt, len(data))
	}
	var v Uniques
	if err := v.Init(data[1]); err != nil {
		return err
	}
	rest := data[2:]
	next := func(what string) (uint64, error) {
		x, n := binary.Uvarint(rest)
		if n <= 0 || n != uvarintLen(x) { // an overlong form would not re-encode to itself
			return 0, fmt.Errorf("%w: bad %s at byte %d", ErrCorrupt, what, len(data)-len(rest))
		}
		rest = rest[n:]
		return x, nil
	}
	switch data[0] {
	case formExact:
		n, err := next("count")
		if err != nil {
			return err
		}
		if n > uint64(v.exactLimit()) || n > uint64(len(rest)) { // every value takes at least one byte
			return fmt.Errorf("%w: %d exact fingerprints, at most %d fit", ErrCorrupt, n, min(v.exactLimit(), len(rest)))
		}
		v.set = make([]uint32, 0, n)
		var prev uint64
		for i := range n {
			gap, err := next("fingerprint")
			if err != nil {
				return err
			}
			if i > 0 && gap == 0 {
				return fmt.Errorf("%w: fingerprint %d repeats the one before", ErrCorrupt, i)
			}
			prev += gap
			if prev > 1<<32-1 {
				return fmt.Errorf("%w: fingerprint %d exceeds 32 bits", ErrCorrupt, i)
			}
			v.set = append(v.set, uint32(prev))
		}
	case formDense:
		n, err := next("length")
		if err != nil {
			return err
		}
		want := uint64(8 + 1<<v.Precision())
		if n != want || uint64(len(rest)) < n {
			return fmt.Errorf("%w: dense sketch of %d bytes (%d follow), want %d", ErrCorrupt, n, len(rest), want)
		}
		if rest[1] != v.Precision() || rest[3] != 0 {
			return fmt.Errorf("%w: inner sketch is not dense at precision %d", ErrCorrupt, v.Precision())
		}
		sk := new(hyperloglog.Sketch)
		if err := sk.UnmarshalBinary(rest[:n]); err != nil {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		v.hll, rest = sk, rest[n:]
	default:
		return fmt.Errorf("%w: unknown form %d", ErrCorrupt, data[0])
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(rest))
	}
	*u = v
	return nil
}

// uvarintLen returns the length of x's minimal uvarint encoding.
func uvarintLen(x uint64) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}
