package httpapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

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
