package httpapi

import (
	"strings"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
)

func TestDecode(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 15, 0, 0, time.UTC)
	nps := func(score int) engine.Event {
		return engine.Event{Segment: "s", Touchpoint: "t", Metric: engine.NPS, Score: score}
	}
	tests := []struct {
		name   string
		raw    string
		want   engine.Event
		reason string // "" for no error
		msg    string // part of the error message
	}{
		{name: "the example",
			raw:  `{"customer_id":"c-42","segment":"enterprise","touchpoint":"checkout","metric":"nps","score":9,"time":"2026-11-24T10:15:00Z"}`,
			want: engine.Event{CustomerID: "c-42", Segment: "enterprise", Touchpoint: "checkout", Metric: engine.NPS, Score: 9, Time: at}},
		{name: "white space and field order",
			raw:  " {\n\t\"score\" : 3 ,\r\n \"metric\":\"csat\", \"touchpoint\":\"t\",\"segment\":\"s\"}\n",
			want: engine.Event{Segment: "s", Touchpoint: "t", Metric: engine.CSAT, Score: 3}},
		{name: "nulls are absent",
			raw:  `{"customer_id":null,"segment":"s","touchpoint":"t","metric":"ces","score":7,"time":null}`,
			want: engine.Event{Segment: "s", Touchpoint: "t", Metric: engine.CES, Score: 7}},
		{name: "time with offset", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":1,"time":"2026-11-24T11:15:00.5+01:00"}`,
			want: engine.Event{Segment: "s", Touchpoint: "t", Metric: engine.NPS, Score: 1, Time: at.Add(500 * time.Millisecond)}},
		{name: "escapes in strings and keys",
			raw:  `{"seg\u006dent":"ent\u00e9rprise \"x\"","touchpoint":"t\/u","metric":"n\u0070s","score":0,"customer_id":"\u00e9"}`,
			want: engine.Event{CustomerID: "é", Segment: `entérprise "x"`, Touchpoint: "t/u", Metric: engine.NPS, Score: 0}},
		{name: "unicode labels", raw: `{"segment":"企業","touchpoint":"チェックアウト","metric":"nps","score":10}`,
			want: engine.Event{Segment: "企業", Touchpoint: "チェックアウト", Metric: engine.NPS, Score: 10}},
		{name: "score 9.0", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":9.0}`, want: nps(9)},
		{name: "score 0.9e1", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":0.9e1}`, want: nps(9)},
		{name: "score 900E-2", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":900E-2}`, want: nps(9)},
		{name: "score -0", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":-0}`, want: nps(0)},
		{name: "score 0e999999999999", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":0e999999999999}`, want: nps(0)},
		{name: "negative score is the engine's to reject", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":-1}`, want: nps(-1)},
		{name: "missing labels are the engine's to reject", raw: `{"metric":"nps","score":5}`,
			want: engine.Event{Metric: engine.NPS, Score: 5}},

		{name: "score 9.5", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":9.5}`,
			reason: "invalid_field", msg: "score: want an integer, got 9.5"},
		{name: "score 1e-400", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":1e-400}`,
			reason: "invalid_field", msg: "score: want an integer, got 1e-400"},
		{name: "score 1e30", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":1e30}`,
			reason: "score_out_of_range", msg: "nps score 1e30, want 0-10"},
		{name: "score of 20 digits", raw: `{"segment":"s","touchpoint":"t","metric":"csat","score":99999999999999999999}`,
			reason: "score_out_of_range", msg: "csat score 99999999999999999999, want 1-5"},
		{name: "score -1e999999999999", raw: `{"segment":"s","touchpoint":"t","metric":"ces","score":-1e999999999999}`,
			reason: "score_out_of_range", msg: "ces score -1e999999999999, want 1-7"},
		{name: "score of 60 digits is cut short in the message",
			raw:    `{"segment":"s","touchpoint":"t","metric":"nps","score":` + strings.Repeat("9", 60) + `}`,
			reason: "score_out_of_range", msg: "nps score " + strings.Repeat("9", 40) + "…, want 0-10"},
		{name: "score as string", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":"9"}`,
			reason: "invalid_field", msg: `score: want an integer, got string "9"`},
		{name: "score as boolean", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":true}`,
			reason: "invalid_field", msg: "score: want an integer, got boolean true"},
		{name: "score as array", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":[9]}`,
			reason: "invalid_field", msg: "score: want an integer, got an array"},
		{name: "score missing", raw: `{"segment":"s","touchpoint":"t","metric":"nps"}`,
			reason: "invalid_field", msg: "score: missing, want an integer"},
		{name: "score null", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":null}`,
			reason: "invalid_field", msg: "score: missing"},
		{name: "metric missing", raw: `{"segment":"s","touchpoint":"t","score":1}`,
			reason: "invalid_field", msg: "metric: missing, want csat, ces or nps"},
		{name: "metric as number", raw: `{"segment":"s","touchpoint":"t","metric":2,"score":1}`,
			reason: "invalid_field", msg: "metric: want a string (csat, ces or nps), got number 2"},
		{name: "metric in capitals", raw: `{"segment":"s","touchpoint":"t","metric":"NPS","score":1}`,
			reason: "unknown_metric", msg: `"NPS", want csat, ces or nps`},
		{name: "segment as number", raw: `{"segment":5,"touchpoint":"t","metric":"nps","score":1}`,
			reason: "invalid_field", msg: "segment: want a string, got number 5"},
		{name: "touchpoint as object", raw: `{"segment":"s","touchpoint":{"a":"}"},"metric":"nps","score":1}`,
			reason: "invalid_field", msg: "touchpoint: want a string, got an object"},
		{name: "customer_id as number", raw: `{"customer_id":42,"segment":"s","touchpoint":"t","metric":"nps","score":1}`,
			reason: "invalid_field", msg: "customer_id: want a string, got number 42"},
		{name: "time as Unix seconds", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":1,"time":1732443300}`,
			reason: "invalid_field", msg: `time: want an RFC 3339 time such as "2026-11-24T10:15:00Z", got number 1732443300`},
		{name: "time as a date", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":1,"time":"2026-11-24"}`,
			reason: "invalid_field", msg: `got "2026-11-24"`},
		{name: "empty time", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":1,"time":""}`,
			reason: "invalid_field", msg: `time: want an RFC 3339 time`},
		{name: "unknown field", raw: `{"customerId":"c-1","segment":"s","touchpoint":"t","metric":"nps","score":1}`,
			reason: "invalid_field", msg: `unknown field "customerId"; an event has customer_id, segment, touchpoint, metric, score, time, response_id and version`},
		{name: "field names are case sensitive", raw: `{"Segment":"s","touchpoint":"t","metric":"nps","score":1}`,
			reason: "invalid_field", msg: `unknown field "Segment"`},
		{name: "duplicate field", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":1,"score":11}`,
			reason: "invalid_field", msg: `field "score" appears twice`},
		{name: "not UTF-8", raw: "{\"segment\":\"s\xff\",\"touchpoint\":\"t\",\"metric\":\"nps\",\"score\":1}",
			reason: "bad_json", msg: "event is not valid UTF-8"},
		{name: "a surrogate pair", raw: `{"segment":"\ud83d\ude00","touchpoint":"\\ud800","metric":"nps","score":1}`,
			want: engine.Event{Segment: "😀", Touchpoint: `\ud800`, Metric: engine.NPS, Score: 1}},
		{name: "lone high surrogate", raw: `{"segment":"\ud800","touchpoint":"t","metric":"nps","score":1}`,
			reason: "bad_json", msg: `event is not valid UTF-8: the escape \ud800 is half a surrogate pair`},
		{name: "another lone high surrogate", raw: `{"segment":"x\uDBFF","touchpoint":"t","metric":"nps","score":1}`,
			reason: "bad_json", msg: `the escape \uDBFF is half`},
		{name: "lone low surrogate", raw: `{"segment":"\udc00","touchpoint":"t","metric":"nps","score":1}`,
			reason: "bad_json", msg: `the escape \udc00 is half`},
		{name: "high surrogate before a letter", raw: `{"segment":"\ud800\u0041","touchpoint":"t","metric":"nps","score":1}`,
			reason: "bad_json", msg: `the escape \ud800 is half`},
		{name: "two high surrogates", raw: `{"segment":"\ud800\ud800","touchpoint":"t","metric":"nps","score":1}`,
			reason: "bad_json", msg: `the escape \ud800 is half`},
		{name: "lone surrogate in a customer ID", raw: `{"customer_id":"c\ud800","segment":"s","touchpoint":"t","metric":"nps","score":1}`,
			reason: "bad_json", msg: "not valid UTF-8"},
		{name: "lone surrogate in a key", raw: `{"segment\ud800":"s","touchpoint":"t","metric":"nps","score":1}`,
			reason: "bad_json", msg: "not valid UTF-8"},
		{name: "explicit zero time", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":1,"time":"0001-01-01T00:00:00Z"}`,
			reason: "too_old", msg: "time older than the retention: 0001-01-01T00:00:00Z is before 1970-01-01T00:00:00Z"},
		{name: "explicit zero time, -00:00", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":1,"time":"0001-01-01T00:00:00-00:00"}`,
			reason: "too_old", msg: "before 1970"},
		{name: "times far off are the engine's to reject", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":1,"time":"2611-01-01T00:00:00Z"}`,
			want: engine.Event{Segment: "s", Touchpoint: "t", Metric: engine.NPS, Score: 1, Time: time.Date(2611, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{name: "a response id and version", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":1,"response_id":"dl-8c2f","version":1732617432000}`,
			want: engine.Event{Segment: "s", Touchpoint: "t", Metric: engine.NPS, Score: 1, ResponseID: "dl-8c2f", Version: 1732617432000}},
		{name: "the largest version", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":1,"response_id":"r","version":18446744073709551615}`,
			want: engine.Event{Segment: "s", Touchpoint: "t", Metric: engine.NPS, Score: 1, ResponseID: "r", Version: 1<<64 - 1}},
		{name: "null response id and version", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":1,"response_id":null,"version":null}`,
			want: engine.Event{Segment: "s", Touchpoint: "t", Metric: engine.NPS, Score: 1}},
		{name: "response id of 128 bytes", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":1,"response_id":"` + strings.Repeat("é", 64) + `"}`,
			want: engine.Event{Segment: "s", Touchpoint: "t", Metric: engine.NPS, Score: 1, ResponseID: strings.Repeat("é", 64)}},
		{name: "response id of 129 bytes", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":1,"response_id":"x` + strings.Repeat("é", 64) + `"}`,
			reason: "invalid_response_id", msg: "invalid response id: response_id of 129 bytes, want at most 128"},
		{name: "response id as number", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":1,"response_id":42}`,
			reason: "invalid_field", msg: "response_id: want a string, got number 42"},
		{name: "response id not UTF-8", raw: "{\"segment\":\"s\",\"touchpoint\":\"t\",\"metric\":\"nps\",\"score\":1,\"response_id\":\"r\xff\"}",
			reason: "bad_json", msg: "not valid UTF-8"},
		{name: "negative version", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":1,"response_id":"r","version":-1}`,
			reason: "invalid_field", msg: "version: want a non-negative integer of at most 20 digits, got -1"},
		{name: "fractional version", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":1,"response_id":"r","version":1.5}`,
			reason: "invalid_field", msg: "version: want a non-negative integer"},
		{name: "version past 2^64", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":1,"response_id":"r","version":18446744073709551616}`,
			reason: "invalid_field", msg: "version: want a non-negative integer of at most 20 digits"},
		{name: "version as string", raw: `{"segment":"s","touchpoint":"t","metric":"nps","score":1,"response_id":"r","version":"3"}`,
			reason: "invalid_field", msg: `version: want a non-negative integer, got string "3"`},
		{name: "not JSON", raw: `{"segment":"s",}`, reason: "bad_json", msg: "invalid JSON at byte 16 of the event"},
		{name: "truncated", raw: `{"segment":"s"`, reason: "bad_json", msg: "invalid JSON"},
		{name: "array", raw: `[{"segment":"s"}]`, reason: "bad_json", msg: "want an event object, got an array"},
		{name: "number", raw: `42`, reason: "bad_json", msg: "want an event object, got number 42"},
		{name: "string", raw: `"hello"`, reason: "bad_json", msg: `want an event object, got string "hello"`},
		{name: "null", raw: `null`, reason: "bad_json", msg: "want an event object, got null"},
		{name: "empty", raw: ``, reason: "bad_json", msg: "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d eventDecoder
			var got engine.Event
			err := d.decode([]byte(tt.raw), &got)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("got error %q, want none", err)
				}
				if !got.Time.Equal(tt.want.Time) {
					t.Errorf("got time %v, want %v", got.Time, tt.want.Time)
				}
				got.Time, tt.want.Time = time.Time{}, time.Time{}
				if got != tt.want {
					t.Errorf("got %+v, want %+v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %+v and no error, want a %s error", got, tt.reason)
			}
			if r := reasonOf(err); r != tt.reason {
				t.Errorf("got reason %s (%q), want %s", r, err, tt.reason)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got error %q, want it to contain %q", err, tt.msg)
			}
		})
	}
}

func TestParseInteger(t *testing.T) {
	tests := []struct {
		lit           string
		n             int
		integral, big bool
	}{
		{"0", 0, true, false},
		{"-0.000", 0, true, false},
		{"7", 7, true, false},
		{"-7", -7, true, false},
		{"10", 10, true, false},
		{"100.00", 100, true, false},
		{"1e1", 10, true, false},
		{"1E+1", 10, true, false},
		{"0.05e2", 5, true, false},
		{"5000e-3", 5, true, false},
		{"0.000000000000000000001e21", 1, true, false},
		{"999999999", 999999999, true, false},
		{"-999999999", -999999999, true, false},
		{"1000000000", 0, true, true},
		{"1e9", 0, true, true},
		{"12345678.9e1", 123456789, true, false},
		{"1.5", 0, false, false},
		{"5e-1", 0, false, false},
		{"1.0000000000000000000000001", 0, false, false},
		{"1e-99999999999999999999", 0, false, false},
		{"1e99999999999999999999", 0, true, true},
	}
	for _, tt := range tests {
		n, integral, big := parseInteger([]byte(tt.lit))
		if n != tt.n || integral != tt.integral || big != tt.big {
			t.Errorf("parseInteger(%s) = %d, %t, %t; want %d, %t, %t", tt.lit, n, integral, big, tt.n, tt.integral, tt.big)
		}
	}
}

// TestDecodeAllocs checks the cost the decoder promises: the customer ID is
// its only allocation once the labels are interned.
func TestDecodeAllocs(t *testing.T) {
	raw := []byte(`{"customer_id":"c-42","segment":"enterprise","touchpoint":"checkout","metric":"nps","score":9}`)
	var d eventDecoder
	var ev engine.Event
	if err := d.decode(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if got := testing.AllocsPerRun(100, func() { d.decode(raw, &ev) }); got > 1 {
		t.Errorf("got %v allocations per event, want at most 1", got)
	}
}
