package uniques

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// Precisions a Set sketch accepts: 2^p HyperLogLog registers, standard
// error about 1.04/√(2^p) (1.6% at the default 12).
const (
	MinPrecision     = 8
	MaxPrecision     = 16
	DefaultPrecision = 12
)

// Set counts distinct customers. It keeps their 32-bit fingerprints
// exactly while they fit in the memory of a HyperLogLog sketch (2^p/8 of
// them: 512 at precision 12, held in at most 4 KiB) and is exact up to
// fingerprint collisions there; beyond that it promotes itself to a dense
// axiomhq HyperLogLog sketch of precision p. This is the scheme of
// ClickHouse's uniqCombined: most time buckets see few customers, so they
// stay small and exact, and a busy bucket never costs more than a dense
// sketch (and the table it was filled in).
//
// Both forms merge: the union of any Set of one precision, in any order
// and grouping, gives the same estimate as one Set fed every customer.
// Its form is a function of the customers it holds, never of its history:
// it is exact exactly when it holds at most the limit of fingerprints. So
// two Set holding the same customers give the same estimate, however
// they were filled, merged, reset or decoded.
//
// The exact fingerprints live in a hash table (the default), a sorted array,
// an append-only log or a packed sorted array, by the Layout given to Init;
// only cost and memory depend on it.
//
// The zero value is an empty sketch of DefaultPrecision. A Set is not
// safe for concurrent use; Estimate, AppendBinary and being merged into
// another only read it. Reset keeps its storage and a promoted sketch's
// registers as a spare, so a bucket reused for the next time slot does not
// allocate again. A Set must not be copied once used (Clone copies): its
// storage is its own, and it gives storage it drops back for reuse
// (recycle.go).
type Set struct {
	set   fpSet      // the exact fingerprints, while hll == nil
	hll   *registers // dense, precision p; non-nil once promoted
	spare *registers // a dense sketch kept by Reset for reuse
	p     uint8      // 0 means DefaultPrecision
	open  Layout     // the layout given to Init, which Reset returns to after Seal
}

// Hash returns the hash Insert expects for a customer id: xxhash64, the hash
// used everywhere in cxscore.
func Hash(customerID string) uint64 { return xxhash.Sum64String(customerID) }

// New returns an empty sketch of the given precision, Hashed. It
// returns an error wrapping ErrPrecision unless MinPrecision ≤ precision ≤
// MaxPrecision.
func New(precision uint8) (*Set, error) {
	u := new(Set)
	if err := u.Init(precision, Hashed); err != nil {
		return nil, err
	}
	return u, nil
}

// Init empties u and sets its precision (see New) and the layout of
// its exact fingerprints.
func (u *Set) Init(precision uint8, layout Layout) error {
	if precision < MinPrecision || precision > MaxPrecision {
		return fmt.Errorf("%w: %d, want %d-%d", ErrPrecision, precision, MinPrecision, MaxPrecision)
	}
	*u = Set{p: precision, set: fpSet{layout: layout}, open: layout}
	return nil
}

// Seal moves u into the compact form of a Packed set, its exact
// fingerprints packed or its dense sketch in 6-bit registers: for a bucket
// whose time slot is over and which is mostly read from now on. It still
// takes inserts and merges, at a Packed set's cost. Reset returns it to
// the layout given to Init. Sealing never changes what u counts.
func (u *Set) Seal() {
	if u.set.layout == Packed && (u.hll == nil || u.hll.packed(u.Precision())) {
		return
	}
	if v := u.promoted(); v != u {
		*u = *v // a log over the limit: promote it first
	}
	p := u.Precision()
	old := u.set
	if u.hll != nil {
		if !u.hll.packed(p) {
			rs := newRegisters(p, true)
			pack6(rs.r, u.hll.r)
			recycleDense(u.hll, p)
			u.hll = rs
		}
		u.set = fpSet{layout: Packed}
	} else {
		buf := scratch.get()
		*buf = u.set.appendSorted((*buf)[:0])
		u.set = fpSet{layout: Packed}
		u.set.store(*buf)
		scratch.put(buf)
	}
	if old.layout == Hashed {
		recycleTable(old.slots)
	}
	recycleDense(u.spare, p)
	u.spare = nil
}

// Precision returns u's HyperLogLog precision.
func (u *Set) Precision() uint8 {
	if u.p == 0 {
		return DefaultPrecision
	}
	return u.p
}

// ExactLimit is how many fingerprints a set of the given precision keeps
// exactly: 2^p/8, so that a table of them, at most half full, takes the
// memory of a dense sketch.
func ExactLimit(precision uint8) int { return 1 << precision / 8 }

func (u *Set) exactLimit() int { return ExactLimit(u.Precision()) }

// Bytes returns about how much memory u holds: its fingerprints' storage,
// its registers once promoted, and a spare sketch kept by Reset.
func (u *Set) Bytes() int {
	n := int(unsafe.Sizeof(*u)) + u.set.bytes()
	if u.hll != nil {
		n += int(unsafe.Sizeof(*u.hll)) + len(u.hll.r)
	}
	if u.spare != nil {
		n += int(unsafe.Sizeof(*u.spare)) + len(u.spare.r)
	}
	return n
}

// Exact reports whether u counts exactly: it holds at most its limit of
// customers.
func (u *Set) Exact() bool { return u.hll == nil && u.set.distinct() <= u.exactLimit() }

// IsZero reports whether u is empty.
func (u *Set) IsZero() bool { return u.hll == nil && u.set.len() == 0 }

// Insert adds a customer by the 64-bit hash of its id (see Hash). Only the
// upper 32 bits are kept, as the customer's fingerprint.
func (u *Set) Insert(hash uint64) { u.insert(uint32(hash >> 32)) }

func (u *Set) insert(fp uint32) {
	switch {
	case u.hll != nil:
		u.hll.insertHash(u.Precision(), expand(fp))
	case u.set.layout == Appended:
		if u.set.add(fp); u.set.len() >= 2*u.exactLimit() {
			u.set.dedupe()
			if u.set.len() > u.exactLimit() {
				u.promote()
			}
		}
	case u.set.len() < u.exactLimit():
		u.set.add(fp)
	case !u.set.has(fp): // one more than the limit: promote, never grow the table past it
		u.promote()
		u.hll.insertHash(u.Precision(), expand(fp))
	}
}

// promote moves the exact fingerprints into a dense sketch: the spare, or a
// new one. A table or log keeps its storage for the next time slot; a
// sorted array is dropped.
func (u *Set) promote() {
	p := u.Precision()
	sk := u.spare
	if sk != nil {
		u.spare = nil
		sk.reset()
	} else {
		sk = newRegisters(p, u.set.layout == Packed)
	}
	u.set.each(func(fp uint32) { sk.insertHash(p, expand(fp)) })
	u.hll = sk
	if u.set.layout == Sorted || u.set.layout == Packed {
		u.set.release()
	} else {
		u.set.reset()
	}
}

// promoted returns a copy of u promoted, if it holds more than its limit
// of customers in a log not yet deduplicated; else u itself.
func (u *Set) promoted() *Set {
	if u.hll != nil || u.set.layout != Appended || u.set.distinct() <= u.exactLimit() {
		return u
	}
	c := u.Clone()
	c.promote()
	return c
}

// Merge adds o's customers to u; o is only read. It returns an error
// wrapping ErrPrecision, and leaves u unchanged, if the precisions differ.
func (u *Set) Merge(o *Set) error {
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
		u.hll.merge(u.Precision(), o.hll)
	case u.hll == nil && (u.set.layout == Sorted || u.set.layout == Packed):
		u.set.addAll(&o.set)
		if u.set.len() > u.exactLimit() {
			u.promote()
		}
	default:
		u.insertAll(&o.set)
	}
	return nil
}

// insertAll inserts every fingerprint of o, another Set's exact set, into
// u: what o.each(u.insert) does, in loops of their own, and without a call
// per fingerprint once u's registers are one byte each (a query's union,
// once promoted). A packed o is decoded a batch at a time, on the stack.
func (u *Set) insertAll(o *fpSet) {
	switch {
	case o.layout == Packed && packs(o.len()):
		var buf [packedBatch]uint32
		c := newPackedCursor(o.slots, o.len())
		for k := c.next(buf[:]); k > 0; k = c.next(buf[:]) {
			u.insertBatch(buf[:k], false)
		}
	case o.layout == Hashed:
		if o.zero {
			u.insert(0)
		}
		u.insertBatch(o.slots, true)
	default:
		u.insertBatch(o.slots, false)
	}
}

// insertBatch inserts fps into u; a table's empty slots (0) are skipped.
func (u *Set) insertBatch(fps []uint32, table bool) {
	if u.hll == nil && u.set.layout == Hashed { // a query's union while exact: up to its limit, straight into the table
		limit, j := u.exactLimit(), 0
		for ; j < len(fps) && u.set.len() < limit; j++ {
			if fps[j] != 0 || !table {
				u.set.addHashed(fps[j])
			}
		}
		fps = fps[j:] // the rest, if any, promote u
	}
	for j, fp := range fps {
		if u.hll != nil && !u.hll.packed(u.Precision()) {
			insertRanks(u.hll.r, u.Precision(), fps[j:], table)
			return
		}
		if fp != 0 || !table {
			u.insert(fp)
		}
	}
}

// insertRanks inserts fps into dense registers of one byte each, as
// insertHash(p, expand(fp)) does; a table's empty slots (0) are skipped.
func insertRanks(regs []uint8, p uint8, fps []uint32, table bool) {
	regs = regs[:1<<p]
	for _, fp := range fps {
		if fp == 0 && table {
			continue
		}
		i, r := getPosVal(expand(fp), p)
		regs[i] = max(regs[i], r)
	}
}

// Reset empties u, back to the exact form, keeping its storage; a dense
// sketch is kept as spare.
func (u *Set) Reset() {
	if u.set.layout != u.open { // sealed: back to the open layout, whose storage differs
		u.set, u.hll, u.spare = fpSet{layout: u.open}, nil, nil
		return
	}
	if u.hll != nil {
		u.spare, u.hll = u.hll, nil
	}
	u.set.reset()
}

// Clone returns a deep copy of u (without its spare).
func (u *Set) Clone() *Set {
	c := &Set{p: u.p, set: u.set.clone(), open: u.open}
	if u.hll != nil {
		c.hll = u.hll.clone()
	}
	return c
}

// Estimate returns the number of distinct customers: exact (up to
// fingerprint collisions) while u is exact, the HyperLogLog estimate after.
// It does not modify u.
func (u *Set) Estimate() uint64 {
	if v := u.promoted(); v != u {
		return v.Estimate() // rare: a log holding more than the limit, not yet deduplicated
	}
	if u.hll == nil {
		return uint64(u.set.distinct())
	}
	return u.hll.estimate(u.Precision())
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
func (u *Set) AppendBinary(b []byte) ([]byte, error) {
	if v := u.promoted(); v != u {
		return v.AppendBinary(b)
	}
	if u.hll == nil {
		b = append(b, formExact, u.Precision())
		buf := scratch.get()
		*buf = u.set.appendSorted((*buf)[:0])
		defer scratch.put(buf)
		b = binary.AppendUvarint(b, uint64(len(*buf)))
		var prev uint32
		for i, fp := range *buf {
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
	b = binary.AppendUvarint(b, uint64(denseHeader+1<<u.Precision()))
	return u.hll.appendBinary(b, u.Precision()), nil
}

// MarshalBinary returns u's encoding; see AppendBinary.
func (u *Set) MarshalBinary() ([]byte, error) { return u.AppendBinary(nil) }

// UnmarshalBinary replaces u with the sketch encoded in data, which must hold
// exactly one encoding; u keeps its layout. Malformed input returns an error
// wrapping ErrCorrupt (or ErrPrecision for a precision out of range) and
// leaves u unchanged.
func (u *Set) UnmarshalBinary(data []byte) error {
	if len(data) < 2 {
		return fmt.Errorf("%w: %d bytes, want at least 2", ErrCorrupt, len(data))
	}
	var v Set
	if err := v.Init(data[1], u.set.layout); err != nil {
		return err
	}
	v.open = u.open
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
		fps := make([]uint32, 0, n)
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
			fps = append(fps, uint32(prev))
		}
		switch v.set.layout {
		case Hashed:
			for _, fp := range fps {
				v.set.add(fp)
			}
		case Packed:
			v.set.store(fps)
		default:
			v.set.slots, v.set.n = fps, int32(len(fps))
		}
	case formDense:
		n, err := next("length")
		if err != nil {
			return err
		}
		want := uint64(denseHeader + 1<<v.Precision())
		if n != want || uint64(len(rest)) < n {
			return fmt.Errorf("%w: dense sketch of %d bytes (%d follow), want %d", ErrCorrupt, n, len(rest), want)
		}
		sk, err := decodeRegisters(rest[:n], v.Precision(), v.set.layout == Packed)
		if err != nil {
			return err
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
