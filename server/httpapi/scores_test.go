package httpapi

import (
	"strings"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// scoresFixture holds, at t0 (10:15:30):
//
//	enterprise × checkout  NPS 10 (c-1), 9 (c-2), 7 (c-3), 3 (c-1)  at 10:05:30
//	enterprise × web       CSAT 5 (c-1), 2 (anonymous)              at 10:15:30
//	smb × checkout         CES 6, 3 (c-9)                            at 08:15:30
func scoresFixture(t *testing.T) *fixture {
	f := newFixture(t, engine.Config{}, Options{})
	body := strings.Join([]string{
		event("enterprise", "checkout", "nps", 10, "c-1", t0.Add(-10*time.Minute)),
		event("enterprise", "checkout", "nps", 9, "c-2", t0.Add(-10*time.Minute)),
		event("enterprise", "checkout", "nps", 7, "c-3", t0.Add(-10*time.Minute)),
		event("enterprise", "checkout", "nps", 3, "c-1", t0.Add(-10*time.Minute)),
		event("enterprise", "web", "csat", 5, "c-1", time.Time{}),
		event("enterprise", "web", "csat", 2, "", time.Time{}),
		event("smb", "checkout", "ces", 6, "c-9", t0.Add(-2*time.Hour)),
		event("smb", "checkout", "ces", 3, "c-9", t0.Add(-2*time.Hour)),
	}, "\n")
	if code, resp := f.post(ndjson, body); code != 200 || resp.Accepted != 8 {
		t.Fatalf("got %d %+v, want 200 and 8 accepted", code, resp)
	}
	return f
}

// TestScoresWire pins the wire format: field names and order, nulls,
// distributions in score order, times in RFC 3339.
func TestScoresWire(t *testing.T) {
	f := scoresFixture(t)
	code, got := f.do("GET", "/v1/scores?segment=enterprise&touchpoint=checkout", "")
	want := `{"segment":"enterprise","touchpoint":"checkout","window":"1h","from":"2026-11-24T09:15:00Z","to":"2026-11-24T10:15:30Z","partial":false,"unique_customers":3,` +
		`"csat":{"responses":0,"enough":false,"score":null,"margin_of_error":null,"interval":null,"distribution":{"1":0,"2":0,"3":0,"4":0,"5":0}},` +
		`"ces":{"responses":0,"enough":false,"score":null,"easy_share":null,"margin_of_error":null,"interval":null,"distribution":{"1":0,"2":0,"3":0,"4":0,"5":0,"6":0,"7":0}},` +
		`"nps":{"responses":4,"enough":false,"score":25,"promoters":2,"passives":1,"detractors":1,"margin_of_error":58.44548281561347,` +
		`"interval":{"low":-44.15976852989918,"high":72.73119710132775},` +
		`"distribution":{"0":0,"1":0,"2":0,"3":1,"4":0,"5":0,"6":0,"7":1,"8":0,"9":1,"10":1}}}` + "\n"
	if code != 200 || got != want {
		t.Errorf("got %d\n%s\nwant 200\n%s", code, got, want)
	}

	code, got = f.do("GET", "/v1/scores?segment=smb&window=24h", "")
	r := decodeJSON[wireResult](t, got)
	if code != 200 || r.CES.Responses != 2 || *r.CES.Score != 4.5 || *r.CES.EasyShare != 50 || r.CES.MarginOfError == nil {
		t.Errorf("got %d %s, want CES 4.5 from 2 responses, half of them easy, with a margin", code, got)
	}
	code, got = f.do("GET", "/v1/scores?segment=enterprise&touchpoint=web", "")
	r = decodeJSON[wireResult](t, got)
	if code != 200 || *r.CSAT.Score != 50 || r.UniqueCustomers != 1 || r.CSAT.Interval == nil {
		t.Errorf("got %d %s, want CSAT 50 of 1 customer, with an interval", code, got)
	}
}

func TestScoresRollups(t *testing.T) {
	f := scoresFixture(t)
	tests := []struct {
		query               string
		segment, touchpoint string
		csat, ces, nps      uint64
		customers           uint64
	}{
		{"", "*", "*", 2, 0, 4, 3},
		{"?segment=*&touchpoint=*&window=24h", "*", "*", 2, 2, 4, 4},
		{"?segment=enterprise", "enterprise", "*", 2, 0, 4, 3},
		{"?touchpoint=checkout&window=3h", "*", "checkout", 0, 2, 4, 4},
		{"?segment=smb&touchpoint=checkout&window=3h", "smb", "checkout", 0, 2, 0, 1},
		{"?segment=smb&touchpoint=checkout&window=2h", "smb", "checkout", 0, 2, 0, 1}, // [08:15, 10:15:30): 10:15:30 − 2h is nearest to 08:15
		{"?segment=nobody&window=35d", "nobody", "*", 0, 0, 0, 0},
		{"?segment=&touchpoint=web&window=1m", "*", "web", 2, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			code, text := f.do("GET", "/v1/scores"+tt.query, "")
			r := decodeJSON[wireResult](t, text)
			if code != 200 {
				t.Fatalf("got %d %s, want 200", code, text)
			}
			if r.Segment != tt.segment || r.Touchpoint != tt.touchpoint {
				t.Errorf("got %s × %s, want %s × %s", r.Segment, r.Touchpoint, tt.segment, tt.touchpoint)
			}
			if r.CSAT.Responses != tt.csat || r.CES.Responses != tt.ces || r.NPS.Responses != tt.nps || r.UniqueCustomers != tt.customers {
				t.Errorf("got CSAT %d, CES %d, NPS %d, %d customers; want %d, %d, %d, %d",
					r.CSAT.Responses, r.CES.Responses, r.NPS.Responses, r.UniqueCustomers, tt.csat, tt.ces, tt.nps, tt.customers)
			}
			if (r.NPS.Score == nil) != (tt.nps == 0) || (r.NPS.MarginOfError == nil) != (tt.nps == 0) {
				t.Errorf("got NPS score %v ± %v from %d responses, want null exactly when there are none", r.NPS.Score, r.NPS.MarginOfError, tt.nps)
			}
		})
	}

	// Time moves on: at 11:20:30 a 70-minute window, 10:11-11:21, has the
	// events of 10:15 and not those of 10:05.
	f.clock.Advance(65 * time.Minute)
	_, text := f.do("GET", "/v1/scores?segment=enterprise&window=70m", "")
	if r := decodeJSON[wireResult](t, text); r.NPS.Responses != 0 || r.CSAT.Responses != 2 {
		t.Errorf("an hour later, got %s; want the 2 CSAT answers of 10:15 and no NPS", text)
	}
}

func TestScoresBadRequests(t *testing.T) {
	f := scoresFixture(t)
	tests := []struct {
		target string
		status int
		err    string
	}{
		{"/v1/scores?window=7d", 200, ""},
		{"/v1/scores?window=90m", 200, ""},
		{"/v1/scores?window=35d", 200, ""},
		{"/v1/scores?window=0", 400, `window "0": want more than 0`},
		{"/v1/scores?window=-1h", 400, `want more than 0`},
		{"/v1/scores?window=-2d", 400, `want more than 0`},
		{"/v1/scores?window=1y", 400, `window "1y": want a Go duration such as 90m or 24h, or a whole number of days such as 7d`},
		{"/v1/scores?window=1.5d", 400, `want a Go duration`},
		{"/v1/scores?window=99999999999d", 400, `want a Go duration`},
		{"/v1/scores?window=70d", 400, `window 1680h0m0s is longer than the 1464h0m0s retained`},
		{"/v1/scores?segment=" + strings.Repeat("s", 129), 400, "segment of 129 bytes, want at most 128"},
		{"/v1/scores?touchpoint=%ff", 400, `touchpoint "\xff" is not valid UTF-8`},
		{"/v1/scores?segmnt=enterprise", 400, `unknown parameter "segmnt"; this endpoint takes segment, touchpoint, window`},
		{"/v1/scores?segment=a&segment=b", 400, `parameter "segment" given 2 times, want once`},
		{"/v1/scores?segment=%zz", 400, "malformed query string"},
		{"/v1/trend?window=24h&step=1h", 200, ""},
		{"/v1/trend?window=30d&step=1d", 200, ""},
		{"/v1/trend?window=2h&step=5m", 200, ""},
		{"/v1/trend?step=30s", 400, "step 30s is not a multiple of the finest resolution 1m0s"},
		{"/v1/trend?window=48h&step=1m", 400, "window cannot be answered"},
		{"/v1/trend?step=0s", 400, `step "0s": want more than 0`},
		{"/v1/trend?window=24h&step=1h&bucket=1", 400, `unknown parameter "bucket"`},
		{"/v1/keys?segment=a", 400, `unknown parameter "segment"`},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			code, text := f.do("GET", tt.target, "")
			if code != tt.status {
				t.Errorf("got %d %s, want %d", code, text, tt.status)
			}
			if tt.status != 200 {
				if e := decodeJSON[Error](t, text); !strings.Contains(e.Error, tt.err) {
					t.Errorf("got error %q, want %q", e.Error, tt.err)
				}
			}
		})
	}
}

func TestTrend(t *testing.T) {
	f := scoresFixture(t)
	code, text := f.do("GET", "/v1/trend?touchpoint=checkout&window=3h&step=1h", "")
	tr := decodeJSON[wireTrend](t, text)
	if code != 200 || tr.Segment != "*" || tr.Touchpoint != "checkout" || tr.Window != "3h" || tr.Step != "1h" {
		t.Fatalf("got %d %s, want 200 for * × checkout over 3h in 1h steps", code, text)
	}
	// 10:15:30 − 3h is nearest to 07:00; the last point is partial.
	wantFrom := []string{"07:00", "08:00", "09:00", "10:00"}
	wantNPS := []uint64{0, 0, 0, 4}
	wantCES := []uint64{0, 2, 0, 0}
	if len(tr.Points) != len(wantFrom) {
		t.Fatalf("got %d points, want %d", len(tr.Points), len(wantFrom))
	}
	for i, p := range tr.Points {
		wantLen := time.Hour
		if i == len(wantFrom)-1 {
			wantLen = 15*time.Minute + 30*time.Second
		}
		if got := p.From.Format("15:04"); got != wantFrom[i] || p.To.Sub(p.From) != wantLen || p.Window != "1h" {
			t.Errorf("point %d: got %s-%s (%s), want %s for an hour", i, p.From, p.To, p.Window, wantFrom[i])
		}
		if p.NPS.Responses != wantNPS[i] || p.CES.Responses != wantCES[i] {
			t.Errorf("point %d: got %d NPS and %d CES responses, want %d and %d", i, p.NPS.Responses, p.CES.Responses, wantNPS[i], wantCES[i])
		}
	}
	_, text = f.do("GET", "/v1/trend", "")
	if tr := decodeJSON[wireTrend](t, text); len(tr.Points) != 25 || tr.Window != "24h" || tr.Step != "1h" {
		t.Errorf("got %d points over %s in steps of %s, want the defaults: 25 over 24h (from 10:00 yesterday) in steps of 1h", len(tr.Points), tr.Window, tr.Step)
	}
}

func TestKeys(t *testing.T) {
	f := newFixture(t, engine.Config{}, Options{})
	_, text := f.do("GET", "/v1/keys", "")
	if want := `{"segments":[],"touchpoints":[],"keys":[]}` + "\n"; text != want {
		t.Errorf("empty engine: got %s, want %s", text, want)
	}
	f = scoresFixture(t)
	_, text = f.do("GET", "/v1/keys", "")
	want := `{"segments":["enterprise","smb"],"touchpoints":["checkout","web"],"keys":[` +
		`{"segment":"enterprise","touchpoint":"checkout"},{"segment":"enterprise","touchpoint":"web"},{"segment":"smb","touchpoint":"checkout"}]}` + "\n"
	if text != want {
		t.Errorf("got %s, want %s", text, want)
	}
}
