package replica

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/replica/embedded"
	"github.com/cxscore/cxscore/window"
)

// t0 is every test engine's clock: events are recorded and queried as of
// it, whatever the wall clock says, so that replicas agree exactly.
var t0 = time.Date(2026, 12, 1, 12, 0, 30, 0, time.UTC)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newEngine(t testing.TB) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Config{Clock: window.NewManualClock(t0), CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// runServer starts a single-node JetStream server on a free port.
func runServer(t testing.TB) *embedded.Server {
	t.Helper()
	s, err := embedded.Run(embedded.Config{Dir: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func testConfig(urls []string, stream string) Config {
	return Config{URLs: urls, Name: stream, Stream: stream, Logger: quiet, CheckpointInterval: -1}
}

func openReplica(t testing.TB, eng *engine.Engine, c Config) *Replica {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := Open(ctx, eng, c)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// genMessages returns n valid events in the three hours before t0, with
// response ids "<prefix>-<i>", over a few keys and customers.
func genMessages(rng *rand.Rand, prefix string, n int) []message {
	segments := []string{"enterprise", "smb", "consumer.eu"}
	touchpoints := []string{"web", "checkout", "support call", "app"}
	metrics := []engine.Metric{engine.CSAT, engine.CES, engine.NPS}
	scales := map[engine.Metric][2]int{engine.CSAT: {1, 5}, engine.CES: {1, 7}, engine.NPS: {0, 10}}
	out := make([]message, n)
	for i := range out {
		m := metrics[rng.IntN(3)]
		sc := scales[m]
		cust := ""
		if rng.IntN(10) != 0 {
			cust = fmt.Sprintf("c-%d", rng.IntN(2000))
		}
		out[i] = message{
			Event: engine.Event{
				CustomerID: cust,
				Segment:    segments[rng.IntN(len(segments))],
				Touchpoint: touchpoints[rng.IntN(len(touchpoints))],
				Metric:     m,
				Score:      sc[0] + rng.IntN(sc[1]-sc[0]+1),
				Time:       t0.Add(-time.Duration(rng.Int64N(int64(3 * time.Hour)))),
				ResponseID: fmt.Sprintf("%s-%d", prefix, i),
				Version:    1,
			},
		}
	}
	return out
}

// reference returns an engine that recorded msgs directly.
func reference(t testing.TB, msgs []message) *engine.Engine {
	t.Helper()
	e := newEngine(t)
	for i := range msgs {
		if err := e.RecordAt(t0, msgs[i].engineEvent()); err != nil {
			t.Fatalf("reference: %v", err)
		}
	}
	return e
}

// sameAnswers fails t unless got answers every query as want does: each
// key, each roll-up, over three windows; counts, distributions, scores and
// unique customers.
func sameAnswers(t testing.TB, name string, want, got *engine.Engine) {
	t.Helper()
	wantKeys, gotKeys := want.Keys(nil), got.Keys(nil)
	if !slices.Equal(wantKeys, gotKeys) {
		t.Fatalf("%s: keys %v, want %v", name, gotKeys, wantKeys)
	}
	queries := []engine.Query{{}}
	for _, k := range wantKeys {
		queries = append(queries, engine.Query{Segment: k.Segment, Touchpoint: k.Touchpoint},
			engine.Query{Segment: k.Segment}, engine.Query{Touchpoint: k.Touchpoint})
	}
	for _, q := range queries {
		for _, w := range []time.Duration{time.Hour, 24 * time.Hour, 30 * 24 * time.Hour} {
			q.Window = w
			var a, b engine.Result
			if err := want.QueryAt(t0, q, &a); err != nil {
				t.Fatal(err)
			}
			if err := got.QueryAt(t0, q, &b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("%s: %+v: got\n%+v\nwant\n%+v", name, q, b, a)
			}
		}
	}
}

func responses(t testing.TB, e *engine.Engine) uint64 {
	t.Helper()
	var r engine.Result
	if err := e.QueryAt(t0, engine.Query{Window: 30 * 24 * time.Hour}, &r); err != nil {
		t.Fatal(err)
	}
	return r.Responses()
}

func waitApplied(t testing.TB, r *Replica, seq uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.WaitApplied(ctx, seq); err != nil {
		t.Fatalf("WaitApplied(%d): %v (applied %d)", seq, err, r.Applied())
	}
}

func publish(t testing.TB, r *Replica, msgs []message) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seq, err := r.publish(ctx, msgs, nil)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return seq
}
