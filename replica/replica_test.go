package replica

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cxscore/cxscore/engine"
)

func TestPublishApply(t *testing.T) {
	s := runServer(t)
	c := testConfig([]string{s.ClientURL()}, "APPLY")
	a := openReplica(t, newEngine(t), c)
	bEng := newEngine(t)
	b := openReplica(t, bEng, c)
	rng := rand.New(rand.NewPCG(1, 2))
	msgs := genMessages(rng, "r", 3000)
	var last uint64
	for i := 0; i < len(msgs); i += 500 {
		via := a
		if i/500%2 == 1 {
			via = b
		}
		last = max(last, publish(t, via, msgs[i:i+500]))
	}
	if last != uint64(len(msgs)) {
		t.Fatalf("last sequence %d, want %d", last, len(msgs))
	}
	ref := reference(t, msgs)
	for name, r := range map[string]*Replica{"a": a, "b": b} {
		waitApplied(t, r, last)
		sameAnswers(t, name, ref, r.eng)
		if st := r.Stats(); st != (Stats{Applied: last, CaughtUp: true, StreamLast: last, Recorded: last}) {
			t.Fatalf("%s: stats %+v", name, st)
		}
	}
	// A replica that starts later catches up with everything.
	late := openReplica(t, newEngine(t), c)
	if late.CaughtUp() && late.Applied() < last {
		t.Fatalf("caught up at %d before applying %d", late.Applied(), last)
	}
	waitApplied(t, late, last)
	if !late.CaughtUp() {
		t.Fatal("not caught up after applying the whole stream")
	}
	sameAnswers(t, "late", ref, late.eng)
}

func TestPublishEvents(t *testing.T) {
	s := runServer(t)
	eng := newEngine(t)
	r := openReplica(t, eng, testConfig([]string{s.ClientURL()}, "EVENTS"))
	ctx := context.Background()
	good := engine.Event{CustomerID: "c-1", Segment: "enterprise", Touchpoint: "web", Metric: engine.NPS, Score: 10}
	bad := good
	bad.Score = 11
	tooOld := good
	tooOld.Time = t0.Add(-70 * 24 * time.Hour) // past the 61 days the default tiers keep
	longID := good
	longID.CustomerID = string(make([]byte, MaxIDBytes+1))

	_, err := r.Publish(ctx, []engine.Event{good, bad, tooOld, longID})
	var be *engine.BatchError
	if !errors.As(err, &be) || len(be.Rejected) != 3 || !errors.Is(err, engine.ErrScoreOutOfRange) ||
		!errors.Is(err, engine.ErrTooOld) || !errors.Is(err, ErrIDTooLong) {
		t.Fatalf("got %v, want a BatchError of events 1-3", err)
	}
	seq, err := r.Publish(ctx, []engine.Event{good, good})
	if err != nil || seq != 2 {
		t.Fatalf("got %d, %v, want 2, nil: the rejected batch published nothing", seq, err)
	}
	waitApplied(t, r, seq)
	var res engine.Result
	if err := eng.QueryAt(t0, engine.Query{Window: time.Minute}, &res); err != nil {
		t.Fatal(err)
	}
	// Without a time, the publisher stamped its engine's clock: t0.
	if n := res.NPS.Responses(); n != 2 || res.UniqueCustomers != 1 {
		t.Fatalf("got %d responses, %d customers in t0's minute, want 2, 1", n, res.UniqueCustomers)
	}
}

func TestRecordBatch(t *testing.T) {
	s := runServer(t)
	eng := newEngine(t)
	r := openReplica(t, eng, testConfig([]string{s.ClientURL()}, "RECORD"))
	good := engine.Event{CustomerID: "c-1", Segment: "smb", Touchpoint: "chat", Metric: engine.CSAT, Score: 5}
	bad := good
	bad.Score = 6
	// Hold the apply path: RecordBatch must wait for it, not return on the
	// stream's acknowledgement alone.
	r.applyMu.Lock()
	done := make(chan error, 1)
	go func() { done <- r.RecordBatch(context.Background(), []engine.Event{good, bad, good, bad}) }()
	select {
	case err := <-done:
		r.applyMu.Unlock()
		t.Fatalf("RecordBatch returned %v before its events were applied", err)
	case <-time.After(300 * time.Millisecond):
	}
	r.applyMu.Unlock()
	err := <-done
	var be *engine.BatchError
	if !errors.As(err, &be) || len(be.Rejected) != 2 || be.Rejected[0].Index != 1 || be.Rejected[1].Index != 3 {
		t.Fatalf("got %v, want a BatchError of events 1 and 3", err)
	}
	// RecordBatch returned: this replica's engine already holds the valid
	// events, without waiting.
	if got := responses(t, eng); got != 2 {
		t.Fatalf("got %d responses right after RecordBatch, want the 2 valid ones", got)
	}
	if err := r.RecordBatch(context.Background(), []engine.Event{bad}); !errors.As(err, &be) || r.Applied() != 2 {
		t.Fatalf("all rejected: got %v and applied %d, want a BatchError and nothing published", err, r.Applied())
	}
}

func TestDuplicatePublishCountedOnce(t *testing.T) {
	s := runServer(t)
	eng := newEngine(t)
	r := openReplica(t, eng, testConfig([]string{s.ClientURL()}, "DUP"))
	msgs := genMessages(rand.New(rand.NewPCG(3, 4)), "d", 10)
	first := publish(t, r, msgs)
	again := publish(t, r, msgs) // a client retrying the whole batch
	if again != first {
		t.Fatalf("retried batch acknowledged up to %d, want the original %d", again, first)
	}
	// A correction is a new message; an older version published after it
	// (delivered late) is stored too, another Nats-Msg-Id, but the engine
	// counts it as a duplicate.
	corrected, stale := msgs[0], msgs[0]
	corrected.Event.Version, corrected.Event.Metric, corrected.Event.Score = 2, engine.NPS, 0
	stale.Event.Version = 0
	last := publish(t, r, []message{corrected, stale})
	if last != first+2 {
		t.Fatalf("correction and stale version stored up to %d, want %d", last, first+2)
	}
	waitApplied(t, r, last)
	want := reference(t, append([]message{corrected}, msgs[1:]...))
	sameAnswers(t, "after a correction", want, eng)
	if got := responses(t, eng); got != 10 {
		t.Fatalf("got %d responses, want the 10 published, one of them corrected", got)
	}
}

// Events published with a response id carry it through the stream: a
// replica deduplicates and corrects as an engine does.
func TestPublishResponses(t *testing.T) {
	s := runServer(t)
	eng := newEngine(t)
	r := openReplica(t, eng, testConfig([]string{s.ClientURL()}, "RESP"))
	ctx := context.Background()
	ev := engine.Event{CustomerID: "c-1", Segment: "smb", Touchpoint: "web", Metric: engine.NPS, Score: 3, ResponseID: "delighted-77", Version: 1}
	if _, err := r.Publish(ctx, []engine.Event{ev}); err != nil {
		t.Fatal(err)
	}
	seq, err := r.Publish(ctx, []engine.Event{ev}) // a retried webhook: dropped by the stream
	if err != nil || seq != 1 {
		t.Fatalf("retry stored at %d (%v), want the original 1", seq, err)
	}
	ev.Version, ev.Score = 2, 10 // the customer changed the answer
	if seq, err = r.Publish(ctx, []engine.Event{ev}); err != nil {
		t.Fatal(err)
	}
	waitApplied(t, r, seq)
	var res engine.Result
	if err := eng.QueryAt(t0, engine.Query{Window: time.Minute}, &res); err != nil {
		t.Fatal(err)
	}
	if res.NPS.Responses() != 1 || res.NPS.Promoters() != 1 {
		t.Fatalf("NPS %d responses, %d promoters, want the one corrected answer, a promoter", res.NPS.Responses(), res.NPS.Promoters())
	}
}

func TestSkipsBadMessages(t *testing.T) {
	s := runServer(t)
	eng := newEngine(t)
	c := testConfig([]string{s.ClientURL()}, "BAD")
	r := openReplica(t, eng, c)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ackMsg := func(subj string, data []byte) {
		t.Helper()
		if _, err := nc.Request(subj, data, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	ackMsg("cxscore.events.x.y", []byte{9, 9, 9}) // malformed, straight to the stream
	// An event too old for the engine (a long outage), bypassing Check.
	old := genMessages(rand.New(rand.NewPCG(5, 6)), "o", 1)
	old[0].Event.Time = t0.Add(-70 * 24 * time.Hour) // past the 61 days the default tiers keep
	publish(t, r, old)
	good := genMessages(rand.New(rand.NewPCG(7, 8)), "g", 5)
	last := publish(t, r, good)
	waitApplied(t, r, last)
	if st := r.Stats(); st.Malformed != 1 || st.Rejected != 1 || st.Applied != last {
		t.Fatalf("stats %+v, want 1 malformed, 1 rejected, applied %d", st, last)
	}
	sameAnswers(t, "after bad messages", reference(t, good), eng)
}

func TestRestartFromCheckpoint(t *testing.T) {
	s := runServer(t)
	c := testConfig([]string{s.ClientURL()}, "CKPT")
	c.KeepCheckpoints = 1
	rng := rand.New(rand.NewPCG(9, 10))
	msgs := genMessages(rng, "k", 2000)

	r := openReplica(t, newEngine(t), c)
	publish(t, r, msgs[:1000])
	waitApplied(t, r, 1000)
	ctx := context.Background()
	for _, want := range []uint64{1000, 1000} { // the second has nothing new
		if seq, err := r.Checkpoint(ctx); err != nil || seq != want {
			t.Fatalf("Checkpoint: got %d, %v, want %d", seq, err, want)
		}
	}
	publish(t, r, msgs[1000:1500])
	waitApplied(t, r, 1500)
	if seq, err := r.Checkpoint(ctx); err != nil || seq != 1500 {
		t.Fatalf("Checkpoint: got %d, %v, want 1500", seq, err)
	}
	if seqs, err := r.checkpoints(ctx); err != nil || len(seqs) != 1 || seqs[0] != 1500 {
		t.Fatalf("checkpoints kept: %v, %v, want [1500]", seqs, err)
	}
	publish(t, r, msgs[1500:])
	r.Close()
	if _, err := r.Checkpoint(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Checkpoint after Close: got %v, want ErrClosed", err)
	}

	eng := newEngine(t)
	again := openReplica(t, eng, c)
	if st := again.Stats(); st.Checkpoint != 1500 {
		t.Fatalf("started from checkpoint %d, want 1500", st.Checkpoint)
	}
	waitApplied(t, again, 2000)
	sameAnswers(t, "restarted", reference(t, msgs), eng)
}

func TestOpenErrors(t *testing.T) {
	s := runServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	full := newEngine(t)
	if err := full.Record(engine.Event{Segment: "s", Touchpoint: "t", Metric: engine.CSAT, Score: 5}); err != nil {
		t.Fatal(err)
	}
	c := testConfig([]string{s.ClientURL()}, "OPEN")
	if _, err := Open(ctx, full, c); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("non-empty engine: got %v, want ErrNotEmpty", err)
	}
	for name, mod := range map[string]func(*Config){
		"stream name": func(c *Config) { c.Stream = "a.b" },
		"subject":     func(c *Config) { c.Subject = "a.*" },
		"max age":     func(c *Config) { c.MaxAge = time.Hour },
		"replicas":    func(c *Config) { c.Replicas = -1 },
	} {
		bad := c
		mod(&bad)
		if _, err := Open(ctx, newEngine(t), bad); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", name, err)
		}
	}
}

func TestWaitApplied(t *testing.T) {
	s := runServer(t)
	r := openReplica(t, newEngine(t), testConfig([]string{s.ClientURL()}, "WAIT"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.WaitApplied(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if err := r.WaitApplied(ctx, 0); err != nil {
		t.Fatalf("sequence 0: got %v, want nil", err)
	}
	done := make(chan error, 1)
	go func() { done <- r.WaitApplied(context.Background(), 100) }()
	r.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: got %v, want ErrClosed", err)
	}
	if _, err := r.Publish(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close: got %v, want ErrClosed", err)
	}
}
