package window

import "math"

// noSlot marks a ring index that holds no bucket yet.
const noSlot = math.MinInt64

// ring holds the buckets of one tier of one series: slot s lives at index
// s mod size. Buckets are allocated on first use, reset when a newer slot
// claims their index, and released once they are older than any window can
// read, so a quiet series holds few. A ring is guarded by its owner.
type ring[B any, PB Bucket[B]] struct {
	mask    int64
	slots   []int64 // slot held at each index, or noSlot
	buckets []PB
	// folded is the first slot not yet carried into the next tier: buckets
	// below it are already part of the next tier's buckets, those at or above
	// it are "open" and only here. It only grows.
	folded int64
	newest int64 // newest slot ever claimed, or noSlot
	spare  []PB  // released buckets kept for reuse, at most maxSpare
}

const maxSpare = 2

func newRing[B any, PB Bucket[B]](size int64) ring[B, PB] {
	r := ring[B, PB]{
		mask:    size - 1,
		slots:   make([]int64, size),
		buckets: make([]PB, size),
		folded:  noSlot,
		newest:  noSlot,
	}
	for i := range r.slots {
		r.slots[i] = noSlot
	}
	return r
}

// get returns the bucket of slot s, or nil if the ring does not hold it.
func (r *ring[B, PB]) get(s int64) PB {
	i := s & r.mask
	if r.slots[i] != s {
		return nil
	}
	return r.buckets[i]
}

// holder returns the slot held at s's index (noSlot if none).
func (r *ring[B, PB]) holder(s int64) int64 { return r.slots[s&r.mask] }

// claim gives index s mod size to slot s and returns its emptied bucket. The
// caller must have folded the bucket it evicts.
func (r *ring[B, PB]) claim(s int64, newBucket func() PB) PB {
	i := s & r.mask
	b := r.buckets[i]
	switch {
	case b != nil:
		b.Reset()
	case len(r.spare) > 0:
		b = r.spare[len(r.spare)-1]
		r.spare[len(r.spare)-1] = nil
		r.spare = r.spare[:len(r.spare)-1]
		b.Reset()
	default:
		b = newBucket()
	}
	r.slots[i], r.buckets[i] = s, b
	r.newest = max(r.newest, s)
	return b
}

// each calls fn for every bucket with a slot in [from, to), in no set order.
func (r *ring[B, PB]) each(from, to int64, fn func(s int64, b PB)) {
	to = min(to, r.newest+1)
	if from >= to {
		return
	}
	if from >= to-int64(len(r.slots)) { // (to is a real slot here, so this cannot overflow)
		for s := from; s < to; s++ {
			if b := r.get(s); b != nil {
				fn(s, b)
			}
		}
		return
	}
	for i, s := range r.slots {
		if s != noSlot && s >= from && s < to {
			fn(s, r.buckets[i])
		}
	}
}

// release frees the buckets of slots before oldest that are already folded
// (or, for the last tier, that nothing will fold), keeping a few for reuse.
func (r *ring[B, PB]) release(oldest int64, last bool) {
	if !last {
		oldest = min(oldest, r.folded)
	}
	for i, s := range r.slots {
		if s == noSlot || s >= oldest {
			continue
		}
		if len(r.spare) < maxSpare {
			r.spare = append(r.spare, r.buckets[i])
		}
		r.slots[i], r.buckets[i] = noSlot, nil
	}
}

// count returns the number of buckets the ring holds, spares included.
func (r *ring[B, PB]) count() int {
	n := len(r.spare)
	for _, s := range r.slots {
		if s != noSlot {
			n++
		}
	}
	return n
}
