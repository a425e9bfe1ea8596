package engine

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cxscore/cxscore/window"
)

func TestDeleteKeys(t *testing.T) {
	clock := window.NewManualClock(t0)
	e, err := New(Config{Clock: clock, MaxKeys: 4, CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rec := func(seg, tp string) error {
		return e.Record(Event{Segment: seg, Touchpoint: tp, Metric: NPS, Score: 9, Time: t0})
	}
	for _, k := range [][2]string{{"a", "web"}, {"a", "app"}, {"a", "mail"}, {"b", "web"}} {
		if err := rec(k[0], k[1]); err != nil {
			t.Fatal(err)
		}
	}
	total := func(seg string) uint64 {
		var r Result
		if err := e.Query(Query{Segment: seg, Window: time.Hour}, &r); err != nil {
			t.Fatal(err)
		}
		return r.Responses()
	}
	if total("") != 4 { // fills the roll-up cache
		t.Fatalf("got %d responses, want 4", total(""))
	}
	if n, err := e.DeleteKeys("a", "web"); n != 1 || err != nil {
		t.Errorf("DeleteKeys(a, web): got %d, %v; want 1", n, err)
	}
	if got := total(""); got != 3 {
		t.Errorf("after deleting a × web: got %d responses, want 3 (no stale cached roll-up)", got)
	}
	if n, err := e.DeleteKeys("a", All); n != 2 || err != nil {
		t.Errorf("DeleteKeys(a, *): got %d, %v; want 2", n, err)
	}
	if got := e.Keys(nil); !slices.Equal(got, []Key{{"b", "web"}}) {
		t.Errorf("keys: got %v, want b × web", got)
	}
	if n, err := e.DeleteKeys("a", ""); n != 0 || err != nil {
		t.Errorf("deleting again: got %d, %v; want 0", n, err)
	}
	if _, err := e.DeleteKeys("*", ""); !errors.Is(err, ErrInvalidSegment) {
		t.Errorf("DeleteKeys(*): got %v, want ErrInvalidSegment", err)
	}
	// The freed keys count against MaxKeys no more, and a deleted key
	// comes back empty.
	for _, tp := range []string{"web", "x", "y"} {
		if err := e.Record(Event{Segment: "c", Touchpoint: tp, Metric: NPS, Score: 1, Time: t0}); err != nil {
			t.Errorf("recording c × %s after the deletes: %v", tp, err)
		}
	}
	if got, st := total(""), e.Stats(); got != 4 || st.Keys != 4 {
		t.Errorf("got %d responses in %d keys, want 4 in 4", got, st.Keys)
	}
}

// TestDeleteKeysConcurrent deletes and re-creates keys while others record
// and query, for the race detector.
func TestDeleteKeysConcurrent(t *testing.T) {
	e, err := New(Config{Clock: window.NewManualClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				e.Record(Event{Segment: "s", Touchpoint: []string{"a", "b", "c"}[i%3], Metric: CSAT, Score: 5, Time: t0})
				var r Result
				e.Query(Query{Segment: "s", Window: time.Hour}, &r)
			}
		})
	}
	for i := range 200 {
		if _, err := e.DeleteKeys("s", []string{"a", ""}[i%2]); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}
