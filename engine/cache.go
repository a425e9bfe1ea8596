package engine

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
	"github.com/dgraph-io/ristretto/v2"

	"github.com/cxscore/cxscore/internal/timeline"
)

// Results of sealed time are cached. A finest-tier bucket is sealed once a
// query has run after it ended: its events are complete unless a late event
// arrives. The cache holds the merged buckets of sealed units (one bucket of
// one tier, over all keys of a roll-up) and of sealed spans (the closed part
// of a window or trend point), so a dashboard that polls every few seconds
// merges one cached result and the open minute instead of thousands of
// buckets.
//
// Correctness never depends on the cache: every entry's identity includes
// the versions below, and a miss (ristretto may drop or delay a Set)
// recomputes. Versions make stale entries unreachable:
//
//   - sealed is the end of the newest sealed finest slot, raised by every
//     query before it reads anything;
//   - a write of time t < sealed (a late event) bumps lateAll and the
//     version of t's slot in every tier, after its bucket is written;
//   - epoch is bumped when state is replaced wholesale (merge, restore).
//
// A query raises sealed, then reads versions, then reads buckets. A late
// write either lands before the read (and is in the result) or loads
// sealed after it was raised and bumps a version the entry was keyed on.
type versions struct {
	sealed atomic.Int64
	epoch  atomic.Uint64
	late   atomic.Uint64
	units  [][unitVersions]atomic.Uint64 // per tier, per slot modulo unitVersions
}

const unitVersions = 1024

func newVersions(tiers int) *versions {
	return &versions{units: make([][unitVersions]atomic.Uint64, tiers)}
}

// seal raises sealed to at least t.
func (v *versions) seal(t int64) {
	for {
		cur := v.sealed.Load()
		if cur >= t || v.sealed.CompareAndSwap(cur, t) {
			return
		}
	}
}

// wrote records that an event of time t was written; call it after the write.
func (v *versions) wrote(l *timeline.Layout, t int64) {
	if t >= v.sealed.Load() {
		return
	}
	for k := range v.units {
		v.units[k][uint64(l.Slot(k, t))%unitVersions].Add(1)
	}
	v.late.Add(1)
}

func (v *versions) unit(u timeline.Unit) uint64 {
	return v.units[u.Tier][uint64(u.Slot)%unitVersions].Load()
}

// Entry kinds.
const (
	kindUnit = 1 // from, to = tier, slot
	kindSpan = 2 // from, to = Unix ns
)

// entryID identifies a cached result completely.
type entryID struct {
	kind                uint8
	segment, touchpoint string // a selector: All for every one
	from, to            int64
	version, epoch      uint64
}

func (id *entryID) hash() uint64 {
	var buf [1 + 4*8]byte
	buf[0] = id.kind
	binary.LittleEndian.PutUint64(buf[1:], uint64(id.from))
	binary.LittleEndian.PutUint64(buf[9:], uint64(id.to))
	binary.LittleEndian.PutUint64(buf[17:], id.version)
	binary.LittleEndian.PutUint64(buf[25:], id.epoch)
	h := xxhash.Sum64(buf[:])
	return h ^ keyHash(id.segment, id.touchpoint)
}

type entry struct {
	id      entryID
	b       *bucket       // immutable once cached
	uniques atomic.Uint64 // b's unique-customer estimate + 1, once computed
}

// estimate returns b's unique-customer count, computed once per entry: a
// polled trend's sealed points then cost a lookup each, not an estimate.
func (en *entry) estimate() uint64 {
	if u := en.uniques.Load(); u != 0 {
		return u - 1
	}
	u := en.b.uniq.Estimate()
	en.uniques.Store(u + 1)
	return u
}

// resultCache is a bounded cache of merged buckets.
type resultCache struct {
	c *ristretto.Cache[uint64, *entry]
}

func newResultCache(bytes int64) (*resultCache, error) {
	if bytes < 0 {
		return nil, nil
	}
	// A small entry is a histogram and a few fingerprints; aim the
	// admission counters at about ten per entry, as ristretto advises.
	items := max(bytes/512, 1000)
	c, err := ristretto.NewCache(&ristretto.Config[uint64, *entry]{
		NumCounters:        10 * items,
		MaxCost:            bytes,
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, err
	}
	return &resultCache{c: c}, nil
}

// get returns the cached entry of id, or nil.
func (c *resultCache) get(id *entryID) *entry {
	if c == nil {
		return nil
	}
	e, ok := c.c.Get(id.hash())
	if !ok || e.id != *id { // a 64-bit collision is not a hit
		return nil
	}
	return e
}

// set caches b (which must not change afterwards) under id, and returns
// its entry; ristretto may drop it.
func (c *resultCache) set(id *entryID, b *bucket) *entry {
	en := &entry{id: *id, b: b}
	if c != nil {
		c.c.Set(id.hash(), en, int64(b.bytes()+96+len(id.segment)+len(id.touchpoint)))
	}
	return en
}

func (c *resultCache) close() {
	if c != nil {
		c.c.Close()
	}
}
