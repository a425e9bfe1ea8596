package httpapi

import (
	"bytes"
	"cmp"
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// snapshotEvents are events of three keys, with customers, spread over a
// week before t0 so that every tier holds some.
func snapshotEvents() string {
	var lines []string
	for i := range 60 {
		at := t0.Add(-time.Duration(i*i) * 3 * time.Minute) // up to about 7 days back
		seg, tp := []string{"enterprise", "smb", "consumer"}[i%3], []string{"checkout", "app"}[i%2]
		metric, score := []string{"csat", "ces", "nps"}[i%3], []int{4, 6, 9}[i%3]
		lines = append(lines, event(seg, tp, metric, score, fmt.Sprint("c-", i%17), at))
	}
	return strings.Join(lines, "\n")
}

// state is everything the server answers about its data: the keys, and
// the scores of every key and roll-up over three windows and a trend.
func state(f *fixture) string {
	f.t.Helper()
	var b strings.Builder
	read := func(target string) {
		code, text := f.do("GET", target, "")
		if code != 200 {
			f.t.Fatalf("GET %s: got %d %s, want 200", target, code, text)
		}
		b.WriteString(target + " " + text)
	}
	read("/v1/keys")
	keys := decodeJSON[KeyList](f.t, mustGet(f, "/v1/keys"))
	sel := [][2]string{{"*", "*"}}
	for _, k := range keys.Keys {
		sel = append(sel, [2]string{k.Segment, "*"}, [2]string{"*", k.Touchpoint}, [2]string{k.Segment, k.Touchpoint})
	}
	for _, s := range sel {
		for _, w := range []string{"1h", "24h", "7d"} {
			read("/v1/scores?" + url.Values{"segment": {s[0]}, "touchpoint": {s[1]}, "window": {w}}.Encode())
		}
	}
	read("/v1/trend?window=7d&step=1d")
	return b.String()
}

func mustGet(f *fixture, target string) string {
	f.t.Helper()
	code, text := f.do("GET", target, "")
	if code != 200 {
		f.t.Fatalf("GET %s: got %d %s, want 200", target, code, text)
	}
	return text
}

// snapshotOf returns the body of GET /v1/snapshot.
func snapshotOf(f *fixture) []byte {
	f.t.Helper()
	w := httptest.NewRecorder()
	f.server.ServeHTTP(w, httptest.NewRequest("GET", "/v1/snapshot", nil))
	if w.Code != 200 {
		f.t.Fatalf("GET /v1/snapshot: got %d %s, want 200", w.Code, w.Body)
	}
	return w.Body.Bytes()
}

// merge posts body to /v1/merge. A negative length sends it without a
// Content-Length, as a chunked body would arrive.
func merge(f *fixture, body []byte, length int64, header ...string) (int, string) {
	f.t.Helper()
	r := httptest.NewRequest("POST", "/v1/merge", bytes.NewReader(body))
	r.ContentLength = length
	r.Header.Set("Authorization", "Bearer "+adminToken)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return f.serve(r)
}

func TestSnapshotRoundTrip(t *testing.T) {
	src := newFixture(t, engine.Config{}, Options{})
	if code, resp := src.post(ndjson, snapshotEvents()); code != 200 || resp.Accepted != 60 {
		t.Fatalf("posting: got %d, %+v", code, resp)
	}
	w := httptest.NewRecorder()
	src.server.ServeHTTP(w, httptest.NewRequest("GET", "/v1/snapshot", nil))
	for name, want := range map[string]string{
		"Content-Type":        "application/octet-stream",
		"Content-Disposition": `attachment; filename="cxscore.snap"`,
		"Cache-Control":       "no-store",
	} {
		if got := w.Header().Get(name); got != want {
			t.Errorf("GET /v1/snapshot: %s: got %q, want %q", name, got, want)
		}
	}
	snap := w.Body.Bytes()
	if w.Code != 200 || !bytes.HasPrefix(snap, []byte("cxscore\x00")) {
		t.Fatalf("GET /v1/snapshot: got %d %q, want 200 and a snapshot", w.Code, snap[:min(len(snap), 40)])
	}

	if code, text := src.do("GET", "/v1/snapshot?keys=enterprise", ""); code != 400 || !strings.Contains(text, "no query parameters") {
		t.Errorf("GET /v1/snapshot?keys=enterprise: got %d %s, want 400", code, text)
	}

	dst := newFixture(t, engine.Config{}, Options{})
	code, text := merge(dst, snap, int64(len(snap)))
	if code != 200 || text != `{"merged":true,"keys":6}`+"\n" {
		t.Fatalf("POST /v1/merge: got %d %s, want 200 {\"merged\":true,\"keys\":6}", code, text)
	}
	if got, want := state(dst), state(src); got != want {
		t.Errorf("after the merge the server answers\n%s\nwant, as the source does,\n%s", got, want)
	}
	if got := snapshotOf(dst); !bytes.Equal(got, snap) {
		t.Errorf("the merged server's snapshot differs from the one it merged (%d bytes, want %d)", len(got), len(snap))
	}

	// Merge is addition: the same snapshot again counts everything twice.
	if code, text := merge(dst, snap, -1); code != 200 {
		t.Fatalf("second POST /v1/merge (chunked): got %d %s, want 200", code, text)
	}
	if got := dst.total(); got != 2*60 {
		t.Errorf("after merging the same snapshot twice: got %d responses, want %d", got, 2*60)
	}
	if got := dst.server.merges.Load(); got != 2 {
		t.Errorf("got cxscore_sidecar_merges_total %v, want 2", got)
	}
}

func TestMergeRejects(t *testing.T) {
	src := newFixture(t, engine.Config{}, Options{})
	src.post(ndjson, strings.Join([]string{
		event("other", "one", "nps", 9, "c-1", t0),
		event("other", "two", "csat", 5, "c-2", t0.Add(-time.Hour)),
	}, "\n"))
	valid := snapshotOf(src)
	precise := newFixture(t, engine.Config{Precision: 14}, Options{})
	precise.post(ndjson, event("enterprise", "checkout", "nps", 9, "c-1", t0))
	incompatible := snapshotOf(precise)
	const limit = 4096
	if len(valid) > limit/2 {
		t.Fatalf("the valid snapshot is %d bytes; the test wants it under %d", len(valid), limit/2)
	}

	// One key fits the target below, so only the trailing byte is wrong
	// with it: the target counts keys as it reads and refuses at the first
	// one too many.
	one := newFixture(t, engine.Config{}, Options{})
	one.post(ndjson, event("other", "one", "nps", 9, "c-1", t0))
	single := snapshotOf(one)
	// A source whose clock runs a day ahead: its buckets are in the future.
	ahead := newFixture(t, engine.Config{}, Options{})
	ahead.clock.Set(t0.Add(24 * time.Hour))
	ahead.post(ndjson, event("other", "one", "nps", 9, "c-1", t0.Add(24*time.Hour)))
	future := snapshotOf(ahead)
	// A target whose memory budget the valid snapshot's keys do not fit.
	tight := newFixture(t, engine.Config{MaxBytes: 1}, Options{})
	if code, text := merge(tight, valid, int64(len(valid))); code != 409 || !strings.Contains(text, "memory budget") || !strings.Contains(text, "nothing was merged") {
		t.Errorf("a snapshot beyond the memory budget: got %d %s, want 409 with \"memory budget\"", code, text)
	}

	// The target holds two keys and may hold three: valid would make four.
	f := newFixture(t, engine.Config{MaxKeys: 3}, Options{MaxMergeBytes: limit})
	f.post(ndjson, strings.Join([]string{
		event("enterprise", "checkout", "nps", 10, "c-1", t0),
		event("smb", "app", "ces", 2, "", t0.Add(-3*time.Hour)),
	}, "\n"))
	before := state(f)

	with := func(b []byte, i int, v byte) []byte {
		b = slices.Clone(b)
		b[i] = v
		return b
	}
	tests := []struct {
		name   string
		body   []byte
		length int64 // -1: none, as chunked; 0: len(body)
		header []string
		target string
		status int
		want   string
	}{
		{name: "empty", body: nil, status: 400, want: "not a complete cxscore snapshot"},
		{name: "not a snapshot", body: []byte(`{"segment":"smb"}`), status: 400, want: "not a cxscore snapshot"},
		{name: "truncated in the middle", body: valid[:len(valid)/2], status: 400, want: "truncated"},
		{name: "truncated in the checksum", body: single[:len(single)-2], status: 400, want: "truncated in checksum"},
		{name: "a byte flipped", body: with(single, len(single)-12, single[len(single)-12]^0x40), status: 400, want: "corrupt snapshot"},
		{name: "data after the end", body: append(slices.Clone(single), 0), status: 400, want: "data after the checksum"},
		{name: "a later version", body: with(valid, 8, 4), status: 422, want: "version 4"},
		{name: "another precision", body: incompatible, status: 409, want: "incompatible snapshot: precision 14"},
		{name: "too many keys", body: valid, status: 409, want: "-max-keys"},
		{name: "a bucket a day ahead", body: future, status: 422, want: "snapshot refused: time too far in the future"},
		{name: "declared too large", body: make([]byte, limit+1), status: 413, want: "the limit is 4096 (-max-merge-bytes)"},
		{name: "too large, chunked", body: append(slices.Clone(valid), make([]byte, limit)...), length: -1, status: 413, want: "larger than 4096 bytes"},
		{name: "compressed", body: valid, header: []string{"Content-Encoding", "gzip"}, status: 415, want: "Content-Encoding"},
		{name: "a query parameter", body: valid, target: "/v1/merge?replace=true", status: 400, want: "no query parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := cmp.Or(tt.target, "/v1/merge")
			r := httptest.NewRequest("POST", target, bytes.NewReader(tt.body))
			r.ContentLength = cmp.Or(tt.length, int64(len(tt.body)))
			r.Header.Set("Authorization", "Bearer "+adminToken)
			for i := 0; i+1 < len(tt.header); i += 2 {
				r.Header.Set(tt.header[i], tt.header[i+1])
			}
			code, text := f.serve(r)
			if code != tt.status || !strings.Contains(text, tt.want) || !strings.Contains(text, "nothing was merged") {
				t.Errorf("got %d %s, want %d with %q and \"nothing was merged\"", code, text, tt.status, tt.want)
			}
			decodeJSON[Error](t, text)
			if after := state(f); after != before {
				t.Errorf("the server's answers changed:\n%s\nwant\n%s", after, before)
			}
		})
	}
	if got := f.server.merges.Load(); got != 0 {
		t.Errorf("got cxscore_sidecar_merges_total %v after rejected merges, want 0", got)
	}
}

func TestSnapshotAuth(t *testing.T) {
	const token = "s3cret-token"
	f := newFixture(t, engine.Config{}, Options{Token: token})
	f.post(ndjson, event("s", "t", "nps", 9, "", t0)) // no token: 401, nothing recorded
	src := newFixture(t, engine.Config{}, Options{})
	src.post(ndjson, event("s", "t", "nps", 9, "", t0))
	snap := snapshotOf(src)
	tests := []struct {
		name, auth string
		status     int
	}{
		{"none", "", 401},
		{"wrong", "Bearer s3cret-tokem", 401},
		{"right", "Bearer " + token, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, text := merge(f, snap, int64(len(snap)), "Authorization", tt.auth)
			if code != tt.status {
				t.Errorf("POST /v1/merge: got %d %s, want %d", code, text, tt.status)
			}
			code, text = f.do("GET", "/v1/snapshot", "", "Authorization", tt.auth)
			if code != tt.status {
				t.Errorf("GET /v1/snapshot: got %d %.80q, want %d", code, text, tt.status)
			}
		})
	}
	if got := f.total(); got != 1 {
		t.Errorf("the server holds %d responses, want the 1 merged with the token", got)
	}
}

func TestSnapshotClosedEngine(t *testing.T) {
	f := newFixture(t, engine.Config{}, Options{})
	valid := snapshotOf(f)
	f.engine.Close()
	code, text := f.do("GET", "/v1/snapshot", "")
	if code != 503 || !strings.Contains(text, "closed") {
		t.Errorf("GET /v1/snapshot: got %d %s, want 503", code, text)
	}
	if code, text := merge(f, valid, int64(len(valid))); code != 503 {
		t.Errorf("POST /v1/merge: got %d %s, want 503", code, text)
	}
}
