package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// handleSnapshot serves GET /v1/snapshot: the engine's state, streamed as
// it is written. Recording goes on meanwhile.
func (s *Handler) handleSnapshot(w http.ResponseWriter, r *http.Request) {
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

// MergeResponse is the answer to a successful POST /v1/merge. Keys is the
// number of segment × touchpoint keys the engine holds after the merge.
type MergeResponse struct {
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
	{engine.ErrTooManyResponses, http.StatusConflict, "merging it would hold more responses than the engine's limit"},
	{engine.ErrMemoryBudget, http.StatusConflict, "merging it would exceed the memory budget"},
	// Content no engine of this configuration could have recorded: buckets
	// beyond the clock's skew or its retention, or counts past MaxResponses.
	{engine.ErrSnapshotRefused, http.StatusUnprocessableEntity, "the snapshot holds what this sidecar does not take"},
	{engine.ErrClosed, http.StatusServiceUnavailable, "shutting down"},
}

// handleMerge serves POST /v1/merge: it adds the snapshot in the body to
// the engine, or nothing at all.
func (s *Handler) handleMerge(w http.ResponseWriter, r *http.Request) {
	if r.URL.RawQuery != "" {
		writeError(w, http.StatusBadRequest, "this endpoint takes no query parameters; nothing was merged")
		return
	}
	limit := s.maxMerge
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
	s.merges.Add(1) // after the merge: see Changes
	keys := s.engine.Stats().Keys
	s.log.Info("snapshot merged", "bytes", body.n, "keys", keys, "duration", time.Since(start))
	writeJSON(w, http.StatusOK, MergeResponse{Merged: true, Keys: keys})
}

// countingReader counts the bytes read through it and keeps the first
// read error other than io.EOF.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}
