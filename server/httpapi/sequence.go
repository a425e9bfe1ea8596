package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Headers of a Handler whose Recorder is a Sequencer.
const (
	// AppliedSequenceHeader, on every answer of the /v1/ API, is the
	// position in the log up to which the engine had applied it: a query's
	// answer holds at least every event up to it, an ingest answer is sent
	// once it covers every event the request recorded, and the answer of a
	// deletion through a Deleter once it covers the deletion.
	AppliedSequenceHeader = "Cxscore-Applied-Sequence"
	// MinSequenceHeader, on a query, asks the handler to answer only once
	// its engine has applied the log up to it (for a client that wrote
	// through another replica and wants to read its write), waiting at most
	// maxSequenceWait.
	MinSequenceHeader = "Cxscore-Min-Sequence"
)

// maxSequenceWait bounds how long a query waits for MinSequenceHeader.
const maxSequenceWait = 10 * time.Second

// A Sequencer is a Recorder that records through an ordered log (package
// replica's Replica is one): Applied is the position up to which the engine
// has applied the log, and WaitApplied waits until it reaches seq or ctx
// is done. With one, a Handler reports and honours the sequence headers.
type Sequencer interface {
	Recorder
	Applied() uint64
	WaitApplied(ctx context.Context, seq uint64) error
}

// atSequence serves a query once the engine has applied what the request's
// MinSequenceHeader asks for, and reports the applied sequence as of the
// start of the query.
func (h *Handler) atSequence(next http.Handler) http.Handler {
	if h.sequencer == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get(MinSequenceHeader); v != "" {
			seq, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("header %s: %q is not a sequence number (a non-negative integer)", MinSequenceHeader, v))
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), maxSequenceWait)
			err = h.sequencer.WaitApplied(ctx, seq)
			cancel()
			if err != nil {
				h.setApplied(w)
				w.Header().Set("Retry-After", "1")
				writeError(w, http.StatusServiceUnavailable, fmt.Sprintf(
					"this replica has applied the log up to %d, not yet %d (%v); try again, or ask another replica",
					h.sequencer.Applied(), seq, err))
				return
			}
		}
		h.setApplied(w)
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) setApplied(w http.ResponseWriter) {
	if h.sequencer != nil {
		w.Header().Set(AppliedSequenceHeader, strconv.FormatUint(h.sequencer.Applied(), 10))
	}
}
