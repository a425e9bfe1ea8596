package timeline

import (
	"math"
	"sync"
	"sync/atomic"
)

// Bucket is the constraint on what a Series keeps per time slot: a pointer
// to B that can be emptied, can absorb another bucket, and can be sealed.
//
// Seal tells a coarse-tier bucket that its time slot is over: a series seals
// a tier's bucket once a newer slot of that tier is claimed, and claims an
// older slot (for a late event or a snapshot) sealed. A sealed bucket must
// still take writes and merges (late events), but may trade their speed for
// memory; Reset unseals it. Finest-tier buckets are never sealed.
type Bucket[B any] interface {
	*B
	Reset()
	Merge(*B)
	Seal()
}

// Series is the time-bucketed history of one key (one segment × touchpoint),
// kept in every tier of a Layout. It is safe for concurrent use.
//
// Writes go to the finest tier only, split over lanes: each lane is a ring
// of finest-tier buckets with its own lock, so writers on different cores
// (each with its own lane) never share a cache line. When a lane opens a
// bucket whose next-tier bucket (its hour) is new, every lane's buckets of
// the ended hour are folded into the next tier, and that tier folds its
// ended buckets into the one after the same way, so each event is written
// once and coarse tiers are built a whole bucket at a time. An event that arrives after its
// bucket was folded (a late event) is also added to the coarser tiers
// directly. Rotation is lazy: a ring index is reused when a newer slot
// claims it, after its bucket was folded; no goroutine ticks.
//
// Collect answers "every event in this bucket of this tier", whatever has
// been folded so far: the tier's own bucket plus the finer buckets inside it
// that are not folded yet. Folding moves events between tiers under the
// coarse lock, which Collect holds, so a reader never sees an event twice or
// not at all. Readers hold a lane's lock only while merging one bucket.
type Series[B any, PB Bucket[B]] struct {
	layout    *Layout
	newBucket func(tier int) PB

	mu      sync.Mutex    // guards coarse; taken before any lane's lock
	coarse  []ring[B, PB] // tiers 1 and up: coarse[k-1] is tier k
	lanes   []lane[B, PB] // tier 0
	retired atomic.Bool   // set under every lock: Add writes nothing any more
}

type lane[B any, PB Bucket[B]] struct {
	mu   sync.Mutex
	ring ring[B, PB]
	_    [8]byte // pad to 128 bytes: lanes never share a cache line (TestLaneSize)
}

// NewSeries returns an empty series on layout with the given number of lanes
// (at least 1). newBucket returns an empty bucket for a tier; it is called
// the first time each ring index is used. (The tier lets a bucket choose
// its layout: the finest tiers are written often, the coarser mostly read.)
func NewSeries[B any, PB Bucket[B]](layout *Layout, lanes int, newBucket func(tier int) PB) *Series[B, PB] {
	s := new(Series[B, PB])
	s.Init(layout, lanes, newBucket)
	return s
}

// Init makes s an empty series, as NewSeries does, in place: a series kept
// inside a larger struct saves a pointer hop on every write.
func (s *Series[B, PB]) Init(layout *Layout, lanes int, newBucket func(tier int) PB) {
	*s = Series[B, PB]{layout: layout, newBucket: newBucket, lanes: make([]lane[B, PB], max(lanes, 1))}
	for i := range s.lanes {
		s.lanes[i].ring = newRing[B, PB](&layout.tiers[0], true)
	}
	for i := range layout.tiers[1:] {
		s.coarse = append(s.coarse, newRing[B, PB](&layout.tiers[i+1], false))
	}
}

// Lanes returns the number of lanes.
func (s *Series[B, PB]) Lanes() int { return len(s.lanes) }

// Add applies write to the bucket that holds time t, on lane ln (taken
// modulo the number of lanes), as of time now. t must have passed
// s.layout.Check(now, t). write runs under a lock and must not call back
// into s. In the common case, a bucket that is open already, Add takes
// only the lane's lock. It reports whether another writer held that lock:
// a caller that keeps meeting one on its lane should move to another. It
// writes nothing and returns ok == false once the series is retired.
func (s *Series[B, PB]) Add(ln int, now, t int64, write func(PB)) (contended, ok bool) {
	l := &s.lanes[uint(ln)%uint(len(s.lanes))]
	slot := s.layout.Slot(0, t)
	if !l.mu.TryLock() {
		contended = true
		l.mu.Lock()
	}
	if s.retired.Load() {
		l.mu.Unlock()
		return contended, false
	}
	if slot >= l.ring.folded {
		if b := l.ring.get(slot); b != nil {
			write(b)
			l.mu.Unlock()
			return contended, true
		}
	}
	l.mu.Unlock()

	s.mu.Lock()
	l.mu.Lock()
	if s.retired.Load() {
		l.mu.Unlock()
		s.mu.Unlock()
		return contended, false
	}
	if slot >= l.ring.folded {
		write(s.claimFine(l, slot, now))
	} else {
		// Late: the bucket of t was folded already, so t goes into the
		// finest bucket, if a window can still read it there, and into the
		// tiers above, directly.
		if slot >= s.layout.oldestKept(0, now) && l.ring.holder(slot) <= slot {
			b := l.ring.get(slot)
			if b == nil {
				b = l.ring.claim(slot, s.newBucket, 0) // evicts a folded slot older than t
			}
			write(b)
		}
		s.addCoarse(1, now, t, write)
	}
	l.mu.Unlock()
	s.mu.Unlock()
	return contended, true
}

// Retire makes every later Add write nothing and report so, if the series
// holds no event at or after time idleBefore in any tier (math.MaxInt64:
// whatever it holds), and reports whether it did. A caller drops a retired
// series from its index and sends writers that find it to a new one: a
// write either lands before Retire, and keeps the series, or finds it
// retired, so none is lost.
func (s *Series[B, PB]) Retire(idleBefore int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.lanes {
		s.lanes[i].mu.Lock()
		defer s.lanes[i].mu.Unlock()
	}
	if idleBefore != math.MaxInt64 {
		for i := range s.lanes {
			if r := &s.lanes[i].ring; r.newest != noSlot && s.layout.Start(0, r.newest+1) > idleBefore {
				return false
			}
		}
		for k := range s.coarse {
			if r := &s.coarse[k]; r.newest != noSlot && s.layout.Start(k+1, r.newest+1) > idleBefore {
				return false
			}
		}
	}
	s.retired.Store(true)
	return true
}

// claimFine returns lane l's bucket for slot ≥ l.ring.folded, claiming and
// folding as needed. Caller holds s.mu and l.mu.
func (s *Series[B, PB]) claimFine(l *lane[B, PB], slot, now int64) PB {
	if b := l.ring.get(slot); b != nil {
		return b
	}
	// Fold what is closed as of now, a whole next-tier bucket at a time
	// (minutes when their hour has ended), and at least everything the
	// claim evicts or makes unreachable: slots a whole ring behind. (For an
	// event that passed Check(now, t) the first bound covers the second;
	// Absorb, which has no "now", relies on the second.) Folding by whole
	// hours means a key folds once an hour, while its hour's buckets are
	// still in cache, and an event late by less than the current hour
	// finds its minute still open. Every lane folds to the same bound, so a
	// quiet lane neither keeps the coarse tiers waiting nor holds stale
	// buckets.
	bound := s.foldBound(0, slot, now)
	if l.ring.folded < bound {
		s.foldLanes(l, bound, now)
	}
	return l.ring.claim(slot, s.newBucket, 0)
}

// foldBound returns how far tier k folds when slot is claimed at now: up
// to the start of the next tier's bucket that holds min(slot, now), and at
// least past every slot a whole ring behind slot.
func (s *Series[B, PB]) foldBound(k int, slot, now int64) int64 {
	closed := min(slot, s.layout.Slot(k, now))
	if k+1 < len(s.layout.tiers) {
		closed = s.layout.Slot(k, s.layout.Start(k+1, s.layout.Slot(k+1, s.layout.Start(k, closed))))
	}
	return max(closed, slot-s.layout.tiers[k].size+1)
}

// foldLanes folds every lane to bound and releases the buckets no window
// reads any more, in every tier. Caller holds s.mu and l.mu.
func (s *Series[B, PB]) foldLanes(l *lane[B, PB], bound, now int64) {
	oldest := s.layout.oldestKept(0, now)
	for i := range s.lanes {
		o := &s.lanes[i]
		if o != l {
			o.mu.Lock() // safe: only the holder of s.mu takes two lane locks
		}
		if o.ring.folded < bound {
			o.ring.each(o.ring.folded, bound, func(x int64, b PB) {
				s.addCoarse(1, now, s.layout.Start(0, x), func(dst PB) { dst.Merge(b) })
			})
			o.ring.folded = bound
		}
		o.ring.release(oldest, len(s.coarse) == 0)
		if o != l {
			o.mu.Unlock()
		}
	}
	for k := range s.coarse {
		s.coarse[k].release(s.layout.oldestKept(k+1, now), k == len(s.coarse)-1)
	}
}

// addCoarse applies write to the bucket holding t in tier k, and in every
// tier above that has already folded t's bucket. Caller holds s.mu.
func (s *Series[B, PB]) addCoarse(k int, now, t int64, write func(PB)) {
	for ; k <= len(s.coarse); k++ {
		r := &s.coarse[k-1]
		last := k == len(s.coarse)
		slot := s.layout.Slot(k, t)
		b := r.get(slot)
		if b == nil {
			if r.holder(slot) > slot || (!last && slot < s.layout.oldestKept(k, now)) {
				// This tier no longer holds t's slot, or no window reads it
				// here any more: the next tier has it, or will when this one
				// folds.
				continue
			}
			b = s.claimCoarse(k, slot, now)
		}
		write(b)
		if last || slot >= r.folded {
			return // not folded yet: the fold will carry it up
		}
	}
}

// claimCoarse claims slot in tier k ≥ 1, folding first. Caller holds s.mu.
func (s *Series[B, PB]) claimCoarse(k int, slot, now int64) PB {
	r := &s.coarse[k-1]
	if k < len(s.coarse) {
		bound := s.foldBound(k, slot, now)
		if r.folded < bound {
			r.each(r.folded, bound, func(x int64, b PB) {
				s.addCoarse(k+1, now, s.layout.Start(k, x), func(dst PB) { dst.Merge(b) })
			})
			r.folded = bound
		}
	}
	return r.claim(slot, s.newBucket, k)
}

// Collect merges into dst every event of unit u that the series holds.
func (s *Series[B, PB]) Collect(u Unit, dst PB) {
	if u.Tier == 0 {
		s.CollectFine(u.Slot, u.Slot+1, dst)
		return
	}
	s.mu.Lock()
	s.collect(u, dst, true)
	s.mu.Unlock()
}

// collect merges into dst the events of u: its own bucket, and the buckets
// of finer tiers inside it that are not folded up yet. Caller holds s.mu,
// and the lanes' locks unless lockLanes.
func (s *Series[B, PB]) collect(u Unit, dst PB, lockLanes bool) {
	merge := func(_ int64, b PB) { dst.Merge(b) }
	start, end := s.layout.Start(u.Tier, u.Slot), s.layout.Start(u.Tier, u.Slot+1)
	if u.Tier > 0 {
		if b := s.coarse[u.Tier-1].get(u.Slot); b != nil {
			dst.Merge(b)
		}
		for j := 1; j < u.Tier; j++ {
			r := &s.coarse[j-1]
			r.each(max(r.folded, s.layout.Slot(j, start)), s.layout.Slot(j, end), merge)
		}
	}
	from, to := s.layout.Slot(0, start), s.layout.Slot(0, end)
	for i := range s.lanes {
		l := &s.lanes[i]
		if lockLanes {
			l.mu.Lock()
		}
		if u.Tier > 0 {
			l.ring.each(max(from, l.ring.folded), to, merge)
		} else {
			l.ring.each(from, to, merge)
		}
		if lockLanes {
			l.mu.Unlock()
		}
	}
}

// CollectFine merges into dst the finest-tier buckets of slots [from, to).
// Every event the finest tier retains is in them, folded or not.
func (s *Series[B, PB]) CollectFine(from, to int64, dst PB) {
	merge := func(_ int64, b PB) { dst.Merge(b) }
	for i := range s.lanes {
		l := &s.lanes[i]
		l.mu.Lock()
		l.ring.each(from, to, merge)
		l.mu.Unlock()
	}
}

// Buckets returns the number of buckets the series holds in memory.
func (s *Series[B, PB]) Buckets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for i := range s.coarse {
		n += s.coarse[i].count()
	}
	for i := range s.lanes {
		l := &s.lanes[i]
		l.mu.Lock()
		n += l.ring.count()
		l.mu.Unlock()
	}
	return n
}

// Retired reports whether Retire retired the series.
func (s *Series[B, PB]) Retired() bool { return s.retired.Load() }
