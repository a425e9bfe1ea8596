package engine

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// keyTable maps segment × touchpoint to its series. Lookups are lock-free:
// each of 64 shards (picked by the key's xxhash) publishes a copy-on-write
// map behind an atomic pointer, so the record path pays one atomic load and
// one map lookup. New keys are rare after warm-up; creating one copies only
// its shard's map.
type keyTable struct {
	shards [64]keyShard
	create sync.Mutex                // serializes key creation and guards count
	count  int                       // keys created
	all    atomic.Pointer[[]*series] // every series, in creation order; append-only
	mem    *memory                   // Config.MaxBytes, checked before a key is created
}

type keyShard struct {
	m atomic.Pointer[map[uint64]*series]
	_ [120]byte // a shard per 128 bytes: cores reading different shards share no line
}

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
	for s := (*m)[h]; s != nil; s = s.next {
		if s.key.Segment == segment && s.key.Touchpoint == touchpoint {
			return s
		}
	}
	return nil
}

// getOrCreate returns the series of a key, creating it with newSeries if the
// key is valid and fewer than maxKeys exist.
func (t *keyTable) getOrCreate(segment, touchpoint string, maxKeys int, newSeries func(Key, uint64) *series) (*series, error) {
	h := keyHash(segment, touchpoint)
	if s := t.get(segment, touchpoint, h); s != nil {
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
	if s := t.get(segment, touchpoint, h); s != nil {
		return s, nil // created meanwhile
	}
	if t.count >= maxKeys {
		return nil, fmt.Errorf("%w: segment %q × touchpoint %q would be key %d, the limit is %d", ErrTooManyKeys, segment, touchpoint, t.count+1, maxKeys)
	}
	if err := t.mem.admit(1, Key{segment, touchpoint}); err != nil {
		return nil, err
	}
	return t.add(Key{Segment: segment, Touchpoint: touchpoint}, newSeries), nil
}

// add creates and publishes the series of a key that does not exist yet.
// Caller holds t.create.
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
	s.next = m[h]
	m[h] = s
	sh.m.Store(&m)
	t.count++
	var all []*series
	if old := t.all.Load(); old != nil {
		all = *old
	}
	all = append(all, s) // readers hold their own length; the elements they see never change
	t.all.Store(&all)
	return s
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
func (t *keyTable) getOrCreateAll(keys []Key, maxKeys int, newSeries func(Key, uint64) *series) ([]*series, error) {
	t.create.Lock()
	defer t.create.Unlock()
	out := make([]*series, len(keys))
	missing := 0
	for i, k := range keys {
		if out[i] = t.get(k.Segment, k.Touchpoint, keyHash(k.Segment, k.Touchpoint)); out[i] == nil {
			missing++
		}
	}
	if t.count+missing > maxKeys {
		return nil, fmt.Errorf("%w: merging would make %d keys, the limit is %d", ErrTooManyKeys, t.count+missing, maxKeys)
	}
	if err := t.mem.admit(missing, Key{}); err != nil {
		return nil, err
	}
	for i, k := range keys {
		if out[i] == nil {
			out[i] = t.add(k, newSeries)
		}
	}
	return out, nil
}
