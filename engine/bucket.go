package engine

import (
	"sync/atomic"

	"github.com/cxscore/cxscore/internal/timeline"
	"github.com/cxscore/cxscore/internal/uniques"
	"github.com/cxscore/cxscore/sketch"
)

// bucket is what the engine keeps per key per time slot: the exact score
// histogram and the unique customers. (The customers come first: a write
// then touches the line of the customers' header and one line of counters.)
type bucket struct {
	uniq uniques.Set
	hist sketch.Histogram
}

// newBucket returns an empty bucket whose exact customers are kept in the
// given layout (see uniques.Layout).
func newBucket(precision uint8, layout uniques.Layout) *bucket {
	b := new(bucket)
	if err := b.uniq.Init(precision, layout); err != nil {
		panic(err) // Config validated the precision
	}
	return b
}

func (b *bucket) Reset() {
	b.hist.Reset()
	b.uniq.Reset()
}

// Seal packs the customers of a coarse bucket whose slot is over (see
// timeline.Bucket): it is mostly read from now on.
func (b *bucket) Seal() { b.uniq.Seal() }

func (b *bucket) Merge(o *bucket) {
	b.hist.Merge(&o.hist)
	if err := b.uniq.Merge(&o.uniq); err != nil {
		panic(err) // every bucket of an engine has its precision
	}
}

// bytes is about the memory b holds.
func (b *bucket) bytes() int { return 8*23 + b.uniq.Bytes() }

// series is one key's history.
type series struct {
	key  Key
	hash uint64
	next atomic.Pointer[series] // another key with the same hash
	// respRef is 1 + the number held responses name this series by, or 0
	// (see keyRefs).
	respRef atomic.Uint32
	data    timeline.Series[bucket, *bucket]
}
