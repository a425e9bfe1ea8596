package replica

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// benchBatch is how many events each Publish of the benchmarks carries:
// the sidecar's batch size.
const benchBatch = 256

// benchEvents returns n anonymous events (no response id: no duplicate
// window entry per event) in the three hours before t0.
func benchEvents(n int) []engine.Event {
	msgs := genMessages(rand.New(rand.NewPCG(9, 9)), "b", n)
	out := make([]engine.Event, n)
	for i := range msgs {
		out[i] = msgs[i].Event
	}
	return out
}

// BenchmarkClusterThroughput publishes through one replica into an R3
// stream of a 3-node cluster on loopback and waits until a second replica,
// connected to another node, has applied everything: events/s is what one
// publisher gets acknowledged and replicated end to end.
func BenchmarkClusterThroughput(b *testing.B) {
	c := newCluster(b)
	cfgA, cfgB := c.config("BENCH", "a"), c.config("BENCH", "b")
	cfgA.URLs, cfgB.URLs = c.urls[:1], c.urls[1:2]
	pub := openReplica(b, newEngine(b), cfgA)
	sub := openReplica(b, newEngine(b), cfgB)
	events := benchEvents(16 * 4096)
	ctx := context.Background()
	for _, batch := range []int{benchBatch, 4096} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			var last uint64
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				off := i * batch % len(events)
				seq, err := pub.Publish(ctx, events[off:off+batch])
				if err != nil {
					b.Fatal(err)
				}
				last = seq
			}
			if err := sub.WaitApplied(ctx, last); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// BenchmarkCatchUp times a replica's start until it has caught up with a
// stream of 100,000 events: from a checkpoint taken 10,000 events before
// the end, from a local checkpoint (WriteLocal, Config.Local) taken there
// instead, and from the whole stream.
func BenchmarkCatchUp(b *testing.B) {
	s := runServer(b)
	events := benchEvents(100_000)
	ctx := context.Background()
	for _, from := range []string{"checkpoint", "local", "stream"} {
		stream := "CATCHUP_" + from
		cfg := testConfig([]string{s.ClientURL()}, stream)
		cfg.CheckpointEvery = -1
		cfg.Subject = "ev." + stream
		w := openReplica(b, newEngine(b), cfg)
		publishAll := func(evs []engine.Event) uint64 {
			var last uint64
			for i := 0; i < len(evs); i += 4096 {
				seq, err := w.Publish(ctx, evs[i:min(i+4096, len(evs))])
				if err != nil {
					b.Fatal(err)
				}
				last = seq
			}
			return last
		}
		split := len(events)
		if from != "stream" {
			split -= 10_000
		}
		seq := publishAll(events[:split])
		var local bytes.Buffer
		switch from {
		case "checkpoint":
			waitApplied(b, w, seq)
			if _, err := w.Checkpoint(ctx); err != nil {
				b.Fatal(err)
			}
		case "local":
			waitApplied(b, w, seq)
			if _, _, err := w.WriteLocal(&local); err != nil {
				b.Fatal(err)
			}
		}
		publishAll(events[split:])
		w.Close()
		b.Run(fmt.Sprintf("from=%s", from), func(b *testing.B) {
			for b.Loop() {
				e := newEngine(b)
				c := cfg
				if from == "local" {
					c.Local = bytes.NewReader(local.Bytes())
				}
				r := openReplica(b, e, c)
				for !r.CaughtUp() {
					time.Sleep(time.Millisecond)
				}
				r.Close()
				e.Close()
			}
			b.ReportMetric(float64(len(events)), "stream-events")
		})
	}
}

// BenchmarkRecordBatchOutcomes compares RecordBatch with
// RecordBatchOutcomes on a single-node server: batches of benchBatch
// events with response ids, each round a correction of the last (a new
// version, so a new Nats-Msg-Id), published and waited for until applied.
// The difference is the cost of keeping every event's outcome.
func BenchmarkRecordBatchOutcomes(b *testing.B) {
	s := runServer(b)
	r := openReplica(b, newEngine(b), testConfig([]string{s.ClientURL()}, "OUTBENCH"))
	events := benchEvents(benchBatch)
	for i := range events {
		events[i].ResponseID, events[i].Version = fmt.Sprint("r-", i), 0
	}
	out := make([]engine.Outcome, len(events))
	ctx := context.Background()
	var version uint64
	for _, withOutcomes := range []bool{false, true} {
		name := "RecordBatch"
		if withOutcomes {
			name = "RecordBatchOutcomes"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				version++
				for i := range events {
					events[i].Version = version
				}
				var err error
				if withOutcomes {
					err = r.RecordBatchOutcomes(ctx, events, out)
				} else {
					err = r.RecordBatch(ctx, events)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(events))/b.Elapsed().Seconds(), "events/s")
		})
	}
}
