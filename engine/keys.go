package engine

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
)

// keyTable maps segment × touchpoint to its series. Lookups are lock-free:
// each of 64 shards (picked by the key's xxhash) publishes a copy-on-write
// map behind an atomic pointer, so the record path pays one atomic load and
// one map lookup. New keys are rare after warm-up; creating one copies only
// its shard's map.
//
// Keys also go: one whose buckets have all aged out is dropped by a sweep,
// run by Record once a minute of the times it records at (a sweep of 10,000
// keys takes about a millisecond), and DeleteKeys drops keys on request. A dropped series is retired
// first (see timeline.Series.Retire), so a writer that still holds it, from
// the key cache or a lookup, records into the key's new series instead.
type keyTable struct {
	shards [64]keyShard
	create sync.Mutex                // serializes key creation and removal; guards count and overflow
	count  int                       // keys, the overflow key not counted
	all    atomic.Pointer[[]*series] // every series, in creation order; copy-on-write
	mem    *memory                   // Config.MaxBytes, checked before a key is created

	overflow  *series      // the overflow key's series, once created
	overflows atomic.Int64 // events recorded into the overflow key in place of their own
	nextSweep atomic.Int64 // engine time (ns) of the next expiry sweep
}

type keyShard struct {
	m atomic.Pointer[map[uint64]*series]
	_ [120]byte // a shard per 128 bytes: cores reading different shards share no line
}

// sweepEvery is how often, in engine time, keys are checked for expiry.
const sweepEvery = int64(time.Minute)

// keyHash hashes a key without building "segment|touchpoint": two xxhashes
// combined as in boost's hash_combine. Equal hashes are told apart by
// comparing the strings.
func keyHash(segment, touchpoint string) uint64 {
	h := xxhash.Sum64String(segment)
	return h ^ (xxhash.Sum64String(touchpoint) + 0x9e3779b97f4a7c15 + h<<6 + h>>2)
}

func (t *keyTable) shard(h uint64) *keyShard { return &t.shards[h>>58] }

// get returns the series of a key, or nil.
func (t *keyTable) get(segment, touchpoint string, h uint64) *series {
	m := t.shard(h).m.Load()
	if m == nil {
		return nil
	}
	for s := (*m)[h]; s != nil; s = s.next.Load() {
		if s.key.Segment == segment && s.key.Touchpoint == touchpoint {
			return s
		}
	}
	return nil
}

// lookup returns the series to record an event of segment × touchpoint
// into at engine time now: the key's own, created if need be, or the
// overflow key's once MaxKeys keys exist. It caches the key's series.
func (e *Engine) lookup(segment, touchpoint string, now int64) (*series, error) {
	t := &e.keys
	h := keyHash(segment, touchpoint)
	if s := t.get(segment, touchpoint, h); s != nil && !s.data.Retired() {
		e.keyCache.put(s)
		return s, nil
	}
	if err := checkLabel(ErrInvalidSegment, "segment", segment); err != nil {
		return nil, err
	}
	if err := checkLabel(ErrInvalidTouchpoint, "touchpoint", touchpoint); err != nil {
		return nil, err
	}
	t.create.Lock()
	defer t.create.Unlock()
	// Under the lock no retired series is in the table: retiring and
	// removing happen together, under it.
	if s := t.get(segment, touchpoint, h); s != nil {
		e.keyCache.put(s)
		return s, nil // created meanwhile
	}
	if t.count >= e.set.maxKeys && now >= t.nextSweep.Load() {
		e.sweepLocked(now) // free the keys that aged out first
	}
	if t.count < e.set.maxKeys {
		if err := t.mem.admit(1, Key{segment, touchpoint}); err != nil {
			return nil, err
		}
		s := t.add(Key{Segment: segment, Touchpoint: touchpoint}, e.newSeries)
		t.count++
		e.keyCache.put(s)
		return s, nil
	}
	if o := e.set.overflow; o != (Key{}) {
		if t.overflow == nil || t.overflow.data.Retired() {
			if t.overflow = t.get(o.Segment, o.Touchpoint, keyHash(o.Segment, o.Touchpoint)); t.overflow == nil {
				t.overflow = t.add(o, e.newSeries)
			}
		}
		t.overflows.Add(1)
		return t.overflow, nil
	}
	return nil, fmt.Errorf("%w: segment %q × touchpoint %q would be key %d, the limit is %d", ErrTooManyKeys, segment, touchpoint, t.count+1, e.set.maxKeys)
}

// add creates and publishes the series of a key that does not exist yet.
// Caller holds t.create and counts the key.
func (t *keyTable) add(k Key, newSeries func(Key, uint64) *series) *series {
	h := keyHash(k.Segment, k.Touchpoint)
	// Labels are kept in a string of their own, not in the caller's (possibly
	// much larger) buffer.
	s := newSeries(Key{Segment: clone(k.Segment), Touchpoint: clone(k.Touchpoint)}, h)
	sh := t.shard(h)
	m := make(map[uint64]*series, 1)
	if old := sh.m.Load(); old != nil {
		m = make(map[uint64]*series, len(*old)+1)
		for k, v := range *old {
			m[k] = v
		}
	}
	s.next.Store(m[h])
	m[h] = s
	sh.m.Store(&m)
	var all []*series
	if old := t.all.Load(); old != nil {
		all = *old
	}
	all = append(all, s) // readers hold their own length; the elements they see never change
	t.all.Store(&all)
	return s
}

// removeLocked drops retired series from the table. Caller holds t.create.
func (e *Engine) removeLocked(gone []*series) {
	t := &e.keys
	if len(gone) == 0 {
		return
	}
	dropped := make(map[*series]bool, len(gone))
	for _, s := range gone {
		dropped[s] = true
		e.keyCache.forget(s)
		e.resp.refs.drop(s)
		if s == t.overflow {
			t.overflow = nil
		} else {
			t.count--
		}
	}
	for i := range t.shards {
		sh := &t.shards[i]
		old := sh.m.Load()
		if old == nil {
			continue
		}
		touched := false
		for _, s := range gone {
			if t.shard(s.hash) == sh {
				touched = true
			}
		}
		if !touched {
			continue
		}
		// A chain of keys with equal hashes (64-bit: practically never) is
		// relinked past the dropped ones; a reader walking it meanwhile
		// still finds every key it holds.
		m := make(map[uint64]*series, len(*old))
		for h, head := range *old {
			var keep []*series
			for s := head; s != nil; s = s.next.Load() {
				if !dropped[s] {
					keep = append(keep, s)
				}
			}
			for i, s := range keep {
				if i+1 < len(keep) {
					s.next.Store(keep[i+1])
				} else if s.next.Load() != nil {
					s.next.Store(nil)
				}
			}
			if len(keep) > 0 {
				m[h] = keep[0]
			}
		}
		sh.m.Store(&m)
	}
	var all []*series
	for _, s := range t.series() {
		if !dropped[s] {
			all = append(all, s)
		}
	}
	t.all.Store(&all)
}

func clone(s string) string { return string([]byte(s)) }

// series returns every series, in creation order. The slice is shared: do
// not modify it.
func (t *keyTable) series() []*series {
	if all := t.all.Load(); all != nil {
		return *all
	}
	return nil
}

// keys appends every key to dst, sorted by segment then touchpoint.
func (t *keyTable) keys(dst []Key) []Key {
	n := len(dst)
	for _, s := range t.series() {
		dst = append(dst, s.key)
	}
	slices.SortFunc(dst[n:], compareKeys)
	return dst
}

func compareKeys(a, b Key) int {
	return cmp.Or(cmp.Compare(a.Segment, b.Segment), cmp.Compare(a.Touchpoint, b.Touchpoint))
}

// getOrCreateAll returns the series of every key, creating the missing ones
// at once: either all fit under maxKeys or none is created. The keys must
// be valid.
func (e *Engine) getOrCreateAll(keys []Key) ([]*series, error) {
	t := &e.keys
	t.create.Lock()
	defer t.create.Unlock()
	out := make([]*series, len(keys))
	missing, counted := 0, 0 // the overflow key is not counted towards MaxKeys
	for i, k := range keys {
		if out[i] = t.get(k.Segment, k.Touchpoint, keyHash(k.Segment, k.Touchpoint)); out[i] == nil {
			missing++
			if k != e.set.overflow {
				counted++
			}
		}
	}
	if t.count+counted > e.set.maxKeys {
		return nil, fmt.Errorf("%w: merging would make %d keys, the limit is %d", ErrTooManyKeys, t.count+counted, e.set.maxKeys)
	}
	if err := t.mem.admit(missing, Key{}); err != nil {
		return nil, err
	}
	for i, k := range keys {
		if out[i] != nil {
			continue
		}
		out[i] = t.add(k, e.newSeries)
		if k == e.set.overflow {
			t.overflow = out[i]
		} else {
			t.count++
		}
	}
	return out, nil
}

// maybeSweep drops the keys that aged out as of now, if a minute has passed
// since the last sweep. now is a time Record checked events against: the
// sweep is a rotation of the key table, driven by the same times as the
// rotation of buckets, never by a query's now.
func (e *Engine) maybeSweep(now int64) {
	if now < e.keys.nextSweep.Load() {
		return
	}
	e.keys.create.Lock()
	defer e.keys.create.Unlock()
	if now >= e.keys.nextSweep.Load() {
		e.sweepLocked(now)
	}
}

// sweepLocked drops every key that holds no event a window can still read
// at now. Caller holds e.keys.create.
func (e *Engine) sweepLocked(now int64) {
	e.keys.nextSweep.Store(now + sweepEvery)
	oldest := e.layout.Oldest(now)
	var gone []*series
	for _, s := range e.keys.series() {
		if s.data.Retire(oldest) {
			gone = append(gone, s)
		}
	}
	e.removeLocked(gone)
}

// DeleteKeys forgets a segment × touchpoint key and everything recorded for
// it, or every key of the segment when touchpoint is "" or All, and returns
// how many keys it deleted. Cached roll-ups that included them are dropped
// too. An event recorded while its key is deleted is either deleted with it
// or recorded into a new key of the same labels, never lost half-way.
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
	e.keys.create.Lock()
	defer e.keys.create.Unlock()
	var gone []*series
	for _, s := range e.keys.series() {
		if s.key.Segment == segment && (touchpoint == All || s.key.Touchpoint == touchpoint) {
			s.data.Retire(math.MaxInt64)
			gone = append(gone, s)
		}
	}
	e.removeLocked(gone)
	if len(gone) > 0 {
		e.versions.epoch.Add(1) // cached roll-ups counted them
	}
	return len(gone), nil
}
