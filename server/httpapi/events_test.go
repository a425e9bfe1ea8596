package httpapi

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cxscore/cxscore/engine"
)

const ndjson = "application/x-ndjson"

func TestPostEvents(t *testing.T) {
	good := event("enterprise", "checkout", "nps", 9, "c-1", t0)
	good2 := event("smb", "app", "csat", 4, "", time.Time{})
	bad := event("enterprise", "checkout", "nps", 11, "c-1", t0)
	big := `{"segment":"s","touchpoint":"t","metric":"nps","score":1,"customer_id":"` + strings.Repeat("x", DefaultMaxEventBytes) + `"}`
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
		accepted    int
		rejected    map[int]string // index: part of the error
		err         string         // part of the request's error, if any
	}{
		{name: "one object", body: good, status: 200, accepted: 1},
		{name: "one bad object", body: bad, status: 422, err: "every event was rejected; nothing was recorded",
			rejected: map[int]string{0: "score out of range: nps score 11, want 0-10"}},
		{name: "array", body: "[" + good + "," + bad + ",\n" + good2 + "]", status: 200, accepted: 2,
			rejected: map[int]string{1: "nps score 11"}},
		{name: "empty array", body: "[]", status: 200},
		{name: "array of non-objects", body: `[1, "x", null, [], {"a":1}]`, status: 422, err: "nothing was recorded", rejected: map[int]string{
			0: "want an event object, got number 1", 1: `got string "x"`, 2: "got null", 3: "got an array", 4: `unknown field "a"`}},
		{name: "objects one after another", body: good + good2 + "\n" + bad, status: 200, accepted: 2,
			rejected: map[int]string{2: "nps score 11"}},
		{name: "byte order mark", body: "\xef\xbb\xbf" + good, status: 200, accepted: 1},
		{name: "ndjson", contentType: ndjson, body: good + "\n" + bad + "\n" + good2 + "\n", status: 200, accepted: 2,
			rejected: map[int]string{1: "nps score 11"}},
		{name: "ndjson with charset, CRLF, blank lines, no final newline", contentType: "application/x-ndjson; charset=utf-8",
			body: "\r\n" + good + "\r\n\r\n  \t\r\n" + good2, status: 200, accepted: 2},
		{name: "ndjson broken lines stand alone", contentType: "application/ndjson",
			body: good + "\n{\"segment\":\n" + good2 + "\n[\n" + bad + "\n", status: 200, accepted: 2,
			rejected: map[int]string{1: "invalid JSON", 3: "invalid JSON", 4: "nps score 11"}},
		{name: "ndjson pretty-printed object", contentType: ndjson, body: "{\n\"segment\": \"s\"\n}", status: 422, err: "nothing was recorded",
			rejected: map[int]string{0: "invalid JSON", 1: "invalid JSON", 2: "invalid JSON"}},
		{name: "ndjson not UTF-8", contentType: ndjson, body: good + "\n\xff\xfe\n" + good, status: 200, accepted: 2,
			rejected: map[int]string{1: "not valid UTF-8"}},
		{name: "ndjson line too long", contentType: ndjson, body: good + "\n" + big + "\n" + good2, status: 200, accepted: 2,
			rejected: map[int]string{1: "event longer than 65536 bytes"}},
		{name: "array element too large", body: "[" + good + "," + big + "," + good2 + "]", status: 200, accepted: 2,
			rejected: map[int]string{1: "event larger than 65536 bytes (-max-event-bytes)"}},
		{name: "every kind of engine rejection", contentType: ndjson, body: strings.Join([]string{
			event("s", "t", "nps", 5, "", t0.Add(-70*24*time.Hour)),
			event("s", "t", "nps", 5, "", t0.Add(time.Hour)),
			event("*", "t", "nps", 5, "", t0),
			event("s", strings.Repeat("t", 129), "nps", 5, "", t0),
			`{"segment":"s","touchpoint":"t","metric":"nps","score":-1}`,
			`{"segment":"s","touchpoint":"t","metric":"xps","score":1}`,
			event("s", "t", "ces", 7, "", t0.Add(-34*24*time.Hour)),
		}, "\n"), status: 200, accepted: 1, rejected: map[int]string{
			0: "time older than the retention", 1: "time too far in the future", 2: `segment "*" is reserved`,
			3: "touchpoint of 129 bytes, want at most 128", 4: "nps score -1, want 0-10", 5: `unknown metric: "xps"`}},

		{name: "empty body", body: "", status: 400, err: "empty body: want an event object, a JSON array of them, or NDJSON"},
		{name: "white space", body: " \n\t", status: 400, err: "empty body"},
		{name: "not JSON", body: "hello", status: 400, err: "body is not JSON (it starts with 'h')"},
		{name: "form", contentType: "application/x-www-form-urlencoded", body: "segment=s&score=1", status: 415,
			err: "Content-Type application/x-www-form-urlencoded is not taken: want application/json or application/x-ndjson"},
		{name: "text/plain", contentType: "text/plain", body: good, status: 415, err: "Content-Type text/plain is not taken"},
		{name: "multipart", contentType: "multipart/form-data; boundary=x", body: good, status: 415, err: "multipart/form-data is not taken"},
		{name: "malformed Content-Type", contentType: "application/json; ;", body: good, status: 415, err: "malformed Content-Type"},
		{name: "array broken off", body: "[" + good + "," + good2 + `,{"segm`, status: 400, accepted: 2,
			err: "body ends in the middle of event 2"},
		{name: "array not closed", body: "[" + good + ",", status: 400, accepted: 1, err: "body ends before the array is closed"},
		{name: "array without commas", body: "[" + good + " " + good2 + "]", status: 400, accepted: 1,
			err: "invalid JSON at byte"},
		{name: "data after the array", body: "[" + good + "] " + good2, status: 400, accepted: 1,
			err: "unexpected data after the array"},
		{name: "syntax error after an object", body: good + "\n" + bad + "\n" + `{"x" 1}`, status: 400, accepted: 1,
			rejected: map[int]string{1: "nps score 11"}, err: "invalid JSON at byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, engine.Config{}, Options{})
			code, resp := f.post(tt.contentType, tt.body)
			if code != tt.status {
				t.Errorf("got status %d, want %d (%+v)", code, tt.status, resp)
			}
			if resp.Accepted != tt.accepted {
				t.Errorf("got %d accepted, want %d (%+v)", resp.Accepted, tt.accepted, resp)
			}
			if got := f.total(); got != uint64(tt.accepted) {
				t.Errorf("engine holds %d responses, want %d", got, tt.accepted)
			}
			if resp.RejectedCount != len(tt.rejected) || len(resp.Rejected) != len(tt.rejected) {
				t.Errorf("got %d rejected (%d listed), want %d: %+v", resp.RejectedCount, len(resp.Rejected), len(tt.rejected), resp.Rejected)
			}
			if resp.Rejected == nil {
				t.Error("got rejected null, want a list")
			}
			for i, r := range resp.Rejected {
				if i > 0 && r.Index <= resp.Rejected[i-1].Index {
					t.Errorf("rejections out of order: %+v", resp.Rejected)
				}
				if want, ok := tt.rejected[r.Index]; !ok || !strings.Contains(r.Error, want) {
					t.Errorf("got event %d rejected with %q, want %q", r.Index, r.Error, want)
				}
			}
			if !strings.Contains(resp.Error, tt.err) || (tt.err == "") != (resp.Error == "") {
				t.Errorf("got error %q, want %q", resp.Error, tt.err)
			}
		})
	}
}

// TestPostEventsLimit checks the body limit in each form, declared up front
// (nothing is read) and found while streaming (the events before it are
// kept, and counted).
func TestPostEventsLimit(t *testing.T) {
	ev := event("s", "t", "nps", 9, "", t0)
	limit := int64((len(ev)+1)*40 + 10) // 40 events and a bit of the 41st
	tests := []struct {
		name, contentType, body string
		length                  int64 // Content-Length; -1 unknown
		accepted                int
	}{
		{"ndjson declared", ndjson, strings.Repeat(ev+"\n", 100), 0, 0},
		{"ndjson streamed", ndjson, strings.Repeat(ev+"\n", 100), -1, 40},
		{"array declared", "", "[" + strings.Repeat(ev+",", 99) + ev + "]", 0, 0},
		{"array streamed", "", "[" + strings.Repeat(ev+",", 99) + ev + "]", -1, 40},
		{"objects streamed", "", strings.Repeat(ev+" ", 100), -1, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, engine.Config{}, Options{MaxBodyBytes: limit})
			r := httptest.NewRequest("POST", "/v1/events", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", cmp.Or(tt.contentType, "application/json"))
			if tt.length < 0 {
				r.ContentLength = -1
			}
			code, text := f.serve(r)
			resp := decodeJSON[IngestResponse](t, text)
			if code != 413 {
				t.Errorf("got status %d, want 413", code)
			}
			if resp.Accepted != tt.accepted || f.total() != uint64(tt.accepted) {
				t.Errorf("got %d accepted and %d recorded, want %d", resp.Accepted, f.total(), tt.accepted)
			}
			if !strings.Contains(resp.Error, fmt.Sprint(limit)) {
				t.Errorf("got error %q, want the limit %d in it", resp.Error, limit)
			}
		})
	}
}

// TestPostEventsBatches posts more events than a batch, with rejections of
// the decoder and of the engine interleaved, and more rejections than a
// response lists.
func TestPostEventsBatches(t *testing.T) {
	f := newFixture(t, engine.Config{}, Options{})
	var body strings.Builder
	wantAccepted, wantRejected := 0, []int(nil)
	for i := range 3000 {
		switch {
		case i%3 == 1:
			body.WriteString(event("s", "t", "nps", 11, "", t0)) // the engine rejects it
			wantRejected = append(wantRejected, i)
		case i%7 == 2:
			body.WriteString(`{"segment":"s"`) // the decoder rejects it
			wantRejected = append(wantRejected, i)
		default:
			body.WriteString(event("s", "t", "nps", i%11, fmt.Sprint("c-", i%50), t0))
			wantAccepted++
		}
		body.WriteByte('\n')
	}
	code, resp := f.post(ndjson, body.String())
	if code != 200 || resp.Accepted != wantAccepted || resp.RejectedCount != len(wantRejected) {
		t.Fatalf("got %d, %d accepted, %d rejected; want 200, %d, %d", code, resp.Accepted, resp.RejectedCount, wantAccepted, len(wantRejected))
	}
	if len(resp.Rejected) != maxListed {
		t.Fatalf("got %d rejections listed, want %d", len(resp.Rejected), maxListed)
	}
	for i, r := range resp.Rejected {
		if r.Index != wantRejected[i] {
			t.Fatalf("got rejection %d for event %d, want event %d", i, r.Index, wantRejected[i])
		}
	}
	if got := f.total(); got != uint64(wantAccepted) {
		t.Errorf("engine holds %d responses, want %d", got, wantAccepted)
	}
	var r engine.Result
	f.engine.Query(engine.Query{Window: time.Hour}, &r)
	if r.UniqueCustomers != 50 {
		t.Errorf("got %d unique customers, want 50", r.UniqueCustomers)
	}
}

// TestPostEventsCounters checks the accepted and rejected counters against
// the answers.
func TestPostEventsCounters(t *testing.T) {
	f := newFixture(t, engine.Config{MaxKeys: 1}, Options{})
	f.post("", "["+strings.Join([]string{
		event("a", "t", "nps", 1, "", t0),
		event("b", "t", "nps", 1, "", t0), // a second key
		event("a", "t", "nps", 11, "", t0),
		`{"segment":"a","touchpoint":"t","metric":"nps","score":"1"}`,
		`3`,
		event("a", "t", "csat", 5, "", t0),
	}, ",")+"]")
	want := map[string]float64{"too_many_keys": 1, "score_out_of_range": 1, "invalid_field": 1, "bad_json": 1, "too_old": 0}
	for reason, n := range want {
		if got := testutil.ToFloat64(f.server.metrics.rejectedBy[reason]); got != n {
			t.Errorf("got %v events rejected as %s, want %v", got, reason, n)
		}
	}
	if got := testutil.ToFloat64(f.server.metrics.accepted); got != 2 {
		t.Errorf("got %v events accepted, want 2", got)
	}
}

// TestPostEventsKeepsWhatWasRecorded sends the bad requests a new user
// might, after some good events, and checks that nothing recorded is lost
// and each bad request gets a clear answer.
func TestPostEventsKeepsWhatWasRecorded(t *testing.T) {
	f := newFixture(t, engine.Config{}, Options{})
	if code, resp := f.post("", "["+event("s", "t", "nps", 9, "c", t0)+","+event("s", "t", "csat", 5, "c", t0)+"]"); code != 200 || resp.Accepted != 2 {
		t.Fatalf("got %d %+v, want 200 and 2 accepted", code, resp)
	}
	for _, body := range []string{"", "null", "{", "[", `{"score":1e30}`, "\xff\xfe", `[{"score": 99999999999999999999}]`, strings.Repeat("[", 100000)} {
		code, text := f.do("POST", "/v1/events", body)
		if code != 400 && code != 422 {
			t.Errorf("POST %.20q: got status %d, want 400 or 422", body, code)
		}
		if resp := decodeJSON[IngestResponse](t, text); resp.Error == "" && resp.RejectedCount == 0 {
			t.Errorf("POST %.20q: got %s, want an error or a rejection", body, text)
		}
	}
	if code, _ := f.do("GET", "/v1/events", ""); code != 405 {
		t.Errorf("GET /v1/events: got %d, want 405", code)
	}
	if code, _ := f.do("POST", "/v1/events", "{}", "Content-Encoding", "gzip"); code != 415 {
		t.Errorf("gzip: got %d, want 415", code)
	}
	if got := f.total(); got != 2 {
		t.Errorf("engine holds %d responses, want the 2 recorded first", got)
	}
}

// TestPostEventsStreams checks that an NDJSON body is recorded while it is
// still arriving: the events of the first batches are queryable before the
// client has sent the rest.
func TestPostEventsStreams(t *testing.T) {
	f := newFixture(t, engine.Config{}, Options{})
	pr, pw := io.Pipe()
	r := httptest.NewRequest("POST", "/v1/events", pr)
	r.Header.Set("Content-Type", ndjson)
	done := make(chan IngestResponse)
	go func() {
		_, text := f.serve(r)
		done <- decodeJSON[IngestResponse](t, text)
	}()
	line := []byte(event("s", "t", "nps", 9, "", t0) + "\n")
	// A write to a pipe returns once the reader has taken it, and the
	// handler reads a line only after it has decoded (and, at batchSize,
	// recorded) the one before. So once line batchSize+1 is written, the
	// first batch is in the engine.
	for range batchSize + 1 {
		pw.Write(line)
	}
	if got := f.total(); got != batchSize {
		t.Fatalf("with the body still open, engine holds %d responses; want the first batch, %d", got, batchSize)
	}
	pw.Write(bytes.Repeat(line, 10))
	pw.Close()
	if resp := <-done; resp.Accepted != batchSize+11 {
		t.Errorf("got %d accepted, want %d", resp.Accepted, batchSize+11)
	}
}

// TestPostEventsOddTimesAndEscapes sends the values that used to be
// recorded as something else: times that overflow Unix nanoseconds (1442,
// 2611) or are the zero time, and lone surrogates, which encoding/json
// turns into U+FFFD. Each is rejected with the reason, and nothing is
// recorded; an event without a time is still recorded as now.
func TestPostEventsOddTimesAndEscapes(t *testing.T) {
	f := newFixture(t, engine.Config{}, Options{})
	ev := func(seg, at string) string {
		s := `{"segment":"` + seg + `","touchpoint":"t","metric":"nps","score":9`
		if at != "" {
			s += `,"time":"` + at + `"`
		}
		return s + "}"
	}
	code, resp := f.post(ndjson, strings.Join([]string{
		ev("s", "1442-03-01T10:00:00Z"),
		ev("s", "2611-03-01T10:00:00Z"),
		ev("s", "0001-01-01T00:00:00Z"),
		ev(`\ud800`, ""),
		ev(`\udbff`, ""),
		ev(`x\udc00y`, ""),
	}, "\n"))
	want := []string{
		"1442-03-01T10:00:00Z is before 1970-01-01T00:00:00Z, the earliest time the engine represents",
		"2611-03-01T10:00:00Z is after 2200-01-01T00:00:00Z, the latest time the engine represents",
		"0001-01-01T00:00:00Z is before 1970-01-01T00:00:00Z, the earliest time the engine represents",
		`not valid UTF-8: the escape \ud800 is half a surrogate pair`,
		`not valid UTF-8: the escape \udbff is half a surrogate pair`,
		`not valid UTF-8: the escape \udc00 is half a surrogate pair`,
	}
	if code != 422 || resp.RejectedCount != len(want) {
		t.Fatalf("got %d %+v, want 422 and every event rejected", code, resp)
	}
	for i, r := range resp.Rejected {
		if r.Index != i || !strings.Contains(r.Error, want[i]) {
			t.Errorf("event %d: got %+v, want %q", i, r, want[i])
		}
	}
	if got := f.total(); got != 0 || f.engine.Stats().Keys != 0 {
		t.Errorf("got %d responses in %d keys, want nothing recorded", got, f.engine.Stats().Keys)
	}
	if code, resp := f.post("", ev("s", "")); code != 200 || resp.Accepted != 1 {
		t.Errorf("an event without a time: got %d %+v, want it recorded", code, resp)
	}
	var r engine.Result
	if err := f.engine.QueryAt(t0, engine.Query{Window: time.Minute}, &r); err != nil || r.Responses() != 1 {
		t.Errorf("the last minute holds %d responses (%v), want the event without a time", r.Responses(), err)
	}
}

// hugeElement is a body holding one 15 MB event between two good ones,
// made as it is read, so that the test holds none of it.
type hugeElement struct {
	head, tail string
	fill       int // bytes of the customer ID still to send
}

func (h *hugeElement) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		switch {
		case h.head != "":
			c := copy(p[n:], h.head)
			h.head, n = h.head[c:], n+c
		case h.fill > 0:
			c := min(h.fill, len(p)-n)
			for i := range c {
				p[n+i] = 'x'
			}
			h.fill, n = h.fill-c, n+c
		case h.tail != "":
			c := copy(p[n:], h.tail)
			h.tail, n = h.tail[c:], n+c
		default:
			return n, io.EOF
		}
	}
	return n, nil
}

// TestPostEventsHugeElement posts an array, and a sequence of objects,
// with a 15 MB element in the middle: it is rejected as too large without
// being held (the request allocates far less than the element), and the
// events around it are recorded.
func TestPostEventsHugeElement(t *testing.T) {
	const size = 15 << 20
	good := event("s", "t", "nps", 9, "", t0)
	huge := `{"segment":"s","touchpoint":"t","metric":"nps","score":1,"customer_id":"`
	for _, form := range []struct{ name, open, sep, close string }{
		{"array", "[", ",", "]"},
		{"objects", "", "\n", ""},
	} {
		t.Run(form.name, func(t *testing.T) {
			f := newFixture(t, engine.Config{}, Options{MaxBodyBytes: 32 << 20})
			f.post("", good) // warm up: pools, interned labels
			body := &hugeElement{head: form.open + good + form.sep + huge, fill: size, tail: `"}` + form.sep + good + form.close}
			r := httptest.NewRequest("POST", "/v1/events", body)
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			f.server.ServeHTTP(w, r)
			runtime.ReadMemStats(&after)
			resp := decodeJSON[IngestResponse](t, w.Body.String())
			if w.Code != 200 || resp.Accepted != 2 || resp.RejectedCount != 1 || resp.Rejected[0].Index != 1 ||
				!strings.Contains(resp.Rejected[0].Error, "event larger than 65536 bytes") {
				t.Errorf("got %d %+v, want 200, 2 accepted and event 1 rejected as too large", w.Code, resp)
			}
			if got := f.total(); got != 3 {
				t.Errorf("engine holds %d responses, want 3", got)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Errorf("the request allocated %d KiB, want under 1 MiB for a %d MiB element", alloc>>10, size>>20)
			}
		})
	}
}

func TestMaxEventBytes(t *testing.T) {
	f := newFixture(t, engine.Config{}, Options{MaxEventBytes: 100})
	short, long := event("s", "t", "nps", 9, "", t0), event("s", "t", "nps", 9, strings.Repeat("c", 100), t0)
	for _, ct := range []string{"", ndjson} {
		code, resp := f.post(ct, "["+short+","+long+"]")
		if ct == ndjson {
			code, resp = f.post(ct, short+"\n"+long+"\n")
		}
		if code != 200 || resp.Accepted != 1 || resp.RejectedCount != 1 || !strings.Contains(resp.Rejected[0].Error, "100 bytes (-max-event-bytes)") {
			t.Errorf("%q: got %d %+v, want the long event rejected at 100 bytes", ct, code, resp)
		}
	}
	e := f.engine
	for _, n := range []int64{-1, 63, 16<<20 + 1} {
		if _, err := New(e, Options{MaxEventBytes: n}); err == nil || !strings.Contains(err.Error(), "max event bytes") {
			t.Errorf("MaxEventBytes %d: got %v, want an error", n, err)
		}
	}
}
