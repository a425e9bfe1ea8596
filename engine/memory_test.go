package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cxscore/cxscore/window"
)

// Stats.Bytes is the walk of every key: nothing for an empty engine, at
// least an empty key per key, and it grows as buckets fill.
func TestStatsBytes(t *testing.T) {
	clock := window.NewManualClock(t0)
	e, err := New(Config{Clock: clock, Lanes: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if st := e.Stats(); st.Bytes != 0 {
		t.Fatalf("empty engine: %d bytes, want 0", st.Bytes)
	}
	e.Record(Event{CustomerID: "c", Segment: "s", Touchpoint: "t", Metric: NPS, Score: 9})
	one := e.Stats().Bytes
	if one < e.mem.emptyKey {
		t.Fatalf("one key: %d bytes, want at least an empty key's %d", one, e.mem.emptyKey)
	}
	// Back-dated events in every hour of two days, each with new customers.
	for h := range 48 {
		for c := range 100 {
			at := t0.Add(-time.Duration(h) * time.Hour)
			if err := e.Record(Event{CustomerID: fmt.Sprint("c-", h, "-", c), Segment: "s", Touchpoint: "t", Metric: NPS, Score: 9, Time: at}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if full := e.Stats().Bytes; full < one+48*100*4 {
		t.Fatalf("after 4,800 customers in 48 hours: %d bytes, want at least %d", full, one+48*100*4)
	}
}

// Under a budget, new keys are refused once the engine holds it, with a
// typed error that says so; existing keys keep recording; a refused event
// changes nothing; a fresh walk (a second later by the engine's clock)
// admits keys again once memory is back under the budget.
func TestMemoryBudget(t *testing.T) {
	if _, err := New(Config{MaxBytes: -1}); !errors.Is(err, ErrConfig) {
		t.Fatalf("MaxBytes -1: got %v, want ErrConfig", err)
	}
	clock := window.NewManualClock(t0)
	probe, _ := New(Config{Clock: clock, Lanes: 1})
	emptyKey := probe.mem.emptyKey
	probe.Close()

	budget := 10 * emptyKey
	e, err := New(Config{Clock: clock, Lanes: 1, MaxBytes: budget})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ev := func(seg string) Event {
		return Event{CustomerID: "c-" + seg, Segment: seg, Touchpoint: "web", Metric: CSAT, Score: 5}
	}
	created := 0
	var refused error
	for i := range 100 {
		if err := e.Record(ev(fmt.Sprint("seg-", i))); err != nil {
			refused = err
			break
		}
		created++
	}
	if !errors.Is(refused, ErrMemoryBudget) {
		t.Fatalf("after %d keys: got %v, want ErrMemoryBudget", created, refused)
	}
	if created < 5 || created > 10 {
		t.Fatalf("a budget of 10 empty keys admitted %d keys, want 5-10", created)
	}
	want := fmt.Sprintf(`segment "seg-%d" × touchpoint "web" as a new key is refused`, created)
	if msg := refused.Error(); !strings.HasPrefix(msg, "memory budget exceeded: the engine holds about ") || !strings.HasSuffix(msg, want) {
		t.Fatalf("message %q, want it to say the budget and end %q", msg, want)
	}
	if st := e.Stats(); st.Keys != created {
		t.Fatalf("after a refusal: %d keys, want %d", st.Keys, created)
	}
	// Existing keys keep recording, and past the budget.
	for i := range 2000 {
		e := e.Record(Event{CustomerID: fmt.Sprint("more-", i), Segment: "seg-0", Touchpoint: "web", Metric: NPS, Score: 10,
			Time: t0.Add(-time.Duration(i%48) * time.Hour)})
		if e != nil {
			t.Fatalf("an existing key under a full budget: %v", e)
		}
	}
	if st := e.Stats(); st.Bytes <= budget {
		t.Fatalf("after filling seg-0: %d bytes, want more than the budget %d", st.Bytes, budget)
	}
	if err := e.Record(ev("another")); !errors.Is(err, ErrMemoryBudget) {
		t.Fatalf("a new key over budget: got %v, want ErrMemoryBudget", err)
	}

	// Within budgetRefresh of the last walk, a refusal walks nothing; after
	// it, the next key created walks again.
	e.mem.mu.Lock()
	walkedAt := e.mem.walkedAt
	e.mem.mu.Unlock()
	e.Record(ev("another"))
	clock.Advance(budgetRefresh)
	e.mem.mu.Lock()
	again := e.mem.walkedAt
	e.mem.mu.Unlock()
	if again != walkedAt {
		t.Fatalf("a refusal within %v of the last walk walked again", budgetRefresh)
	}
	e.Record(ev("another"))
	e.mem.mu.Lock()
	again = e.mem.walkedAt
	e.mem.mu.Unlock()
	if again != clock.Now().UnixNano() {
		t.Fatalf("a key created %v after the last walk did not walk again", budgetRefresh)
	}
}

// The budget check happens only when a key is created: Record of an
// existing key under a budget does not allocate or walk.
func TestMemoryBudgetOffTheFastPath(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	e, err := New(Config{MaxBytes: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ev := Event{CustomerID: "c-42", Segment: "enterprise", Touchpoint: "checkout", Metric: CSAT, Score: 4, Time: time.Now()}
	if err := e.Record(ev); err != nil {
		t.Fatal(err)
	}
	e.mem.mu.Lock()
	walkedAt := e.mem.walkedAt
	e.mem.mu.Unlock()
	if n := testing.AllocsPerRun(1000, func() { e.Record(ev) }); n != 0 {
		t.Errorf("Record of an existing key under a budget: got %v allocs, want 0", n)
	}
	e.mem.mu.Lock()
	defer e.mem.mu.Unlock()
	if e.mem.walkedAt != walkedAt {
		t.Errorf("Record of an existing key walked the engine's memory")
	}
}
