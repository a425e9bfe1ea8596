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
	"strings"

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
	outcomes []engine.Outcome // of batch, when the engine or an OutcomeRecorder records
	index    []int            // index[i] is the event index of batch[i]
	pending  []Rejection      // decoder rejections since the last flush
	next     int              // index of the next event
	closed   int              // rejections because the engine was closed
	off      int64            // bytes of the body consumed (JSON forms)
	resp     IngestResponse
}

func (in *ingest) reset(ctx context.Context, s *Handler, body io.Reader) {
	in.s, in.ctx, in.lost = s, ctx, nil
	if in.br == nil {
		in.br = bufio.NewReaderSize(body, s.maxEvent)
	} else {
		in.br.Reset(body)
	}
	in.next, in.closed, in.off = 0, 0, 0
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
	if cap(in.raw) > 4*DefaultMaxEventBytes {
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
// the handler's MaxEventBytes is rejected without being held in memory.
func (in *ingest) readNDJSON() error {
	if err := in.skipBOM(); err != nil && err != io.EOF {
		return err
	}
	for {
		line, err := in.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			in.rejectNext(rejectf(errTooLarge, "event longer than %d bytes (-max-event-bytes)", in.s.maxEvent))
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
// (one, or several one after another), streaming: it holds one element at
// a time, and none longer than MaxEventBytes (a longer one is rejected as
// too large while it is skipped). Elements that are JSON but not valid
// events are rejected one by one; a syntax error stops the reading, since
// nothing after it can be trusted to line up.
func (in *ingest) readJSON() error {
	first, err := in.firstByte()
	if err == io.EOF {
		return &bodyError{http.StatusBadRequest, "empty body: want " + bodyForms}
	}
	if err != nil {
		return err
	}
	switch first {
	case '[':
		in.discard(1)
		unclosed := &bodyError{http.StatusBadRequest, "body ends before the array is closed with ]"}
		c, err := in.peekValue()
		if err == io.EOF {
			return unclosed
		}
		for err == nil && c != ']' {
			if err = in.element(); err != nil {
				return err
			}
			if c, err = in.peekValue(); err != nil {
				break
			}
			switch c {
			case ',':
				in.discard(1)
				c, err = in.peekValue()
			case ']':
			default:
				return in.syntaxAt(in.off, fmt.Sprintf("invalid character %q after an array element", c))
			}
		}
		if err == io.EOF {
			return unclosed
		}
		if err != nil {
			return err
		}
		in.discard(1)
		if _, err := in.peekValue(); err != io.EOF {
			if err != nil {
				return err
			}
			return &bodyError{http.StatusBadRequest, "unexpected data after the array; send one array, or NDJSON"}
		}
		return nil
	case '{':
		for {
			if _, err := in.peekValue(); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if err := in.element(); err != nil {
				return err
			}
		}
	}
	return &bodyError{http.StatusBadRequest, fmt.Sprintf("body is not JSON (it starts with %s): want %s", short([]byte(fmt.Sprintf("%q", first))), bodyForms)}
}

// element reads the JSON value that starts at the next byte and decodes
// it as the next event.
func (in *ingest) element() error {
	start := in.off
	if c, _ := in.br.Peek(1); strings.IndexByte(",:]}", c[0]) >= 0 {
		return in.syntaxAt(start, fmt.Sprintf("invalid character %q looking for the beginning of an event", c[0]))
	}
	big, err := in.scanValue()
	switch {
	case err == io.ErrUnexpectedEOF:
		return &bodyError{http.StatusBadRequest, fmt.Sprintf("body ends in the middle of event %d", in.next)}
	case err != nil:
		return err
	case big:
		in.rejectNext(rejectf(errTooLarge, "event larger than %d bytes (-max-event-bytes); skipped unread", in.s.maxEvent))
		return nil
	case !json.Valid(in.raw):
		var v struct{}
		var se *json.SyntaxError
		if errors.As(json.Unmarshal(in.raw, &v), &se) {
			return in.syntaxAt(start+se.Offset-1, se.Error())
		}
		return in.syntaxAt(start, "invalid JSON")
	}
	in.add(in.raw)
	return nil
}

func (in *ingest) syntaxAt(off int64, msg string) error {
	return &bodyError{http.StatusBadRequest, fmt.Sprintf("invalid JSON at byte %d of the body (after %d events): %s", off, in.next, msg)}
}

// scanValue reads the JSON value that starts at the next byte into
// in.raw. Beyond MaxEventBytes it keeps reading to the value's end
// without keeping anything, and reports big. It follows only the value's
// structure (strings, brackets), enough to find its end; decode checks the
// rest. io.ErrUnexpectedEOF: the body ends inside the value.
func (in *ingest) scanValue() (big bool, err error) {
	in.raw = in.raw[:0]
	var sc valueScanner
	for {
		if in.br.Buffered() == 0 {
			if _, err := in.br.Peek(1); err != nil {
				if err == io.EOF && sc.scalar {
					return big, nil // a number or literal ends with the body
				}
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return big, err
			}
		}
		buf, _ := in.br.Peek(in.br.Buffered())
		end, done := sc.scan(buf)
		if !big && len(in.raw)+end <= in.s.maxEvent {
			in.raw = append(in.raw, buf[:end]...)
		} else {
			big, in.raw = true, in.raw[:0]
		}
		in.discard(end)
		if done {
			return big, nil
		}
	}
}

// valueScanner finds the end of one JSON value, fed in pieces. Its zero
// value expects the value's first byte.
type valueScanner struct {
	depth                     int
	started, str, esc, scalar bool
}

// scan consumes b up to the value's end: it returns how much of b belongs
// to the value, and whether the value ends there.
func (s *valueScanner) scan(b []byte) (int, bool) {
	for i, c := range b {
		switch {
		case !s.started:
			s.started = true
			switch c {
			case '{', '[':
				s.depth = 1
			case '"':
				s.str = true
			default:
				s.scalar = true
			}
		case s.esc:
			s.esc = false
		case s.str:
			switch c {
			case '\\':
				s.esc = true
			case '"':
				s.str = false
				if s.depth == 0 {
					return i + 1, true
				}
			}
		case s.scalar:
			if strings.IndexByte(" \t\r\n,:[]{}\"", c) >= 0 {
				return i, true
			}
		default:
			switch c {
			case '"':
				s.str = true
			case '{', '[':
				s.depth++
			case '}', ']':
				if s.depth--; s.depth == 0 {
					return i + 1, true
				}
			}
		}
	}
	return len(b), false
}

// peekValue skips white space and returns the next byte without consuming
// it; io.EOF at the end of the body.
func (in *ingest) peekValue() (byte, error) {
	for {
		b, err := in.br.Peek(1)
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			in.discard(1)
		default:
			return b[0], nil
		}
	}
}

func (in *ingest) discard(n int) {
	in.br.Discard(n)
	in.off += int64(n)
}

// skipBOM drops a UTF-8 byte order mark, which some Windows tools write.
func (in *ingest) skipBOM() error {
	b, err := in.br.Peek(3)
	if bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		in.discard(3)
	}
	return err
}

// firstByte returns the first byte of the body that is not white space,
// without consuming it.
func (in *ingest) firstByte() (byte, error) {
	if err := in.skipBOM(); err != nil && err != io.EOF {
		return 0, err
	}
	return in.peekValue()
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
		switch {
		case in.s.outcomer != nil:
			in.outcomes = append(in.outcomes, make([]engine.Outcome, len(in.batch))...)
			err = in.s.outcomer.RecordBatchOutcomes(in.ctx, in.batch, in.outcomes)
		case in.s.recorder != nil:
			err = in.s.recorder.RecordBatch(in.ctx, in.batch)
		default:
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
			for _, o := range in.outcomes { // none from a plain Recorder: it counts all as accepted
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
