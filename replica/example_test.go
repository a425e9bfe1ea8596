package replica_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/replica"
	"github.com/cxscore/cxscore/replica/embedded"
)

// runExample starts a single JetStream server and a replica of an empty
// engine on it; stop closes them.
func runExample(dir string, local io.Reader) (r *replica.Replica, eng *engine.Engine, stop func(), err error) {
	srv, err := embedded.Run(embedded.Config{Dir: dir, Port: -1})
	if err != nil {
		return nil, nil, nil, err
	}
	eng, err = engine.New(engine.Config{})
	if err != nil {
		srv.Shutdown()
		return nil, nil, nil, err
	}
	r, err = replica.Open(context.Background(), eng, replica.Config{
		URLs: []string{srv.ClientURL()}, Name: "example", Local: local,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		eng.Close()
		srv.Shutdown()
		return nil, nil, nil, err
	}
	return r, eng, func() { r.Close(); eng.Close(); srv.Shutdown() }, nil
}

// A webhook delivered twice, then corrected: RecordBatchOutcomes says what
// each delivery did as the replica's engine applied it from the stream.
func ExampleReplica_RecordBatchOutcomes() {
	dir, _ := os.MkdirTemp("", "cxscore-example")
	defer os.RemoveAll(dir)
	r, _, stop, err := runExample(dir, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()
	ev := engine.Event{Segment: "smb", Touchpoint: "web", Metric: engine.CSAT, Score: 2, ResponseID: "dl-1", Version: 1}
	corrected := ev
	corrected.Score, corrected.Version = 5, 2
	for _, batch := range [][]engine.Event{{ev}, {ev}, {corrected}} {
		out := make([]engine.Outcome, len(batch))
		if err := r.RecordBatchOutcomes(context.Background(), batch, out); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(out)
	}
	// Output:
	// [recorded]
	// [duplicate]
	// [updated]
}

// A service keeps a local checkpoint (in a file, here in memory) and
// starts from it: the replica loads it, as it is newer than the bucket's
// (which holds none), and applies only the stream after it.
func ExampleReplica_WriteLocal() {
	dir, _ := os.MkdirTemp("", "cxscore-example")
	defer os.RemoveAll(dir)
	r, _, stop, err := runExample(dir, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	ev := engine.Event{Segment: "smb", Touchpoint: "web", Metric: engine.NPS, Score: 10}
	ctx := context.Background()
	if err := r.RecordBatch(ctx, []engine.Event{ev, ev}); err != nil {
		fmt.Println(err)
		return
	}
	var local bytes.Buffer
	seq, _, err := r.WriteLocal(&local)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := r.RecordBatch(ctx, []engine.Event{ev}); err != nil { // after the local checkpoint
		fmt.Println(err)
		return
	}
	stop()
	fmt.Println("local checkpoint at sequence", seq)

	r, eng, stop, err := runExample(dir, &local) // a restart
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()
	if err := r.WaitApplied(ctx, 3); err != nil {
		fmt.Println(err)
		return
	}
	var res engine.Result
	if err := eng.Query(engine.Query{Window: time.Hour}, &res); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("responses after the restart:", res.NPS.Responses())
	// Output:
	// local checkpoint at sequence 2
	// responses after the restart: 3
}
