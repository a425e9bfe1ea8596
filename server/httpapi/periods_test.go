package httpapi

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// periodsFixture is an engine in America/New_York at t0, Tuesday
// 2026-11-24 05:15:30 there (10:15:30 UTC), holding NPS answers at
//
//	Monday 23:30 local (04:30 UTC)    yesterday, this week
//	Tuesday 00:30 local (05:30 UTC)   today, this week
//	Oct 31 12:00 local                last month, this quarter
//
// November 1, 2026 is the day New York leaves summer time: the month
// starts at 00:00-04:00 and the day lasts 25 hours.
func periodsFixture(t *testing.T) *fixture {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, engine.Config{Location: loc}, Options{})
	body := strings.Join([]string{
		event("smb", "web", "nps", 10, "c-1", time.Date(2026, 11, 23, 23, 30, 0, 0, loc)),
		event("smb", "web", "nps", 0, "c-2", time.Date(2026, 11, 24, 0, 30, 0, 0, loc)),
		event("smb", "web", "nps", 9, "c-3", time.Date(2026, 10, 31, 12, 0, 0, 0, loc)),
	}, "\n")
	if code, resp := f.post(ndjson, body); code != 200 || resp.Accepted != 3 {
		t.Fatalf("got %d %+v, want 200 and 3 accepted", code, resp)
	}
	return f
}

// wireSpan is what a client reads of an answer's time: from and to as
// written (RFC 3339 with the zone's offset), and whether it is partial.
type wireSpan struct {
	Window  string `json:"window"`
	From    string `json:"from"`
	To      string `json:"to"`
	Partial bool   `json:"partial"`
	NPS     struct {
		Responses uint64 `json:"responses"`
	} `json:"nps"`
}

func TestScoresPeriods(t *testing.T) {
	f := periodsFixture(t)
	tests := []struct {
		query    string
		window   string
		from, to string
		partial  bool
		nps      uint64
	}{
		{"window=today", "today", "2026-11-24T00:00:00-05:00", "2026-11-24T05:15:30-05:00", true, 1},
		{"window=yesterday", "yesterday", "2026-11-23T00:00:00-05:00", "2026-11-24T00:00:00-05:00", false, 1},
		{"window=this_week", "this_week", "2026-11-23T00:00:00-05:00", "2026-11-24T05:15:30-05:00", true, 2},
		{"window=last_week", "last_week", "2026-11-16T00:00:00-05:00", "2026-11-23T00:00:00-05:00", false, 0},
		{"window=this_month", "this_month", "2026-11-01T00:00:00-04:00", "2026-11-24T05:15:30-05:00", true, 2},
		{"window=last_month", "last_month", "2026-10-01T00:00:00-04:00", "2026-11-01T00:00:00-04:00", false, 1},
		{"window=this_quarter", "this_quarter", "2026-10-01T00:00:00-04:00", "2026-11-24T05:15:30-05:00", true, 3},
		{"window=24h", "24h", "2026-11-23T05:00:00-05:00", "2026-11-24T05:15:30-05:00", false, 2},
		{"from=2026-11-24T00:00:00-05:00&to=2026-11-24T05:00:00-05:00", "", "2026-11-24T00:00:00-05:00", "2026-11-24T05:00:00-05:00", false, 1},
		{"from=2026-11-23T05:00:00Z", "", "2026-11-23T00:00:00-05:00", "2026-11-24T05:15:30-05:00", false, 2}, // to: now
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			code, text := f.do("GET", "/v1/scores?"+tt.query, "")
			got := decodeJSON[wireSpan](t, text)
			if code != 200 || got.Window != tt.window || got.From != tt.from || got.To != tt.to || got.Partial != tt.partial || got.NPS.Responses != tt.nps {
				t.Errorf("got %d %+v\nwant 200 {Window:%s From:%s To:%s Partial:%t NPS:{Responses:%d}}", code, got, tt.window, tt.from, tt.to, tt.partial, tt.nps)
			}
		})
	}
}

func TestTrendPeriods(t *testing.T) {
	f := periodsFixture(t)
	tests := []struct {
		query   string
		step    string
		from    []string // of each point
		partial []int    // the indexes of the partial points: cut by the period, or now
		nps     []uint64
	}{
		{"window=this_week&step=1d", "1d", []string{"2026-11-23T00:00:00-05:00", "2026-11-24T00:00:00-05:00"}, []int{1}, []uint64{1, 1}},
		{"window=this_quarter&step=1mo", "1mo", []string{"2026-10-01T00:00:00-04:00", "2026-11-01T00:00:00-04:00"}, []int{1}, []uint64{1, 2}},
		{"window=last_month&step=1mo", "1mo", []string{"2026-10-01T00:00:00-04:00"}, nil, []uint64{1}},
		{"window=this_month&step=1w", "1w", []string{"2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", "2026-11-09T00:00:00-05:00",
			"2026-11-16T00:00:00-05:00", "2026-11-23T00:00:00-05:00"}, []int{0, 4}, []uint64{0, 0, 0, 0, 2}}, // the week of Oct 26 is cut to Nov 1,
		{"window=yesterday&step=1h", "1h", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			code, text := f.do("GET", "/v1/trend?"+tt.query, "")
			got := decodeJSON[struct {
				Step   string     `json:"step"`
				Zone   string     `json:"zone"`
				Points []wireSpan `json:"points"`
			}](t, text)
			if code != 200 || got.Step != tt.step || got.Zone != "America/New_York" {
				t.Fatalf("got %d %s, want 200 in steps of %s in America/New_York", code, text, tt.step)
			}
			if tt.from == nil { // yesterday by the hour: 24 whole local hours
				if len(got.Points) != 24 || got.Points[0].From != "2026-11-23T00:00:00-05:00" || got.Points[23].To != "2026-11-24T00:00:00-05:00" {
					t.Fatalf("got %d points, %+v to %+v, want 24 hours of Monday", len(got.Points), got.Points[0], got.Points[len(got.Points)-1])
				}
				for i, p := range got.Points {
					if p.Partial {
						t.Errorf("point %d is partial; yesterday is over", i)
					}
				}
				return
			}
			if len(got.Points) != len(tt.from) {
				t.Fatalf("got %d points %+v, want %d", len(got.Points), got.Points, len(tt.from))
			}
			for i, p := range got.Points {
				partial := slices.Contains(tt.partial, i)
				if p.From != tt.from[i] || p.Partial != partial || p.NPS.Responses != tt.nps[i] {
					t.Errorf("point %d: got %+v, want from %s, partial %t, %d NPS responses", i, p, tt.from[i], partial, tt.nps[i])
				}
			}
		})
	}
}

func TestPeriodsBadRequests(t *testing.T) {
	f := periodsFixture(t)
	tests := []struct {
		query string
		want  string
	}{
		{"/v1/scores?window=today&from=2026-11-24T00:00:00Z", "window= and from=/to= given"},
		{"/v1/scores?to=2026-11-24T00:00:00Z", "to= without from="},
		{"/v1/scores?from=yesterday", `from "yesterday": want an RFC 3339 time`},
		{"/v1/scores?from=2026-11-24T00:00:00Z&to=2026-11-24", `to "2026-11-24": want an RFC 3339 time`},
		{"/v1/scores?window=last_quarter", "last_quarter is 2026-07-01T00:00:00-04:00 to 2026-10-01T00:00:00-04:00"},
		{"/v1/scores?window=this_yaer", "or one of the periods today, yesterday"},
		{"/v1/trend?window=today&step=1w", "step 168h0m0s is longer than a day"},
		{"/v1/trend?window=this_month&step=2mo", `step "2mo"`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			code, text := f.do("GET", tt.query, "")
			if e := decodeJSON[Error](t, text); code != 400 || !strings.Contains(e.Error, tt.want) {
				t.Errorf("got %d %q, want 400 and %q", code, e.Error, tt.want)
			}
		})
	}
}
