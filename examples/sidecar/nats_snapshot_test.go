package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cxscore/cxscore/replica"
)

// inProcess is a sidecar run in this process, as run is called by main.
type inProcess struct {
	url  string
	log  *logBuffer
	stop context.CancelFunc
	done chan error
}

// runInProcess starts run with args; it returns once the sidecar listens,
// or with its error if it exits first.
func runInProcess(t *testing.T, args ...string) (*inProcess, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &inProcess{log: new(logBuffer), stop: cancel, done: make(chan error, 1)}
	go func() { p.done <- run(ctx, args, func(string) string { return "" }, p.log) }()
	addr := regexp.MustCompile(`msg=listening addr=(\S+)`)
	deadline := time.After(30 * time.Second)
	for {
		select {
		case err := <-p.done:
			cancel()
			return nil, err
		case <-deadline:
			cancel()
			t.Fatalf("not listening after 30 s:\n%s", p.log)
		case <-time.After(10 * time.Millisecond):
		}
		if m := addr.FindStringSubmatch(p.log.String()); m != nil {
			p.url = "http://" + m[1]
			t.Cleanup(func() { cancel(); <-p.done })
			return p, nil
		}
	}
}

// shutdown stops the sidecar as SIGTERM does and waits for it.
func (p *inProcess) shutdown(t *testing.T) {
	t.Helper()
	p.stop()
	if err := <-p.done; err != nil {
		t.Fatalf("sidecar exited with %v:\n%s", err, p.log)
	}
	p.done <- nil // for the cleanup
}

// TestNATSSnapshot runs a sidecar with -nats embedded and -snapshot: the
// file, written at shutdown, is a local copy of the state tagged with the
// stream and sequence, and a restart loads it (the stream's own checkpoint
// bucket holds none yet: older) and replays only what follows it. A
// damaged file, or one of a stream created again after its data was
// wiped, stops the start with a clear error and is left as it is.
func TestNATSSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("runs JetStream")
	}
	dir := t.TempDir()
	natsDir, snap := filepath.Join(dir, "js"), filepath.Join(dir, "cxscore.snap")
	args := []string{"-addr", "127.0.0.1:0", "-nats", "embedded", "-nats-dir", natsDir,
		"-nats-listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "-nats-name", "a", "-snapshot", snap, "-snapshot-every", "1h"}
	body := func(n int, tp string) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(event("smb", tp, "csat", 1+i%5, fmt.Sprint("c-", i), time.Time{}) + "\n")
		}
		return b.String()
	}

	a, err := runInProcess(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, a.url)
	_, seq := postApplied(t, a.url, body(100, "web"))
	a.shutdown(t)
	file, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	h, err := replica.ReadLocalHeader(bufio.NewReader(bytes.NewReader(file)))
	if err != nil || h.Stream != "CXSCORE" || h.Sequence != seq {
		t.Fatalf("the file's header: %+v, %v, want stream CXSCORE at sequence %d", h, err, seq)
	}

	a, err = runInProcess(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, a.url)
	if !strings.Contains(a.log.String(), fmt.Sprintf(`msg="loaded the local checkpoint" replica=a stream=CXSCORE seq=%d`, seq)) {
		t.Fatalf("the restart did not load the file:\n%s", a.log)
	}
	_, seq = postApplied(t, a.url, body(20, "app"))
	if r := scoresAt(t, a.url, seq); r.CSAT.Responses != 120 {
		t.Fatalf("after a restart from the file: %d responses, want 120", r.CSAT.Responses)
	}
	a.shutdown(t)
	good, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}

	refused := func(what string, file []byte, want error, text string) {
		t.Helper()
		if err := os.WriteFile(snap, file, 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := runInProcess(t, args...)
		if p != nil {
			t.Fatalf("%s: the sidecar started", what)
		}
		if !errors.Is(err, want) || !strings.Contains(err.Error(), text) || !strings.Contains(err.Error(), "the file is left as it is") {
			t.Fatalf("%s: got %v, want %v saying %q and that the file is left as it is", what, err, want, text)
		}
		if got, _ := os.ReadFile(snap); !bytes.Equal(got, file) {
			t.Fatalf("%s: the file changed", what)
		}
	}
	damaged := bytes.Clone(good)
	damaged[len(damaged)-10] ^= 1
	refused("damaged", damaged, replica.ErrLocalCorrupt, "local checkpoint corrupt")
	// JetStream's data is wiped: the stream of that name is created anew,
	// and the file, of the old one, would count what it no longer holds.
	if err := os.RemoveAll(natsDir); err != nil {
		t.Fatal(err)
	}
	refused("of a stream created again", good, replica.ErrLocalStream, "holds stream CXSCORE created")
}
