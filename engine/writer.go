package engine

import "unsafe"

// writer is a recorder's per-core state, handed out by a sync.Pool so that
// each core keeps reusing its own: its lane, its last clock reading, and
// the keys it recorded last.
type writer struct {
	lane   int
	events uint32
	now    int64 // last clock reading, ns
	oldest int64 // oldest event time accepted at now
	keys   [keyCacheSize]keyCacheEntry
}

func (w *writer) readClock(e *Engine) {
	w.now = e.set.clock.Now().UnixNano()
	w.oldest = e.layout.Oldest(w.now)
}

// The key cache maps the identity of an event's label strings (where their
// bytes are, and how many) to the key's series, skipping the hash and the
// map lookup. Callers that reuse their label strings, as almost every
// service does (constants, interned names), hit it nearly always; others
// just miss. Equal pointer and length mean equal strings because Go strings
// are immutable. Entries never go stale: series are never removed.
// With 1,024 entries (32 KiB per core) the thousand keys of a typical
// deployment fit; on the benchmark workload it takes a third off Record.
const keyCacheSize = 1024

type keyCacheEntry struct {
	segment, touchpoint unsafe.Pointer
	segLen, tpLen       uint32 // labels are at most MaxLabelBytes long
	s                   *series
}

func (w *writer) cachedKey(ev *Event) (*keyCacheEntry, bool) {
	seg, tp := unsafe.Pointer(unsafe.StringData(ev.Segment)), unsafe.Pointer(unsafe.StringData(ev.Touchpoint))
	h := (uintptr(seg)*0x9e3779b97f4a7c15 ^ uintptr(tp)*0xc2b2ae3d27d4eb4f) >> (64 - 10)
	c := &w.keys[h%keyCacheSize]
	return c, c.segment == seg && c.touchpoint == tp && int(c.segLen) == len(ev.Segment) && int(c.tpLen) == len(ev.Touchpoint) && c.s != nil
}

func (c *keyCacheEntry) remember(ev *Event, s *series) {
	*c = keyCacheEntry{
		segment: unsafe.Pointer(unsafe.StringData(ev.Segment)), touchpoint: unsafe.Pointer(unsafe.StringData(ev.Touchpoint)),
		segLen: uint32(len(ev.Segment)), tpLen: uint32(len(ev.Touchpoint)), s: s,
	}
}
