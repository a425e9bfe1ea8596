package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/cxscore/cxscore/window"
)

// The clock sample: Record reads the clock on one event in `every`, and
// whenever an event has no time or is ahead of the last reading. Driven
// here with a manual clock, as the system clock is in production.
func TestClockSample(t *testing.T) {
	clock := window.NewManualClock(t0)
	e, err := New(Config{Clock: clock, Lanes: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	const every = 8
	e.set.sampleEvery = every
	record := func(at time.Time) error {
		return e.Record(Event{Segment: "smb", Touchpoint: "web", Metric: NPS, Score: 9, Time: at})
	}
	if err := record(t0); err != nil {
		t.Fatal(err)
	}
	// An event ahead of the last reading makes Record read the clock again:
	// on time as of the real clock, it is never rejected as too new.
	clock.Advance(10 * time.Minute)
	if err := record(clock.Now()); err != nil {
		t.Fatalf("an event at the moved clock: %v, want it recorded", err)
	}
	// The reading lags by at most `every` events: an event older than the
	// retention at the moved clock, but not at the last reading, is taken
	// until the next reading. (Driven on a clockSample of its own: Record's
	// come from a sync.Pool, which may hand out a fresh one at any time.)
	var c clockSample
	c.read(clock, e)
	oldest := c.oldest
	clock.Advance(24 * time.Hour)
	accepted := 0
	for range 2 * every {
		c.sample(clock, every, e, oldest, true)
		if oldest >= c.oldest {
			accepted++
		}
	}
	if accepted == 0 || accepted >= every {
		t.Fatalf("a stale event was taken %d times after the clock moved, want between 1 and %d", accepted, every-1)
	}
	// A stale event through Record: too old once the clock is read.
	if err := record(time.Unix(0, oldest)); err != nil && !errors.Is(err, ErrTooOld) {
		t.Fatalf("a stale event: %v, want nil or ErrTooOld", err)
	}
	// An event without a time is recorded at the clock's time, not the last
	// reading's.
	if err := e.Record(Event{Segment: "smb", Touchpoint: "web", Metric: CSAT, Score: 5}); err != nil {
		t.Fatal(err)
	}
	var r Result
	if err := e.Query(Query{Window: time.Minute}, &r); err != nil || r.CSAT.Responses() != 1 {
		t.Fatalf("the event without a time: %d responses in the current minute, %v, want 1", r.CSAT.Responses(), err)
	}
}

// The key cache never answers with another key's series, however the cheap
// hash collides, and holds no caller's string.
func TestKeyCacheCollisions(t *testing.T) {
	e, err := New(Config{Clock: window.NewManualClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	// Same length, same end and middle bytes: the same cache slot.
	keys := []Key{{"aaXYaaZWaa", "web"}, {"aaQRaaSTaa", "web"}, {"aaJKaaLMaa", "web"}}
	if a, b := e.keyCache.slot(keys[0].Segment, "web"), e.keyCache.slot(keys[1].Segment, "web"); a != b {
		t.Fatal("the test keys do not share a slot; pick others")
	}
	for i := range 30 {
		k := keys[i%3]
		buf := []byte(k.Segment) // a fresh string each time, as a decoder gives
		if err := e.Record(Event{Segment: string(buf), Touchpoint: k.Touchpoint, Metric: CSAT, Score: 1 + i%3}); err != nil {
			t.Fatal(err)
		}
	}
	for i, k := range keys {
		var r Result
		if err := e.Query(Query{Segment: k.Segment, Touchpoint: k.Touchpoint, Window: time.Hour}, &r); err != nil {
			t.Fatal(err)
		}
		if got := r.CSAT.Counts[i]; got != 10 || r.CSAT.Responses() != 10 {
			t.Fatalf("%v: counts %v, want 10 of score %d", k, r.CSAT.Counts, i+1)
		}
	}
}
