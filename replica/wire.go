package replica

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// MaxIDBytes is the longest customer id or response id an event may carry.
const MaxIDBytes = 1024

// message is one event as the stream carries it. Its response id and
// version name it for the stream's deduplication (msgID).
type message struct {
	Event engine.Event
}

// fromEngine and (*message).engineEvent are the one place engine events map
// to and from the wire.
func fromEngine(ev engine.Event) message { return message{Event: ev} }

func (m *message) engineEvent() engine.Event { return m.Event }

// msgID is the Nats-Msg-Id of an event: its response id and version, or ""
// for an event without a response id. The version is the text after the
// last "/", so every (id, version) pair has its own msgID.
func (m *message) msgID() string {
	if m.Event.ResponseID == "" {
		return ""
	}
	return m.Event.ResponseID + "/" + strconv.FormatUint(m.Event.Version, 10)
}

// The wire format of an event, version 1. Integers are LEB128 varints as in
// encoding/binary (uvarint unsigned, varint signed); strings are a uvarint
// length and that many bytes.
//
//	version      1 byte, 1
//	time         varint: Unix ns (the publisher stamps events without one)
//	metric       1 byte: engine.CSAT 1, CES 2, NPS 3
//	score        varint
//	resp version uvarint
//	segment      string, at most engine.MaxLabelBytes bytes
//	touchpoint   string, at most engine.MaxLabelBytes bytes
//	customer id  string, at most MaxIDBytes bytes
//	response id  string, at most MaxIDBytes bytes
//
// Nothing may follow. The decoder checks the format only; whether the event
// is valid (a known metric, a score on its scale, labels the engine takes)
// is the engine's to say when the event is recorded.
const wireVersion = 1

// appendMessage appends the encoding of m to dst. m.Event.Time must be set.
func appendMessage(dst []byte, m *message) []byte {
	ev := &m.Event
	dst = append(dst, wireVersion)
	dst = binary.AppendVarint(dst, ev.Time.UnixNano())
	dst = append(dst, byte(ev.Metric))
	dst = binary.AppendVarint(dst, int64(ev.Score))
	dst = binary.AppendUvarint(dst, m.Event.Version)
	dst = appendString(dst, ev.Segment)
	dst = appendString(dst, ev.Touchpoint)
	dst = appendString(dst, ev.CustomerID)
	return appendString(dst, m.Event.ResponseID)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// decodeMessage decodes data into m. Errors wrap ErrMalformed; m is
// overwritten only on success.
func decodeMessage(data []byte, m *message) error {
	d := decoder{b: data}
	if v := d.byte("version"); d.err == nil && v != wireVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrMalformed, v, wireVersion)
	}
	t := d.varint("time")
	metric := d.byte("metric")
	score := d.varint("score")
	version := d.uvarint("response version")
	seg := d.string("segment", engine.MaxLabelBytes)
	tp := d.string("touchpoint", engine.MaxLabelBytes)
	cust := d.string("customer id", MaxIDBytes)
	resp := d.string("response id", MaxIDBytes)
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d bytes after the event", ErrMalformed, len(d.b))
	}
	if score != int64(int(score)) {
		return fmt.Errorf("%w: score %d does not fit an int", ErrMalformed, score)
	}
	*m = message{
		Event: engine.Event{
			CustomerID: cust, Segment: seg, Touchpoint: tp,
			Metric: engine.Metric(metric), Score: int(score), Time: time.Unix(0, t).UTC(),
			ResponseID: resp, Version: version,
		},
	}
	return nil
}

// decoder reads a message, keeping its first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
	d.b = nil
}

func (d *decoder) byte(what string) byte {
	if len(d.b) == 0 {
		d.fail("truncated at its %s", what)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) varint(what string) int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint at its %s", what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint(what string) uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint at its %s", what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string(what string, limit int) string {
	n := d.uvarint(what + " length")
	switch {
	case d.err != nil:
		return ""
	case n > uint64(limit):
		d.fail("%s of %d bytes, want at most %d", what, n, limit)
		return ""
	case n > uint64(len(d.b)):
		d.fail("%s of %d bytes, only %d left", what, n, len(d.b))
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// subject returns the stream subject of an event of key (segment,
// touchpoint): prefix.segment.touchpoint, each label escaped so that it is
// one subject token: bytes other than ASCII letters, digits and "-" become
// "_" and two upper-case hex digits ("." is "_2E", "_" is "_5F"). Distinct
// keys have distinct subjects, and the mapping reverses (unescape).
func subject(prefix, segment, touchpoint string) string {
	var b strings.Builder
	b.Grow(len(prefix) + len(segment) + len(touchpoint) + 2)
	b.WriteString(prefix)
	b.WriteByte('.')
	escape(&b, segment)
	b.WriteByte('.')
	escape(&b, touchpoint)
	return b.String()
}

func escape(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plain(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('_')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
}

// unescape reverses escape; ok is false for a token escape cannot produce.
func unescape(tok string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c != '_' {
			if !plain(c) {
				return "", false
			}
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(tok) {
			return "", false
		}
		h := tok[i+1 : i+3]
		v, err := strconv.ParseUint(h, 16, 8)
		if err != nil || strings.ToUpper(h) != h || plain(byte(v)) {
			return "", false
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), true
}

// plain reports whether escape keeps c as it is.
func plain(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-'
}
