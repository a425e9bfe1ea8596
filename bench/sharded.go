package bench

import (
	"fmt"
	"math/bits"
	"sync"
	"time"

	"github.com/axiomhq/hyperloglog"
	"github.com/cespare/xxhash/v2"

	"github.com/cxscore/cxscore/engine"
)

// shardedMinutes is how many minute buckets a Sharded key keeps: two
// hours, like the engine's minute tier.
const shardedMinutes = 120

// Sharded is the plain design a team writes when one mutex is too slow: 64
// mutex shards by key hash, each a map of keys, each key a ring of minute
// buckets with score counts and one HyperLogLog (axiomhq, precision 14) per
// bucket. It records only; events older than its two hours are dropped. It
// is safe for concurrent use.
type Sharded struct {
	shards [64]shardedShard
}

type shardedShard struct {
	mu   sync.Mutex
	keys map[engine.Key]*shardedKey
	_    [64]byte // keeps neighbouring shards' locks off one cache line
}

type shardedKey struct {
	buckets [shardedMinutes]shardedBucket
}

type shardedBucket struct {
	minute int64
	counts [4][11]uint64
	uniq   *hyperloglog.Sketch
}

// NewSharded returns an empty Sharded.
func NewSharded() *Sharded {
	s := &Sharded{}
	for i := range s.shards {
		s.shards[i].keys = map[engine.Key]*shardedKey{}
	}
	return s
}

// RecordAt records ev in its minute bucket, now being the arrival time.
func (s *Sharded) RecordAt(now time.Time, ev engine.Event) error {
	lo, hi := ev.Metric.Scale()
	if lo == hi || ev.Score < lo || ev.Score > hi {
		return fmt.Errorf("%v score %d out of range", ev.Metric, ev.Score)
	}
	minute := ev.Time.Unix() / 60
	if now.Unix()/60-minute >= shardedMinutes {
		return nil // older than the ring
	}
	k := engine.Key{Segment: ev.Segment, Touchpoint: ev.Touchpoint}
	sh := &s.shards[shardOf(k)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	key := sh.keys[k]
	if key == nil {
		key = new(shardedKey)
		sh.keys[k] = key
	}
	b := &key.buckets[minute%shardedMinutes]
	if b.minute != minute || b.uniq == nil {
		b.minute, b.counts = minute, [4][11]uint64{}
		if b.uniq == nil {
			b.uniq = hyperloglog.New14()
		} else {
			b.uniq.Reset()
		}
	}
	b.counts[ev.Metric][ev.Score-lo]++
	if ev.CustomerID != "" {
		b.uniq.InsertHash(xxhash.Sum64String(ev.CustomerID))
	}
	return nil
}

func shardOf(k engine.Key) uint64 {
	return (xxhash.Sum64String(k.Segment) ^ bits.RotateLeft64(xxhash.Sum64String(k.Touchpoint), 17)) & 63
}

// stripeKeys is how many key slots a Striped stripe has: keys are hashed
// onto them, collisions and all (a floor, not a design).
const stripeKeys = 1024

// Striped is the floor of recording: per-goroutine stripes of plain
// counters and HyperLogLog registers (precision 8) per key slot, no locks,
// no windows, no sharing between goroutines. It shows how far recording
// can scale with cores on this machine: Fork gives each goroutine a stripe
// of its own. A Striped and each fork are for one goroutine at a time.
type Striped struct {
	counts [stripeKeys][4][11]uint32
	regs   [stripeKeys][256]uint8
	_      [64]byte
}

// NewStriped returns an empty stripe.
func NewStriped() *Striped { return new(Striped) }

// Fork returns a new stripe, for another goroutine.
func (s *Striped) Fork() recorder { return NewStriped() }

// RecordAt counts ev and updates its key slot's HyperLogLog register.
func (s *Striped) RecordAt(_ time.Time, ev engine.Event) error {
	lo, hi := ev.Metric.Scale()
	if lo == hi || ev.Score < lo || ev.Score > hi {
		return fmt.Errorf("%v score %d out of range", ev.Metric, ev.Score)
	}
	slot := (xxhash.Sum64String(ev.Segment) ^ bits.RotateLeft64(xxhash.Sum64String(ev.Touchpoint), 17)) % stripeKeys
	s.counts[slot][ev.Metric][ev.Score-lo]++
	if ev.CustomerID != "" {
		x := xxhash.Sum64String(ev.CustomerID)
		r := &s.regs[slot][x>>56]
		*r = max(*r, uint8(bits.LeadingZeros64(x<<8|1<<7)+1))
	}
	return nil
}

// recorder is what the Record benchmarks time: one event recorded at a
// simulated now.
type recorder interface {
	RecordAt(now time.Time, ev engine.Event) error
}
