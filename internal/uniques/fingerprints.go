package uniques

import (
	"slices"
	"sync"
)

// Layout is how a Set keeps its exact fingerprints. It changes what
// operations cost and how much memory they take, never what is counted.
type Layout uint8

const (
	// Hashed keeps them in an open-addressing hash table (linear probing,
	// a power of two of slots, at most half full): O(1) inserts that drop
	// repeats at once. The zero value's layout; good for accumulating
	// unions, as queries do.
	Hashed Layout = iota
	// Sorted keeps them in increasing order, exactly sized: half the memory
	// of a table, for buckets that mostly sit sealed and are merged into a
	// few times (a day's bucket takes an hour's at a time).
	Sorted
	// Appended appends every inserted fingerprint, repeats included, and
	// drops repeats in batches (sort and compact) when the log reaches
	// twice the exact limit: an insert is one sequential write, for the
	// buckets written once per event.
	Appended
	// Packed keeps them sorted in about 3.1 bytes each instead of 4 (see
	// packed.go), a plain sorted array below a few dozen: the least memory,
	// for the coarse buckets that sit sealed for weeks (a day's bucket). An
	// insert or a merge into it decodes and re-encodes it, O(n); reading it
	// decodes as it goes and does not allocate.
	Packed
)

// fpSet is an exact set of 32-bit customer fingerprints in one of the
// layouts. In a Hashed table 0 marks an empty slot, so fingerprint 0 is
// kept in the zero flag. The zero value is an empty Hashed set.
type fpSet struct {
	slots  []uint32
	n      int32 // Hashed: fingerprints held, zero included; Packed: fingerprints held; else len(slots)
	zero   bool  // Hashed: fingerprint 0 is held
	layout Layout
}

const minTable = 16

// len returns the number of fingerprints held; for Appended, the number of
// entries, repeats included.
func (s *fpSet) len() int { return int(s.n) }

// has reports whether fp is in a Hashed, Sorted or Packed set.
func (s *fpSet) has(fp uint32) bool {
	if s.layout == Packed && packs(s.len()) {
		found := false
		eachPacked(s.slots, s.len(), func(x uint32) { found = found || x == fp })
		return found
	}
	if s.layout != Hashed {
		i := search(s.slots, fp)
		return i < len(s.slots) && s.slots[i] == fp
	}
	if fp == 0 || len(s.slots) == 0 {
		return fp == 0 && s.zero
	}
	mask := uint32(len(s.slots) - 1)
	for i := fp & mask; s.slots[i] != 0; i = (i + 1) & mask {
		if s.slots[i] == fp {
			return true
		}
	}
	return false
}

// add inserts fp into a Hashed, Sorted or Packed set and reports whether
// it was new; into an Appended one it appends fp and reports true.
func (s *fpSet) add(fp uint32) bool {
	switch s.layout {
	case Packed:
		if s.has(fp) {
			return false
		}
		buf := scratch.get()
		*buf = s.appendSorted((*buf)[:0])
		i := search(*buf, fp)
		*buf = slices.Insert(*buf, i, fp)
		s.store(*buf)
		scratch.put(buf)
		return true
	case Appended:
		s.slots = append(s.slots, fp)
		s.n++
		return true
	case Sorted:
		i := search(s.slots, fp)
		if i < len(s.slots) && s.slots[i] == fp {
			return false
		}
		s.slots = slices.Insert(s.slots, i, fp)
		s.n++
		return true
	}
	return s.addHashed(fp)
}

// addHashed inserts fp into a Hashed set and reports whether it was new.
func (s *fpSet) addHashed(fp uint32) bool {
	if fp == 0 {
		if s.zero {
			return false
		}
		s.zero = true
		s.n++
		return true
	}
	if len(s.slots) == 0 {
		s.slots = newTable(minTable)
	}
	mask := uint32(len(s.slots) - 1)
	i := fp & mask // fingerprints are hash bits already
	for ; s.slots[i] != 0; i = (i + 1) & mask {
		if s.slots[i] == fp {
			return false
		}
	}
	if 2*(s.len()+1) > len(s.slots) {
		s.grow()
		mask = uint32(len(s.slots) - 1)
		for i = fp & mask; s.slots[i] != 0; i = (i + 1) & mask {
		}
	}
	s.slots[i] = fp
	s.n++
	return true
}

// grow doubles a table.
func (s *fpSet) grow() {
	old := s.slots
	s.slots = newTable(2 * len(old))
	mask := uint32(len(s.slots) - 1)
	for _, fp := range old {
		if fp != 0 {
			i := fp & mask
			for ; s.slots[i] != 0; i = (i + 1) & mask {
			}
			s.slots[i] = fp
		}
	}
	recycleTable(old)
}

// dedupe drops the repeats of an Appended log, leaving it sorted.
func (s *fpSet) dedupe() {
	slices.Sort(s.slots)
	s.slots = slices.Compact(s.slots)
	s.n = int32(len(s.slots))
}

// distinct returns the number of distinct fingerprints, without changing s.
func (s *fpSet) distinct() int {
	if s.layout != Appended {
		return s.len()
	}
	buf := scratch.get()
	defer scratch.put(buf)
	*buf = s.appendSorted((*buf)[:0])
	return len(*buf)
}

// search returns the index of the first element of the sorted slice that
// is ≥ fp: slices.BinarySearch without the generic comparison.
func search(sorted []uint32, fp uint32) int {
	lo, hi := 0, len(sorted)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if sorted[mid] < fp {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// each calls fn for every fingerprint, in no set order; in an Appended log,
// repeats too.
func (s *fpSet) each(fn func(uint32)) {
	if s.layout == Packed && packs(s.len()) {
		eachPacked(s.slots, s.len(), fn)
		return
	}
	if s.layout != Hashed {
		for _, fp := range s.slots {
			fn(fp)
		}
		return
	}
	if s.zero {
		fn(0)
	}
	for _, fp := range s.slots {
		if fp != 0 {
			fn(fp)
		}
	}
}

// addAll inserts every fingerprint of o into a Sorted or Packed set.
func (s *fpSet) addAll(o *fpSet) {
	if s.layout == Packed {
		mine, theirs, union := scratch.get(), scratch.get(), scratch.get()
		*mine = s.appendSorted((*mine)[:0])
		*theirs = o.appendSorted((*theirs)[:0])
		*union = unionInto((*union)[:0], *mine, *theirs)
		s.store(*union)
		scratch.put(mine)
		scratch.put(theirs)
		scratch.put(union)
		return
	}
	if o.layout == Sorted {
		s.slots = mergeSorted(s.slots, o.slots)
	} else {
		buf := scratch.get()
		*buf = o.appendSorted((*buf)[:0])
		s.slots = mergeSorted(s.slots, *buf)
		scratch.put(buf)
	}
	s.n = int32(len(s.slots))
}

// appendSorted appends the distinct fingerprints to dst in increasing order.
func (s *fpSet) appendSorted(dst []uint32) []uint32 {
	switch {
	case s.layout == Packed && packs(s.len()):
		return appendPacked(dst, s.slots, s.len())
	case s.layout == Sorted || s.layout == Packed:
		return append(dst, s.slots...)
	}
	start := len(dst)
	s.each(func(fp uint32) { dst = append(dst, fp) })
	slices.Sort(dst[start:])
	return slices.Compact(dst)
}

// mergeSorted returns the sorted union of the sorted, duplicate-free a and
// b: in a's storage when it has room, else in a new array of exactly the
// union's size (a sorted set is the compact layout: it keeps no slack).
func mergeSorted(a, b []uint32) []uint32 {
	if cap(a)-len(a) < len(b) {
		out := make([]uint32, 0, unionSize(a, b))
		i, j := 0, 0
		for i < len(a) && j < len(b) {
			switch {
			case a[i] < b[j]:
				out = append(out, a[i])
				i++
			case a[i] > b[j]:
				out = append(out, b[j])
				j++
			default:
				out = append(out, a[i])
				i, j = i+1, j+1
			}
		}
		out = append(out, a[i:]...)
		return append(out, b[j:]...)
	}
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

// unionSize counts the union of two sorted, duplicate-free slices.
func unionSize(a, b []uint32) int {
	n, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			i, j = i+1, j+1
		}
		n++
	}
	return n + len(a) - i + len(b) - j
}

// reset empties the set, keeping its storage.
func (s *fpSet) reset() {
	if s.layout == Hashed {
		clear(s.slots)
	} else {
		s.slots = s.slots[:0]
	}
	s.n, s.zero = 0, false
}

// release empties the set and drops its storage.
func (s *fpSet) release() { *s = fpSet{layout: s.layout} }

func (s *fpSet) clone() fpSet {
	c := *s
	c.slots = slices.Clone(s.slots)
	return c
}

func (s *fpSet) bytes() int { return 4 * cap(s.slots) }

// scratch holds buffers for sorting a set's fingerprints.
var scratch = bufferPool{sync.Pool{New: func() any { b := make([]uint32, 0, 1024); return &b }}}

type bufferPool struct{ p sync.Pool }

func (p *bufferPool) get() *[]uint32  { return p.p.Get().(*[]uint32) }
func (p *bufferPool) put(b *[]uint32) { p.p.Put(b) }
