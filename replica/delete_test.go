package replica

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cxscore/cxscore/engine"
)

// TestDeleteResponse deletes responses through one replica and checks that
// every replica, and one that starts later from the stream or from a
// checkpoint, answers as an engine alone that saw the same calls.
func TestDeleteResponse(t *testing.T) {
	s := runServer(t)
	c := testConfig([]string{s.ClientURL()}, "DELETE")
	a := openReplica(t, newEngine(t), c)
	b := openReplica(t, newEngine(t), c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msgs := genMessages(rand.New(rand.NewPCG(21, 22)), "d", 300)
	waitApplied(t, b, publish(t, a, msgs))
	ref := reference(t, msgs)
	before := responses(t, b.eng)

	del := func(via *Replica, id string, want bool) {
		t.Helper()
		held, err := via.DeleteResponse(ctx, id)
		if err != nil || held != want {
			t.Fatalf("DeleteResponse(%q): got %v, %v, want %v, nil", id, held, err, want)
		}
		if refHeld, _ := ref.DeleteResponseAt(t0, id); refHeld != want {
			t.Fatalf("the reference engine held %q: %v, want %v", id, refHeld, want)
		}
	}
	del(a, "d-5", true)
	// DeleteResponse returned: a's engine no longer holds it; b's does not
	// either once it has applied as far.
	if got := responses(t, a.eng); got != before-1 {
		t.Fatalf("a: %d responses after the deletion, want %d", got, before-1)
	}
	waitApplied(t, b, a.Applied())
	if got := responses(t, b.eng); got != before-1 {
		t.Fatalf("b: %d responses after the deletion, want %d", got, before-1)
	}
	sameAnswers(t, "a", ref, a.eng)
	sameAnswers(t, "b", ref, b.eng)

	// Deleting again, through either replica, or what was never recorded,
	// deletes nothing.
	del(b, "d-5", false)
	del(a, "d-5", false)
	del(b, "never", false)
	del(b, "d-6", true)

	// Delivered again at its version it stays deleted; a higher version
	// records it anew, on every replica as in the engine alone.
	again := []message{msgs[5], msgs[6]}
	again[1].Event.Version = 2
	again[1].Event.Metric, again[1].Event.Score = engine.NPS, 10
	for i := range again {
		if _, err := ref.RecordResponseAt(t0, again[i].engineEvent()); err != nil {
			t.Fatal(err)
		}
	}
	last := publish(t, b, again)
	waitApplied(t, a, last)
	waitApplied(t, b, last)
	if got := responses(t, a.eng); got != before-1 {
		t.Fatalf("a: %d responses after re-recording d-6, want %d", got, before-1)
	}
	sameAnswers(t, "a after re-recording", ref, a.eng)
	sameAnswers(t, "b after re-recording", ref, b.eng)

	// A checkpoint holds the deletions: a replica that starts from it, and
	// one that replays the whole stream, agree.
	ckpt, err := a.Checkpoint(ctx)
	if err != nil || ckpt != last {
		t.Fatalf("Checkpoint: got %d, %v, want %d", ckpt, err, last)
	}
	fromCkpt := openReplica(t, newEngine(t), c)
	if st := fromCkpt.Stats(); st.Checkpoint != last {
		t.Fatalf("started from checkpoint %d, want %d", st.Checkpoint, last)
	}
	waitApplied(t, fromCkpt, last)
	sameAnswers(t, "from the checkpoint", ref, fromCkpt.eng)
	full := c
	full.CheckpointBucket = "DELETE-EMPTY"
	replay := openReplica(t, newEngine(t), full)
	waitApplied(t, replay, last)
	sameAnswers(t, "replayed", ref, replay.eng)
	// And what they hold as deleted stays deleted for them too.
	if held, err := fromCkpt.DeleteResponse(ctx, "d-5"); err != nil || held {
		t.Fatalf("from the checkpoint: DeleteResponse(d-5) got %v, %v, want false, nil", held, err)
	}

	for _, r := range []*Replica{a, b, fromCkpt, replay} {
		if st := r.Stats(); st.Rejected != 0 || st.Malformed != 0 {
			t.Fatalf("stats %+v, want nothing rejected or malformed", st)
		}
	}
}

func TestDeleteKeys(t *testing.T) {
	s := runServer(t)
	c := testConfig([]string{s.ClientURL()}, "DELKEYS")
	a := openReplica(t, newEngine(t), c)
	b := openReplica(t, newEngine(t), c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msgs := genMessages(rand.New(rand.NewPCG(23, 24)), "k", 300)
	waitApplied(t, b, publish(t, a, msgs))
	ref := reference(t, msgs)

	for _, tc := range []struct{ seg, tp string }{
		{"smb", "web"}, {"smb", "web"}, {"enterprise", ""}, {"consumer.eu", engine.All}, {"nobody", ""},
	} {
		n, err := b.DeleteKeys(ctx, tc.seg, tc.tp)
		want, _ := ref.DeleteKeys(tc.seg, tc.tp)
		if err != nil || n != want {
			t.Fatalf("DeleteKeys(%q, %q): got %d, %v, want %d, nil", tc.seg, tc.tp, n, err, want)
		}
	}
	if got := len(b.eng.Keys(nil)); got != 3 {
		t.Fatalf("%d keys left, want smb's other 3", got)
	}
	waitApplied(t, a, b.Applied())
	sameAnswers(t, "a", ref, a.eng)
	sameAnswers(t, "b", ref, b.eng)
}

func TestDeleteRejects(t *testing.T) {
	s := runServer(t)
	r := openReplica(t, newEngine(t), testConfig([]string{s.ClientURL()}, "DELREJECT"))
	ctx := context.Background()
	for _, id := range []string{"", string(make([]byte, engine.MaxResponseIDBytes+1)), "\xff"} {
		if _, err := r.DeleteResponse(ctx, id); !errors.Is(err, engine.ErrInvalidResponseID) {
			t.Fatalf("DeleteResponse(%q): got %v, want ErrInvalidResponseID", id, err)
		}
	}
	for _, k := range []struct {
		seg, tp string
		want    error
	}{{"", "", engine.ErrInvalidSegment}, {engine.All, "", engine.ErrInvalidSegment}, {"smb", "\xff", engine.ErrInvalidTouchpoint}} {
		if _, err := r.DeleteKeys(ctx, k.seg, k.tp); !errors.Is(err, k.want) {
			t.Fatalf("DeleteKeys(%q, %q): got %v, want %v", k.seg, k.tp, err, k.want)
		}
	}
	if r.Applied() != 0 {
		t.Fatalf("applied %d, want nothing published", r.Applied())
	}
	r.Close()
	if _, err := r.DeleteResponse(ctx, "r-1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: got %v, want ErrClosed", err)
	}
}

// TestDeleteWaitsForApply holds the apply path: DeleteResponse must answer
// from this replica's engine once it applied the deletion, not on the
// stream's acknowledgement.
func TestDeleteWaitsForApply(t *testing.T) {
	s := runServer(t)
	r := openReplica(t, newEngine(t), testConfig([]string{s.ClientURL()}, "DELWAIT"))
	msgs := genMessages(rand.New(rand.NewPCG(25, 26)), "w", 10)
	waitApplied(t, r, publish(t, r, msgs))
	r.applyMu.Lock()
	type result struct {
		held bool
		err  error
	}
	done := make(chan result, 1)
	go func() {
		held, err := r.DeleteResponse(context.Background(), "w-1")
		done <- result{held, err}
	}()
	select {
	case res := <-done:
		r.applyMu.Unlock()
		t.Fatalf("DeleteResponse returned %+v before the deletion was applied", res)
	case <-time.After(300 * time.Millisecond):
	}
	r.applyMu.Unlock()
	if res := <-done; res.err != nil || !res.held {
		t.Fatalf("got %+v, want held", res)
	}
	if got := responses(t, r.eng); got != 9 {
		t.Fatalf("got %d responses right after DeleteResponse, want 9", got)
	}
}

// TestDeletePublishedTwice: the stream drops a deletion retried with its
// Nats-Msg-Id, and a deletion applied twice deletes once.
func TestDeletePublishedTwice(t *testing.T) {
	s := runServer(t)
	c := testConfig([]string{s.ClientURL()}, "DELTWICE")
	a := openReplica(t, newEngine(t), c)
	msgs := genMessages(rand.New(rand.NewPCG(27, 28)), "t", 50)
	waitApplied(t, a, publish(t, a, msgs))
	del := message{Kind: kindDeleteResponse, Event: engine.Event{Time: t0, ResponseID: "t-3"}, ID: deletionID()}
	first := publish(t, a, []message{del})
	if again := publish(t, a, []message{del}); again != first {
		t.Fatalf("the retried deletion was stored at %d, want dropped as a duplicate of %d", again, first)
	}
	// With ids of their own, as a stream past its duplicate window would
	// store them: applied twice, deleted once.
	d1, d2 := del, del
	d1.ID, d2.ID = deletionID(), deletionID()
	last := publish(t, a, []message{d1, d2})
	if last != first+2 {
		t.Fatalf("stored up to %d, want %d", last, first+2)
	}
	waitApplied(t, a, last)
	ref := reference(t, msgs)
	ref.DeleteResponseAt(t0, "t-3")
	sameAnswers(t, "a", ref, a.eng)
	b := openReplica(t, newEngine(t), c)
	waitApplied(t, b, last)
	sameAnswers(t, "b", ref, b.eng)
}

// TestDeleteModel runs random interleavings of new responses, duplicates,
// corrections, deletions (of held, deleted and unknown responses) and
// recordings after a deletion through two replicas, one call at a time,
// and checks every answer and both engines against one engine that saw the
// same calls.
func TestDeleteModel(t *testing.T) {
	s := runServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := 0
	rapid.Check(t, func(rt *rapid.T) {
		run++
		c := testConfig([]string{s.ClientURL()}, fmt.Sprintf("MODEL%d", run))
		c.Subject = fmt.Sprintf("ev.model%d", run) // streams of one server take distinct subjects
		ref := newEngine(t)
		var reps [2]*Replica
		for i := range reps {
			r, err := Open(ctx, newEngine(t), c)
			if err != nil {
				rt.Fatalf("Open: %v", err)
			}
			defer r.Close()
			reps[i] = r
		}
		ids := []string{"r-0", "r-1", "r-2", "r-3"}
		touchpoints := map[string]string{"r-0": "web", "r-1": "web", "r-2": "app", "r-3": "app"}
		for step := range rapid.IntRange(1, 25).Draw(rt, "steps") {
			via := reps[rapid.IntRange(0, 1).Draw(rt, "via")]
			id := rapid.SampledFrom(ids).Draw(rt, "id")
			if rapid.Bool().Draw(rt, "delete") {
				held, err := via.DeleteResponse(ctx, id)
				want, _ := ref.DeleteResponseAt(t0, id)
				if err != nil || held != want {
					rt.Fatalf("step %d: DeleteResponse(%s): got %v, %v, want %v, nil", step, id, held, err, want)
				}
				continue
			}
			// Each response keeps its key: the stream drops a delivery whose
			// id and version it has seen, while an engine alone creates the
			// key of such a duplicate (empty) if it names another.
			ev := engine.Event{Segment: "s", Touchpoint: touchpoints[id],
				Metric: engine.NPS, Score: rapid.IntRange(0, 10).Draw(rt, "score"),
				Time:       t0.Add(-time.Duration(rapid.IntRange(0, 120).Draw(rt, "minutes ago")) * time.Minute),
				ResponseID: id, Version: rapid.Uint64Range(0, 4).Draw(rt, "version")}
			if err := via.RecordBatch(ctx, []engine.Event{ev}); err != nil {
				rt.Fatalf("step %d: RecordBatch: %v", step, err)
			}
			if _, err := ref.RecordResponseAt(t0, ev); err != nil {
				rt.Fatal(err)
			}
		}
		last := max(reps[0].Applied(), reps[1].Applied())
		for i, r := range reps {
			waitApplied(t, r, last)
			sameAnswers(t, fmt.Sprint("replica ", i), ref, r.eng)
		}
	})
}
