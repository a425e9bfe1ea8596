package snapfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/window"
)

var t0 = time.Date(2026, 11, 24, 10, 15, 30, 0, time.UTC)

// logBuffer is a log destination safe for concurrent writes.
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

// fixture is an engine on a manual clock and a change count, as
// httpapi.Handler.Changes keeps one.
type fixture struct {
	t       testing.TB
	engine  *engine.Engine
	clock   *window.ManualClock
	changes atomic.Uint64
	logs    logBuffer
}

func newFixture(t testing.TB, cfg engine.Config) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: window.NewManualClock(t0)}
	cfg.Clock, cfg.CacheBytes = f.clock, -1
	var err error
	if f.engine, err = engine.New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.engine.Close() })
	return f
}

// record records events of n keys and counts them as changes.
func (f *fixture) record(keys int) {
	f.t.Helper()
	for k := range keys {
		ev := engine.Event{Segment: fmt.Sprint("s", k), Touchpoint: "t", Metric: engine.NPS, Score: 9, Time: t0}
		if err := f.engine.RecordAt(t0, ev); err != nil {
			f.t.Fatal(err)
		}
		f.changes.Add(1)
	}
}

func (f *fixture) open(path string) (*Keeper, error) {
	return Open(f.engine, Config{Path: path, Changes: f.changes.Load, Clock: f.clock,
		Logger: slog.New(slog.NewTextHandler(&f.logs, nil))})
}

func (f *fixture) total() uint64 {
	f.t.Helper()
	var r engine.Result
	if err := f.engine.QueryAt(t0, engine.Query{Window: 35 * 24 * time.Hour}, &r); err != nil {
		f.t.Fatal(err)
	}
	return r.Responses()
}

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

func TestKeeperFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cxscore.snap")
	stale := path + ".tmp-123" // left by a crash in the middle of a write
	if err := os.WriteFile(stale, []byte("half a snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, engine.Config{})
	k, err := f.open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := folder(t, dir); len(got) != 0 {
		t.Errorf("a start without a snapshot: got files %v, want none (the stale temporary file removed)", got)
	}
	writes := func() float64 { return testutil.ToFloat64(k.writes) }
	if err := k.Save(); err != nil || writes() != 0 {
		t.Fatalf("saving an empty, unchanged state: got %v and %v writes, want nothing written", err, writes())
	}
	f.record(7)
	if err := k.Save(); err != nil || writes() != 1 {
		t.Fatalf("saving after 7 events: got %v and %v writes, want 1", err, writes())
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600: it holds every score and segment name", info.Mode().Perm())
	}
	if got := testutil.ToFloat64(k.lastBytes); got != float64(info.Size()) {
		t.Errorf("cxscore_sidecar_snapshot_last_bytes: got %v, want the file's %d", got, info.Size())
	}
	if got := testutil.ToFloat64(k.lastSuccess); got != float64(t0.Unix()) {
		t.Errorf("cxscore_sidecar_snapshot_last_success_timestamp_seconds: got %v, want %d", got, t0.Unix())
	}
	if !strings.Contains(f.logs.String(), fmt.Sprintf(`msg="snapshot written" path=%s seq=1 changes=7 bytes=%d`, path, info.Size())) {
		t.Errorf("no line for the write in the log:\n%s", &f.logs)
	}
	if err := k.Save(); err != nil || writes() != 1 {
		t.Errorf("saving again, unchanged: got %v and %v writes, want still 1", err, writes())
	}
	if problems, err := testutil.CollectAndLint(k.Collector()); err != nil || len(problems) > 0 {
		t.Errorf("metrics lint: got %v, %v; want no problems", problems, err)
	}

	// A failed write keeps the file, counts a failure, makes Err report
	// it, and is retried even with nothing new.
	f.record(1)
	good, _ := os.ReadFile(path)
	k.fs = faultFS{fail: "rename"}
	if err := k.Save(); !errors.Is(err, errInjected) {
		t.Fatalf("saving with a failing rename: got %v, want the injected error", err)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, good) || testutil.ToFloat64(k.failures) != 1 || writes() != 1 {
		t.Errorf("after a failed write: file changed %t, %v failures, %v writes; want unchanged, 1, 1",
			!bytes.Equal(now, good), testutil.ToFloat64(k.failures), writes())
	}
	if err := k.Err(); !errors.Is(err, errInjected) {
		t.Errorf("Err after a failed write: got %v, want the injected error", err)
	}
	k.fs = osFS{}
	if err := k.Save(); err != nil || writes() != 2 || k.Err() != nil {
		t.Errorf("saving after the failure: got %v, %v writes, Err %v; want 2 writes and no error", err, writes(), k.Err())
	}

	// A restart holds what was written, and has nothing to write.
	g := newFixture(t, engine.Config{})
	k2, err := g.open(path)
	if err != nil {
		t.Fatal(err)
	}
	if g.total() != 8 || g.engine.Stats().Keys != 7 {
		t.Errorf("after a restart: %d responses in %d keys, want 8 in 7", g.total(), g.engine.Stats().Keys)
	}
	if !strings.Contains(g.logs.String(), `msg="snapshot loaded"`) || !strings.Contains(g.logs.String(), "keys=7") {
		t.Errorf("the restart's log does not say it loaded 7 keys:\n%s", &g.logs)
	}
	if err := k2.Save(); err != nil || testutil.ToFloat64(k2.writes) != 0 {
		t.Errorf("saving right after a restart: got %v, %v writes; want none", err, testutil.ToFloat64(k2.writes))
	}
	if got := folder(t, dir); !slices.Equal(got, []string{"cxscore.snap"}) {
		t.Errorf("got files %v, want only cxscore.snap", got)
	}
}

// TestKeeperLoop drives the periodic writes with a fake timer: the pause
// starts only once the previous write has ended, and Close writes what
// came since, once.
func TestKeeperLoop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cxscore.snap")
	f := newFixture(t, engine.Config{})
	k, err := f.open(path)
	if err != nil {
		t.Fatal(err)
	}
	pauses := make(chan chan time.Time)
	after := func(d time.Duration) <-chan time.Time {
		if d != DefaultEvery {
			t.Errorf("pause of %v, want %v", d, DefaultEvery)
		}
		c := make(chan time.Time)
		pauses <- c
		return c
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		k.run(stop, after)
	}()
	(<-pauses) <- t0 // nothing to write
	f.record(1)
	(<-pauses) <- t0 // writes; the next pause is asked for only after the write
	c := <-pauses
	if got := testutil.ToFloat64(k.writes); got != 1 {
		t.Errorf("after the second period: got %v writes, want 1 done before the next pause began", got)
	}
	c <- t0 // unchanged
	<-pauses
	close(stop)
	<-done
	if got := testutil.ToFloat64(k.writes); got != 1 {
		t.Errorf("three periods, one change: got %v writes, want 1", got)
	}

	f.record(2)
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(k.writes); got != 2 {
		t.Errorf("after Close: got %v writes, want 2", got)
	}
	g := newFixture(t, engine.Config{})
	if _, err := g.open(path); err != nil {
		t.Fatal(err)
	}
	if got := g.total(); got != 3 {
		t.Errorf("restored %d responses, want 3", got)
	}
}

// TestKeeperStartClose runs the real timer loop: Close after Start waits
// for it and writes once more.
func TestKeeperStartClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cxscore.snap")
	f := newFixture(t, engine.Config{})
	k, err := Open(f.engine, Config{Path: path, Every: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	k.Start()
	k.Start()
	f.record(4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := k.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := testutil.ToFloat64(k.writes); got != 1 {
		t.Errorf("concurrent Closes: got %v writes, want 1", got)
	}
}

// TestOpenErrors opens snapshot files that must be refused: Open fails
// and leaves the file as it was.
func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	valid := func(cfg engine.Config, keys int) []byte {
		f := newFixture(t, cfg)
		f.record(keys)
		var b bytes.Buffer
		if _, err := f.engine.WriteSnapshot(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	twoKeys := valid(engine.Config{}, 2)
	tests := []struct {
		name    string
		file    []byte // nil: path is in a folder that does not exist
		maxKeys int
		want    error
	}{
		{"corrupt", append([]byte("cxscore\x00\x01"), "junk"...), 0, engine.ErrSnapshotCorrupt},
		{"truncated", twoKeys[:len(twoKeys)-1], 0, engine.ErrSnapshotCorrupt},
		{"another precision", valid(engine.Config{Precision: 14}, 1), 0, engine.ErrSnapshotIncompatible},
		{"more keys than allowed", twoKeys, 1, engine.ErrTooManyKeys},
		{"no such folder", nil, 0, os.ErrNotExist},
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
			f := newFixture(t, engine.Config{MaxKeys: tt.maxKeys})
			if _, err := f.open(path); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want an error matching %v", err, tt.want)
			}
			if f.engine.Stats().Keys != 0 {
				t.Errorf("the engine holds %d keys after a refused file, want 0", f.engine.Stats().Keys)
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

// TestOpenNotRegular points the keeper at a FIFO, a folder and a symbolic
// link: each is refused at once with a clear message, and a FIFO does not
// hang the start (the test would time out).
func TestOpenNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	sub := filepath.Join(dir, "folder")
	os.Mkdir(sub, 0o700)
	link := filepath.Join(dir, "link")
	os.WriteFile(filepath.Join(dir, "target"), nil, 0o600)
	os.Symlink(filepath.Join(dir, "target"), link)
	for path, want := range map[string]string{fifo: "named pipe (FIFO)", sub: "folder", link: "symbolic link"} {
		f := newFixture(t, engine.Config{})
		_, err := f.open(path)
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want ErrNotRegular saying %q", filepath.Base(path), err, want)
		}
	}
}

func TestConfigChecks(t *testing.T) {
	f := newFixture(t, engine.Config{})
	if _, err := Open(f.engine, Config{}); err == nil {
		t.Error("no path: got no error")
	}
	if _, err := Open(f.engine, Config{Path: filepath.Join(t.TempDir(), "x"), Every: -time.Second}); err == nil {
		t.Error("negative period: got no error")
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

// TestKeeperHooks keeps a file of another format through Config.Restore
// and Config.Write: Restore gets nil without a file, then the file that
// Write wrote; the engine is left alone, and Restore's error is Open's.
func TestKeeperHooks(t *testing.T) {
	f := newFixture(t, engine.Config{})
	path := filepath.Join(t.TempDir(), "local")
	var restored []string
	var state string
	open := func(restoreErr error) (*Keeper, error) {
		return Open(f.engine, Config{Path: path, Changes: f.changes.Load, Logger: slog.New(slog.NewTextHandler(&f.logs, nil)),
			Restore: func(r io.Reader) error {
				if r == nil {
					restored = append(restored, "<none>")
				} else {
					b, err := io.ReadAll(r)
					if err != nil {
						return err
					}
					restored = append(restored, string(b))
				}
				return restoreErr
			},
			Write: func(w io.Writer) (int64, error) {
				n, err := io.WriteString(w, state)
				return int64(n), err
			},
		})
	}
	k, err := open(nil)
	if err != nil {
		t.Fatal(err)
	}
	state = "header+snapshot at 7"
	f.changes.Add(1)
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != state {
		t.Fatalf("file %q, %v, want what Write wrote", b, err)
	}
	errRefused := errors.New("the file is of another stream")
	if _, err := open(errRefused); !errors.Is(err, errRefused) {
		t.Fatalf("Open with a failing Restore: got %v, want its error", err)
	}
	if want := []string{"<none>", state}; !slices.Equal(restored, want) {
		t.Fatalf("Restore got %q, want %q", restored, want)
	}
	if b, _ := os.ReadFile(path); string(b) != state {
		t.Fatalf("after a refused Restore the file is %q, want it untouched", b)
	}
	if st := f.engine.Stats(); st.Keys != 0 {
		t.Fatalf("the engine holds %d keys, want none: Restore, not the keeper, loads", st.Keys)
	}
}

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	for _, text := range []string{"one", "two"} {
		if err := WriteFile(path, []byte(text)); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != text {
			t.Errorf("got %q, %v; want %q", b, err, text)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("got %d files, want 1: no temporary file left", len(entries))
	}
	if err := WriteFile(filepath.Join(t.TempDir(), "missing", "state"), nil); err == nil {
		t.Error("into a missing folder: got nil, want an error")
	}
}
