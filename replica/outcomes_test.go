package replica

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cxscore/cxscore/engine"
)

func TestRecordBatchOutcomes(t *testing.T) {
	s := runServer(t)
	eng := newEngine(t)
	r := openReplica(t, eng, testConfig([]string{s.ClientURL()}, "OUTCOMES"))
	ctx := context.Background()
	ev := engine.Event{CustomerID: "c-1", Segment: "smb", Touchpoint: "web", Metric: engine.NPS, Score: 3, ResponseID: "r-1", Version: 1}
	anon := ev
	anon.ResponseID, anon.Version = "", 0
	bad := ev
	bad.Score = 11
	higher := ev
	higher.Version, higher.Score = 2, 9
	lower := ev
	lower.Version = 0

	f := func(name string, events []engine.Event, want ...engine.Outcome) {
		t.Helper()
		out := make([]engine.Outcome, len(events))
		err := r.RecordBatchOutcomes(ctx, events, out)
		var be *engine.BatchError
		if err != nil && !errors.As(err, &be) {
			t.Fatalf("%s: %v", name, err)
		}
		if fmt.Sprint(out) != fmt.Sprint(want) {
			t.Fatalf("%s: got outcomes %v, want %v", name, out, want)
		}
	}
	f("new, anonymous, invalid", []engine.Event{ev, anon, bad}, engine.Recorded, engine.Recorded, engine.Rejected)
	f("the same again", []engine.Event{ev, anon}, engine.Duplicate, engine.Recorded)
	f("twice in one batch, then corrected", []engine.Event{higher, higher, lower}, engine.Updated, engine.Duplicate, engine.Duplicate)
	if got := responses(t, eng); got != 3 {
		t.Fatalf("got %d responses, want the corrected one and two anonymous", got)
	}

	// Concurrent deliveries of one new response: one is recorded, the
	// others are duplicates, whichever reached the stream first.
	fresh := ev
	fresh.ResponseID = "r-2"
	var wg sync.WaitGroup
	got := make([]engine.Outcome, 8)
	for i := range got {
		wg.Go(func() {
			out := make([]engine.Outcome, 1)
			if err := r.RecordBatchOutcomes(ctx, []engine.Event{fresh}, out); err != nil {
				t.Error(err)
			}
			got[i] = out[0]
		})
	}
	wg.Wait()
	counts := map[engine.Outcome]int{}
	for _, o := range got {
		counts[o]++
	}
	if counts[engine.Recorded] != 1 || counts[engine.Duplicate] != len(got)-1 {
		t.Fatalf("concurrent deliveries: got %v, want one recorded and the others duplicates", got)
	}
	r.trackMu.Lock()
	left := len(r.tracked)
	r.trackMu.Unlock()
	if left != 0 || r.ntracked.Load() != 0 {
		t.Fatalf("%d msgIDs still tracked after every call returned, want 0", left)
	}
}

// TestOutcomesMatchModel checks the outcomes RecordBatchOutcomes reports
// against a model that holds the latest version of every response and
// whether it was deleted: batches of new, repeated, lower and higher
// versions, with deletions between them. Each check uses response ids of
// its own in one replica.
func TestOutcomesMatchModel(t *testing.T) {
	s := runServer(t)
	eng := newEngine(t)
	r := openReplica(t, eng, testConfig([]string{s.ClientURL()}, "OUTMODEL"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := 0
	rapid.Check(t, func(t *rapid.T) {
		run++
		type held struct {
			version uint64
			deleted bool
		}
		model := map[string]held{}
		for range rapid.IntRange(1, 6).Draw(t, "steps") {
			if rapid.IntRange(0, 4).Draw(t, "delete?") == 0 {
				id := fmt.Sprintf("%d-%d", run, rapid.IntRange(0, 3).Draw(t, "deleted"))
				wasHeld, err := r.DeleteResponse(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				h, ok := model[id]
				if want := ok && !h.deleted; wasHeld != want {
					t.Fatalf("delete %s: got held %v, want %v", id, wasHeld, want)
				}
				if ok {
					h.deleted = true
					model[id] = h
				}
				continue
			}
			n := rapid.IntRange(1, 8).Draw(t, "events")
			events := make([]engine.Event, n)
			want := make([]engine.Outcome, n)
			for i := range events {
				ev := engine.Event{Segment: "s", Touchpoint: "t", Metric: engine.CSAT, Score: rapid.IntRange(1, 5).Draw(t, "score")}
				if k := rapid.IntRange(-1, 3).Draw(t, "id"); k >= 0 {
					ev.ResponseID = fmt.Sprintf("%d-%d", run, k)
					ev.Version = rapid.Uint64Range(0, 3).Draw(t, "version")
				}
				events[i] = ev
				h, ok := model[ev.ResponseID]
				switch {
				case ev.ResponseID == "" || !ok:
					want[i] = engine.Recorded
				case ev.Version <= h.version:
					want[i] = engine.Duplicate
				case h.deleted:
					want[i] = engine.Recorded
				default:
					want[i] = engine.Updated
				}
				if ev.ResponseID != "" && want[i] != engine.Duplicate {
					model[ev.ResponseID] = held{version: ev.Version}
				}
			}
			got := make([]engine.Outcome, n)
			if err := r.RecordBatchOutcomes(ctx, events, got); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("got outcomes %v, want %v", got, want)
			}
		}
	})
}
