package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// withID is an event of the fuzz seeds with a response id and version.
func withID(id string, version uint64) string {
	return fmt.Sprintf(`{"segment":"s","touchpoint":"t","metric":"csat","score":%d,"time":%q,"response_id":%q,"version":%d}`,
		1+version%5, t0.Format(time.RFC3339), id, version)
}

// FuzzEvents posts arbitrary bodies, as JSON and as NDJSON, and checks
// that every answer is a clean 200, 400, 413 or 422 with a JSON body (422
// exactly when every event was rejected); that the
// engine holds exactly the events the answer accepted (corrections and
// duplicates add none); that accepted, updated, duplicates and rejected
// add up to the events of the body, counted here independently;
// that only bodies that are not JSON get 400; and that no label holds
// U+FFFD unless the body wrote one (a lone surrogate must not become one).
//
//	go test -run '^$' -fuzz '^FuzzEvents$' -fuzztime 1m ./server/httpapi
func FuzzEvents(f *testing.F) {
	good := event("enterprise", "checkout", "nps", 9, "c-1", t0)
	for _, seed := range []struct {
		body   string
		ndjson bool
	}{
		{good, false},
		{good, true},
		{"[" + good + "," + event("smb", "app", "csat", 4, "", time.Time{}) + "]", false},
		{good + "\n" + event("smb", "app", "ces", 8, "", t0) + "\n\n" + `{"score":"x"}` + "\r\n", true},
		{good + good, false},
		{`[1, "x", null, [], {}, {"segment":"s","touchpoint":"t","metric":"nps","score":1e30}]`, false},
		{`{"segment":"s","touchpoint":"t","metric":"nps","score":99999999999999999999}`, true},
		{`{"segment":"s\u00e9\ud800","touchpoint":"t","metric":"nps","score":9.0,"time":"2026-11-24T10:00:00+01:00"}`, false},
		{"{\"segment\":\"s\xff\",\"touchpoint\":\"t\",\"metric\":\"nps\",\"score\":1}", true},
		{"\xef\xbb\xbf[" + good + "]", false},
		{"[" + good + ",", false},
		{"[" + good + "] x", false},
		{`{"segment":`, true},
		{`{"segment":"\udbff","touchpoint":"\ud83d\ude00","metric":"nps","score":1}`, true},
		{`[{"segment":"s","touchpoint":"t","metric":"nps","score":1,"time":"0001-01-01T00:00:00Z"},` +
			`{"segment":"s","touchpoint":"t","metric":"nps","score":1,"time":"1442-01-01T00:00:00Z"}]`, false},
		{"", false},
		{"", true},
		{" \n ", false},
		{"hello", false},
		{strings.Repeat("[", 50), false},
		{strings.Repeat(good+"\n", 40), true}, // over the limit
		// Responses with an identity: new, retried, corrected, older, and bad ids and versions.
		{withID("r-1", 0) + "\n" + withID("r-1", 0) + "\n" + withID("r-1", 2) + "\n" + withID("r-1", 1), true},
		{"[" + withID("r-2", 7) + "," + withID("", 3) + "," + withID("r-2", 18446744073709551615) + "]", false},
		{`{"segment":"s","touchpoint":"t","metric":"nps","score":1,"response_id":"r-3","version":-1}`, true},
		{`{"segment":"s","touchpoint":"t","metric":"nps","score":1,"response_id":"r-3","version":1e3}`, true},
		{`{"segment":"s","touchpoint":"t","metric":"nps","score":1,"response_id":"` + strings.Repeat("x", 129) + `"}`, true},
		{`{"segment":"s","touchpoint":"t","metric":"nps","score":1,"response_id":"\ud800","version":99999999999999999999}`, true},
	} {
		f.Add([]byte(seed.body), seed.ndjson)
	}
	const limit = 4096
	fx := newFixture(f, engine.Config{MaxKeys: 100}, Options{MaxBodyBytes: limit})
	total := func(t *testing.T) uint64 {
		var r engine.Result
		if err := fx.engine.QueryAt(t0, engine.Query{Window: 61 * 24 * time.Hour}, &r); err != nil {
			t.Fatal(err)
		}
		return r.Responses()
	}
	f.Fuzz(func(t *testing.T, body []byte, nd bool) {
		before := total(t)
		known := fx.engine.Keys(nil)
		r := httptest.NewRequest("POST", "/v1/events", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if nd {
			r.Header.Set("Content-Type", ndjson)
		}
		w := httptest.NewRecorder()
		fx.server.ServeHTTP(w, r)
		var resp IngestResponse
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
			t.Fatalf("got status %d and a body that is not JSON (%v): %q", w.Code, err, w.Body)
		}
		if w.Code != 200 && w.Code != 400 && w.Code != 413 && w.Code != 422 {
			t.Fatalf("got status %d, want 200, 400, 413 or 422", w.Code)
		}
		if (w.Code == 200) != (resp.Error == "") {
			t.Fatalf("got status %d with error %q", w.Code, resp.Error)
		}
		if w.Code == 422 && (resp.acknowledged() > 0 || resp.RejectedCount == 0) {
			t.Fatalf("got 422 with %d acknowledged and %d rejected, want it only when every event was rejected", resp.acknowledged(), resp.RejectedCount)
		}
		if resp.Duplicates < 0 || resp.Updated < 0 {
			t.Fatalf("got %d duplicates and %d updated", resp.Duplicates, resp.Updated)
		}
		// A body read whole: 200 when something was recorded (or
		// acknowledged) or there was nothing to record, 422 when every
		// event was rejected.
		whole := 200
		if resp.acknowledged() == 0 && resp.RejectedCount > 0 {
			whole = 422
		}
		// Corrections replace an answer and duplicates change nothing: the
		// total grows by the accepted events alone.
		if got := total(t) - before; got != uint64(resp.Accepted) {
			t.Fatalf("answer says %d accepted, engine recorded %d", resp.Accepted, got)
		}
		if resp.Rejected == nil || len(resp.Rejected) > maxListed || len(resp.Rejected) > resp.RejectedCount ||
			resp.RejectedCount < maxListed && len(resp.Rejected) != resp.RejectedCount {
			t.Fatalf("got %d rejections listed of %d", len(resp.Rejected), resp.RejectedCount)
		}
		for i, rej := range resp.Rejected {
			if rej.Index < 0 || rej.Index >= resp.acknowledged()+resp.RejectedCount || i > 0 && rej.Index <= resp.Rejected[i-1].Index || rej.Error == "" {
				t.Fatalf("bad rejection %d: %+v of %d events", i, rej, resp.acknowledged()+resp.RejectedCount)
			}
		}
		events := resp.acknowledged() + resp.RejectedCount
		if !bytes.Contains(body, []byte("\uFFFD")) && !bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`)) {
			for _, k := range fx.engine.Keys(nil) {
				if !slices.Contains(known, k) && strings.ContainsRune(k.Segment+k.Touchpoint, '\uFFFD') {
					t.Fatalf("key %q × %q holds U+FFFD, which the body did not", k.Segment, k.Touchpoint)
				}
			}
		}

		text := bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
		start := bytes.TrimLeft(text, " \t\r\n")
		switch {
		case len(body) > limit:
			if w.Code != 413 || events != 0 {
				t.Fatalf("body of %d bytes: got %d with %d events read, want 413 and none", len(body), w.Code, events)
			}
		case nd:
			lines := 0
			for _, l := range bytes.Split(text, []byte("\n")) {
				if len(bytes.Trim(l, " \t\r")) > 0 {
					lines++
				}
			}
			if w.Code != whole || events != lines {
				t.Fatalf("NDJSON: got %d with %d events, want %d and %d", w.Code, events, whole, lines)
			}
		case len(start) == 0 || start[0] != '[' && start[0] != '{':
			if w.Code != 400 || events != 0 {
				t.Fatalf("not JSON: got %d with %d events, want 400 and none", w.Code, events)
			}
		case json.Valid(text) && start[0] == '[':
			var elems []json.RawMessage
			if err := json.Unmarshal(text, &elems); err != nil {
				t.Fatal(err)
			}
			if w.Code != whole || events != len(elems) {
				t.Fatalf("array: got %d with %d events, want %d and %d", w.Code, events, whole, len(elems))
			}
		case json.Valid(text):
			if w.Code != whole || events != 1 {
				t.Fatalf("one object: got %d with %d events, want %d and 1", w.Code, events, whole)
			}
		default: // broken JSON: 400, or 200 for objects one after another
			if w.Code == 413 {
				t.Fatalf("got 413 for a body under the limit")
			}
		}
	})
}
