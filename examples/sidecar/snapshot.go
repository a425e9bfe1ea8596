package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/window"
)

// DefaultMaxMergeBytes is the default limit on the body of POST /v1/merge.
// The engine checks a snapshot whole before it merges anything, so a
// merge holds about as much memory as its body: the limit bounds that.
const DefaultMaxMergeBytes = 1 << 30

// DefaultSnapshotEvery is the default period of snapshot writes: if the
// process dies, what it recorded in about that much time is lost.
const DefaultSnapshotEvery = 30 * time.Second

// snapshots keeps a server's engine in a file, if it has one, and counts
// the merges of POST /v1/merge.
//
// The file is replaced, never rewritten in place: the new state goes to a
// temporary file in the same folder (so that the rename cannot cross file
// systems), which is synced, closed and renamed over the old one, and then
// the folder is synced so that the rename itself is durable. A crash at any
// moment leaves the old file or the new one, each complete; the engine
// checks a snapshot's CRC-32C when it reads it, so a file damaged later on
// disk is refused rather than half loaded. A crash during a write leaves
// its temporary file behind, and the next start removes it.
//
// A write is skipped when nothing changed since the last one, which is
// known exactly: the engine changes only by accepted events and merges,
// and both are counted after they are recorded, so the counts read before
// a write began cover everything in it, and a write whose counts are those
// of the last successful write has nothing new to write. (Buckets that age
// out meanwhile need no write: a restore drops what is too old.)
//
// It is safe for concurrent use; file writes are serialised.
type snapshots struct {
	engine   *engine.Engine
	path     string // "": no file
	log      *slog.Logger
	clock    window.Clock
	fs       fileSystem
	accepted func() uint64 // events accepted by POST /v1/events, since the start
	maxMerge int64
	merges   atomic.Uint64 // successful POST /v1/merge, since the start

	mu    sync.Mutex // held for a whole file write; guards seq and saved
	seq   uint64     // files written since the start
	saved uint64     // accepted+merges when the last successful write began

	writes, failures                     prometheus.Counter
	lastSuccess, lastDuration, lastBytes prometheus.Gauge
}

// initSnapshots sets up s.snap from o: the merge limit, the metrics and,
// with o.SnapshotPath, the file, which it restores into the engine.
func (s *Server) initSnapshots(o Options) error {
	sn := &snapshots{
		engine: s.engine, path: o.SnapshotPath, log: s.log, clock: s.clock, fs: osFS{},
		accepted: func() uint64 { return counterValue(s.metrics.accepted) },
		maxMerge: o.MaxMergeBytes,
	}
	if sn.maxMerge == 0 {
		sn.maxMerge = DefaultMaxMergeBytes
	}
	if sn.maxMerge < 0 {
		return fmt.Errorf("max merge bytes %d, want > 0", sn.maxMerge)
	}
	s.snap = sn
	s.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "cxscore_sidecar_merges_total",
		Help: "Snapshots merged through POST /v1/merge.",
	}, func() float64 { return float64(sn.merges.Load()) }))
	if sn.path == "" {
		return nil
	}
	sn.writes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "cxscore_sidecar_snapshot_writes_total",
		Help: "Snapshot files written (-snapshot); writes skipped because nothing changed are not counted.",
	})
	sn.failures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "cxscore_sidecar_snapshot_failures_total",
		Help: "Snapshot file writes that failed; the next period tries again.",
	})
	sn.lastSuccess = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "cxscore_sidecar_snapshot_last_success_timestamp_seconds",
		Help: "When the last snapshot file write succeeded, Unix seconds; 0 before the first one.",
	})
	sn.lastDuration = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "cxscore_sidecar_snapshot_last_duration_seconds",
		Help: "Time the last successful snapshot file write took, fsyncs included.",
	})
	sn.lastBytes = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "cxscore_sidecar_snapshot_last_bytes",
		Help: "Size of the last snapshot file written.",
	})
	s.registry.MustRegister(sn.writes, sn.failures, sn.lastSuccess, sn.lastDuration, sn.lastBytes)
	return sn.restore()
}

// counterValue reads a counter. Counters of whole numbers are exact up to
// 2^53.
func counterValue(c prometheus.Counter) uint64 {
	var m dto.Metric
	c.Write(&m) // a plain counter's Write cannot fail
	return uint64(m.GetCounter().GetValue())
}

// restore prepares the snapshot file's folder and merges the file into
// the engine, which should be empty. A missing file is an empty state. A
// file that cannot be read whole is an error, and the file is left as it
// is: starting empty would overwrite it at the first write.
func (sn *snapshots) restore() error {
	dir, base := filepath.Dir(sn.path), filepath.Base(sn.path)
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
			sn.log.Warn("removed a temporary snapshot file left by an interrupted write", "path", stale)
		}
	}
	// Fail now rather than at the first write, 30 seconds into serving.
	probe, err := sn.fs.CreateTemp(dir, base+".tmp-*")
	if err != nil {
		return fmt.Errorf("snapshot folder is not writable: %w", err)
	}
	probe.Close()
	sn.fs.Remove(probe.Name())

	start := time.Now()
	f, err := os.Open(sn.path)
	if errors.Is(err, fs.ErrNotExist) {
		sn.log.Info("no snapshot file yet; starting empty", "path", sn.path)
		return nil
	}
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer f.Close()
	cr := &countingReader{r: f}
	if err := sn.engine.MergeSnapshot(cr); err != nil {
		hint := "restore it from a backup, or move it away to start empty"
		if errors.Is(err, engine.ErrSnapshotIncompatible) || errors.Is(err, engine.ErrTooManyKeys) {
			hint = "start with the -precision and -max-keys it was written with, or move it away to start empty"
		}
		return fmt.Errorf("snapshot %s: %w; the file is left as it is: %s", sn.path, err, hint)
	}
	sn.log.Info("snapshot loaded", "path", sn.path, "bytes", cr.n, "keys", sn.engine.Stats().Keys,
		"duration", time.Since(start))
	return nil
}

// save writes the engine's state to the file, unless nothing changed since
// the last successful write. It logs the outcome and returns the write's
// error.
func (sn *snapshots) save() error {
	if sn.path == "" {
		return nil
	}
	sn.mu.Lock()
	defer sn.mu.Unlock()
	accepted, merges := sn.accepted(), sn.merges.Load()
	if accepted+merges == sn.saved {
		sn.log.Debug("snapshot unchanged; not written", "path", sn.path)
		return nil
	}
	start := time.Now()
	n, err := writeFileAtomic(sn.fs, sn.path, sn.engine.WriteSnapshot)
	d := time.Since(start)
	if err != nil {
		sn.failures.Inc()
		sn.log.Error("snapshot write failed; the next period tries again", "path", sn.path, "err", err, "duration", d)
		return err
	}
	sn.seq++
	sn.saved = accepted + merges
	sn.writes.Inc()
	sn.lastSuccess.Set(float64(sn.clock.Now().UnixNano()) / 1e9)
	sn.lastDuration.Set(d.Seconds())
	sn.lastBytes.Set(float64(n))
	// events_accepted and merges are the counts when the write began: the
	// file holds at least those. Tests read them from this line.
	sn.log.Info("snapshot written", "path", sn.path, "seq", sn.seq, "events_accepted", accepted,
		"merges", merges, "bytes", n, "duration", d)
	return nil
}

// run saves at every tick until ctx ends.
func (sn *snapshots) run(ctx context.Context, tick <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			sn.save() // logged; the next tick tries again
		}
	}
}

// StartSnapshots writes the snapshot file every period, when something
// changed, and returns the function that stops it: it waits for a write in
// progress, then writes a last time and returns that write's error. Call
// it once requests have finished, so that the last write holds them all;
// calling it again does nothing. Without a snapshot file both do nothing.
func (s *Server) StartSnapshots(every time.Duration) (stop func() error) {
	if s.snap.path == "" {
		return func() error { return nil }
	}
	ctx, cancel := context.WithCancel(context.Background())
	ticker := time.NewTicker(every)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.snap.run(ctx, ticker.C)
	}()
	return sync.OnceValue(func() error {
		cancel()
		ticker.Stop()
		<-done
		return s.snap.save()
	})
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
	r   io.Reader
	n   int64
	err error // the first error other than io.EOF
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// handleSnapshot serves GET /v1/snapshot: the engine's state, streamed as
// it is written. Recording goes on meanwhile.
func (s *Server) handleSnapshot(w http.ResponseWriter, r *http.Request) {
	if r.URL.RawQuery != "" {
		writeError(w, http.StatusBadRequest, "this endpoint takes no query parameters")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="cxscore.snap"`)
	h.Set("Cache-Control", "no-store") // it holds every score and segment name
	h.Set("X-Content-Type-Options", "nosniff")
	start := time.Now()
	n, err := s.engine.WriteSnapshot(w)
	switch {
	case err == nil:
		s.log.Debug("snapshot sent", "bytes", n, "duration", time.Since(start))
	case n == 0: // nothing sent yet: the status can still say so
		h.Del("Content-Disposition")
		h.Del("Cache-Control")
		status := http.StatusInternalServerError
		if errors.Is(err, engine.ErrClosed) {
			status = http.StatusServiceUnavailable
		}
		writeError(w, status, "writing the snapshot: "+err.Error())
	default:
		// The client is gone, or a timeout cut the response. Abort the
		// connection so that a truncated snapshot cannot look complete.
		s.log.Warn("snapshot download cut short", "bytes", n, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// mergeResponse is the answer to a successful POST /v1/merge. Keys is the
// number of segment × touchpoint keys the server holds after the merge.
type mergeResponse struct {
	Merged bool `json:"merged"`
	Keys   int  `json:"keys"`
}

// mergeStatuses are the answers to a snapshot the engine refuses, in the
// order they are tried. Nothing was merged in any of these cases.
var mergeStatuses = []struct {
	err    error
	status int
	hint   string
}{
	// The bytes are not a whole snapshot: a bad request, like bad JSON.
	{engine.ErrSnapshotCorrupt, http.StatusBadRequest, "the body is not a complete cxscore snapshot"},
	// A well-formed snapshot this build cannot read: upgrade the sidecar.
	{engine.ErrSnapshotVersion, http.StatusUnprocessableEntity, "a snapshot format this sidecar does not read"},
	// Valid snapshots that conflict with this server's configuration
	// (-precision) or with its state plus -max-keys: the same body may
	// merge into another sidecar.
	{engine.ErrSnapshotIncompatible, http.StatusConflict, "a snapshot of an engine with another -precision or other tiers"},
	{engine.ErrTooManyKeys, http.StatusConflict, "merging it would exceed -max-keys"},
	{engine.ErrClosed, http.StatusServiceUnavailable, "shutting down"},
}

// handleMerge serves POST /v1/merge: it adds the snapshot in the body to
// the engine, or nothing at all.
func (s *Server) handleMerge(w http.ResponseWriter, r *http.Request) {
	if r.URL.RawQuery != "" {
		writeError(w, http.StatusBadRequest, "this endpoint takes no query parameters; nothing was merged")
		return
	}
	limit := s.snap.maxMerge
	if r.ContentLength > limit {
		w.Header().Set("Connection", "close") // do not read a body we refuse
		writeError(w, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("body of %d bytes, the limit is %d (-max-merge-bytes); nothing was merged", r.ContentLength, limit))
		return
	}
	if enc := r.Header.Get("Content-Encoding"); enc != "" && enc != "identity" {
		writeError(w, http.StatusUnsupportedMediaType,
			fmt.Sprintf("Content-Encoding %q is not supported; send the snapshot as it is; nothing was merged", enc))
		return
	}
	start := time.Now()
	body := &countingReader{r: http.MaxBytesReader(w, r.Body, limit)}
	err := s.engine.MergeSnapshot(body)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(body.err, &mbe): // whatever the engine made of the cut
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("body larger than %d bytes (-max-merge-bytes); nothing was merged", limit))
		return
	case body.err != nil:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("reading the body: %v; nothing was merged", body.err))
		return
	case err != nil:
		for _, m := range mergeStatuses {
			if errors.Is(err, m.err) {
				writeError(w, m.status, fmt.Sprintf("%s: %v; nothing was merged", m.hint, err))
				return
			}
		}
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("%v; nothing was merged", err))
		return
	}
	s.snap.merges.Add(1) // after the merge: see snapshots
	keys := s.engine.Stats().Keys
	s.log.Info("snapshot merged", "bytes", body.n, "keys", keys, "duration", time.Since(start))
	writeJSON(w, http.StatusOK, mergeResponse{Merged: true, Keys: keys})
}
