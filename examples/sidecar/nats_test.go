package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cxscore/cxscore/server/httpapi"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// postApplied posts body and returns the status and the applied-sequence
// header.
func postApplied(t *testing.T, base, body string) (int, uint64) {
	t.Helper()
	res, err := http.Post(base+"/v1/events", ndjson, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("POST /v1/events: got %d %s, want 200", res.StatusCode, b)
	}
	seq, err := strconv.ParseUint(res.Header.Get(httpapi.AppliedSequenceHeader), 10, 64)
	if err != nil {
		t.Fatalf("POST /v1/events: %s header: %v", httpapi.AppliedSequenceHeader, err)
	}
	return res.StatusCode, seq
}

// deleteApplied sends DELETE target, checks its answer and returns the
// applied-sequence header, which covers the deletion.
func deleteApplied(t *testing.T, base, target string, status int, want string) uint64 {
	t.Helper()
	req, _ := http.NewRequest("DELETE", base+target, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != status || !strings.Contains(string(b), want) {
		t.Fatalf("DELETE %s: got %d %s, want %d with %s", target, res.StatusCode, b, status, want)
	}
	seq, err := strconv.ParseUint(res.Header.Get(httpapi.AppliedSequenceHeader), 10, 64)
	if err != nil {
		t.Fatalf("DELETE %s: %s header: %v", target, httpapi.AppliedSequenceHeader, err)
	}
	return seq
}

// scoresAt reads the scores of everything once the sidecar has applied the
// stream up to seq.
func scoresAt(t *testing.T, base string, seq uint64) wireResult {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/v1/scores?window=24h", nil)
	req.Header.Set(httpapi.MinSequenceHeader, strconv.FormatUint(seq, 10))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET /v1/scores at %d: got %d %s", seq, res.StatusCode, b)
	}
	var r wireResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("GET /v1/scores: %v in %s", err, b)
	}
	return r
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/readyz not 200 after 30 s (last: %v)", base, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func stopSidecar(t *testing.T, sc *sidecar) {
	t.Helper()
	sc.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-sc.done:
		if err != nil {
			t.Fatalf("sidecar exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sidecar still running 30 s after SIGTERM")
	}
}

// TestNATS runs one sidecar with an embedded JetStream server and a second
// connected to it: an event written through either is in both answers, and
// a restart of the first rebuilds its state from the stream on disk;
// deletions through either leave both answers, and the restarted one's.
func TestNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the sidecar and runs JetStream")
	}
	bin := buildSidecar(t)
	dir := t.TempDir()
	natsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	first := []string{"-addr", "127.0.0.1:0", "-nats", "embedded", "-nats-dir", dir, "-nats-listen", natsAddr, "-nats-name", "a"}
	a := startSidecar(t, bin, first...)
	b := startSidecar(t, bin, "-addr", "127.0.0.1:0", "-nats", "nats://"+natsAddr, "-nats-name", "b")
	waitReady(t, a.url)
	waitReady(t, b.url)

	var body strings.Builder
	for i := range 300 {
		body.WriteString(event("smb", "chat", "nps", i%11, fmt.Sprint("c-", i%40), time.Time{}) + "\n")
	}
	_, seqA := postApplied(t, a.url, body.String())
	_, seqB := postApplied(t, b.url, body.String())
	if seqA < 300 || seqB < 600 {
		t.Fatalf("applied sequences %d and %d after posting 300 events to each, want >= 300 and >= 600", seqA, seqB)
	}
	// b's answer came once b held its own events; a reads them once it has
	// applied as far.
	ra, rb := scoresAt(t, a.url, seqB), scoresAt(t, b.url, seqB)
	if ra.NPS.Responses != 600 || rb.NPS.Responses != 600 || ra.UniqueCustomers != 40 || rb.UniqueCustomers != 40 ||
		*ra.NPS.Score != *rb.NPS.Score {
		t.Fatalf("a: %d responses, %d customers, NPS %v; b: %d, %d, %v; want 600 and 40 in both, the same NPS",
			ra.NPS.Responses, ra.UniqueCustomers, *ra.NPS.Score, rb.NPS.Responses, rb.UniqueCustomers, *rb.NPS.Score)
	}

	// Deletions go through the stream too: a response deleted through b
	// leaves a's answers, and a key deleted through a leaves b's, each
	// answered as a sidecar alone answers.
	var ids strings.Builder
	for i := range 3 {
		ids.WriteString(fmt.Sprintf(`{"segment":"smb","touchpoint":"chat","metric":"nps","score":10,"response_id":"r-%d","version":1}`+"\n", i))
		ids.WriteString(fmt.Sprintf(`{"segment":"enterprise","touchpoint":"web","metric":"csat","score":5,"response_id":"e-%d","version":1}`+"\n", i))
	}
	_, seq := postApplied(t, a.url, ids.String())
	if r := scoresAt(t, b.url, seq); r.NPS.Responses != 603 || r.CSAT.Responses != 3 {
		t.Fatalf("b: %d NPS and %d CSAT responses, want 603 and 3", r.NPS.Responses, r.CSAT.Responses)
	}
	seq = deleteApplied(t, b.url, "/v1/responses/r-1", 200, `{"deleted":true}`)
	for name, base := range map[string]string{"a": a.url, "b": b.url} {
		if r := scoresAt(t, base, seq); r.NPS.Responses != 602 {
			t.Fatalf("%s after DELETE /v1/responses/r-1 on b: %d NPS responses, want 602", name, r.NPS.Responses)
		}
	}
	deleteApplied(t, a.url, "/v1/responses/r-1", 404, `no response \"r-1\" is held`)
	seq = deleteApplied(t, a.url, "/v1/keys?segment=enterprise", 200, `{"deleted":1}`)
	if r := scoresAt(t, b.url, seq); r.CSAT.Responses != 0 || r.NPS.Responses != 602 {
		t.Fatalf("b after DELETE /v1/keys?segment=enterprise on a: %d CSAT and %d NPS responses, want 0 and 602", r.CSAT.Responses, r.NPS.Responses)
	}

	// a restarts: its embedded server's files hold the stream, and the
	// sidecar rebuilds its engine from it before it says it is ready.
	stopSidecar(t, b)
	stopSidecar(t, a)
	a = startSidecar(t, bin, first...)
	waitReady(t, a.url)
	if r := scoresAt(t, a.url, 0); r.NPS.Responses != 602 || r.CSAT.Responses != 0 || r.UniqueCustomers != 40 {
		t.Fatalf("after a restart: %d NPS and %d CSAT responses, %d customers, want 602, 0 and 40", r.NPS.Responses, r.CSAT.Responses, r.UniqueCustomers)
	}
	stopSidecar(t, a)
}
