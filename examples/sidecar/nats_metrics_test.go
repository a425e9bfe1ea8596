package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/replica"
	"github.com/cxscore/cxscore/replica/embedded"
)

// TestReplicaMetrics applies events and deletions through a replica of an
// in-process JetStream server and checks its cxscore_replica_* series,
// with the collector lint and, when installed, promtool check metrics.
func TestReplicaMetrics(t *testing.T) {
	srv, err := embedded.Run(embedded.Config{Dir: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	e, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := replica.Open(ctx, e, replica.Config{URLs: []string{srv.ClientURL()}, Name: "m", CheckpointInterval: -1, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ev := engine.Event{Segment: "smb", Touchpoint: "web", Metric: engine.CSAT, Score: 4}
	withID := ev
	withID.ResponseID, withID.Version = "r-1", 1
	corrected := withID
	corrected.Version = 2
	other := ev
	other.Segment = "enterprise"
	out := make([]engine.Outcome, 5)
	if err := r.RecordBatchOutcomes(ctx, []engine.Event{ev, ev, withID, corrected, other}, out); err != nil {
		t.Fatal(err)
	}
	if _, err := r.DeleteResponse(ctx, "r-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.DeleteKeys(ctx, "enterprise", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Publish(ctx, []engine.Event{ev}); err != nil { // applied after the checkpoint below, maybe not yet
		t.Fatal(err)
	}
	if err := r.WaitApplied(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	c := replicaCollector{r: r, now: func() time.Time { return time.Now().Add(time.Minute) }}

	want := `
# HELP cxscore_replica_applied_events_total Events applied from the stream since start, by outcome (recorded, duplicate, updated).
# TYPE cxscore_replica_applied_events_total counter
cxscore_replica_applied_events_total{outcome="duplicate"} 0
cxscore_replica_applied_events_total{outcome="recorded"} 5
cxscore_replica_applied_events_total{outcome="updated"} 1
# HELP cxscore_replica_applied_sequence Stream sequence of the last message this replica applied to its engine.
# TYPE cxscore_replica_applied_sequence gauge
cxscore_replica_applied_sequence 8
# HELP cxscore_replica_caught_up 1 once the replica has applied every message that was in the stream when it started (what /readyz waits for), else 0.
# TYPE cxscore_replica_caught_up gauge
cxscore_replica_caught_up 1
# HELP cxscore_replica_checkpoint_sequence Stream sequence of the newest checkpoint this replica wrote or started from; 0 for none.
# TYPE cxscore_replica_checkpoint_sequence gauge
cxscore_replica_checkpoint_sequence 8
# HELP cxscore_replica_deleted_keys_total Keys deleted by key deletions applied from the stream since start.
# TYPE cxscore_replica_deleted_keys_total counter
cxscore_replica_deleted_keys_total 1
# HELP cxscore_replica_deleted_responses_total Response deletions applied from the stream since start that deleted a held response.
# TYPE cxscore_replica_deleted_responses_total counter
cxscore_replica_deleted_responses_total 1
# HELP cxscore_replica_lag_messages Messages of the stream, as last seen, that this replica has not applied yet.
# TYPE cxscore_replica_lag_messages gauge
cxscore_replica_lag_messages 0
# HELP cxscore_replica_skipped_messages_total Messages skipped since start: rejected by the engine (too old, too new) or malformed.
# TYPE cxscore_replica_skipped_messages_total counter
cxscore_replica_skipped_messages_total{reason="malformed"} 0
cxscore_replica_skipped_messages_total{reason="rejected"} 0
# HELP cxscore_replica_stream_last_sequence The stream's last sequence, as this replica last saw it (every message applied, and every 5 s from the server).
# TYPE cxscore_replica_stream_last_sequence gauge
cxscore_replica_stream_last_sequence 8
`
	names := []string{"cxscore_replica_applied_events_total", "cxscore_replica_applied_sequence", "cxscore_replica_caught_up",
		"cxscore_replica_checkpoint_sequence", "cxscore_replica_deleted_keys_total", "cxscore_replica_deleted_responses_total",
		"cxscore_replica_lag_messages", "cxscore_replica_skipped_messages_total", "cxscore_replica_stream_last_sequence"}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	for _, f := range families {
		if f.GetName() == "cxscore_replica_checkpoint_age_seconds" {
			if age := f.GetMetric()[0].GetGauge().GetValue(); age < 59 || age > 120 {
				t.Errorf("checkpoint age %v s a minute after it was written, want about 60", age)
			}
		}
		if _, err := expfmt.MetricFamilyToText(&text, f); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(text.String(), "cxscore_replica_checkpoint_age_seconds") {
		t.Error("no cxscore_replica_checkpoint_age_seconds after a checkpoint")
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	promtoolCheck(t, text.Bytes())
}

// promtoolCheck runs promtool check metrics over an exposition, as
// server/metrics' TestPromtool does: promtool from $PROMTOOL or PATH,
// skipped without it unless CI=true.
func promtoolCheck(t *testing.T, exposition []byte) {
	t.Helper()
	promtool := os.Getenv("PROMTOOL")
	if promtool == "" {
		var err error
		if promtool, err = exec.LookPath("promtool"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("promtool is not installed, and CI=true requires it (apt-get install prometheus)")
			}
			t.Log("promtool is not installed (apt-get install prometheus): skipped its check; the lint above applies the same rules")
			return
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
