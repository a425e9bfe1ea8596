package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/window"
)

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// folder lists the names in dir.
func folder(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// snapshotOf returns a snapshot of an engine holding events, each
// recorded at t0.
func snapshotOf(t *testing.T, cfg engine.Config, events ...engine.Event) []byte {
	t.Helper()
	cfg.Clock = window.NewManualClock(t0)
	e, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, ev := range events {
		if err := e.RecordAt(t0, ev); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if _, err := e.WriteSnapshot(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestSnapshotStartErrors runs the sidecar over snapshot files it must
// refuse: it must not start, and must leave the file as it was.
func TestSnapshotStartErrors(t *testing.T) {
	dir := t.TempDir()
	ev := func(tp string) engine.Event {
		return engine.Event{Segment: "a", Touchpoint: tp, Metric: engine.NPS, Score: 9, Time: t0}
	}
	twoKeys := snapshotOf(t, engine.Config{}, ev("b"), ev("c"))
	tests := []struct {
		name string
		file []byte // nil: path is a folder that does not exist
		args string
		want error
	}{
		{"corrupt", append([]byte("cxscore\x00\x01"), "junk"...), "", engine.ErrSnapshotCorrupt},
		{"truncated", twoKeys[:len(twoKeys)-1], "", engine.ErrSnapshotCorrupt},
		{"another precision", snapshotOf(t, engine.Config{Precision: 14}, ev("b")), "", engine.ErrSnapshotIncompatible},
		{"more keys than -max-keys", twoKeys, "-max-keys 1", engine.ErrTooManyKeys},
		{"no such folder", nil, "", os.ErrNotExist},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprint(i), "cxscore.snap")
			if tt.file != nil {
				os.Mkdir(filepath.Dir(path), 0o700)
				if err := os.WriteFile(path, tt.file, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			args := append([]string{"-addr", "127.0.0.1:0", "-snapshot", path}, strings.Fields(tt.args)...)
			var stderr logBuffer
			err := run(context.Background(), args, func(string) string { return "" }, &stderr)
			if !errors.Is(err, tt.want) || errors.Is(err, errUsage) {
				t.Fatalf("got %v, want an error (exit status 1) matching %v", err, tt.want)
			}
			if strings.Contains(stderr.String(), "listening") {
				t.Errorf("the sidecar started listening:\n%s", stderr.String())
			}
			if tt.file != nil {
				if got, _ := os.ReadFile(path); !bytes.Equal(got, tt.file) {
					t.Errorf("the file changed")
				}
				if got := folder(t, filepath.Dir(path)); len(got) != 1 {
					t.Errorf("got files %v, want only the snapshot", got)
				}
			}
		})
	}
}

func TestParseSnapshotFlags(t *testing.T) {
	env := func(string) string { return "" }
	c, err := parseFlags(nil, env, io.Discard)
	if err != nil || c.snapshotPath != "" || c.snapshotEvery != 30*time.Second || c.maxMergeBytes != 1<<30 {
		t.Errorf("defaults: got %q, %v, %d, %v; want no file, 30s, 1 GiB", c.snapshotPath, c.snapshotEvery, c.maxMergeBytes, err)
	}
	c, err = parseFlags(strings.Fields("-snapshot /var/lib/cxscore.snap -snapshot-every 5s -max-merge-bytes 1000"), env, io.Discard)
	if err != nil || c.snapshotPath != "/var/lib/cxscore.snap" || c.snapshotEvery != 5*time.Second || c.maxMergeBytes != 1000 {
		t.Errorf("got %q, %v, %d, %v; want /var/lib/cxscore.snap, 5s, 1000", c.snapshotPath, c.snapshotEvery, c.maxMergeBytes, err)
	}
	for _, tt := range []struct{ args, err string }{
		{"-snapshot-every 0s", "-snapshot-every 0s, want > 0"},
		{"-snapshot-every -1m", "-snapshot-every -1m0s, want > 0"},
		{"-max-merge-bytes 0", "-max-merge-bytes 0, want > 0"},
	} {
		if _, err := parseFlags(strings.Fields(tt.args), env, io.Discard); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: got %v, want a usage error with %q", tt.args, err, tt.err)
		}
	}
	var out strings.Builder
	if _, err := parseFlags([]string{"-help"}, env, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("got %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"GET  /v1/snapshot", "POST /v1/merge", "-snapshot file", "-snapshot-every duration", "-max-merge-bytes bytes"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}
