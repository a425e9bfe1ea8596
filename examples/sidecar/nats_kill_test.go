package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cxscore/cxscore/server/httpapi"
)

// postCounts posts an NDJSON body and returns the ingest answer and the
// applied-sequence header; it fails t unless the answer is 200.
func postCounts(t *testing.T, base, body string) (httpapi.IngestResponse, uint64, error) {
	res, err := http.Post(base+"/v1/events", ndjson, strings.NewReader(body))
	if err != nil {
		return httpapi.IngestResponse{}, 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var resp httpapi.IngestResponse
	if res.StatusCode != 200 || json.Unmarshal(b, &resp) != nil {
		return resp, 0, fmt.Errorf("POST /v1/events: got %d %s, want 200", res.StatusCode, b)
	}
	seq, err := strconv.ParseUint(res.Header.Get(httpapi.AppliedSequenceHeader), 10, 64)
	return resp, seq, err
}

// TestNATSReplicaKill runs two sidecars on one stream: a with an embedded
// JetStream server, b a replica of it that keeps a -snapshot file. The
// ingest answers through a count duplicates and corrections exactly, as
// applied. While a client posts events through a, b is killed with
// SIGKILL and restarted: it must end with exactly the acknowledged
// events, none lost and none counted twice, and say so on /metrics.
func TestNATSReplicaKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the sidecar and runs JetStream")
	}
	bin := buildSidecar(t)
	dir := t.TempDir()
	natsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	a := startSidecar(t, bin, "-addr", "127.0.0.1:0", "-nats", "embedded", "-nats-dir", filepath.Join(dir, "js"), "-nats-listen", natsAddr, "-nats-name", "a")
	bArgs := []string{"-addr", "127.0.0.1:0", "-nats", "nats://" + natsAddr, "-nats-name", "b",
		"-snapshot", filepath.Join(dir, "b.snap"), "-snapshot-every", "100ms"}
	b := startSidecar(t, bin, bArgs...)
	waitReady(t, a.url)
	waitReady(t, b.url)

	// Outcomes: the same response twice, then a higher version.
	withID := func(score, version int) string {
		return fmt.Sprintf(`{"segment":"smb","touchpoint":"web","metric":"csat","score":%d,"response_id":"o-1","version":%d}`+"\n", score, version)
	}
	for _, step := range []struct {
		body                         string
		accepted, duplicates, update int
	}{
		{withID(2, 1), 1, 0, 0},
		{withID(2, 1), 0, 1, 0},
		{withID(5, 2) + withID(5, 2), 0, 1, 1},
	} {
		resp, _, err := postCounts(t, a.url, step.body)
		if err != nil || resp.Accepted != step.accepted || resp.Duplicates != step.duplicates || resp.Updated != step.update {
			t.Fatalf("posting %q: got %+v, %v, want %d accepted, %d duplicates, %d updated",
				step.body, resp, err, step.accepted, step.duplicates, step.update)
		}
	}

	// A client posts batches through a until told to stop, counting the
	// acknowledged events.
	var acked, lastSeq atomic.Uint64
	stop, stopped := make(chan struct{}), make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				stopped <- nil
				return
			default:
			}
			var body strings.Builder
			for j := range 50 {
				body.WriteString(event("smb", "chat", "csat", 1+(i+j)%5, fmt.Sprint("c-", j), time.Time{}) + "\n")
			}
			resp, seq, err := postCounts(t, a.url, body.String())
			if err != nil {
				stopped <- err
				return
			}
			acked.Add(uint64(resp.Accepted))
			lastSeq.Store(seq)
		}
	}()
	waitAcked := func(n uint64) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); acked.Load() < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("only %d events acknowledged after 30 s, want %d", acked.Load(), n)
			}
		}
	}
	waitAcked(1000)
	b.waitFor(t, "snapshot written") // b has a file to restart from
	waitAcked(2000)
	if err := b.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-b.done
	killedAt := acked.Load()
	b = startSidecar(t, bin, bArgs...)
	waitReady(t, b.url)
	b.mu.Lock()
	loaded := regexp.MustCompile(`msg="loaded the local checkpoint" replica=b stream=CXSCORE seq=(\d+)`).FindStringSubmatch(b.log.String())
	older := strings.Contains(b.log.String(), "not newer than the bucket's")
	b.mu.Unlock()
	switch {
	case loaded == nil && !older:
		t.Fatal("b restarted without loading its -snapshot file, and not because the bucket held a newer checkpoint")
	case loaded == nil: // a slow machine: a checkpoint by time (every minute) overtook the file
		loaded = []string{"", "none (the bucket's was newer)"}
	}
	waitAcked(acked.Load() + 1000)
	close(stop)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	want := acked.Load() + 1 // and the corrected response
	for name, base := range map[string]string{"a": a.url, "b": b.url} {
		if r := scoresAt(t, base, lastSeq.Load()); r.CSAT.Responses != want {
			t.Fatalf("%s: %d responses, want the %d acknowledged (b killed after %d, restarted from its file at sequence %s)",
				name, r.CSAT.Responses, want, killedAt, loaded[1])
		}
	}
	metrics := b.scrape(t)
	for _, series := range []string{
		fmt.Sprintf("cxscore_replica_applied_sequence %d\n", lastSeq.Load()),
		"cxscore_replica_lag_messages 0\n",
		"cxscore_replica_caught_up 1\n",
	} {
		if !strings.Contains(metrics, series) {
			t.Errorf("b's /metrics lacks %q", series)
		}
	}
	t.Logf("%d events acknowledged; b killed after %d, restarted from its file at sequence %s", want-1, killedAt, loaded[1])
	stopSidecar(t, b)
	stopSidecar(t, a)
}
