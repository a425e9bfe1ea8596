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
	resp        responses // held responses: see responses.go
	writers     sync.Pool // *writer: placement hints, see writer
	lanes       atomic.Uint32
	scratch     sync.Pool                  // *bucket for query accumulators
	selScratch  sync.Pool                  // *selScratch for selections (compare.go)
	matrixOrder atomic.Pointer[sortedKeys] // keys in order for MatrixAt (matrix.go)
	rollScratch sync.Pool                  // *rollScratch for RollupsAt (rollups.go)
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
// ErrInvalidTouchpoint, ErrInvalidResponseID, ErrTooOld, ErrTooNew,
// ErrTooManyKeys, ErrTooManyResponses, ErrMemoryBudget or ErrClosed and
// changes nothing, or records the event in full. A duplicate delivery of a
// held response (see Event.ResponseID) returns nil and changes nothing;
// RecordResponse tells it apart. Recording an event of
// an existing key, at a time whose bucket is open, takes one uncontended
// lock and does not allocate.
func (e *Engine) Record(ev Event) error {
	// RecordResponse's body, repeated: calling it costs another frame and
	// copy of ev, measured +24% at one key (BenchmarkRecord).
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
	_, err := e.record(w, w.clock.now, w.clock.oldest, t, &ev)
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
	_, err := e.record(w, n, e.layout.Oldest(n), t, &ev)
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
	return e.recordBatch(now, events, nil)
}

// prefetchAhead is how many events ahead of the one it records a batch
// starts loading the response table line of (responses.prefetchEvent).
const prefetchAhead = 2

// recordBatch records events as of now, and their outcomes in out unless
// it is nil.
func (e *Engine) recordBatch(now time.Time, events []Event, out []Outcome) error {
	w := e.writers.Get().(*writer)
	defer e.writers.Put(w)
	n := now.UnixNano()
	oldest := e.layout.Oldest(n)
	var rejected []Rejection
	for i := range min(prefetchAhead, len(events)) {
		e.resp.prefetchEvent(&events[i])
	}
	for i := range events {
		if i+prefetchAhead < len(events) {
			e.resp.prefetchEvent(&events[i+prefetchAhead])
		}
		ev := &events[i]
		t := n
		if !ev.Time.IsZero() {
			t = eventNanos(ev.Time)
		}
		o, err := e.record(w, n, oldest, t, ev)
		if err != nil {
			rejected = append(rejected, Rejection{Index: i, Err: err})
		}
		if out != nil {
			out[i] = o
		}
	}
	if rejected != nil {
		return &BatchError{Rejected: rejected}
	}
	return nil
}

// record checks ev completely, then writes it at time t as of now.
func (e *Engine) record(w *writer, now, oldest, t int64, ev *Event) (Outcome, error) {
	if e.closed.Load() {
		return Rejected, ErrClosed
	}
	if err := ev.Metric.Check(ev.Score); err != nil {
		return Rejected, err
	}
	if t < oldest || t > now+int64(e.layout.Future()) {
		return Rejected, e.timeError(now, t, ev.Time)
	}
	if ev.ResponseID != "" {
		if err := checkResponseID(ev.ResponseID); err != nil {
			return Rejected, err
		}
	}
	s := e.keyCache.get(ev.Segment, ev.Touchpoint)
	if s == nil {
		if ev.ResponseID != "" && e.keys.get(ev.Segment, ev.Touchpoint, keyHash(ev.Segment, ev.Touchpoint)) == nil &&
			e.resp.redelivered(e.layout, now, ev) {
			// A duplicate of a held response under a key it is not in (the
			// sender changed the labels of a redelivery): counted as the
			// duplicate it is, without making its key, as replicas do.
			return Duplicate, nil
		}
		var err error
		if s, err = e.lookup(ev.Segment, ev.Touchpoint, now); err != nil {
			return Rejected, err
		}
	}
	outcome := Recorded
	var prev Answer
	if ev.ResponseID != "" {
		var err error
		if outcome, prev, err = e.recordResponse(w, now, t, ev, s); outcome != Recorded && outcome != Updated {
			return outcome, err
		}
	} else if _, _, err := e.put(w, s, now, t, ev); err != nil {
		return Rejected, err
	}
	if e.set.observe != nil {
		e.observe(w, t, ev, outcome, prev)
	}
	if now >= e.keys.nextSweep.Load() {
		e.maybeSweep(now)
	}
	return outcome, nil
}

// put writes ev at time t into s, or into its successor if s was deleted or
// expired meanwhile, and returns the series and lane written.
func (e *Engine) put(w *writer, s *series, now, t int64, ev *Event) (*series, int, error) {
	for {
		lane := int(uint(w.lane) % uint(e.set.lanes))
		contended, ok := e.write(s, lane, now, t, ev)
		if contended {
			// Another core writes this lane (two writers were given the same
			// one, or the scheduler moved them): try the next lane from now on.
			w.lane++
		}
		if ok {
			e.versions.wrote(e.layout, t)
			return s, lane, nil
		}
		var err error
		if s, err = e.lookup(ev.Segment, ev.Touchpoint, now); err != nil {
			return nil, 0, err
		}
	}
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
	// The finest tier takes every event: an append-only log. A middle tier's
	// bucket takes the folds of a whole bucket of the tier below at once (an
	// hour's 60 minutes, on every lane) into a hash table, O(1) per
	// customer; once its slot is over the series seals it into a packed
	// sorted array, the least memory for what is then only read. The last
	// tier is packed from the start: it takes few folds (a day's 24 hours),
	// and a table would cost a quiet key more than they do (its 61 days are
	// most of what it holds).
	last := e.layout.Tiers() - 1
	bucketFor := func(tier int) *bucket {
		switch tier {
		case 0:
			return newBucket(precision, uniques.Appended)
		case last:
			return newBucket(precision, uniques.Packed)
		}
		return newBucket(precision, uniques.Hashed)
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
	// Config.CacheBytes) is not included, nor are held responses.
	Bytes int64
	// HeldResponses is the number of responses held for deduplication
	// (Config.MaxHeldResponses), deleted ones included, and
	// HeldResponseBytes the memory of their tables.
	HeldResponses     int
	HeldResponseBytes int64
	// Duplicates, Updates and Deletions count, since New, the deliveries
	// acknowledged as duplicates, the corrections applied and the responses
	// deleted.
	Duplicates, Updates, Deletions int64
}

// Stats returns the engine's size. It takes each key's locks in turn and
// walks every bucket: its cost grows with the buckets held (see bench/).
func (e *Engine) Stats() Stats {
	s := Stats{
		Overflowed:        e.keys.overflows.Load(),
		HeldResponses:     int(e.resp.held.Load()),
		HeldResponseBytes: e.resp.bytes(),
		Duplicates:        e.resp.duplicates.Load(),
		Updates:           e.resp.updates.Load(),
		Deletions:         e.resp.deletions.Load(),
	}
	for _, se := range e.keys.series() {
		s.Keys++
		s.Buckets += se.data.Buckets()
	}
	s.Bytes, _ = e.mem.walk()
	return s
}
