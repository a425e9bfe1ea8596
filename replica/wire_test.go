package replica

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cxscore/cxscore/engine"
)

func genMessage(t *rapid.T) message {
	str := func(name string, max int) string {
		return rapid.StringOfN(rapid.Rune(), 0, max, max).Draw(t, name)
	}
	at := time.Unix(0, rapid.Int64().Draw(t, "time")).UTC()
	switch rapid.SampledFrom([]kind{kindEvent, kindDeleteResponse, kindDeleteKeys}).Draw(t, "kind") {
	case kindDeleteResponse:
		id := rapid.StringOfN(rapid.Rune(), 1, 40, engine.MaxResponseIDBytes).Draw(t, "response")
		return message{Kind: kindDeleteResponse, Event: engine.Event{Time: at, ResponseID: id}}
	case kindDeleteKeys:
		seg := rapid.StringOfN(rapid.Rune(), 1, 40, engine.MaxLabelBytes).Draw(t, "segment")
		return message{Kind: kindDeleteKeys, Event: engine.Event{Time: at, Segment: seg, Touchpoint: str("touchpoint", 40)}}
	}
	return message{
		Event: engine.Event{
			CustomerID: str("customer", 40),
			Segment:    str("segment", engine.MaxLabelBytes/4),
			Touchpoint: str("touchpoint", engine.MaxLabelBytes/4),
			Metric:     engine.Metric(rapid.Uint8().Draw(t, "metric")),
			Score:      rapid.Int().Draw(t, "score"),
			Time:       at,
			ResponseID: str("response", 40),
			Version:    rapid.Uint64().Draw(t, "version"),
		},
	}
}

// TestWireGolden pins the encoding: an event's bytes are those of release
// 1 of the format, so the messages already in a stream still decode, and
// the deletions' bytes are what older replicas skip as malformed.
func TestWireGolden(t *testing.T) {
	at := time.Unix(1764600000, 5).UTC()
	for _, tc := range []struct {
		name string
		m    message
		hex  string
	}{
		{"event", message{Event: engine.Event{CustomerID: "c-1", Segment: "enterprise", Touchpoint: "checkout",
			Metric: engine.NPS, Score: 9, Time: at, ResponseID: "r-7", Version: 3}},
			"018a80bcaab9968ffd300312030a656e746572707269736508636865636b6f757403632d3103722d37"},
		{"response deletion", message{Kind: kindDeleteResponse, Event: engine.Event{Time: at, ResponseID: "r-7"}},
			"028a80bcaab9968ffd3003722d37"},
		{"key deletion", message{Kind: kindDeleteKeys, Event: engine.Event{Time: at, Segment: "smb", Touchpoint: "web"}},
			"038a80bcaab9968ffd3003736d6203776562"},
		{"segment deletion", message{Kind: kindDeleteKeys, Event: engine.Event{Time: at, Segment: "smb"}},
			"038a80bcaab9968ffd3003736d6200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hex.EncodeToString(appendMessage(nil, &tc.m)); got != tc.hex {
				t.Fatalf("got %s, want %s", got, tc.hex)
			}
			data, _ := hex.DecodeString(tc.hex)
			var got message
			if err := decodeMessage(data, &got); err != nil || got != tc.m {
				t.Fatalf("decode: got %+v, %v, want %+v", got, err, tc.m)
			}
		})
	}
}

func TestWireRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genMessage(t)
		data := appendMessage(nil, &m)
		var got message
		if err := decodeMessage(data, &got); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if got != m {
			t.Fatalf("got %+v, want %+v", got, m)
		}
		// Every proper prefix is rejected, and so is a trailing byte.
		cut := rapid.IntRange(0, len(data)-1).Draw(t, "cut")
		if err := decodeMessage(data[:cut], &got); !errors.Is(err, ErrMalformed) {
			t.Fatalf("prefix of %d bytes: got %v, want ErrMalformed", cut, err)
		}
		if err := decodeMessage(append(data, 0), &got); !errors.Is(err, ErrMalformed) {
			t.Fatalf("trailing byte: got %v, want ErrMalformed", err)
		}
		if got != m {
			t.Fatalf("a rejected decode changed its message: got %+v, want %+v", got, m)
		}
	})
}

func TestWireRejects(t *testing.T) {
	ok := message{Event: engine.Event{Segment: "s", Touchpoint: "t", Metric: engine.NPS, Score: 9, Time: time.Unix(1, 0)}}
	long := ok
	long.Event.Segment = strings.Repeat("x", engine.MaxLabelBytes+1)
	longID := ok
	longID.Event.ResponseID = strings.Repeat("x", MaxIDBytes+1)
	tag := appendMessage(nil, &ok)
	tag[0] = 4
	emptyID := appendMessage(nil, &message{Kind: kindDeleteResponse, Event: engine.Event{Time: time.Unix(1, 0)}})
	longDel := appendMessage(nil, &message{Kind: kindDeleteResponse, Event: engine.Event{Time: time.Unix(1, 0), ResponseID: strings.Repeat("x", engine.MaxResponseIDBytes+1)}})
	emptySeg := appendMessage(nil, &message{Kind: kindDeleteKeys, Event: engine.Event{Time: time.Unix(1, 0), Touchpoint: "web"}})
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated at its tag"},
		{"tag", tag, "tag 4, want 1 (event), 2 (response deletion) or 3 (key deletion)"},
		{"deletion of an empty response id", emptyID, "empty response id"},
		{"deletion of a long response id", longDel, "response id of 129 bytes, want at most 128"},
		{"deletion of an empty segment", emptySeg, "empty segment"},
		{"truncated deletion", emptyID[:3], "bad varint at its time"},
		{"long segment", appendMessage(nil, &long), "segment of 129 bytes, want at most 128"},
		{"long response id", appendMessage(nil, &longID), "response id of 1025 bytes, want at most 1024"},
		{"bad varint", []byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "bad varint at its time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m message
			err := decodeMessage(tc.data, &m)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrMalformed saying %q", err, tc.want)
			}
		})
	}
}

func FuzzDecodeMessage(f *testing.F) {
	ok := message{Event: engine.Event{CustomerID: "c-1", Segment: "enterprise", Touchpoint: "checkout", Metric: engine.NPS, Score: 9, Time: time.Unix(1764600000, 5), ResponseID: "r-7", Version: 3}}
	data := appendMessage(nil, &ok)
	f.Add(data)
	f.Add(data[:len(data)-1])
	f.Add(append(bytes.Clone(data), 0))
	f.Add([]byte{1})
	f.Add([]byte{2, 0, 0})
	f.Add(appendMessage(nil, &message{Kind: kindDeleteResponse, Event: engine.Event{Time: time.Unix(1, 0), ResponseID: "r-7"}}))
	f.Add(appendMessage(nil, &message{Kind: kindDeleteKeys, Event: engine.Event{Time: time.Unix(1, 0), Segment: "smb"}}))
	f.Add([]byte{3, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m message
		if err := decodeMessage(data, &m); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
			if m != (message{}) {
				t.Fatalf("a rejected decode wrote %+v", m)
			}
			return
		}
		// What decodes re-encodes to the same values (not always the same
		// bytes: encoding/binary accepts varints of non-minimal length).
		var again message
		if err := decodeMessage(appendMessage(nil, &m), &again); err != nil || again != m {
			t.Fatalf("re-encoding %+v: got %+v, %v", m, again, err)
		}
	})
}

func TestSubjectEscaping(t *testing.T) {
	if got, want := subject("cxscore.events", "enterprise", "check.out_x y"), "cxscore.events.enterprise.check_2Eout_5Fx_20y"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.String().Draw(t, "label")
		var b strings.Builder
		escape(&b, s)
		tok := b.String()
		if strings.ContainsAny(tok, ".*> \t\r\n") {
			t.Fatalf("escape(%q) = %q is not one subject token", s, tok)
		}
		if back, ok := unescape(tok); !ok || back != s {
			t.Fatalf("unescape(%q) = %q, %v, want %q", tok, back, ok, s)
		}
	})
}
