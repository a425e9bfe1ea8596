package timeline

import "math"

// noSlot marks a ring index that holds no bucket yet.
const noSlot = math.MinInt64

// ring holds the buckets of one tier of one series: slot s lives at index
// s mod size. Buckets are allocated on first use, reset when a newer slot
// claims their index, and released once they are older than any window can
// read, so a quiet series holds few. A ring is guarded by its owner.
//
// The newest bucket is also kept in the ring itself (cur), because nearly
// every write goes to it: a write then touches the lane's cache line and the
// bucket, not the ring's arrays.
type ring[B any, PB Bucket[B]] struct {
	curSlot int64 // slot of cur, or noSlot
	cur     PB    // the bucket of the newest claimed slot, while held
	// folded is the first slot not yet carried into the next tier: buckets
	// below it are already part of the next tier's buckets, those at or above
	// it are "open" and only here. It only grows.
	folded   int64
	mask     int64
	entries  []entry[PB] // by index
	newest   int64       // newest slot ever claimed, or noSlot
	released int64       // slots before this were released, or kept on purpose
	live     int         // entries holding a slot
	// reuseSoon: a finest-tier ring at most keepForReuse buckets longer
	// than what windows read, so a stale bucket's index is claimed again
	// soon.
	reuseSoon bool
	seal      bool // a coarse tier's ring: seal buckets whose slot is over (see Bucket)
	spare     []PB // released buckets kept for reuse, at most maxSpare
}

type entry[PB any] struct {
	slot int64 // the slot held, or noSlot
	b    PB
}

const maxSpare = 2

// keepForReuse is how many buckets' time ahead a stale bucket's index must
// be claimed again for a busy ring to keep it.
const keepForReuse = 8

func newRing[B any, PB Bucket[B]](t *tier, fine bool) ring[B, PB] {
	size := t.size
	r := ring[B, PB]{
		reuseSoon: fine && size-t.retain-t.ahead <= keepForReuse,
		seal:      !fine,
		curSlot:   noSlot,
		folded:    noSlot,
		mask:      size - 1,
		entries:   make([]entry[PB], size),
		newest:    noSlot,
		released:  noSlot,
	}
	for i := range r.entries {
		r.entries[i].slot = noSlot
	}
	return r
}

// get returns the bucket of slot s, or nil if the ring does not hold it.
func (r *ring[B, PB]) get(s int64) PB {
	if s == r.curSlot {
		return r.cur
	}
	if e := &r.entries[s&r.mask]; e.slot == s {
		return e.b
	}
	return nil
}

// holder returns the slot held at s's index (noSlot if none).
func (r *ring[B, PB]) holder(s int64) int64 { return r.entries[s&r.mask].slot }

// claim gives index s mod size to slot s and returns its emptied bucket. The
// caller must have folded the bucket it evicts. In a coarse tier, claiming a
// slot newer than any seals the newest bucket before it, and an older slot
// is claimed sealed: only the newest bucket of a coarse ring is open, the
// one its folds fill (a whole hour's minutes at once, then a day's hours).
func (r *ring[B, PB]) claim(s int64, newBucket func(tier int) PB, tier int) PB {
	e := &r.entries[s&r.mask]
	if e.slot == r.curSlot {
		r.curSlot, r.cur = noSlot, nil // evicted
	}
	if r.seal && s > r.newest && r.cur != nil {
		r.cur.Seal()
	}
	if e.slot == noSlot {
		r.live++
	}
	b := e.b
	switch {
	case b != nil:
		b.Reset()
	case len(r.spare) > 0:
		b = r.spare[len(r.spare)-1]
		r.spare[len(r.spare)-1] = nil
		r.spare = r.spare[:len(r.spare)-1]
		b.Reset()
	default:
		b = newBucket(tier)
	}
	e.slot, e.b = s, b
	if s >= r.newest {
		r.newest, r.curSlot, r.cur = s, s, b
	} else if r.seal {
		b.Seal()
	}
	return b
}

// each calls fn for every bucket with a slot in [from, to), in no set order.
func (r *ring[B, PB]) each(from, to int64, fn func(s int64, b PB)) {
	to = min(to, r.newest+1)
	if from >= to {
		return
	}
	if from >= to-int64(len(r.entries)) { // (to is a real slot here, so this cannot overflow)
		for s := from; s < to; s++ {
			if b := r.get(s); b != nil {
				fn(s, b)
			}
		}
		return
	}
	for _, e := range r.entries {
		if e.slot != noSlot && e.slot >= from && e.slot < to {
			fn(e.slot, e.b)
		}
	}
}

// release frees the buckets of slots before oldest that are already folded
// (or, for the last tier, that nothing will fold), keeping a few for reuse.
// A stale bucket whose index a new slot claims within a few buckets' time
// (the finest tier's ring is only a little longer than its retention) is
// kept for that claim, unless the ring is sparse, at most half full: in a
// busy ring, freeing it would only make the claim allocate, while a quiet
// key should not hold a ring of stale buckets. It looks only at slots it
// has not looked at before. (A bucket left behind the mark is reused or
// freed when its index is claimed again.)
func (r *ring[B, PB]) release(oldest int64, last bool) {
	if !last {
		oldest = min(oldest, r.folded)
	}
	if r.reuseSoon && 2*r.live > len(r.entries) {
		r.released = max(r.released, oldest)
		return
	}
	free := func(e *entry[PB]) {
		if e.slot == r.curSlot {
			r.curSlot, r.cur = noSlot, nil
		}
		if len(r.spare) < maxSpare {
			r.spare = append(r.spare, e.b)
		}
		*e = entry[PB]{slot: noSlot}
		r.live--
	}
	if size := int64(len(r.entries)); r.released < oldest-size {
		// More than a ring's worth of time passed: look at every index.
		for i := range r.entries {
			if e := &r.entries[i]; e.slot != noSlot && e.slot < oldest {
				free(e)
			}
		}
	} else {
		for s := r.released; s < oldest; s++ {
			if e := &r.entries[s&r.mask]; e.slot == s {
				free(e)
			}
		}
	}
	r.released = max(r.released, oldest)
}

// count returns the number of buckets the ring holds, spares included.
func (r *ring[B, PB]) count() int {
	n := len(r.spare)
	for _, e := range r.entries {
		if e.slot != noSlot {
			n++
		}
	}
	return n
}
