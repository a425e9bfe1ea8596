package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// fakeLog is a Recorder over an engine that fails, with an unknown
// outcome, from its failAfter-th batch on, as a log that stops
// acknowledging would.
type fakeLog struct {
	engine    *engine.Engine
	batches   int
	failAfter int // 0: never fails
}

var errNoAck = errors.New("the log did not acknowledge")

func (l *fakeLog) RecordBatch(ctx context.Context, events []engine.Event) error {
	l.batches++
	if l.failAfter > 0 && l.batches >= l.failAfter {
		return errNoAck
	}
	return l.engine.RecordBatch(events)
}

func TestRecorder(t *testing.T) {
	log := &fakeLog{}
	f := newFixture(t, engine.Config{}, Options{Recorder: log})
	log.engine = f.engine

	body := event("s", "t", "nps", 9, "c-1", t0) + "\n" + event("s", "t", "nps", 11, "", t0) + "\n"
	code, resp := f.post(ndjson, body)
	if code != 200 || resp.Accepted != 1 || resp.RejectedCount != 1 || resp.Rejected[0].Index != 1 || log.batches != 1 {
		t.Fatalf("got %d %+v after %d batches, want 200, one accepted, event 1 rejected, through the Recorder", code, resp, log.batches)
	}

	// Routes that would change this engine alone are not served.
	if code, text := f.do("DELETE", "/v1/keys?segment=s", ""); code != 405 {
		t.Errorf("DELETE /v1/keys with a Recorder: got %d %s, want 405", code, text)
	}
	if code, text := f.do("POST", "/v1/merge", ""); code != 404 {
		t.Errorf("POST /v1/merge with a Recorder: got %d %s, want 404", code, text)
	}

	// The log stops acknowledging in the second batch of a body: the first
	// batch's events were recorded, the rest are of unknown outcome.
	log.batches, log.failAfter = 0, 2
	var b strings.Builder
	for i := range 3 * batchSize {
		b.WriteString(event("s", "t", "csat", 5, fmt.Sprint("c-", i), t0) + "\n")
	}
	code, resp = f.post(ndjson, b.String())
	if code != 503 || resp.Accepted != batchSize || !strings.Contains(resp.Error, fmt.Sprintf("from index %d on may or may not", batchSize)) {
		t.Fatalf("got %d %+v, want 503 with %d accepted and the index the unknown outcome starts at", code, resp, batchSize)
	}
	if log.batches != 2 {
		t.Errorf("the Recorder was called %d times, want 2: nothing after an unknown outcome", log.batches)
	}
	if got := f.total(); got != 1+batchSize {
		t.Errorf("engine holds %d responses, want %d", got, 1+batchSize)
	}
}

// seqLog is a Sequencer whose sequence counts recorded events.
type seqLog struct {
	fakeLog
	applied atomic.Uint64
}

func (l *seqLog) RecordBatch(ctx context.Context, events []engine.Event) error {
	err := l.fakeLog.RecordBatch(ctx, events)
	var be *engine.BatchError
	if err == nil || errors.As(err, &be) {
		l.applied.Add(uint64(len(events)))
		if be != nil {
			l.applied.Add(-uint64(len(be.Rejected)))
		}
	}
	return err
}

func (l *seqLog) Applied() uint64 { return l.applied.Load() }

func (l *seqLog) WaitApplied(ctx context.Context, seq uint64) error {
	for l.applied.Load() < seq {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

func TestSequenceHeaders(t *testing.T) {
	log := &seqLog{}
	f := newFixture(t, engine.Config{}, Options{Recorder: log})
	log.engine = f.engine

	r := httptest.NewRequest("POST", "/v1/events", strings.NewReader(event("s", "t", "ces", 6, "", t0)+"\n"+event("s", "t", "ces", 2, "", t0)))
	r.Header.Set("Content-Type", ndjson)
	w := httptest.NewRecorder()
	f.server.ServeHTTP(w, r)
	if got := w.Header().Get(AppliedSequenceHeader); w.Code != 200 || got != "2" {
		t.Fatalf("ingest: got %d with %s %q, want 200 and 2", w.Code, AppliedSequenceHeader, got)
	}

	query := func(minSeq string, timeout time.Duration) *httptest.ResponseRecorder {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		r := httptest.NewRequest("GET", "/v1/scores?window=1h", nil).WithContext(ctx)
		if minSeq != "" {
			r.Header.Set(MinSequenceHeader, minSeq)
		}
		w := httptest.NewRecorder()
		f.server.ServeHTTP(w, r)
		return w
	}
	if w := query("", time.Second); w.Code != 200 || w.Header().Get(AppliedSequenceHeader) != "2" {
		t.Errorf("query: got %d with %q, want 200 and 2", w.Code, w.Header().Get(AppliedSequenceHeader))
	}
	if w := query("2", time.Second); w.Code != 200 {
		t.Errorf("query at an applied sequence: got %d %s, want 200", w.Code, w.Body)
	}
	if w := query("3", 50*time.Millisecond); w.Code != 503 || !strings.Contains(w.Body.String(), "up to 2, not yet 3") {
		t.Errorf("query ahead of the log: got %d %s, want 503 saying how far the replica is", w.Code, w.Body)
	}
	if w := query("x", time.Second); w.Code != 400 {
		t.Errorf("a bad %s: got %d %s, want 400", MinSequenceHeader, w.Code, w.Body)
	}

	// Without a Sequencer there is no header.
	plain := newFixture(t, engine.Config{}, Options{})
	code, _ := plain.do("GET", "/v1/scores?window=1h", "")
	w = httptest.NewRecorder()
	plain.server.ServeHTTP(w, httptest.NewRequest("GET", "/v1/scores?window=1h", nil))
	if code != 200 || w.Header().Get(AppliedSequenceHeader) != "" {
		t.Errorf("without a Sequencer: got %d with %q, want 200 and no header", code, w.Header().Get(AppliedSequenceHeader))
	}
}

// outcomeLog is an OutcomeRecorder over an engine, as a replica that
// reports what its engine did.
type outcomeLog struct{ fakeLog }

func (l *outcomeLog) RecordBatchOutcomes(ctx context.Context, events []engine.Event, out []engine.Outcome) error {
	l.batches++
	return l.engine.RecordBatchResponsesAt(t0, events, out)
}

// With an OutcomeRecorder the ingest counts are exact; with a plain
// Recorder every event it did not reject is accepted.
func TestOutcomeRecorder(t *testing.T) {
	withID := func(score, version int) string {
		return fmt.Sprintf(`{"segment":"s","touchpoint":"t","metric":"csat","score":%d,"response_id":"r-1","version":%d,"time":%q}`,
			score, version, t0.Format(time.RFC3339Nano))
	}
	log := &outcomeLog{}
	f := newFixture(t, engine.Config{}, Options{Recorder: log})
	log.engine = f.engine
	f1 := func(body string, accepted, duplicates, updated int) {
		t.Helper()
		code, resp := f.post(ndjson, body)
		if code != 200 || resp.Accepted != accepted || resp.Duplicates != duplicates || resp.Updated != updated {
			t.Fatalf("got %d %+v, want 200 with %d accepted, %d duplicates, %d updated", code, resp, accepted, duplicates, updated)
		}
	}
	f1(withID(2, 1)+"\n"+event("s", "t", "csat", 4, "", t0), 2, 0, 0)
	f1(withID(2, 1), 0, 1, 0)
	f1(withID(5, 2)+"\n"+withID(5, 2), 0, 1, 1)
	if log.batches != 3 {
		t.Errorf("the OutcomeRecorder was called %d times, want 3", log.batches)
	}

	plain := &fakeLog{}
	f = newFixture(t, engine.Config{}, Options{Recorder: plain})
	plain.engine = f.engine
	f1(withID(2, 1), 1, 0, 0)
	f1(withID(2, 1), 1, 0, 0) // the engine deduplicated it; a plain Recorder cannot say
}
