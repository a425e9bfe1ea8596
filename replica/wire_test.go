package replica

import (
	"bytes"
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
	return message{
		Event: engine.Event{
			CustomerID: str("customer", 40),
			Segment:    str("segment", engine.MaxLabelBytes/4),
			Touchpoint: str("touchpoint", engine.MaxLabelBytes/4),
			Metric:     engine.Metric(rapid.Uint8().Draw(t, "metric")),
			Score:      rapid.Int().Draw(t, "score"),
			Time:       time.Unix(0, rapid.Int64().Draw(t, "time")).UTC(),
			ResponseID: str("response", 40),
			Version:    rapid.Uint64().Draw(t, "version"),
		},
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
	version := appendMessage(nil, &ok)
	version[0] = 2
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated at its version"},
		{"version", version, "version 2, want 1"},
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
