package replica

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/cxscore/cxscore/alert"
	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/window"
)

// Every replica's engine observes what it applies from the stream
// (engine.Config.Observe), once per response: two replicas and one that
// starts later raise a detractor rule's alerts under the same event ids,
// none for a duplicate publish, one for a correction to a detractor, none
// for a detractor corrected to another detractor.
func TestReplicasObserveOnce(t *testing.T) {
	s := runServer(t)
	c := testConfig([]string{s.ClientURL()}, "OBSERVE")
	rules := []alert.Rule{{Name: "detractor", Kind: alert.Response, Metric: engine.NPS, MaxScore: 6}}
	type observed struct {
		mu  sync.Mutex
		ids []string
	}
	open := func() (*Replica, *observed) {
		o := &observed{}
		ev, err := alert.New(alert.Config{Rules: rules, Notify: func(a alert.Alert) {
			o.mu.Lock()
			o.ids = append(o.ids, a.EventID)
			o.mu.Unlock()
		}})
		if err != nil {
			t.Fatal(err)
		}
		e, err := engine.New(engine.Config{Clock: window.NewManualClock(t0), CacheBytes: 1 << 20, Observe: ev.Observe})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return openReplica(t, e, c), o
	}
	a, aIDs := open()
	b, bIDs := open()
	ev := func(id string, v uint64, score int) engine.Event {
		return engine.Event{Segment: "smb", Touchpoint: "web", Metric: engine.NPS, Score: score, ResponseID: id, Version: v, Time: t0}
	}
	ctx := context.Background()
	var last uint64
	for _, batch := range [][]engine.Event{{ev("r-1", 1, 2)}, {ev("r-1", 1, 2)}, {ev("r-2", 1, 9)}, {ev("r-2", 2, 3)}, {ev("r-3", 1, 4), ev("r-3", 2, 1)}} {
		seq, err := a.Publish(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		last = max(last, seq)
	}
	late, lateIDs := open()
	want := []string{alert.ResponseEventID("detractor", "r-1", 1), alert.ResponseEventID("detractor", "r-2", 2),
		alert.ResponseEventID("detractor", "r-3", 1)}
	slices.Sort(want)
	for name, r := range map[string]struct {
		r *Replica
		o *observed
	}{"a": {a, aIDs}, "b": {b, bIDs}, "late": {late, lateIDs}} {
		waitApplied(t, r.r, last)
		r.o.mu.Lock()
		got := slices.Sorted(slices.Values(r.o.ids))
		r.o.mu.Unlock()
		if !slices.Equal(got, want) {
			t.Errorf("%s: got alerts %v, want %v", name, got, want)
		}
	}
}
