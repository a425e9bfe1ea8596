package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// TestGoRunSIGTERM starts the sidecar with go run, as the README does,
// records an event, and sends SIGTERM to the go command alone, as a process
// manager stopping it would. The sidecar must shut down by itself, with its
// final snapshot holding the event, rather than run on orphaned.
func TestGoRunSIGTERM(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("sends SIGTERM")
	}
	if testing.Short() {
		t.Skip("builds the sidecar with go run")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to run the sidecar with")
	}
	path := filepath.Join(t.TempDir(), "cxscore.snap")
	sc := startSidecar(t, goTool, "run", ".", "-addr", "127.0.0.1:0", "-snapshot", path, "-snapshot-every", "1h")
	res, err := http.Post(sc.url+"/v1/events", "application/json",
		strings.NewReader(event("enterprise", "checkout", "nps", 9, "c-42", time.Time{})))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/events: got %d, want 200", res.StatusCode)
	}

	if err := sc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sc.waitFor(t, "the go command that ran this sidecar is gone")
	sc.waitFor(t, `msg="snapshot written"`)
	select {
	case <-sc.done: // the sidecar closed its stderr: it has exited
	case <-time.After(30 * time.Second):
		t.Fatal("the sidecar still runs 30s after its go command was stopped")
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no final snapshot: %v", err)
	}
	defer f.Close()
	e, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.MergeSnapshot(f); err != nil {
		t.Fatal(err)
	}
	var r engine.Result
	if err := e.Query(engine.Query{Segment: "enterprise", Touchpoint: "checkout", Window: time.Hour}, &r); err != nil {
		t.Fatal(err)
	}
	if n := r.NPS.Responses(); n != 1 {
		t.Errorf("final snapshot: got %d NPS responses, want 1", n)
	}
}

func TestBuiltByGoRun(t *testing.T) {
	for exe, want := range map[string]bool{
		"/tmp/go-build3476938473/b001/exe/sidecar":                                                                      true,
		"/root/.cache/go-build/83/834cc1b8625bc4eca66c128c9b902fcc80543b7472358e674f33e05a3e6a801b-d/sidecar":           true,
		"/home/u/Library/Caches/go-build/0a/0a4cc1b8625bc4eca66c128c9b902fcc80543b7472358e674f33e05a3e6a801b-d/sidecar": true,
		"/usr/local/bin/sidecar":       false,
		"/home/u/go/bin/sidecar":       false,
		"/srv/exe/sidecar":             false,
		"/srv/83/not-a-hash-d/sidecar": false,
	} {
		if got := builtByGoRun(filepath.FromSlash(exe)); got != want {
			t.Errorf("builtByGoRun(%q) = %v, want %v", exe, got, want)
		}
	}
}
