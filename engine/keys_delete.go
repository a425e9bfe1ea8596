package engine

// This file is a stand-in for the engine's key deletion, so that the HTTP
// API can serve DELETE /v1/keys; the engine's own version replaces it.
//
// Known gap: a writer's per-core key cache may still point at a deleted
// series, and an event recorded through that entry right after the delete
// goes into the deleted series, not a new key. And two keys whose 64-bit
// hashes collide share a chain whose links are rewritten in place.

// DeleteKeys forgets a segment × touchpoint key and everything recorded for
// it, or every key of the segment when touchpoint is "" or All, and returns
// how many keys it deleted. Cached roll-ups that included them are dropped.
// segment must be a valid label: ErrInvalidSegment otherwise; ErrClosed
// after Close.
func (e *Engine) DeleteKeys(segment, touchpoint string) (int, error) {
	if e.closed.Load() {
		return 0, ErrClosed
	}
	if err := checkLabel(ErrInvalidSegment, "segment", segment); err != nil {
		return 0, err
	}
	if touchpoint == "" {
		touchpoint = All
	}
	gone := func(s *series) bool {
		return s.key.Segment == segment && (touchpoint == All || s.key.Touchpoint == touchpoint)
	}
	t := &e.keys
	t.create.Lock()
	defer t.create.Unlock()
	var keep []*series
	n := 0
	for _, s := range t.series() {
		if gone(s) {
			n++
		} else {
			keep = append(keep, s)
		}
	}
	if n == 0 {
		return 0, nil
	}
	for i := range t.shards {
		sh := &t.shards[i]
		old := sh.m.Load()
		if old == nil {
			continue
		}
		var m map[uint64]*series
		for h, head := range *old {
			kept := head
			for kept != nil && gone(kept) {
				kept = kept.next // deleted series at the head of a chain: skip them, shared series unchanged
			}
			for p := kept; p != nil && p.next != nil; {
				if gone(p.next) {
					p.next = p.next.next // only on a full 64-bit hash collision; see the gap above
				} else {
					p = p.next
				}
			}
			if kept == head {
				continue
			}
			if m == nil {
				m = make(map[uint64]*series, len(*old))
				for k, v := range *old {
					m[k] = v
				}
			}
			if kept == nil {
				delete(m, h)
			} else {
				m[h] = kept
			}
		}
		if m != nil {
			sh.m.Store(&m)
		}
	}
	t.count -= n
	t.all.Store(&keep)
	e.versions.epoch.Add(1) // cached roll-ups counted them
	return n, nil
}
