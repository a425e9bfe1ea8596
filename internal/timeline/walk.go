package timeline

import "unsafe"

// Walk calls fn with every bucket the series holds, in every tier: live
// buckets (holding a slot, possibly one older than any window reads but
// not yet released) with live true, and the spare buckets rings keep for
// reuse, whose contents are stale, with live false. It returns the bytes of
// the series' own structure outside the Series value: its lanes, its rings
// and their index arrays. Walk holds the coarse lock, and each lane's lock
// in turn while it walks that lane; fn must not call back into s. It costs
// a pass over every ring index.
func (s *Series[B, PB]) Walk(fn func(b PB, live bool)) (overhead int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	overhead = len(s.lanes)*int(unsafe.Sizeof(s.lanes[0])) + len(s.coarse)*int(unsafe.Sizeof(ring[B, PB]{}))
	for i := range s.coarse {
		overhead += s.coarse[i].walk(fn)
	}
	for i := range s.lanes {
		l := &s.lanes[i]
		l.mu.Lock()
		overhead += l.ring.walk(fn)
		l.mu.Unlock()
	}
	return overhead
}

// walk calls fn with r's buckets and returns the bytes of its arrays.
// Caller guards r.
func (r *ring[B, PB]) walk(fn func(b PB, live bool)) int {
	for _, e := range r.entries {
		if e.slot != noSlot {
			fn(e.b, true)
		}
	}
	for _, b := range r.spare {
		fn(b, false)
	}
	var e entry[PB]
	var b PB
	return cap(r.entries)*int(unsafe.Sizeof(e)) + cap(r.spare)*int(unsafe.Sizeof(b))
}
