package httpapi

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cxscore/cxscore/engine"
)

// logDeleter is a Sequencer and a Deleter over an engine, as a replicated
// log is: each deletion is one more position in the log. failing makes
// deletions fail with an unknown outcome.
type logDeleter struct {
	seqLog
	calls   []string
	failing bool
}

func (l *logDeleter) DeleteResponse(ctx context.Context, id string) (bool, error) {
	l.calls = append(l.calls, "response "+id)
	if l.failing {
		return false, errNoAck
	}
	held, err := l.engine.DeleteResponseAt(t0, id)
	if err == nil {
		l.applied.Add(1)
	}
	return held, err
}

func (l *logDeleter) DeleteKeys(ctx context.Context, segment, touchpoint string) (int, error) {
	l.calls = append(l.calls, "keys "+segment+" "+touchpoint)
	if l.failing {
		return 0, errNoAck
	}
	n, err := l.engine.DeleteKeys(segment, touchpoint)
	if err == nil {
		l.applied.Add(1)
	}
	return n, err
}

// TestDeleter: with a Recorder that is also a Deleter, both DELETE routes
// are served through it, with the answers of an engine alone and the
// applied sequence after the deletion; an unknown outcome is a 503 that
// says so; POST /v1/merge stays unserved.
func TestDeleter(t *testing.T) {
	log := &logDeleter{}
	f := newFixture(t, engine.Config{}, Options{Recorder: log})
	log.engine = f.engine
	body := withID("r-1", 1) + "\n" + withID("r-2", 1) + "\n" + event("s", "t", "nps", 9, "", t0) + "\n" + event("s2", "t", "nps", 9, "", t0) + "\n"
	if code, resp := f.post(ndjson, body); code != 200 || resp.Accepted != 4 {
		t.Fatalf("post: %d %+v, want 200 and 4 accepted", code, resp)
	}

	del := func(target string, status int, want string, seq string) {
		t.Helper()
		w := httptest.NewRecorder()
		f.server.ServeHTTP(w, httptest.NewRequest("DELETE", target, nil))
		if w.Code != status || !strings.Contains(w.Body.String(), want) {
			t.Fatalf("DELETE %s: got %d %s, want %d with %q", target, w.Code, w.Body, status, want)
		}
		if got := w.Header().Get(AppliedSequenceHeader); got != seq {
			t.Fatalf("DELETE %s: %s %q, want %q", target, AppliedSequenceHeader, got, seq)
		}
	}
	del("/v1/responses/r-1", 200, `{"deleted":true}`, "5")
	if got := f.total(); got != 3 {
		t.Fatalf("total %d after the deletion, want 3", got)
	}
	del("/v1/responses/r-1", 404, `"error":"no response \"r-1\" is held`, "6")
	del("/v1/responses/"+strings.Repeat("x", engine.MaxResponseIDBytes+1), 400, "nothing was deleted", "6")
	del("/v1/keys?segment=s2", 200, `{"deleted":1}`, "7")
	del("/v1/keys?segment=s2&touchpoint=t", 404, "no key of segment", "8")
	del("/v1/keys?segment=s&touchpoint=t", 200, `{"deleted":1}`, "9")
	if got := f.total(); got != 0 {
		t.Fatalf("total %d after the deletions, want 0", got)
	}
	want := []string{"response r-1", "response r-1", "response " + strings.Repeat("x", engine.MaxResponseIDBytes+1),
		"keys s2 *", "keys s2 t", "keys s t"}
	if strings.Join(log.calls, "|") != strings.Join(want, "|") {
		t.Fatalf("Deleter calls %q, want %q", log.calls, want)
	}

	log.failing = true
	del("/v1/responses/r-2", 503, "may or may not be applied: the log did not acknowledge; retrying it is safe", "9")
	del("/v1/keys?segment=s", 503, "may or may not be applied", "9")
	if code, text := f.do("POST", "/v1/merge", "", "Authorization", "Bearer "+adminToken); code != 404 {
		t.Errorf("POST /v1/merge with a Deleter: got %d %s, want 404", code, text)
	}
}
