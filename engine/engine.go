package engine

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/cxscore/cxscore/internal/timeline"
	"github.com/cxscore/cxscore/internal/uniques"
)

// Engine records survey responses and answers scores over sliding windows.
// It is safe for concurrent use; see the package documentation for the
// model and costs.
type Engine struct {
	set         settings
	layout      *timeline.Layout
	keys        keyTable
	versions    *versions
	cache       *resultCache
	keyCache    keyCache
	writers     sync.Pool // *writer: placement hints, see writer
	lanes       atomic.Uint32
	scratch     sync.Pool                  // *bucket for query accumulators
	selScratch  sync.Pool                  // *selScratch for selections (compare.go)
	matrixOrder atomic.Pointer[sortedKeys] // keys in order for MatrixAt (matrix.go)
	closed      atomic.Bool
	close       sync.Once
	mem         *memory    // memory accounting and Config.MaxBytes
	merging     sync.Mutex // one MergeSnapshot at a time
}

// New returns an engine configured by c. Errors wrap ErrConfig.
func New(c Config) (*Engine, error) {
	set, err := c.settings()
	if err != nil {
		return nil, err
	}
	e := &Engine{set: set, layout: set.layout, versions: newVersions(set.layout.Tiers())}
	if e.cache, err = newResultCache(set.cacheBytes); err != nil {
		return nil, err
	}
	e.writers.New = func() any { return &writer{lane: int(e.lanes.Add(1) - 1)} }
	e.scratch.New = func() any { return newBucket(set.precision, uniques.Hashed) }
	e.selScratch.New = newSelScratch
	e.mem = newMemory(e, set.maxBytes)
	e.keys.mem = e.mem
	return e, nil
}

// Close releases the engine's cache and its goroutines. Afterwards every
// method returns ErrClosed. Close is idempotent and safe to call
// concurrently with anything.
func (e *Engine) Close() error {
	e.close.Do(func() {
		e.closed.Store(true)
		e.cache.close()
	})
	return nil
}

// MinResponses returns Config.MinResponses with its default filled in.
func (e *Engine) MinResponses() int { return int(e.set.minResp) }

// Now returns the engine's clock reading.
func (e *Engine) Now() time.Time { return e.set.clock.Now() }

// Record records one event, checked completely first: it returns an error
// wrapping ErrUnknownMetric, ErrScoreOutOfRange, ErrInvalidSegment,
// ErrInvalidTouchpoint, ErrTooOld, ErrTooNew, ErrTooManyKeys or ErrClosed
// and changes nothing, or records the event in full. Recording an event of
// an existing key, at a time whose bucket is open, takes one uncontended
// lock and does not allocate.
func (e *Engine) Record(ev Event) error {
	w := e.writers.Get().(*writer)
	hasTime := !ev.Time.IsZero()
	var t int64
	if hasTime {
		t = eventNanos(ev.Time)
	}
	w.clock.sample(e.set.clock, e.set.sampleEvery, e, t, hasTime)
	if !hasTime {
		t = w.clock.now
	}
	err := e.record(w, w.clock.now, w.clock.oldest, t, &ev)
	e.writers.Put(w)
	return err
}

// RecordAt is Record with now as the engine's clock reading: it checks the
// event's time against now (an event with a zero Time is recorded at now).
func (e *Engine) RecordAt(now time.Time, ev Event) error {
	w := e.writers.Get().(*writer)
	n := now.UnixNano()
	t := n
	if !ev.Time.IsZero() {
		t = eventNanos(ev.Time)
	}
	err := e.record(w, n, e.layout.Oldest(n), t, &ev)
	e.writers.Put(w)
	return err
}

// RecordBatch records each event as Record would, reading the clock once.
// Valid events are recorded even when others are not: the error, if any, is
// a *BatchError listing the rejected events' indexes and errors.
func (e *Engine) RecordBatch(events []Event) error {
	return e.RecordBatchAt(e.set.clock.Now(), events)
}

// RecordBatchAt is RecordBatch with now as the engine's clock reading.
func (e *Engine) RecordBatchAt(now time.Time, events []Event) error {
	w := e.writers.Get().(*writer)
	defer e.writers.Put(w)
	n := now.UnixNano()
	oldest := e.layout.Oldest(n)
	var rejected []Rejection
	for i := range events {
		ev := &events[i]
		t := n
		if !ev.Time.IsZero() {
			t = eventNanos(ev.Time)
		}
		if err := e.record(w, n, oldest, t, ev); err != nil {
			rejected = append(rejected, Rejection{Index: i, Err: err})
		}
	}
	if rejected != nil {
		return &BatchError{Rejected: rejected}
	}
	return nil
}

// record checks ev completely, then writes it at time t as of now.
func (e *Engine) record(w *writer, now, oldest, t int64, ev *Event) error {
	if e.closed.Load() {
		return ErrClosed
	}
	if err := ev.Metric.Check(ev.Score); err != nil {
		return err
	}
	if t < oldest || t > now+int64(e.layout.Future()) {
		return e.timeError(now, t, ev.Time)
	}
	s := e.keyCache.get(ev.Segment, ev.Touchpoint)
	for {
		if s == nil {
			var err error
			if s, err = e.lookup(ev.Segment, ev.Touchpoint, now); err != nil {
				return err
			}
		}
		contended, ok := e.write(s, w.lane, now, t, ev)
		if contended {
			// Another core writes this lane (two writers were given the same
			// one, or the scheduler moved them): try the next lane from now on.
			w.lane++
		}
		if ok {
			break
		}
		s = nil // the key was deleted or expired meanwhile: record into its successor
	}
	e.versions.wrote(e.layout, t)
	if now >= e.keys.nextSweep.Load() {
		e.maybeSweep(now)
	}
	return nil
}

// write adds ev at time t to s's bucket on lane. ok is false if s was
// retired, and then nothing was written.
func (e *Engine) write(s *series, lane int, now, t int64, ev *Event) (contended, ok bool) {
	m, score := ev.Metric, ev.Score
	if ev.CustomerID == "" {
		return s.data.Add(lane, now, t, func(b *bucket) { b.hist.Add(m, score) })
	}
	customer := xxhash.Sum64String(ev.CustomerID)
	return s.data.Add(lane, now, t, func(b *bucket) {
		b.hist.Add(m, score)
		b.uniq.Insert(customer)
	})
}

func (e *Engine) newSeries(k Key, h uint64) *series {
	precision := e.set.precision
	// The finest tier takes every event: an append-only log. Coarser buckets
	// take a fold a bucket of the next tier (a minute's hour, an hour's day)
	// and are mostly read: sorted arrays, the least memory.
	bucketFor := func(tier int) *bucket {
		if tier == 0 {
			return newBucket(precision, uniques.Appended)
		}
		return newBucket(precision, uniques.Sorted)
	}
	s := &series{key: k, hash: h}
	s.data.Init(e.layout, e.set.lanes, bucketFor)
	return s
}

// Keys appends every segment × touchpoint the engine holds to dst, sorted,
// and returns it.
func (e *Engine) Keys(dst []Key) []Key { return e.keys.keys(dst) }

// Stats describes an engine's size.
type Stats struct {
	Keys    int // segment × touchpoint keys, the overflow key included
	Buckets int // time buckets held in memory, over all keys and tiers
	// Overflowed counts the events recorded into Config.Overflow because
	// their own key would have exceeded MaxKeys.
	Overflowed int64
	// Bytes is about the memory keys hold: their labels, rings, buckets and
	// sketches, as Config.MaxBytes counts it. The result cache (at most
	// Config.CacheBytes) is not included.
	Bytes int64
}

// Stats returns the engine's size. It takes each key's locks in turn and
// walks every bucket: its cost grows with the buckets held (see bench/).
func (e *Engine) Stats() Stats {
	s := Stats{Overflowed: e.keys.overflows.Load()}
	for _, se := range e.keys.series() {
		s.Keys++
		s.Buckets += se.data.Buckets()
	}
	s.Bytes, _ = e.mem.walk()
	return s
}
