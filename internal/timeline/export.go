package timeline

import "slices"

// Export calls fn, tier by tier, with every event the series holds in each
// bucket of that tier: for each slot no older than the tier keeps at now,
// what Collect would return. Each event is therefore reported once per
// tier. fn owns the bucket it is given. Export holds the coarse lock and
// every lane's lock while it runs, so what it reports is one consistent
// state of the series.
func (s *Series[B, PB]) Export(now int64, fn func(u Unit, b PB)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.lanes {
		s.lanes[i].mu.Lock()
		defer s.lanes[i].mu.Unlock()
	}
	var slots []int64
	for k := range s.layout.tiers {
		// The slots of tier k that hold events: its own buckets, and the
		// tier-k slot of every finer bucket not yet folded up.
		slots = slots[:0]
		oldest := s.layout.oldestKept(k, now)
		note := func(j int, x int64, _ PB) {
			if slot := s.layout.Slot(k, s.layout.Start(j, x)); slot >= oldest {
				slots = append(slots, slot)
			}
		}
		if k > 0 {
			s.coarse[k-1].each(oldest, s.coarse[k-1].newest+1, func(x int64, b PB) { note(k, x, b) })
		}
		for j := 1; j < k; j++ {
			r := &s.coarse[j-1]
			r.each(r.folded, r.newest+1, func(x int64, b PB) { note(j, x, b) })
		}
		for i := range s.lanes {
			r := &s.lanes[i].ring
			from := r.folded
			if k == 0 {
				from = oldest
			}
			r.each(from, r.newest+1, func(x int64, b PB) { note(0, x, b) })
		}
		slices.Sort(slots)
		for _, slot := range slices.Compact(slots) {
			b := s.newBucket(k)
			s.collect(Unit{Tier: k, Slot: slot}, b, false)
			fn(Unit{Tier: k, Slot: slot}, b)
		}
	}
}

// Absorb adds to the series, for each unit, every event of b: buckets as
// Export reports them, from another series of the same tiers (a replica's
// snapshot). Units the series can no longer hold (their ring index holds a
// newer slot) are skipped: they are older than its retention. Absorb folds
// everything first and marks the absorbed slots folded, so each absorbed
// bucket is counted once per tier. It holds the series' locks while it runs.
func (s *Series[B, PB]) Absorb(units []Unit, buckets []PB) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.lanes {
		s.lanes[i].mu.Lock()
		defer s.lanes[i].mu.Unlock()
	}
	// Fold every open bucket of every tier, so that the buckets absorbed
	// below (complete for their own tier) never get folded up again. The
	// loops fold explicitly, tier by tier; with noSlot for now, the claims
	// they make fold nothing of their own.
	for i := range s.lanes {
		r := &s.lanes[i].ring
		if r.newest >= r.folded {
			r.each(r.folded, r.newest+1, func(x int64, b PB) {
				s.addCoarse(1, noSlot, s.layout.Start(0, x), func(dst PB) { dst.Merge(b) })
			})
			r.folded = r.newest + 1
		}
	}
	for k := 1; k < len(s.coarse); k++ {
		r := &s.coarse[k-1]
		if r.newest >= r.folded {
			r.each(r.folded, r.newest+1, func(x int64, b PB) {
				s.addCoarse(k+1, noSlot, s.layout.Start(k, x), func(dst PB) { dst.Merge(b) })
			})
			r.folded = r.newest + 1
		}
	}
	for i, u := range units {
		r := &s.lanes[0].ring
		if u.Tier > 0 {
			r = &s.coarse[u.Tier-1]
		}
		b := r.get(u.Slot)
		if b == nil {
			if r.holder(u.Slot) > u.Slot {
				continue
			}
			b = r.claim(u.Slot, s.newBucket, u.Tier) // evicts an older, folded slot
		}
		b.Merge(buckets[i])
		if u.Tier < len(s.coarse) { // a tier that folds into a next one
			r.folded = max(r.folded, u.Slot+1)
		}
	}
}
