package engine

import "sync/atomic"

// keyCache spares Record the two label hashes and the key table lookup for
// the keys it sees most: a direct-mapped table of series indexed by a cheap
// hash of the labels' lengths and end bytes. A hit is confirmed by comparing
// the labels with the series' own copies, so a collision or a stale entry
// only costs a miss, never a wrong series, and the cache holds no caller's
// string. Entries are written on a miss (rare once a service's keys are
// known) and cleared when their key is deleted, so the cache's cache lines
// are read-shared by every core. With 4,096 entries (32 KiB) the thousand
// keys of a typical deployment fit.
type keyCache struct {
	entries [keyCacheSize]atomic.Pointer[series]
}

const keyCacheSize = 4096

func (c *keyCache) slot(segment, touchpoint string) *atomic.Pointer[series] {
	h := labelHash(segment)*0x9e3779b97f4a7c15 ^ labelHash(touchpoint)
	return &c.entries[(h>>40)%keyCacheSize]
}

// get returns the cached series of the key, or nil.
func (c *keyCache) get(segment, touchpoint string) *series {
	s := c.slot(segment, touchpoint).Load()
	if s != nil && s.key.Segment == segment && s.key.Touchpoint == touchpoint {
		return s
	}
	return nil
}

func (c *keyCache) put(s *series) { c.slot(s.key.Segment, s.key.Touchpoint).Store(s) }

// forget clears s's entry, if s holds it.
func (c *keyCache) forget(s *series) { c.slot(s.key.Segment, s.key.Touchpoint).CompareAndSwap(s, nil) }

// labelHash mixes a label's length with its first and last bytes: enough to
// tell a service's labels apart, in a few instructions.
func labelHash(s string) uint64 {
	n := len(s)
	if n == 0 {
		return 0
	}
	h := uint64(n)<<48 | uint64(s[0])<<40 | uint64(s[n-1])<<32 | uint64(s[n/2])<<24
	if n >= 4 {
		h ^= uint64(s[1])<<16 | uint64(s[n-2])<<8 | uint64(s[n/2-1])
	}
	return h * 0xc2b2ae3d27d4eb4f
}
