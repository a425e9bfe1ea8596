package snapfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/window"
)

// DefaultEvery is the default period of snapshot writes: if the process
// dies, what it recorded in about that much time (plus the time of one
// write) is lost.
const DefaultEvery = 30 * time.Second

// Config configures a Keeper. Path is required; every other field says
// what its zero value means.
type Config struct {
	// Path is the snapshot file. Its folder must exist and be writable.
	Path string
	// Every is the pause between the end of one periodic write and the
	// start of the next. Zero: DefaultEvery.
	Every time.Duration
	// Changes, if set, returns a count that grows with every change to
	// the engine, counted after the change (httpapi.Handler.Changes). A
	// write is skipped when the count is the one read before the last
	// successful write began. Zero: every period writes.
	Changes func() uint64
	// Logger receives a line per write ("snapshot written", or an error).
	// Zero: slog.Default().
	Logger *slog.Logger
	// Restore, if set, is called by Open in place of merging the file into
	// the engine, with the file (nil when there is none yet), after the
	// folder was checked as usual; its error is Open's, unwrapped, so it
	// says what failed. Zero: the file is an engine snapshot, merged in.
	Restore func(f io.Reader) error
	// Write, if set, writes the file's content in place of the engine's
	// snapshot (engine.Engine.WriteSnapshot), and returns the bytes
	// written; the file is replaced as described at Keeper. Zero: the
	// engine's snapshot.
	Write func(w io.Writer) (int64, error)
	// Clock stamps the last successful write for
	// cxscore_sidecar_snapshot_last_success_timestamp_seconds. Zero: the
	// system clock.
	Clock window.Clock
}

// Keeper keeps an engine in a snapshot file: Open loads the file, Start
// replaces it periodically, Close replaces it a last time.
//
// The file is replaced, never rewritten in place: the new state goes to a
// temporary file in the same folder (so that the rename cannot cross file
// systems), which is synced, closed and renamed over the old one, and then
// the folder is synced so that the rename itself is durable. A crash at
// any moment leaves the old file or the new one, each complete; the engine
// checks a snapshot's CRC-32C when it reads it, so a file damaged later on
// disk is refused rather than half loaded. A crash during a write leaves
// its temporary file (Path.tmp-*) behind, and the next Open removes it, so
// give every process a file of its own.
//
// A Keeper is safe for concurrent use; file writes are serialised.
type Keeper struct {
	engine    *engine.Engine
	path      string
	every     time.Duration
	changes   func() uint64
	log       *slog.Logger
	clock     window.Clock
	fs        fileSystem
	restoreFn func(io.Reader) error
	write     func(io.Writer) (int64, error)

	mu      sync.Mutex // held for a whole file write; guards the fields below
	seq     uint64     // files written since Open
	saved   uint64     // Changes() when the last successful write began
	hasSave bool       // saved is set
	lastErr error      // the last write's error; nil after a success

	startOnce, closeOnce sync.Once
	stop                 chan struct{}
	done                 chan struct{}
	closeErr             error

	writes, failures                     prometheus.Counter
	lastSuccess, lastDuration, lastBytes prometheus.Gauge
}

// Open checks the snapshot file's folder, removes temporary files left by
// an interrupted write, and merges the file into e, which should be empty.
// A missing file is an empty start. A file that cannot be loaded whole
// (damaged, written with another precision or more keys than e allows) is
// an error wrapping the engine's (engine.ErrSnapshotCorrupt, ...), and the
// file is left as it is: starting empty would overwrite it at the first
// write. A path that exists but is not a regular file (a folder, a FIFO, a
// device) is refused without being opened.
func Open(e *engine.Engine, c Config) (*Keeper, error) {
	k := &Keeper{engine: e, path: c.Path, every: c.Every, changes: c.Changes, log: c.Logger, clock: c.Clock, fs: osFS{},
		restoreFn: c.Restore, write: c.Write,
		stop: make(chan struct{}), done: make(chan struct{})}
	if k.path == "" {
		return nil, errors.New("snapshot file: no path")
	}
	if k.every == 0 {
		k.every = DefaultEvery
	}
	if k.every < 0 {
		return nil, fmt.Errorf("snapshot period %v, want > 0", k.every)
	}
	if k.log == nil {
		k.log = slog.Default()
	}
	if k.clock == nil {
		k.clock = window.SystemClock{}
	}
	if k.write == nil {
		k.write = e.WriteSnapshot
	}
	k.writes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "cxscore_sidecar_snapshot_writes_total",
		Help: "Snapshot files written (-snapshot); writes skipped because nothing changed are not counted.",
	})
	k.failures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "cxscore_sidecar_snapshot_failures_total",
		Help: "Snapshot file writes that failed; the next period tries again.",
	})
	k.lastSuccess = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "cxscore_sidecar_snapshot_last_success_timestamp_seconds",
		Help: "When the last snapshot file write succeeded, Unix seconds; 0 before the first one.",
	})
	k.lastDuration = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "cxscore_sidecar_snapshot_last_duration_seconds",
		Help: "Time the last successful snapshot file write took, fsyncs included.",
	})
	k.lastBytes = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "cxscore_sidecar_snapshot_last_bytes",
		Help: "Size of the last snapshot file written.",
	})
	if err := k.restore(); err != nil {
		return nil, err
	}
	if k.changes != nil {
		k.saved, k.hasSave = k.changes(), true // what was just loaded needs no write
	}
	return k, nil
}

// restore prepares the folder and merges the file into the engine.
func (k *Keeper) restore() error {
	dir, base := filepath.Dir(k.path), filepath.Base(k.path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("snapshot folder: %w", err)
	}
	for _, e := range entries {
		if name := e.Name(); strings.HasPrefix(name, base+".tmp-") && e.Type().IsRegular() {
			stale := filepath.Join(dir, name)
			if err := os.Remove(stale); err != nil {
				return fmt.Errorf("removing a temporary snapshot file left by a crash: %w", err)
			}
			k.log.Warn("removed a temporary snapshot file left by an interrupted write", "path", stale)
		}
	}
	// Fail now rather than at the first write, a period into serving.
	probe, err := k.fs.CreateTemp(dir, base+".tmp-*")
	if err != nil {
		return fmt.Errorf("snapshot folder is not writable: %w", err)
	}
	probe.Close()
	k.fs.Remove(probe.Name())

	info, err := os.Lstat(k.path)
	if errors.Is(err, fs.ErrNotExist) {
		if k.restoreFn != nil {
			k.log.Info("no snapshot file yet", "path", k.path)
			return k.restoreFn(nil)
		}
		k.log.Info("no snapshot file yet; starting empty", "path", k.path)
		return nil
	}
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%w: snapshot %s is a %s, not a regular file; give a file path (it is replaced at every write)",
			ErrNotRegular, k.path, kind(info.Mode()))
	}
	start := time.Now()
	f, err := os.Open(k.path)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer f.Close()
	cr := &countingReader{r: f}
	if k.restoreFn != nil {
		return k.restoreFn(cr)
	}
	if err := k.engine.MergeSnapshot(cr); err != nil {
		hint := "restore it from a backup, or move it away to start empty"
		if errors.Is(err, engine.ErrSnapshotIncompatible) || errors.Is(err, engine.ErrTooManyKeys) {
			hint = "start with the precision and key limit it was written with, or move it away to start empty"
		}
		return fmt.Errorf("snapshot %s: %w; the file is left as it is: %s", k.path, err, hint)
	}
	k.log.Info("snapshot loaded", "path", k.path, "bytes", cr.n, "keys", k.engine.Stats().Keys,
		"duration", time.Since(start))
	return nil
}

// ErrNotRegular is returned by Open for a snapshot path that is a folder,
// a FIFO, a device or a symbolic link rather than a regular file.
var ErrNotRegular = errors.New("not a regular file")

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "folder"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// Save writes the engine's state to the file now, unless Config.Changes
// says nothing changed since the last successful write. It logs the
// outcome and returns the write's error; after a failure the previous
// file stays, and Err reports the failure until a write succeeds.
func (k *Keeper) Save() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	var changes uint64
	if k.changes != nil {
		changes = k.changes()
		if k.hasSave && changes == k.saved && k.lastErr == nil {
			k.log.Debug("snapshot unchanged; not written", "path", k.path)
			return nil
		}
	}
	start := time.Now()
	n, err := writeFileAtomic(k.fs, k.path, k.write)
	d := time.Since(start)
	k.lastErr = err
	if err != nil {
		k.failures.Inc()
		k.log.Error("snapshot write failed; the next period tries again", "path", k.path, "err", err, "duration", d)
		return err
	}
	k.seq++
	k.saved, k.hasSave = changes, true
	k.writes.Inc()
	k.lastSuccess.Set(float64(k.clock.Now().UnixNano()) / 1e9)
	k.lastDuration.Set(d.Seconds())
	k.lastBytes.Set(float64(n))
	// changes is the count when the write began: the file holds at least
	// those. Tests read it from this line.
	k.log.Info("snapshot written", "path", k.path, "seq", k.seq, "changes", changes, "bytes", n, "duration", d)
	return nil
}

// Err returns the error of the last write, or nil if it succeeded or none
// was tried: a readiness probe's answer (httpapi.Options.Ready).
func (k *Keeper) Err() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.lastErr != nil {
		return fmt.Errorf("the last snapshot write failed: %w", k.lastErr)
	}
	return nil
}

// Start writes the file every period, counted from the end of the
// previous write, until Close. Calling it again does nothing.
func (k *Keeper) Start() {
	k.startOnce.Do(func() {
		go func() {
			defer close(k.done)
			k.run(k.stop, func(d time.Duration) <-chan time.Time { return time.After(d) })
		}()
	})
}

// run saves after every pause until stop is closed; after returns the
// channel of a pause, so that tests drive it.
func (k *Keeper) run(stop <-chan struct{}, after func(time.Duration) <-chan time.Time) {
	for {
		select {
		case <-stop:
			return
		case <-after(k.every):
			k.Save() // logged; the next period tries again
		}
	}
}

// Close stops the periodic writes (waiting for one in progress), writes a
// last time and returns that write's error. Call it once the engine has
// stopped changing (after the HTTP server's Shutdown), so that the last
// write holds everything. Later calls return the same error and write
// nothing.
func (k *Keeper) Close() error {
	k.closeOnce.Do(func() {
		close(k.stop)
		started := true
		k.startOnce.Do(func() { started = false })
		if started {
			<-k.done
		}
		k.closeErr = k.Save()
	})
	return k.closeErr
}

// Collector returns the keeper's metrics:
// cxscore_sidecar_snapshot_writes_total, _failures_total,
// _last_success_timestamp_seconds, _last_duration_seconds and _last_bytes.
func (k *Keeper) Collector() prometheus.Collector { return collector{k} }

type collector struct{ k *Keeper }

func (c collector) metrics() []prometheus.Collector {
	return []prometheus.Collector{c.k.writes, c.k.failures, c.k.lastSuccess, c.k.lastDuration, c.k.lastBytes}
}

// Describe implements prometheus.Collector.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.metrics() {
		m.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.metrics() {
		m.Collect(ch)
	}
}

// writeFileAtomic replaces the file at path with what write writes, through
// a temporary file in the same folder: a crash at any moment leaves either
// the old file or the new one, complete. On an error before the rename the
// temporary file is removed and the old file is untouched; an error after
// it (syncing the folder) leaves the new file in place, maybe not durable.
func writeFileAtomic(fsys fileSystem, path string, write func(io.Writer) (int64, error)) (int64, error) {
	dir := filepath.Dir(path)
	f, err := fsys.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return 0, err
	}
	tmp := f.Name()
	n, err := write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(tmp, path)
	}
	if err != nil {
		if rerr := fsys.Remove(tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
		return n, err
	}
	if err := fsys.SyncDir(dir); err != nil {
		return n, fmt.Errorf("the snapshot was renamed into place, but it may not survive a power failure: %w", err)
	}
	return n, nil
}

// fileSystem is what writeFileAtomic does to files, so that tests can make
// each step fail.
type fileSystem interface {
	CreateTemp(dir, pattern string) (tempFile, error)
	Rename(oldpath, newpath string) error
	Remove(name string) error
	SyncDir(dir string) error
}

// tempFile is the part of *os.File that writeFileAtomic uses.
type tempFile interface {
	io.Writer
	Name() string
	Sync() error
	Close() error
}

// osFS is the real file system.
type osFS struct{}

func (osFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }
func (osFS) Remove(name string) error             { return os.Remove(name) }

func (osFS) CreateTemp(dir, pattern string) (tempFile, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err // not a nil *os.File in a non-nil interface
	}
	return f, nil
}

// SyncDir makes the folder's entries durable, a rename among them
// included. Windows cannot sync a folder, and its renames need no such
// help.
func (osFS) SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// WriteFile replaces the file at path with data atomically, as the Keeper
// writes snapshots: a temporary file in the same folder, fsynced, renamed
// over the old one, then the folder fsynced. A crash at any moment leaves
// the old file or the new one, whole; on an error before the rename the
// old file is untouched. For files kept beside a snapshot (the sidecar's
// alert state).
func WriteFile(path string, data []byte) error {
	_, err := writeFileAtomic(osFS{}, path, func(w io.Writer) (int64, error) {
		n, err := w.Write(data)
		return int64(n), err
	})
	return err
}
