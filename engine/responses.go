package engine

import (
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/cespare/xxhash/v2"

	"github.com/cxscore/cxscore/internal/timeline"
)

// Outcome says what recording an event did. Its zero value, Rejected, is
// what a batch reports for an event it did not record.
type Outcome uint8

const (
	// Rejected: the event was not recorded; the error says why.
	Rejected Outcome = iota
	// Recorded: the event was counted: an anonymous delivery (no
	// ResponseID), a response the engine did not hold, or one re-created
	// with a higher version after it was deleted.
	Recorded
	// Duplicate: the engine holds the response at this version or a higher
	// one (a retried delivery, or an older version arriving late). It was
	// acknowledged and changed nothing. It is not a failure.
	Duplicate
	// Updated: a correction. The response was held at a lower version; its
	// old answer was taken out of every bucket and this one added.
	Updated
)

var outcomeNames = [...]string{Rejected: "rejected", Recorded: "recorded", Duplicate: "duplicate", Updated: "updated"}

// String returns "rejected", "recorded", "duplicate" or "updated".
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// MaxResponseIDBytes is the longest response id accepted.
const MaxResponseIDBytes = 128

// RecordResponse is Record that also says what the event did: Recorded,
// Duplicate or Updated, or Rejected with Record's error. A duplicate
// returns a nil error. See Event.ResponseID.
func (e *Engine) RecordResponse(ev Event) (Outcome, error) {
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
	o, err := e.record(w, w.clock.now, w.clock.oldest, t, &ev)
	e.writers.Put(w)
	return o, err
}

// RecordResponseAt is RecordAt that also says what the event did, as
// RecordResponse does.
func (e *Engine) RecordResponseAt(now time.Time, ev Event) (Outcome, error) {
	w := e.writers.Get().(*writer)
	n := now.UnixNano()
	t := n
	if !ev.Time.IsZero() {
		t = eventNanos(ev.Time)
	}
	o, err := e.record(w, n, e.layout.Oldest(n), t, &ev)
	e.writers.Put(w)
	return o, err
}

// RecordBatchResponsesAt is RecordBatchAt that also stores each event's
// outcome in out[i] (Rejected for the rejected ones); out must be at least
// as long as events. An ingest endpoint counts new responses, duplicates
// and corrections from it.
func (e *Engine) RecordBatchResponsesAt(now time.Time, events []Event, out []Outcome) error {
	return e.recordBatch(now, events, out[:len(events)])
}

// DeleteResponse retracts a response as of the engine's clock: it is
// DeleteResponseAt(e.Now(), id).
func (e *Engine) DeleteResponse(id string) (bool, error) { return e.DeleteResponseAt(e.Now(), id) }

// DeleteResponseAt retracts the response with the given id as of now: its
// answer leaves the counts, distributions and scores of every bucket of
// every tier, and it reports true. It reports false and changes nothing if
// the engine does not hold the response: never recorded, deleted already,
// or forgotten with its bucket. The engine keeps the deleted response's id
// and version until its bucket ages out, so a delivery of it at that
// version or a lower one is a Duplicate and it stays deleted; a higher
// version records it anew. Unique customers keep the retracted answer's
// customer (see the package documentation).
//
// Errors wrap ErrInvalidResponseID (an empty id, or one Record would not
// take), ErrTooNew (the response is held at a time further ahead of now
// than Config.MaxFuture: now is behind the clock it was recorded at) or
// ErrClosed.
func (e *Engine) DeleteResponseAt(now time.Time, id string) (bool, error) {
	if e.closed.Load() {
		return false, ErrClosed
	}
	if id == "" {
		return false, fmt.Errorf("%w: empty response id", ErrInvalidResponseID)
	}
	if err := checkResponseID(id); err != nil {
		return false, err
	}
	n := now.UnixNano()
	h := xxhash.Sum64String(id)
	sh := e.resp.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e.resp.expire(sh, e.layout, n)
	i := sh.find(storedID(h))
	if i < 0 || sh.tab[i].deleted() {
		return false, nil
	}
	old := &sh.tab[i]
	oldT := e.layout.Start(0, old.slot(sh.near))
	if oldT > n+int64(e.layout.Future()) {
		return false, heldTooNew(id, n, oldT, e.layout.Future())
	}
	e.retract(old, n, oldT)
	old.id |= deletedBit
	e.resp.deletions.Add(1)
	return true, nil
}

// checkResponseID validates a non-empty response id.
func checkResponseID(id string) error {
	switch {
	case len(id) > MaxResponseIDBytes:
		return fmt.Errorf("%w: response id of %d bytes, want at most %d", ErrInvalidResponseID, len(id), MaxResponseIDBytes)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: response id %q is not valid UTF-8", ErrInvalidResponseID, id)
	}
	return nil
}

func heldTooNew(id string, now, t int64, future time.Duration) error {
	return fmt.Errorf("%w: response %q is held at %s, more than %v after now (%s)", ErrTooNew, id,
		time.Unix(0, t).UTC().Format(time.RFC3339Nano), future, time.Unix(0, now).UTC().Format(time.RFC3339Nano))
}

// recordResponse records ev, whose response id passed its checks, into s
// (or its successor) at time t as of now. The response's shard stays
// locked from the lookup of the id to the write, so the check, the
// retraction of a held answer and the write are one step for every other
// delivery of the same id: the highest version wins in any arrival order.
// It returns, with Recorded or Updated, the answer the engine held for the
// response before (replaced, or deleted), for Config.Observe.
// Lock order: response shard, then the key table and series locks.
func (e *Engine) recordResponse(w *writer, now, t int64, ev *Event, s *series) (Outcome, Answer, error) {
	var prev Answer // the held answer, returned with Recorded and Updated
	h := xxhash.Sum64String(ev.ResponseID)
	sh := e.resp.shard(h)
	for swept := false; ; swept = true {
		sh.mu.Lock()
		e.resp.expire(sh, e.layout, now)
		i := sh.find(storedID(h))
		if i >= 0 {
			old := &sh.tab[i]
			if ev.Version <= old.version {
				sh.mu.Unlock()
				e.resp.duplicates.Add(1)
				return Duplicate, prev, nil
			}
			outcome := Recorded
			if m, score := old.answer(); m != 0 {
				prev = Answer{Metric: m, Score: score}
				if s := e.resp.refs.get(old.ref()); s != nil {
					prev.Key = s.key
				}
			}
			if !old.deleted() {
				oldT := e.layout.Start(0, old.slot(sh.near))
				if oldT > now+int64(e.layout.Future()) {
					sh.mu.Unlock()
					return Rejected, prev, heldTooNew(ev.ResponseID, now, oldT, e.layout.Future())
				}
				// Retract only once the new answer's key can be held.
				if _, err := e.resp.refs.of(s); err != nil {
					sh.mu.Unlock()
					return Rejected, prev, err
				}
				outcome = Updated
				e.retract(old, now, oldT)
			}
			s, lane, err := e.put(w, s, now, t, ev)
			if err != nil {
				// The key vanished and could not be made again: the old
				// answer is out, so the response is held as deleted.
				old.id |= deletedBit
				sh.mu.Unlock()
				return Rejected, prev, err
			}
			ref, err := e.resp.refs.of(s)
			if err != nil {
				old.id |= deletedBit // written but not held: not retractable
				sh.mu.Unlock()
				return outcome, prev, nil
			}
			*old = e.resp.entry(h, ev, e.layout.Slot(0, t), ref, lane)
			sh.near = e.layout.Slot(0, now)
			sh.mu.Unlock()
			if outcome == Updated {
				e.resp.updates.Add(1)
			}
			return outcome, prev, nil
		}
		if e.resp.held.Add(1) <= int64(e.set.maxResponses) {
			if _, err := e.resp.refs.of(s); err != nil {
				e.resp.held.Add(-1)
				sh.mu.Unlock()
				return Rejected, prev, err
			}
			s, lane, err := e.put(w, s, now, t, ev)
			if err != nil {
				e.resp.held.Add(-1)
				sh.mu.Unlock()
				return Rejected, prev, err
			}
			ref, err := e.resp.refs.of(s)
			if err == nil {
				sh.insert(e.resp.entry(h, ev, e.layout.Slot(0, t), ref, lane))
			} else {
				e.resp.held.Add(-1)
			}
			sh.mu.Unlock()
			return Recorded, prev, nil
		}
		e.resp.held.Add(-1)
		sh.mu.Unlock()
		if swept {
			return Rejected, prev, fmt.Errorf("%w: response %q would be response %d held, the limit is %d",
				ErrTooManyResponses, ev.ResponseID, e.set.maxResponses+1, e.set.maxResponses)
		}
		// Full: forget what every shard holds past retention, then look again.
		e.resp.expireAll(e.layout, now)
	}
}

// redelivered reports whether ev is a duplicate of a response held at
// now (one of its id with as high a version), and counts it if so. It
// is checked before a key is made for ev: a duplicate writes nothing, so
// it must not make a key either.
func (r *responses) redelivered(l *timeline.Layout, now int64, ev *Event) bool {
	h := xxhash.Sum64String(ev.ResponseID)
	sh := r.shard(h)
	sh.mu.Lock()
	r.expire(sh, l, now)
	i := sh.find(storedID(h))
	dup := i >= 0 && ev.Version <= sh.tab[i].version
	sh.mu.Unlock()
	if dup {
		r.duplicates.Add(1)
	}
	return dup
}

// retract takes a held answer out of its key's buckets at its time oldT,
// which is within retention at now. It writes on the lane the answer was
// written on, so that no bucket ever counts below zero. Caller holds the
// response's shard.
func (e *Engine) retract(r *heldResponse, now, oldT int64) {
	s := e.resp.refs.get(r.ref())
	if s == nil {
		return // its key was deleted or aged out, and the answer with it
	}
	m, score := r.answer()
	if _, ok := s.data.Add(int(r.lane()), now, oldT, func(b *bucket) { b.hist.Remove(m, score) }); ok {
		e.versions.wrote(e.layout, oldT)
	}
}

// The response table. Each held response is 24 bytes in an open-addressing
// (Robin Hood, linear probing) table, one per shard; shards are picked by
// the top 8 bits of the id's 64-bit xxhash and the table keeps the other
// 56, so the whole hash is kept. Two different ids share a hash with
// probability 2^-64; among n held responses some two do with probability
// about n²/2^65 (3·10^-8 for a million), and then the second is taken for a
// delivery of the first.
const (
	respShardBits = 8
	laneBits      = 6 // lanes ≤ 64
	refBits       = 32 - laneBits
	maxRefs       = 1 << refBits
	deletedBit    = 1 << 7
	maxLoad       = 0.9 // entries per table slot before it grows by half
)

// heldResponse is one held response:
//
//	id       the id's xxhash bits 0-55 << 8 | deleted << 7 | metric << 4 | score; 0: an empty slot
//	version  the held version
//	loc      finest-tier slot mod 2^32 << 32 | key ref << 6 | lane
//
// Metrics are 1-3, so a held entry's id is never 0.
type heldResponse struct {
	id, version, loc uint64
}

// storedID is the part of hash h a table keeps, where it keeps it.
func storedID(h uint64) uint64 { return h << respShardBits }

func (r *responses) entry(h uint64, ev *Event, slot int64, ref uint32, lane int) heldResponse {
	return heldResponse{
		id:      storedID(h) | uint64(ev.Metric)<<4 | uint64(ev.Score),
		version: ev.Version,
		loc:     uint64(uint32(slot))<<32 | uint64(ref)<<laneBits | uint64(lane),
	}
}

func (r *heldResponse) deleted() bool { return r.id&deletedBit != 0 }

func (r *heldResponse) answer() (Metric, int) { return Metric(r.id >> 4 & 3), int(r.id & 15) }

func (r *heldResponse) ref() uint32 { return uint32(r.loc) >> laneBits }

func (r *heldResponse) lane() uint32 { return uint32(r.loc) & (1<<laneBits - 1) }

// slot returns the held finest-tier slot, given a slot within 2^31 of it.
func (r *heldResponse) slot(near int64) int64 {
	return near + int64(int32(uint32(r.loc>>32)-uint32(near)))
}

type responses struct {
	shards [1 << respShardBits]respShard
	held   atomic.Int64 // entries in every table, deleted ones included
	refs   keyRefs
	// Counters for Stats.
	duplicates, updates, deletions atomic.Int64
}

type respShard struct {
	mu    sync.Mutex
	tab   []heldResponse
	n     int   // entries in tab
	swept int64 // the Oldest time tab was last expired at
	near  int64 // the finest slot of the last now tab was used at
	// hint is tab as last set, read without the lock by prefetchers.
	hint atomic.Pointer[[]heldResponse]
	_    [64]byte
}

func (r *responses) shard(h uint64) *respShard { return &r.shards[h>>(64-respShardBits)] }

// home returns the table index where an id (its stored bits) belongs.
func home(id uint64, n int) int {
	hi, _ := bits.Mul64(id&^0xff, uint64(n))
	return int(hi)
}

// find returns the index of the entry whose stored hash bits are key, or -1.
func (sh *respShard) find(key uint64) int {
	n := len(sh.tab)
	if n == 0 {
		return -1
	}
	for i, d := home(key, n), 0; ; d++ {
		c := &sh.tab[i]
		if c.id == 0 {
			return -1
		}
		if c.id&^0xff == key {
			return i
		}
		if dist(c.id, i, n) < d {
			return -1 // Robin Hood: key would have displaced c
		}
		if i++; i == n {
			i = 0
		}
	}
}

func dist(id uint64, i, n int) int {
	if h := home(id, n); i >= h {
		return i - h
	} else {
		return i + n - h
	}
}

// insert adds an entry whose id is not in the table, growing it first if
// needed.
func (sh *respShard) insert(r heldResponse) {
	if float64(sh.n+1) > maxLoad*float64(len(sh.tab)) {
		sh.resize(max(16, len(sh.tab)+len(sh.tab)/2))
	}
	sh.place(r)
	sh.n++
}

func (sh *respShard) place(r heldResponse) {
	n := len(sh.tab)
	for i, d := home(r.id, n), 0; ; d++ {
		c := &sh.tab[i]
		if c.id == 0 {
			*c = r
			return
		}
		if cd := dist(c.id, i, n); cd < d {
			*c, r = r, *c
			d = cd
		}
		if i++; i == n {
			i = 0
		}
	}
}

func (sh *respShard) resize(size int) {
	old := sh.tab
	sh.setTable(make([]heldResponse, size))
	for _, r := range old {
		if r.id != 0 {
			sh.place(r)
		}
	}
}

// setTable replaces sh's table, and publishes it to prefetchEvent.
func (sh *respShard) setTable(tab []heldResponse) {
	sh.tab = tab
	if len(tab) == 0 {
		sh.hint.Store(nil)
	} else {
		sh.hint.Store(&tab)
	}
}

// prefetchEvent starts loading the table line where ev's response would be
// found, so that recording it a few events later does not wait for memory:
// with millions of responses held, that one read of a table far larger
// than the caches costs more than the rest of recording (a table miss on
// a VM, TLB included, is ~300 ns). It takes no lock: a table replaced
// since costs only a useless prefetch.
func (r *responses) prefetchEvent(ev *Event) {
	if ev.ResponseID == "" {
		return
	}
	h := xxhash.Sum64String(ev.ResponseID)
	if tab := r.shard(h).hint.Load(); tab != nil {
		prefetch(uintptr(unsafe.Pointer(&(*tab)[home(storedID(h), len(*tab))])))
	}
}

// expire forgets the responses of sh whose bucket is older than the engine
// retains at now, once per oldest retained time (once a day with the
// default tiers): their answers are out of every window. It also forgets
// responses further ahead of now than 2^30 finest buckets (a clock moved far
// back), so that every held slot stays within 2^31 of now. Caller holds sh.
func (r *responses) expire(sh *respShard, l *timeline.Layout, now int64) {
	nowSlot := l.Slot(0, now)
	oldest := l.Oldest(now)
	if oldest == sh.swept {
		sh.near = nowSlot
		return
	}
	from := l.Slot(0, oldest)
	gone := 0
	for i := range sh.tab {
		if c := &sh.tab[i]; c.id != 0 {
			if s := c.slot(sh.near); s < from || s > nowSlot+1<<30 {
				c.id = 0
				gone++
			}
		}
	}
	sh.swept, sh.near = oldest, nowSlot
	if gone == 0 {
		return
	}
	// Rebuild without the forgotten entries (a Robin Hood table cannot
	// just blank them), shrinking a table that emptied.
	sh.n -= gone
	r.held.Add(-int64(gone))
	old := sh.tab
	sh.setTable(nil)
	if sh.n > 0 {
		sh.setTable(make([]heldResponse, rebuiltSize(sh.n)))
		for _, c := range old {
			if c.id != 0 {
				sh.place(c)
			}
		}
	}
}

// rebuiltSize is the size of a table rebuilt for n entries: a quarter of
// it free.
func rebuiltSize(n int) int { return max(16, int(float64(n)/0.75)) }

// expireAll expires every shard as of now, one at a time.
func (r *responses) expireAll(l *timeline.Layout, now int64) {
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		r.expire(sh, l, now)
		sh.mu.Unlock()
	}
}

// lockAll locks every shard, in order; unlockAll unlocks them.
func (r *responses) lockAll() {
	for i := range r.shards {
		r.shards[i].mu.Lock()
	}
}

func (r *responses) unlockAll() {
	for i := range r.shards {
		r.shards[i].mu.Unlock()
	}
}

// bytes returns the memory of the response tables.
func (r *responses) bytes() int64 {
	n := int64(0)
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		n += int64(unsafe.Sizeof(heldResponse{})) * int64(len(sh.tab))
		sh.mu.Unlock()
	}
	return n
}

// keyRefs numbers the series that held responses point to, so that a held
// response names its key in 26 bits. Numbers are never reused: a held
// response of a deleted key must not retract from a later one, so an
// engine gives out 2^26 numbers in its life (keys created, not held),
// after which responses of new keys are rejected with ErrTooManyResponses.
type keyRefs struct {
	mu   sync.Mutex
	list atomic.Pointer[[]atomic.Pointer[series]] // grows by copy; readers hold their own
}

// of returns s's number, giving it one on first use.
func (k *keyRefs) of(s *series) (uint32, error) {
	if r := s.respRef.Load(); r != 0 {
		return r - 1, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if r := s.respRef.Load(); r != 0 {
		return r - 1, nil
	}
	var list []atomic.Pointer[series]
	if l := k.list.Load(); l != nil {
		list = *l
	}
	n := len(list)
	if n >= maxRefs {
		return 0, fmt.Errorf("%w: responses of %d keys held in this engine's life, the most it can", ErrTooManyResponses, n)
	}
	if n == cap(list) {
		grown := make([]atomic.Pointer[series], n, max(64, 2*n))
		for i := range list {
			grown[i].Store(list[i].Load())
		}
		list = grown
	}
	list = list[:n+1]
	list[n].Store(s)
	k.list.Store(&list)
	s.respRef.Store(uint32(n + 1))
	return uint32(n), nil
}

func (k *keyRefs) get(ref uint32) *series {
	if l := k.list.Load(); l != nil && int(ref) < len(*l) {
		return (*l)[ref].Load()
	}
	return nil
}

// drop forgets a removed series, so that held responses no longer pin its
// buckets in memory.
func (k *keyRefs) drop(s *series) {
	r := s.respRef.Load()
	if r == 0 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if l := k.list.Load(); l != nil {
		(*l)[r-1].Store(nil)
	}
}
