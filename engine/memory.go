package engine

import (
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/cxscore/cxscore/internal/uniques"
)

// ErrMemoryBudget: creating a key, or merging a snapshot, would take the
// engine beyond Config.MaxBytes.
var ErrMemoryBudget = errors.New("memory budget exceeded")

// budgetRefresh is how old (by the engine's clock) the last walk of the
// engine's memory may be when a key is created under a budget; an older
// one is walked again first.
const budgetRefresh = time.Second

// keyOverhead is about what the key table spends per key beyond its
// series: a map entry in its shard and a pointer in the list of all keys.
const keyOverhead = 48

// memory keeps the engine's memory as last walked, for the budget check at
// key creation. Walking every bucket is O(buckets), so a key is admitted on
// the last walk (at most budgetRefresh old) plus emptyKey for each key
// created since; Stats and MergeSnapshot walk afresh and update it. With
// no budget nothing is walked but what Stats asks for.
type memory struct {
	limit    int64 // Config.MaxBytes; 0: none
	emptyKey int64 // a new key: its empty series and a first bucket
	e        *Engine

	mu       sync.Mutex
	walked   int64 // bytes at the last walk
	walkedAt int64 // engine clock at the last walk, Unix ns
	fresh    bool  // a walk was done at all
	since    int   // keys created since the last walk
}

func newMemory(e *Engine, limit int64) *memory {
	m := &memory{limit: limit, e: e}
	s := e.newSeries(Key{}, 0)
	first := newBucket(e.set.precision, uniques.Appended)
	m.emptyKey = seriesBytes(s, nil) + int64(first.bytes())
	return m
}

// seriesBytes returns about the memory s holds: the series, its key's
// labels, its rings and every bucket, spares included. If counts is not
// nil, it adds the responses of every live bucket to it.
func seriesBytes(s *series, counts *uint64) int64 {
	n := int64(unsafe.Sizeof(*s)) + keyOverhead + int64(len(s.key.Segment)+len(s.key.Touchpoint))
	n += int64(s.data.Walk(func(b *bucket, live bool) {
		n += int64(b.bytes())
		if live && counts != nil {
			*counts += b.hist.Responses(CSAT) + b.hist.Responses(CES) + b.hist.Responses(NPS)
		}
	}))
	return n
}

// walk returns the memory of every key, and the responses their live
// buckets hold, and records the bytes as the budget's reference.
func (m *memory) walk() (bytes int64, responses uint64) {
	for _, s := range m.e.keys.series() {
		bytes += seriesBytes(s, &responses)
	}
	m.mu.Lock()
	m.walked, m.walkedAt, m.fresh, m.since = bytes, m.e.Now().UnixNano(), true, 0
	m.mu.Unlock()
	return bytes, responses
}

// admit checks that n more keys fit the budget, walking the engine's
// memory again if the last walk is stale, and counts them in. The caller
// holds the key table's create lock (so admissions are serialized). k is
// the key asked for when n is 1, for the error.
func (m *memory) admit(n int, k Key) error {
	if m == nil || m.limit == 0 {
		return nil
	}
	m.mu.Lock()
	stale := !m.fresh || m.e.Now().UnixNano()-m.walkedAt >= int64(budgetRefresh)
	m.mu.Unlock()
	if stale {
		m.walk()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	held := m.walked + int64(m.since)*m.emptyKey
	if held+int64(n)*m.emptyKey > m.limit {
		what := fmt.Sprintf("%d new keys are", n)
		if n == 1 {
			what = fmt.Sprintf("segment %q × touchpoint %q as a new key is", k.Segment, k.Touchpoint)
		}
		return fmt.Errorf("%w: the engine holds about %s and its budget is %s, so %s refused",
			ErrMemoryBudget, formatBytes(held), formatBytes(m.limit), what)
	}
	m.since += n
	return nil
}

// fits checks that adding bytes to what was just walked stays within the
// budget; what says what would add them, for the error.
func (m *memory) fits(held, bytes int64, what string) error {
	if m.limit == 0 || held+bytes <= m.limit {
		return nil
	}
	return fmt.Errorf("%w: the engine holds about %s and its budget is %s; %s would add about %s",
		ErrMemoryBudget, formatBytes(held), formatBytes(m.limit), what, formatBytes(bytes))
}

func formatBytes(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 10<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
