package httpapi

import (
	"strings"
	"testing"

	"github.com/cxscore/cxscore/engine"
)

// A retried request with response ids changes no total; corrections and
// deletions are counted apart; DELETE /v1/responses/{id} answers 200 or a
// JSON 404, behind the token; /metrics counts all three.
func TestResponsesOverHTTP(t *testing.T) {
	const token = "s3cret"
	f := newFixture(t, engine.Config{}, Options{Token: token})
	auth := []string{"Authorization", "Bearer " + token}
	post := func(body string) (int, IngestResponse) {
		t.Helper()
		code, text := f.do("POST", "/v1/events", body, append([]string{"Content-Type", ndjson}, auth...)...)
		return code, decodeJSON[IngestResponse](t, text)
	}
	body := withID("r-1", 1) + "\n" + withID("r-2", 1) + "\n" + withID("", 1) + "\n"
	if code, r := post(body); code != 200 || r.Accepted != 3 || r.Duplicates != 0 || r.Updated != 0 {
		t.Fatalf("first post: %d %+v, want 200 and 3 accepted", code, r)
	}
	if code, r := post(body); code != 200 || r.Accepted != 1 || r.Duplicates != 2 || r.Updated != 0 {
		t.Fatalf("retried post: %d %+v, want 200, 1 accepted (the anonymous one), 2 duplicates", code, r)
	}
	if code, r := post(withID("r-1", 3) + "\n" + withID("r-2", 0) + "\n"); code != 200 || r.Accepted != 0 || r.Updated != 1 || r.Duplicates != 1 {
		t.Fatalf("corrections: %d %+v, want 200, 1 updated, 1 duplicate", code, r)
	}
	if got := f.total(); got != 4 {
		t.Fatalf("total %d, want 4 (two responses, two anonymous events)", got)
	}
	for _, tt := range []struct {
		target string
		header []string
		status int
		want   string
	}{
		{"/v1/responses/r-1", nil, 401, ""},
		{"/v1/responses/r-1", auth, 200, `{"deleted":true}`},
		{"/v1/responses/r-1", auth, 404, `"error":"no response \"r-1\" is held`},
		{"/v1/responses/never", auth, 404, "nothing was deleted"},
		{"/v1/responses/" + strings.Repeat("x", 129), auth, 400, "want at most 128"},
	} {
		code, text := f.do("DELETE", tt.target, "", tt.header...)
		if code != tt.status || !strings.Contains(text, tt.want) {
			t.Errorf("DELETE %s: got %d %s, want %d with %q", tt.target, code, text, tt.status, tt.want)
		}
	}
	if got := f.total(); got != 3 {
		t.Fatalf("total after the deletion %d, want 3", got)
	}
	_, metrics := f.do("GET", "/metrics", "", auth...)
	for _, want := range []string{"cxscore_sidecar_events_duplicate_total 3", "cxscore_sidecar_events_updated_total 1",
		"cxscore_sidecar_responses_deleted_total 1", "cxscore_sidecar_events_accepted_total 4"} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Only duplicates, and a rejection: still 200, the request was taken.
	if code, r := post(withID("r-2", 1) + "\n" + `{"segment":"s"}` + "\n"); code != 200 || r.Duplicates != 1 || r.RejectedCount != 1 {
		t.Fatalf("a duplicate and a rejection: %d %+v, want 200", code, r)
	}
}
