package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/cxscore/cxscore/engine"
)

// batchSize is how many decoded events are recorded at once: a request
// holds at most this many events in memory, whatever the size of its body.
const batchSize = 256

// maxListed is how many rejected events a response lists one by one;
// rejected_count counts them all.
const maxListed = 1000

// IngestResponse is the answer to POST /v1/events, whatever its status.
// Accepted events were recorded: anonymous deliveries and new responses.
// Updated events corrected a response held at a lower version (its old
// answer was replaced). Duplicates were acknowledged and not counted: their
// response is held at their version or a higher one (a retried request). Rejected lists the first 1000 rejected
// events by index, ascending; RejectedCount counts all of them. Error is
// set when the body could not be read to its end, or when nothing was
// recorded: the events before a break were still decoded and recorded, and
// the counts cover exactly those.
type IngestResponse struct {
	Error         string      `json:"error,omitempty"`
	Accepted      int         `json:"accepted"`
	Duplicates    int         `json:"duplicates"`
	Updated       int         `json:"updated"`
	Rejected      []Rejection `json:"rejected"`
	RejectedCount int         `json:"rejected_count"`
}

// acknowledged counts the events taken: recorded, corrections and
// duplicates.
func (r *IngestResponse) acknowledged() int { return r.Accepted + r.Updated + r.Duplicates }

// Rejection is one event of a POST /v1/events that was not recorded: its
// 0-based index in the body (NDJSON: among the non-blank lines) and why.
type Rejection struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// bodyError is a body that cannot be read as events (from some point on).
type bodyError struct {
	status int
	msg    string
}

func (e *bodyError) Error() string { return e.msg }

const bodyForms = "an event object, a JSON array of them, or NDJSON (one object per line, Content-Type: application/x-ndjson)"

// ingest is the state of one POST /v1/events: it decodes events as they are
// read and records them batchSize at a time. Servers pool them; the zero
// value is ready to use.
type ingest struct {
	s        *Handler
	ctx      context.Context
	lost     error // set when the Recorder could not tell what it recorded
	lostFrom int   // the index of the first event of that batch
	dec      eventDecoder
	br       *bufio.Reader
	raw      json.RawMessage
	batch    []engine.Event
	outcomes []engine.Outcome // of batch, when the engine records
	index    []int            // index[i] is the event index of batch[i]
	pending  []Rejection      // decoder rejections since the last flush
	next     int              // index of the next event
	closed   int              // rejections because the engine was closed
	resp     IngestResponse
}

func (in *ingest) reset(ctx context.Context, s *Handler, body io.Reader) {
	in.s, in.ctx, in.lost = s, ctx, nil
	if in.br == nil {
		in.br = bufio.NewReaderSize(body, maxEventBytes)
	} else {
		in.br.Reset(body)
	}
	in.next, in.closed = 0, 0
	if in.resp.Rejected == nil {
		in.resp.Rejected = make([]Rejection, 0, 8) // [] on the wire, not null
	}
	in.resp = IngestResponse{Rejected: in.resp.Rejected[:0]}
	if len(in.dec.labels) >= maxInterned {
		clear(in.dec.labels) // let a request of junk labels start afresh
	}
}

// release drops the references to the request's data, so a pooled ingest
// holds no customer IDs or bodies.
func (in *ingest) release() {
	in.s, in.ctx = nil, nil
	in.br.Reset(nil)
	clear(in.batch)
	in.batch = in.batch[:0]
	clear(in.resp.Rejected)
	if cap(in.raw) > 4*maxEventBytes {
		in.raw = nil
	}
}

// handleEvents serves POST /v1/events. The status follows the package
// doc's table: 2xx only when events were recorded, and never a status that
// invites a retry (5xx, 408, 429) once one was.
func (s *Handler) handleEvents(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > s.maxBody {
		s.writeEventsError(w, &IngestResponse{Rejected: []Rejection{}}, &bodyError{http.StatusRequestEntityTooLarge,
			fmt.Sprintf("body of %d bytes, the limit is %d (-max-body); nothing was recorded", r.ContentLength, s.maxBody)})
		return
	}
	if enc := r.Header.Get("Content-Encoding"); enc != "" && enc != "identity" {
		s.writeEventsError(w, &IngestResponse{Rejected: []Rejection{}}, &bodyError{http.StatusUnsupportedMediaType,
			fmt.Sprintf("Content-Encoding %q is not supported; send the body uncompressed; nothing was recorded", enc)})
		return
	}
	ndjson, msg := eventsMedia(r.Header.Get("Content-Type"))
	if msg != "" {
		w.Header().Set("Accept-Post", mediaJSON+", "+mediaNDJSON)
		s.writeEventsError(w, &IngestResponse{Rejected: []Rejection{}}, &bodyError{http.StatusUnsupportedMediaType, msg})
		return
	}
	in := s.ingests.Get().(*ingest)
	defer s.ingests.Put(in)
	in.reset(r.Context(), s, http.MaxBytesReader(w, r.Body, s.maxBody))
	defer in.release()

	var err error
	if ndjson {
		err = in.readNDJSON()
	} else {
		err = in.readJSON()
	}
	if in.lost == nil {
		in.flush()
	}
	s.setApplied(w) // after the Recorder returned: it covers what was recorded
	switch {
	case in.lost != nil:
		// The Recorder may or may not have recorded a batch. A retry of the
		// request is safe for events with a response id and may count the
		// others twice: say so, with the counts that are known.
		in.resp.Error = fmt.Sprintf("events from index %d on may or may not have been recorded (%v); "+
			"the accepted ones before them were; retrying counts events without a response id twice",
			in.lostFrom, in.lost)
		writeJSON(w, http.StatusServiceUnavailable, &in.resp)
	case err != nil:
		s.writeEventsError(w, &in.resp, err)
	case in.resp.acknowledged() == 0 && in.resp.RejectedCount > 0 && in.closed == in.resp.RejectedCount:
		// Shutting down before anything was recorded: another replica
		// or a later try may take the same body whole.
		in.resp.Error = "shutting down; nothing was recorded"
		writeJSON(w, http.StatusServiceUnavailable, &in.resp)
	case in.resp.acknowledged() == 0 && in.resp.RejectedCount > 0:
		in.resp.Error = "every event was rejected; nothing was recorded"
		writeJSON(w, http.StatusUnprocessableEntity, &in.resp)
	default:
		writeJSON(w, http.StatusOK, &in.resp)
	}
}

// writeEventsError answers a body that could not be read to its end. The
// status is 400 (413 for the size limit, 415 for a compressed body) whether
// or not events before the break were recorded: none of these invites a
// retry, and the body's counts say what was recorded.
func (s *Handler) writeEventsError(w http.ResponseWriter, resp *IngestResponse, err error) {
	status := http.StatusBadRequest
	var be *bodyError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &be):
		status = be.status
	case errors.As(err, &mbe):
		status = http.StatusRequestEntityTooLarge
		err = fmt.Errorf("body larger than %d bytes (-max-body); the events before the limit were read", mbe.Limit)
	default:
		err = fmt.Errorf("reading the body: %w", err)
	}
	if status == http.StatusRequestEntityTooLarge {
		w.Header().Set("Connection", "close") // do not read the rest of a body we refuse
	}
	resp.Error = err.Error()
	writeJSON(w, status, resp)
}

// readNDJSON reads one event per line. Each line stands alone: one that is
// not a JSON event object is a rejected event, and the next line is read
// as usual. Blank lines are skipped and take no index. A line longer than
// maxEventBytes is rejected without being held in memory.
func (in *ingest) readNDJSON() error {
	if err := in.skipBOM(); err != nil && err != io.EOF {
		return err
	}
	for {
		line, err := in.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			in.rejectNext(rejectf(errTooLarge, "event longer than %d bytes", maxEventBytes))
			for err == bufio.ErrBufferFull {
				_, err = in.br.ReadSlice('\n')
			}
			line = nil
		}
		if err != nil && err != io.EOF {
			return err // a line cut short by the limit or the connection is not read
		}
		if line = bytes.Trim(line, " \t\r\n"); len(line) > 0 {
			in.add(line)
		}
		if err == io.EOF {
			return nil
		}
	}
}

// readJSON reads a JSON array of events or a sequence of event objects
// (one, or several one after another), streaming: encoding/json's Decoder
// holds one event at a time. Elements that are JSON but not valid events
// are rejected one by one; a syntax error stops the reading, since nothing
// after it can be trusted to line up.
func (in *ingest) readJSON() error {
	first, err := in.firstByte()
	if err == io.EOF {
		return &bodyError{http.StatusBadRequest, "empty body: want " + bodyForms}
	}
	if err != nil {
		return err
	}
	dec := json.NewDecoder(in.br)
	switch first {
	case '[':
		if _, err := dec.Token(); err != nil {
			return err
		}
		unclosed := &bodyError{http.StatusBadRequest, "body ends before the array is closed with ]"}
		for dec.More() {
			if err := dec.Decode(&in.raw); err != nil {
				if err == io.EOF { // after a comma
					return unclosed
				}
				return in.syntax(err)
			}
			in.addRaw()
		}
		if _, err := dec.Token(); err != nil {
			if err == io.EOF {
				return unclosed
			}
			return in.syntax(err)
		}
		if _, err := dec.Token(); err != io.EOF {
			return &bodyError{http.StatusBadRequest, "unexpected data after the array; send one array, or NDJSON"}
		}
		return nil
	case '{':
		for {
			err := dec.Decode(&in.raw)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return in.syntax(err)
			}
			in.addRaw()
		}
	}
	return &bodyError{http.StatusBadRequest, fmt.Sprintf("body is not JSON (it starts with %s): want %s", short([]byte(fmt.Sprintf("%q", first))), bodyForms)}
}

func (in *ingest) addRaw() {
	if len(in.raw) > maxEventBytes {
		in.rejectNext(rejectf(errTooLarge, "event of %d bytes, the limit is %d", len(in.raw), maxEventBytes))
		return
	}
	in.add(in.raw)
}

// syntax turns a Decoder's error into a bodyError, unless it is a read
// error (the body limit, the connection), which stays as it is.
func (in *ingest) syntax(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return &bodyError{http.StatusBadRequest, fmt.Sprintf("invalid JSON at byte %d of the body (after %d events): %v", se.Offset, in.next, se)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &bodyError{http.StatusBadRequest, fmt.Sprintf("body ends in the middle of event %d", in.next)}
	}
	return err
}

// skipBOM drops a UTF-8 byte order mark, which some Windows tools write.
func (in *ingest) skipBOM() error {
	b, err := in.br.Peek(3)
	if bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, err = in.br.Discard(3)
	}
	return err
}

// firstByte returns the first byte of the body that is not white space,
// without consuming it.
func (in *ingest) firstByte() (byte, error) {
	if err := in.skipBOM(); err != nil && err != io.EOF {
		return 0, err
	}
	for {
		b, err := in.br.Peek(1)
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			in.br.Discard(1)
		default:
			return b[0], nil
		}
	}
}

// add decodes the next event from raw and queues it for recording.
func (in *ingest) add(raw []byte) {
	if in.lost != nil {
		return // after an unknown outcome, record nothing more of this body
	}
	var ev engine.Event
	if err := in.dec.decode(raw, &ev); err != nil {
		in.rejectNext(err)
		return
	}
	in.batch = append(in.batch, ev)
	in.index = append(in.index, in.next)
	in.next++
	if len(in.batch) == batchSize {
		in.flush()
	}
}

func (in *ingest) rejectNext(err error) {
	in.pending = append(in.pending, Rejection{Index: in.next, Error: err.Error()})
	in.s.metrics.rejected(err)
	in.next++
	if len(in.pending) >= batchSize {
		in.flush()
	}
}

// flush records the queued events and lists the rejections of the batch,
// the decoder's and the engine's, in index order.
func (in *ingest) flush() {
	var rejected []engine.Rejection
	if len(in.batch) > 0 {
		var err error
		in.outcomes = in.outcomes[:0]
		if in.s.recorder != nil {
			err = in.s.recorder.RecordBatch(in.ctx, in.batch)
		} else {
			in.outcomes = append(in.outcomes, make([]engine.Outcome, len(in.batch))...)
			err = in.s.engine.RecordBatchResponsesAt(in.s.clock.Now(), in.batch, in.outcomes)
		}
		var be *engine.BatchError
		switch {
		case errors.As(err, &be):
			rejected = be.Rejected
		case err != nil && in.s.recorder != nil:
			// Neither recorded nor rejected: handleEvents says so.
			in.lost, in.lostFrom = err, in.index[0]
			in.s.log.Warn("events of unknown outcome", "events", len(in.batch), "err", err)
		case err != nil: // RecordBatchAt returns only BatchErrors; be safe anyway
			for i := range in.batch {
				rejected = append(rejected, engine.Rejection{Index: i, Err: err})
			}
		}
		if in.lost == nil {
			accepted := len(in.batch) - len(rejected)
			for _, o := range in.outcomes { // a Recorder's replicas decide; it counts all as accepted
				switch o {
				case engine.Duplicate:
					in.resp.Duplicates++
					in.s.duplicates.Add(1)
					accepted--
				case engine.Updated:
					in.resp.Updated++
					in.s.updates.Add(1)
					accepted--
				}
			}
			in.resp.Accepted += accepted
			in.s.accepted.Add(uint64(accepted))
		}
	}
	pending := in.pending
	for len(pending) > 0 || len(rejected) > 0 {
		var r Rejection
		if len(rejected) == 0 || len(pending) > 0 && pending[0].Index < in.index[rejected[0].Index] {
			r, pending = pending[0], pending[1:]
		} else {
			r = Rejection{Index: in.index[rejected[0].Index], Error: rejected[0].Err.Error()}
			in.s.metrics.rejected(rejected[0].Err)
			if errors.Is(rejected[0].Err, engine.ErrClosed) {
				in.closed++
			}
			rejected = rejected[1:]
		}
		in.resp.RejectedCount++
		if len(in.resp.Rejected) < maxListed {
			in.resp.Rejected = append(in.resp.Rejected, r)
		}
	}
	clear(in.batch)
	in.batch, in.index, in.pending = in.batch[:0], in.index[:0], in.pending[:0]
}
