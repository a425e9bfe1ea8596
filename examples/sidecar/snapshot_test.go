package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cxscore/cxscore/engine"
)

// snapshotEvents are events of three keys, with customers, spread over a
// week before t0 so that every tier holds some.
func snapshotEvents() string {
	var lines []string
	for i := range 60 {
		at := t0.Add(-time.Duration(i*i) * 3 * time.Minute) // up to about 7 days back
		seg, tp := []string{"enterprise", "smb", "consumer"}[i%3], []string{"checkout", "app"}[i%2]
		metric, score := []string{"csat", "ces", "nps"}[i%3], []int{4, 6, 9}[i%3]
		lines = append(lines, event(seg, tp, metric, score, fmt.Sprint("c-", i%17), at))
	}
	return strings.Join(lines, "\n")
}

// state is everything the server answers about its data: the keys, and
// the scores of every key and roll-up over three windows and a trend.
func state(f *fixture) string {
	f.t.Helper()
	var b strings.Builder
	read := func(target string) {
		code, text := f.do("GET", target, "")
		if code != 200 {
			f.t.Fatalf("GET %s: got %d %s, want 200", target, code, text)
		}
		b.WriteString(target + " " + text)
	}
	read("/v1/keys")
	keys := decodeJSON[keyList](f.t, mustGet(f, "/v1/keys"))
	sel := [][2]string{{"*", "*"}}
	for _, k := range keys.Keys {
		sel = append(sel, [2]string{k.Segment, "*"}, [2]string{"*", k.Touchpoint}, [2]string{k.Segment, k.Touchpoint})
	}
	for _, s := range sel {
		for _, w := range []string{"1h", "24h", "7d"} {
			read("/v1/scores?" + url.Values{"segment": {s[0]}, "touchpoint": {s[1]}, "window": {w}}.Encode())
		}
	}
	read("/v1/trend?window=7d&step=1d")
	return b.String()
}

func mustGet(f *fixture, target string) string {
	f.t.Helper()
	code, text := f.do("GET", target, "")
	if code != 200 {
		f.t.Fatalf("GET %s: got %d %s, want 200", target, code, text)
	}
	return text
}

// snapshotOf returns the body of GET /v1/snapshot.
func snapshotOf(f *fixture) []byte {
	f.t.Helper()
	w := httptest.NewRecorder()
	f.server.ServeHTTP(w, httptest.NewRequest("GET", "/v1/snapshot", nil))
	if w.Code != 200 {
		f.t.Fatalf("GET /v1/snapshot: got %d %s, want 200", w.Code, w.Body)
	}
	return w.Body.Bytes()
}

// merge posts body to /v1/merge. A negative length sends it without a
// Content-Length, as a chunked body would arrive.
func merge(f *fixture, body []byte, length int64, header ...string) (int, string) {
	f.t.Helper()
	r := httptest.NewRequest("POST", "/v1/merge", bytes.NewReader(body))
	r.ContentLength = length
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return f.serve(r)
}

func TestSnapshotRoundTrip(t *testing.T) {
	src := newFixture(t, engine.Config{}, Options{})
	if code, resp := src.post(ndjson, snapshotEvents()); code != 200 || resp.Accepted != 60 {
		t.Fatalf("posting: got %d, %+v", code, resp)
	}
	w := httptest.NewRecorder()
	src.server.ServeHTTP(w, httptest.NewRequest("GET", "/v1/snapshot", nil))
	for name, want := range map[string]string{
		"Content-Type":        "application/octet-stream",
		"Content-Disposition": `attachment; filename="cxscore.snap"`,
		"Cache-Control":       "no-store",
	} {
		if got := w.Header().Get(name); got != want {
			t.Errorf("GET /v1/snapshot: %s: got %q, want %q", name, got, want)
		}
	}
	snap := w.Body.Bytes()
	if w.Code != 200 || !bytes.HasPrefix(snap, []byte("cxscore\x00")) {
		t.Fatalf("GET /v1/snapshot: got %d %q, want 200 and a snapshot", w.Code, snap[:min(len(snap), 40)])
	}

	if code, text := src.do("GET", "/v1/snapshot?keys=enterprise", ""); code != 400 || !strings.Contains(text, "no query parameters") {
		t.Errorf("GET /v1/snapshot?keys=enterprise: got %d %s, want 400", code, text)
	}

	dst := newFixture(t, engine.Config{}, Options{})
	code, text := merge(dst, snap, int64(len(snap)))
	if code != 200 || text != `{"merged":true,"keys":6}`+"\n" {
		t.Fatalf("POST /v1/merge: got %d %s, want 200 {\"merged\":true,\"keys\":6}", code, text)
	}
	if got, want := state(dst), state(src); got != want {
		t.Errorf("after the merge the server answers\n%s\nwant, as the source does,\n%s", got, want)
	}
	if got := snapshotOf(dst); !bytes.Equal(got, snap) {
		t.Errorf("the merged server's snapshot differs from the one it merged (%d bytes, want %d)", len(got), len(snap))
	}

	// Merge is addition: the same snapshot again counts everything twice.
	if code, text := merge(dst, snap, -1); code != 200 {
		t.Fatalf("second POST /v1/merge (chunked): got %d %s, want 200", code, text)
	}
	if got := dst.total(); got != 2*60 {
		t.Errorf("after merging the same snapshot twice: got %d responses, want %d", got, 2*60)
	}
	if got := dst.server.snap.merges.Load(); got != 2 {
		t.Errorf("got cxscore_sidecar_merges_total %v, want 2", got)
	}
}

func TestMergeRejects(t *testing.T) {
	src := newFixture(t, engine.Config{}, Options{})
	src.post(ndjson, strings.Join([]string{
		event("other", "one", "nps", 9, "c-1", t0),
		event("other", "two", "csat", 5, "c-2", t0.Add(-time.Hour)),
	}, "\n"))
	valid := snapshotOf(src)
	precise := newFixture(t, engine.Config{Precision: 14}, Options{})
	precise.post(ndjson, event("enterprise", "checkout", "nps", 9, "c-1", t0))
	incompatible := snapshotOf(precise)
	const limit = 4096
	if len(valid) > limit/2 {
		t.Fatalf("the valid snapshot is %d bytes; the test wants it under %d", len(valid), limit/2)
	}

	// The target holds two keys and may hold three: valid would make four.
	f := newFixture(t, engine.Config{MaxKeys: 3}, Options{MaxMergeBytes: limit})
	f.post(ndjson, strings.Join([]string{
		event("enterprise", "checkout", "nps", 10, "c-1", t0),
		event("smb", "app", "ces", 2, "", t0.Add(-3*time.Hour)),
	}, "\n"))
	before := state(f)

	with := func(b []byte, i int, v byte) []byte {
		b = slices.Clone(b)
		b[i] = v
		return b
	}
	tests := []struct {
		name   string
		body   []byte
		length int64 // -1: none, as chunked; 0: len(body)
		header []string
		target string
		status int
		want   string
	}{
		{name: "empty", body: nil, status: 400, want: "not a complete cxscore snapshot"},
		{name: "not a snapshot", body: []byte(`{"segment":"smb"}`), status: 400, want: "not a cxscore snapshot"},
		{name: "truncated in the middle", body: valid[:len(valid)/2], status: 400, want: "truncated"},
		{name: "truncated in the checksum", body: valid[:len(valid)-2], status: 400, want: "truncated in checksum"},
		{name: "a byte flipped", body: with(valid, len(valid)-12, valid[len(valid)-12]^0x40), status: 400, want: "corrupt snapshot"},
		{name: "data after the end", body: append(slices.Clone(valid), 0), status: 400, want: "data after the checksum"},
		{name: "a later version", body: with(valid, 8, 2), status: 422, want: "version 2"},
		{name: "another precision", body: incompatible, status: 409, want: "incompatible snapshot: precision 14"},
		{name: "too many keys", body: valid, status: 409, want: "-max-keys"},
		{name: "declared too large", body: make([]byte, limit+1), status: 413, want: "the limit is 4096 (-max-merge-bytes)"},
		{name: "too large, chunked", body: append(slices.Clone(valid), make([]byte, limit)...), length: -1, status: 413, want: "larger than 4096 bytes"},
		{name: "compressed", body: valid, header: []string{"Content-Encoding", "gzip"}, status: 415, want: "Content-Encoding"},
		{name: "a query parameter", body: valid, target: "/v1/merge?replace=true", status: 400, want: "no query parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := cmp.Or(tt.target, "/v1/merge")
			r := httptest.NewRequest("POST", target, bytes.NewReader(tt.body))
			r.ContentLength = cmp.Or(tt.length, int64(len(tt.body)))
			for i := 0; i+1 < len(tt.header); i += 2 {
				r.Header.Set(tt.header[i], tt.header[i+1])
			}
			code, text := f.serve(r)
			if code != tt.status || !strings.Contains(text, tt.want) || !strings.Contains(text, "nothing was merged") {
				t.Errorf("got %d %s, want %d with %q and \"nothing was merged\"", code, text, tt.status, tt.want)
			}
			decodeJSON[errorResponse](t, text)
			if after := state(f); after != before {
				t.Errorf("the server's answers changed:\n%s\nwant\n%s", after, before)
			}
		})
	}
	if got := f.server.snap.merges.Load(); got != 0 {
		t.Errorf("got cxscore_sidecar_merges_total %v after rejected merges, want 0", got)
	}
}

func TestSnapshotAuth(t *testing.T) {
	const token = "s3cret-token"
	f := newFixture(t, engine.Config{}, Options{Token: token})
	f.post(ndjson, event("s", "t", "nps", 9, "", t0)) // no token: 401, nothing recorded
	src := newFixture(t, engine.Config{}, Options{})
	src.post(ndjson, event("s", "t", "nps", 9, "", t0))
	snap := snapshotOf(src)
	tests := []struct {
		name, auth string
		status     int
	}{
		{"none", "", 401},
		{"wrong", "Bearer s3cret-tokem", 401},
		{"right", "Bearer " + token, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, text := merge(f, snap, int64(len(snap)), "Authorization", tt.auth)
			if code != tt.status {
				t.Errorf("POST /v1/merge: got %d %s, want %d", code, text, tt.status)
			}
			code, text = f.do("GET", "/v1/snapshot", "", "Authorization", tt.auth)
			if code != tt.status {
				t.Errorf("GET /v1/snapshot: got %d %.80q, want %d", code, text, tt.status)
			}
		})
	}
	if got := f.total(); got != 1 {
		t.Errorf("the server holds %d responses, want the 1 merged with the token", got)
	}
}

func TestSnapshotClosedEngine(t *testing.T) {
	f := newFixture(t, engine.Config{}, Options{})
	valid := snapshotOf(f)
	f.engine.Close()
	code, text := f.do("GET", "/v1/snapshot", "")
	if code != 503 || !strings.Contains(text, "closed") {
		t.Errorf("GET /v1/snapshot: got %d %s, want 503", code, text)
	}
	if code, text := merge(f, valid, int64(len(valid))); code != 503 {
		t.Errorf("POST /v1/merge: got %d %s, want 503", code, text)
	}
}

// logBuffer collects a logger's output; loggers may write from several
// goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

// fileFixture is a server with a snapshot file in a fresh folder.
func fileFixture(t *testing.T, path string, logs *logBuffer) *fixture {
	t.Helper()
	return newFixture(t, engine.Config{}, Options{SnapshotPath: path, Logger: slog.New(slog.NewTextHandler(logs, nil))})
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

func TestSnapshotFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cxscore.snap")
	stale := path + ".tmp-123" // left by a crash in the middle of a write
	if err := os.WriteFile(stale, []byte("half a snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	f := fileFixture(t, path, logs)
	sn := f.server.snap
	if got := folder(t, dir); len(got) != 0 {
		t.Errorf("a start without a snapshot: got files %v, want none (the stale temporary file removed)", got)
	}
	writes := func() float64 { return testutil.ToFloat64(sn.writes) }

	if err := sn.save(); err != nil || writes() != 0 {
		t.Fatalf("saving an empty, unchanged state: got %v and %v writes, want nothing written", err, writes())
	}
	f.post(ndjson, snapshotEvents())
	if err := sn.save(); err != nil || writes() != 1 {
		t.Fatalf("saving after 60 events: got %v and %v writes, want 1", err, writes())
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(sn.lastBytes); got != float64(info.Size()) {
		t.Errorf("cxscore_sidecar_snapshot_last_bytes: got %v, want the file's %d", got, info.Size())
	}
	if got := testutil.ToFloat64(sn.lastSuccess); got != float64(t0.Unix()) {
		t.Errorf("cxscore_sidecar_snapshot_last_success_timestamp_seconds: got %v, want %d", got, t0.Unix())
	}
	if !strings.Contains(logs.String(), fmt.Sprintf(`msg="snapshot written" path=%s seq=1 events_accepted=60 merges=0 bytes=%d`, path, info.Size())) {
		t.Errorf("no line for the write in the log:\n%s", logs)
	}
	if err := sn.save(); err != nil || writes() != 1 {
		t.Errorf("saving again, unchanged: got %v and %v writes, want still 1", err, writes())
	}
	snap := snapshotOf(f)
	if code, _ := merge(f, snap, int64(len(snap))); code != 200 {
		t.Fatalf("POST /v1/merge: got %d", code)
	}
	if err := sn.save(); err != nil || writes() != 2 {
		t.Errorf("saving after a merge: got %v and %v writes, want 2", err, writes())
	}
	if problems, err := testutil.GatherAndLint(f.server.registry); err != nil || len(problems) > 0 {
		t.Errorf("metrics lint: got %v, %v; want no problems", problems, err)
	}
	_, exposition := f.do("GET", "/metrics", "")
	for _, name := range []string{"cxscore_sidecar_snapshot_writes_total 2", "cxscore_sidecar_snapshot_failures_total 0",
		"cxscore_sidecar_merges_total 1", "cxscore_sidecar_snapshot_last_duration_seconds ", "cxscore_sidecar_snapshot_last_bytes "} {
		if !strings.Contains(exposition, "\n"+name) {
			t.Errorf("/metrics lacks %q", name)
		}
	}

	// A failed write keeps the file, counts a failure and is retried.
	f.post(ndjson, event("late", "one", "nps", 1, "", t0))
	good, _ := os.ReadFile(path)
	sn.fs = faultFS{fail: "rename"}
	if err := sn.save(); !errors.Is(err, errInjected) {
		t.Fatalf("saving with a failing rename: got %v, want the injected error", err)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, good) || testutil.ToFloat64(sn.failures) != 1 || writes() != 2 {
		t.Errorf("after a failed write: file changed %t, %v failures, %v writes; want unchanged, 1, 2",
			!bytes.Equal(now, good), testutil.ToFloat64(sn.failures), writes())
	}
	sn.fs = osFS{}
	if err := sn.save(); err != nil || writes() != 3 {
		t.Errorf("saving after the failure: got %v and %v writes, want 3", err, writes())
	}

	// A restart answers as before, and has nothing to write.
	want := state(f)
	logs2 := &logBuffer{}
	g := fileFixture(t, path, logs2)
	if got := state(g); got != want {
		t.Errorf("after a restart the server answers\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(logs2.String(), `msg="snapshot loaded"`) || !strings.Contains(logs2.String(), "keys=7") {
		t.Errorf("the restart's log does not say it loaded 7 keys:\n%s", logs2)
	}
	if err := g.server.snap.save(); err != nil || testutil.ToFloat64(g.server.snap.writes) != 0 {
		t.Errorf("saving right after a restart: got %v, %v writes; want none", err, testutil.ToFloat64(g.server.snap.writes))
	}
	if got := folder(t, dir); !slices.Equal(got, []string{"cxscore.snap"}) {
		t.Errorf("got files %v, want only cxscore.snap", got)
	}
}

func TestSnapshotLoop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cxscore.snap")
	f := fileFixture(t, path, &logBuffer{})
	sn := f.server.snap
	tick := make(chan time.Time) // unbuffered: a send returns once the previous tick is handled
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sn.run(ctx, tick)
	}()
	tick <- t0 // nothing to write
	f.post(ndjson, event("s", "t", "nps", 9, "", t0))
	tick <- t0 // writes
	tick <- t0 // unchanged
	cancel()
	<-done
	if got := testutil.ToFloat64(sn.writes); got != 1 {
		t.Errorf("three ticks, one change: got %v writes, want 1", got)
	}

	// StartSnapshots' stop writes what came since, once.
	stop := f.server.StartSnapshots(time.Hour)
	f.post(ndjson, event("s", "t", "nps", 3, "", t0))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(sn.writes); got != 2 {
		t.Errorf("after stop: got %v writes, want 2", got)
	}
	g := newFixture(t, engine.Config{}, Options{SnapshotPath: path})
	if got := g.total(); got != 2 {
		t.Errorf("restored %d responses, want 2", got)
	}
}

// TestSnapshotStartErrors runs the sidecar over snapshot files it must
// refuse: it must not start, and must leave the file as it was.
func TestSnapshotStartErrors(t *testing.T) {
	dir := t.TempDir()
	valid := func(cfg engine.Config, events ...string) []byte {
		f := newFixture(t, cfg, Options{})
		f.post(ndjson, strings.Join(events, "\n"))
		return snapshotOf(f)
	}
	twoKeys := valid(engine.Config{}, event("a", "b", "nps", 9, "", t0), event("a", "c", "nps", 9, "", t0))
	tests := []struct {
		name string
		file []byte // nil: path is a folder that does not exist
		args string
		want error
	}{
		{"corrupt", append([]byte("cxscore\x00\x01"), "junk"...), "", engine.ErrSnapshotCorrupt},
		{"truncated", twoKeys[:len(twoKeys)-1], "", engine.ErrSnapshotCorrupt},
		{"another precision", valid(engine.Config{Precision: 14}, event("a", "b", "nps", 9, "", t0)), "", engine.ErrSnapshotIncompatible},
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

var errInjected = errors.New("injected failure")

// faultFS is the real file system with one step made to fail: "create",
// "write" (after some bytes are written), "sync", "close", "rename" or
// "syncdir".
type faultFS struct {
	osFS
	fail string
}

func (f faultFS) CreateTemp(dir, pattern string) (tempFile, error) {
	if f.fail == "create" {
		return nil, errInjected
	}
	fl, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: fl, fail: f.fail}, nil
}

func (f faultFS) Rename(oldpath, newpath string) error {
	if f.fail == "rename" {
		return errInjected
	}
	return os.Rename(oldpath, newpath)
}

func (f faultFS) SyncDir(dir string) error {
	if f.fail == "syncdir" {
		return errInjected
	}
	return f.osFS.SyncDir(dir)
}

type faultFile struct {
	*os.File
	fail    string
	written int
}

func (f *faultFile) Write(p []byte) (int, error) {
	if f.fail == "write" && f.written+len(p) > 100 {
		n, _ := f.File.Write(p[:100-f.written])
		f.written += n
		return n, errInjected
	}
	n, err := f.File.Write(p)
	f.written += n
	return n, err
}

func (f *faultFile) Sync() error {
	if f.fail == "sync" {
		return errInjected
	}
	return f.File.Sync()
}

func (f *faultFile) Close() error {
	err := f.File.Close()
	if f.fail == "close" {
		return errInjected
	}
	return err
}

func TestWriteFileAtomic(t *testing.T) {
	const old = "the old snapshot"
	content := strings.Repeat("the new snapshot ", 1000)
	write := func(w io.Writer) (int64, error) {
		// In pieces, as the engine writes through its buffer.
		var n int64
		for chunk := range slices.Chunk([]byte(content), 4096) {
			m, err := w.Write(chunk)
			n += int64(m)
			if err != nil {
				return n, err
			}
		}
		return n, nil
	}
	tests := []struct {
		name    string
		fs      fileSystem
		path    func(dir string) string
		wantErr error
		wantNew bool // the file holds the new content afterwards
	}{
		{name: "ok", fs: osFS{}, wantNew: true},
		{name: "create fails", fs: faultFS{fail: "create"}, wantErr: errInjected},
		{name: "write fails midway", fs: faultFS{fail: "write"}, wantErr: errInjected},
		{name: "sync fails", fs: faultFS{fail: "sync"}, wantErr: errInjected},
		{name: "close fails", fs: faultFS{fail: "close"}, wantErr: errInjected},
		{name: "rename fails", fs: faultFS{fail: "rename"}, wantErr: errInjected},
		// After the rename the new file is in place, though maybe not durable.
		{name: "folder sync fails", fs: faultFS{fail: "syncdir"}, wantErr: errInjected, wantNew: true},
		{name: "no such folder", fs: osFS{}, path: func(dir string) string { return filepath.Join(dir, "gone", "cxscore.snap") }, wantErr: os.ErrNotExist},
		{name: "path is a folder", fs: osFS{}, path: func(dir string) string {
			os.Mkdir(filepath.Join(dir, "sub"), 0o700)
			os.WriteFile(filepath.Join(dir, "sub", "x"), nil, 0o600) // a folder that is not empty
			return filepath.Join(dir, "sub")
		}, wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "cxscore.snap")
			if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
				t.Fatal(err)
			}
			target := path
			if tt.path != nil {
				target = tt.path(dir)
			}
			n, err := writeFileAtomic(tt.fs, target, write)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tt.wantErr == errAny && err == nil:
				t.Fatalf("got no error, want one")
			case tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && n != int64(len(content)) {
				t.Errorf("got %d bytes, want %d", n, len(content))
			}
			got, _ := os.ReadFile(path)
			want := old
			if tt.wantNew {
				want = content
			}
			if string(got) != want {
				t.Errorf("the file holds %.30q, want %.30q", got, want)
			}
			for _, name := range append(folder(t, dir), folderIfAny(filepath.Join(dir, "sub"))...) {
				if strings.Contains(name, ".tmp-") {
					t.Errorf("a temporary file is left behind: %s", name)
				}
			}
		})
	}
}

// errAny in a test case accepts any error.
var errAny = errors.New("any error")

func folderIfAny(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
