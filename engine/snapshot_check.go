package engine

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/cxscore/cxscore/internal/timeline"
	"github.com/cxscore/cxscore/internal/uniques"
)

// ErrSnapshotRefused: a well-formed snapshot whose content the engine does
// not take: a bucket further ahead of the engine's clock than
// Config.MaxFuture, a bucket older than its tier keeps at the time the
// snapshot says it was written, or counts that would take the engine past
// MaxResponses. Time refusals also wrap ErrTooNew or ErrTooOld.
var ErrSnapshotRefused = errors.New("snapshot refused")

// MaxResponses bounds the responses MergeSnapshot lets an engine hold,
// counted over every bucket of every tier (an event counts once per tier it
// has reached): 2^50, about 10^15. A merge that would go beyond it is
// refused whole. Every count a query returns, roll-ups and trends included,
// adds up buckets of distinct events, so none can wrap around: recording
// alone would take centuries to add the other 2^64 − 2^50.
const MaxResponses = 1 << 50

// mergeCheck is what MergeSnapshot checks a snapshot against while it reads
// it: the engine's clock and the snapshot's, the engine's keys, responses
// and memory, and the limits. Limits on what reading allocates (keys,
// memory) stop the read at once; refusals of content are kept in refused
// and reported once the snapshot proved intact, so a damaged snapshot is
// reported as corrupt.
type mergeCheck struct {
	e         *Engine
	now, snap int64  // the engine's clock and the snapshot's, Unix ns
	base      uint64 // responses the engine holds
	responses uint64 // base plus those staged, at most MaxResponses+1
	held      int64  // bytes the engine holds
	staged    int64  // bytes of staged buckets and of the new keys they need
	keys      int    // keys the engine has
	newKeys   int    // keys of the snapshot the engine does not have
	refused   error  // the first refusal of content
	// longer[k]: the snapshot's tier k keeps more than ours, so buckets
	// older than ours keeps are dropped, not refused.
	longer  []bool
	scratch *bucket
}

// newMergeCheck walks the engine, for its memory and responses, and checks
// the time a snapshot says it was written at. The caller holds e.merging,
// so no other merge adds to the engine meanwhile.
func (e *Engine) newMergeCheck(snap int64) (*mergeCheck, error) {
	if snap < 0 || snap >= maxEventUnix*1e9 {
		return nil, fmt.Errorf("%w: it was written at %d ns since 1970, outside the years %d-%d",
			ErrSnapshotCorrupt, snap, minEventTime.Year(), maxEventTime.Year())
	}
	c := &mergeCheck{e: e, now: e.Now().UnixNano(), snap: snap, longer: make([]bool, e.layout.Tiers())}
	c.held, c.base = e.mem.walk()
	c.responses = c.base
	e.keys.create.Lock()
	c.keys = e.keys.count
	e.keys.create.Unlock()
	return c, nil
}

// key counts key k in, if the engine does not have it, and checks that the
// keys so far fit MaxKeys and the memory budget, before any of k's buckets
// is read.
func (c *mergeCheck) key(k Key) error {
	e := c.e
	if e.keys.get(k.Segment, k.Touchpoint, keyHash(k.Segment, k.Touchpoint)) != nil {
		return nil
	}
	c.staged += e.mem.emptyKey
	if k == e.set.overflow { // it does not count towards MaxKeys
		return e.mem.fits(c.held, c.staged, "the overflow key and the buckets read so far")
	}
	c.newKeys++
	if n := c.keys + c.newKeys; n > e.set.maxKeys {
		return fmt.Errorf("%w: the snapshot has more than %d keys the engine does not have, and the engine has %d of its limit of %d",
			ErrTooManyKeys, c.newKeys-1, c.keys, e.set.maxKeys)
	}
	return e.mem.fits(c.held, c.staged, fmt.Sprintf("the snapshot's %d new keys and the buckets read so far", c.newKeys))
}

// unit checks the slot of a bucket of key k and returns the bucket to read
// it into: a new one to stage, or nil when the bucket is not taken. A slot
// further ahead than MaxFuture of the engine's clock, or older than its
// tier keeps at the snapshot's time (no writer with our tiers exports one),
// refuses the snapshot; one the engine no longer keeps at its own clock (a
// snapshot restored some time after it was written, or written by an engine
// whose tier keeps more) is dropped.
func (c *mergeCheck) unit(k Key, u timeline.Unit) *bucket {
	l := c.e.layout
	_, newest := l.Bounds(u.Tier, c.now)
	oldest, _ := l.Bounds(u.Tier, c.snap)
	kept, _ := l.Bounds(u.Tier, c.now)
	res := l.Tier(u.Tier).Resolution
	switch {
	case u.Slot > newest:
		c.refuse(fmt.Errorf("%w: %w: segment %q × touchpoint %q has a %v bucket at %s, more than %v after now (%s)",
			ErrSnapshotRefused, ErrTooNew, k.Segment, k.Touchpoint, res, slotTime(l, u), l.Future(), stamp(c.now)))
	case u.Slot < oldest && !c.longer[u.Tier]:
		c.refuse(fmt.Errorf("%w: %w: segment %q × touchpoint %q has a %v bucket at %s, before the %v that tier keeps at the snapshot's time (%s)",
			ErrSnapshotRefused, ErrTooOld, k.Segment, k.Touchpoint, res, slotTime(l, u), l.Tier(u.Tier).Retention, stamp(c.snap)))
	}
	if c.refused != nil || u.Slot < kept {
		return nil
	}
	return newBucket(c.e.set.precision, uniques.Sorted) // as encoded: merges into sorted buckets stay linear
}

// discard returns a bucket to read a unit that is not taken into, reused
// from one unit to the next.
func (c *mergeCheck) discard() *bucket {
	if c.scratch == nil {
		c.scratch = newBucket(c.e.set.precision, uniques.Sorted)
	}
	c.scratch.hist.Reset()
	return c.scratch
}

func (c *mergeCheck) refuse(err error) {
	if c.refused == nil {
		c.refused = err
	}
}

// slotTime formats the start of unit u in layout l (in its zone), or just
// names the slot when its start lies outside the years the engine
// represents (its time would overflow).
func slotTime(l *timeline.Layout, u timeline.Unit) string {
	if res := int64(l.Tier(u.Tier).Resolution); u.Slot > 0 && u.Slot < maxEventUnix*1e9/res {
		return stamp(l.Start(u.Tier, u.Slot))
	}
	return fmt.Sprintf("slot %d", u.Slot)
}

func stamp(t int64) string { return time.Unix(0, t).UTC().Format(time.RFC3339Nano) }

// add counts a staged bucket of key k: its responses, refusing the
// snapshot once the engine's would exceed MaxResponses, and its memory,
// stopping the read as soon as the snapshot would not fit the budget
// beside what the engine holds, so reading it never allocates past the
// budget.
func (c *mergeCheck) add(k Key, b *bucket) error {
	n, ok := bucketResponses(b)
	if !ok || c.responses+n > MaxResponses {
		c.refuse(fmt.Errorf("%w: merging segment %q × touchpoint %q would take the engine past %d responses (it holds %d)",
			ErrSnapshotRefused, k.Segment, k.Touchpoint, uint64(MaxResponses), c.base))
		c.responses = MaxResponses + 1
		return nil
	}
	c.responses += n
	c.staged += int64(b.bytes()) + int64(unsafe.Sizeof(timeline.Unit{})+unsafe.Sizeof(b))
	return c.e.mem.fits(c.held, c.staged, fmt.Sprintf("the snapshot's %d new keys and the buckets read so far", c.newKeys))
}

// bucketResponses returns the responses b holds, and false if a count exceeds
// MaxResponses (so that adding up 23 counts cannot wrap).
func bucketResponses(b *bucket) (uint64, bool) {
	var n uint64
	for m := CSAT; m <= NPS; m++ {
		lo, hi := m.Scale()
		for score := lo; score <= hi; score++ {
			v := b.hist.Count(m, score)
			if v > MaxResponses {
				return 0, false
			}
			n += v
		}
	}
	return n, n <= MaxResponses
}
