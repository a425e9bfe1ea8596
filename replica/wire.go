package replica

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// MaxIDBytes is the longest customer id or response id an event may carry.
const MaxIDBytes = 1024

// message is one message as the stream carries it: an event, or the
// deletion of a response or of keys (Kind). Its msgID names it for the
// stream's deduplication.
type message struct {
	Kind kind
	// Event is the event of a kindEvent message. A deletion uses Time (when
	// it was asked, by the publisher's clock) and, for kindDeleteResponse,
	// ResponseID, or for kindDeleteKeys, Segment and Touchpoint ("" for every
	// touchpoint of the segment).
	Event engine.Event
	// ID is the Nats-Msg-Id of a deletion, chosen by its publisher (see
	// deletionID). It is not part of the encoding: it travels as a header.
	ID string
}

// kind says what a message is. The zero value is an event.
type kind uint8

const (
	kindEvent kind = iota
	kindDeleteResponse
	kindDeleteKeys
)

// fromEngine and (*message).engineEvent are the one place engine events map
// to and from the wire.
func fromEngine(ev engine.Event) message { return message{Event: ev} }

func (m *message) engineEvent() engine.Event { return m.Event }

// msgID is the Nats-Msg-Id of a message. For an event it is its response id
// and version, or "" for an event without a response id; the version is
// the text after the last "/", so every (id, version) pair has its own
// msgID. For a deletion it is m.ID, which ends in "/delete" and so is never
// an event's.
func (m *message) msgID() string {
	switch {
	case m.Kind != kindEvent:
		return m.ID
	case m.Event.ResponseID == "":
		return ""
	}
	return m.Event.ResponseID + "/" + strconv.FormatUint(m.Event.Version, 10)
}

// deletionID returns a new Nats-Msg-Id for a deletion: 128 random bits and
// "/delete". Each call to DeleteResponse or DeleteKeys publishes its own,
// so the stream drops the retries of one call (a lost acknowledgement), not
// a second deletion of the same response after it was recorded again.
func deletionID() string { return rand.Text() + "/delete" }

// subject returns the stream subject of m under prefix: that of its key for
// an event (see subject), prefix._delete.responses or prefix._delete.keys for
// a deletion. No escaped label is "_delete" ("_" is followed by two
// upper-case hex digits), so a deletion's subject is never an event's.
func (m *message) subject(prefix string) string {
	switch m.Kind {
	case kindDeleteResponse:
		return prefix + "._delete.responses"
	case kindDeleteKeys:
		return prefix + "._delete.keys"
	}
	return subject(prefix, m.Event.Segment, m.Event.Touchpoint)
}

// The wire format. Integers are LEB128 varints as in encoding/binary
// (uvarint unsigned, varint signed); strings are a uvarint length and that
// many bytes. The first byte says what follows; an event, tag 1, is
//
//	tag          1 byte, 1 (version 1 of the event)
//	time         varint: Unix ns (the publisher stamps events without one)
//	metric       1 byte: engine.CSAT 1, CES 2, NPS 3
//	score        varint
//	resp version uvarint
//	segment      string, at most engine.MaxLabelBytes bytes
//	touchpoint   string, at most engine.MaxLabelBytes bytes
//	customer id  string, at most MaxIDBytes bytes
//	response id  string, at most MaxIDBytes bytes
//
// the deletion of a response (engine.Engine.DeleteResponse), tag 2, is
//
//	tag          1 byte, 2
//	time         varint: Unix ns, when the publisher was asked
//	response id  string, 1 to engine.MaxResponseIDBytes bytes
//
// and the deletion of keys (engine.Engine.DeleteKeys), tag 3, is
//
//	tag          1 byte, 3
//	time         varint: Unix ns, when the publisher was asked
//	segment      string, 1 to engine.MaxLabelBytes bytes
//	touchpoint   string, at most engine.MaxLabelBytes bytes; "" for every
//	             touchpoint of the segment
//
// Nothing may follow. Tags 2 and 3 came after tag 1, which is unchanged: a
// replica of an older release counts a deletion as malformed and skips it,
// so every replica must run a release that knows them before any is asked
// to delete. The decoder checks the format only; whether the event is
// valid (a known metric, a score on its scale, labels the engine takes) is
// the engine's to say when the message is applied.
const (
	tagEvent          = 1
	tagDeleteResponse = 2
	tagDeleteKeys     = 3
)

// appendMessage appends the encoding of m to dst. m.Event.Time must be set.
func appendMessage(dst []byte, m *message) []byte {
	ev := &m.Event
	switch m.Kind {
	case kindDeleteResponse:
		dst = append(dst, tagDeleteResponse)
		dst = binary.AppendVarint(dst, ev.Time.UnixNano())
		return appendString(dst, ev.ResponseID)
	case kindDeleteKeys:
		dst = append(dst, tagDeleteKeys)
		dst = binary.AppendVarint(dst, ev.Time.UnixNano())
		dst = appendString(dst, ev.Segment)
		return appendString(dst, ev.Touchpoint)
	}
	dst = append(dst, tagEvent)
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

// decodeMessage decodes data into m, leaving m.ID empty. Errors wrap
// ErrMalformed; m is overwritten only on success.
func decodeMessage(data []byte, m *message) error {
	d := decoder{b: data}
	var got message
	switch tag := d.byte("tag"); {
	case d.err != nil:
		return d.err
	case tag == tagEvent:
		t := d.varint("time")
		metric := d.byte("metric")
		score := d.varint("score")
		version := d.uvarint("response version")
		seg := d.string("segment", engine.MaxLabelBytes)
		tp := d.string("touchpoint", engine.MaxLabelBytes)
		cust := d.string("customer id", MaxIDBytes)
		resp := d.string("response id", MaxIDBytes)
		if d.err == nil && score != int64(int(score)) {
			return fmt.Errorf("%w: score %d does not fit an int", ErrMalformed, score)
		}
		got.Event = engine.Event{
			CustomerID: cust, Segment: seg, Touchpoint: tp,
			Metric: engine.Metric(metric), Score: int(score), Time: time.Unix(0, t).UTC(),
			ResponseID: resp, Version: version,
		}
	case tag == tagDeleteResponse:
		got.Kind = kindDeleteResponse
		got.Event.Time = time.Unix(0, d.varint("time")).UTC()
		got.Event.ResponseID = d.string("response id", engine.MaxResponseIDBytes)
		if d.err == nil && got.Event.ResponseID == "" {
			return fmt.Errorf("%w: deletion of an empty response id", ErrMalformed)
		}
	case tag == tagDeleteKeys:
		got.Kind = kindDeleteKeys
		got.Event.Time = time.Unix(0, d.varint("time")).UTC()
		got.Event.Segment = d.string("segment", engine.MaxLabelBytes)
		got.Event.Touchpoint = d.string("touchpoint", engine.MaxLabelBytes)
		if d.err == nil && got.Event.Segment == "" {
			return fmt.Errorf("%w: deletion of the keys of an empty segment", ErrMalformed)
		}
	default:
		return fmt.Errorf("%w: tag %d, want %d (event), %d (response deletion) or %d (key deletion)",
			ErrMalformed, tag, tagEvent, tagDeleteResponse, tagDeleteKeys)
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d bytes after the message", ErrMalformed, len(d.b))
	}
	*m = got
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
