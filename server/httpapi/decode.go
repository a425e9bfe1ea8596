package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cxscore/cxscore/engine"
)

// DefaultMaxEventBytes is the default limit on the JSON text of one event
// (Options.MaxEventBytes). An event is a few short strings and a number;
// anything this big is a mistake or an attack.
const DefaultMaxEventBytes = 64 << 10

// Sentinels for events the sidecar rejects before they reach the engine. The
// engine's own sentinels (engine.ErrScoreOutOfRange, ...) classify the rest;
// reasonOf maps both to the reason label of the rejection counter.
var (
	errBadJSON  = errors.New("bad JSON")      // not JSON, not UTF-8, or not an object
	errBadField = errors.New("invalid field") // a field of the wrong type, missing, unknown or repeated
	errTooLarge = errors.New("event too large")
)

// eventError is an event the sidecar rejected itself. Error is the message
// for the client, such as `score: want an integer, got string "9"`; Unwrap
// gives the sentinel that classifies it.
type eventError struct {
	kind error
	msg  string
}

func (e *eventError) Error() string { return e.msg }
func (e *eventError) Unwrap() error { return e.kind }

func rejectf(kind error, format string, args ...any) error {
	return &eventError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// The fields of an event, in the order they are checked.
type field uint8

const (
	fieldCustomer field = iota
	fieldSegment
	fieldTouchpoint
	fieldMetric
	fieldScore
	fieldTime
	fieldResponse
	fieldVersion
	numFields
)

var fieldNames = [numFields]string{"customer_id", "segment", "touchpoint", "metric", "score", "time", "response_id", "version"}

const knownFields = "customer_id, segment, touchpoint, metric, score, time, response_id and version"

// maxInterned bounds the labels an eventDecoder keeps, so that a request
// full of distinct junk labels costs allocations, not memory.
const maxInterned = 1024

// eventDecoder turns the JSON text of one event into an engine.Event.
//
// It walks the object itself rather than using encoding/json's struct
// decoding, for three reasons: messages that name the field and what was
// wrong with it, rejection of text that is not UTF-8 (encoding/json would
// silently turn it into U+FFFD, merging distinct labels), and no
// allocation beyond the strings it returns; segments and touchpoints, of
// which there are few, are interned and usually cost nothing.
//
// An eventDecoder is not safe for concurrent use; each request uses its own.
// Its zero value is ready to use.
type eventDecoder struct {
	labels map[string]string
}

// decode decodes raw, the JSON text of one event, into ev. The error, if
// any, wraps errBadJSON, errBadField, engine.ErrUnknownMetric,
// engine.ErrScoreOutOfRange or engine.ErrInvalidResponseID and says what was wrong in terms a client can
// act on. decode checks the shape and types of the event; the engine checks
// the rest (labels, times, keys) when the event is recorded.
func (d *eventDecoder) decode(raw []byte, ev *engine.Event) error {
	*ev = engine.Event{}
	if !utf8.Valid(raw) {
		return rejectf(errBadJSON, "event is not valid UTF-8 (JSON text must be UTF-8)")
	}
	if !json.Valid(raw) {
		return syntaxError(raw)
	}
	if bytes.Contains(raw, []byte(`\u`)) {
		if err := checkEscapes(raw); err != nil {
			return err
		}
	}
	var vals [numFields][]byte // the raw JSON value of each field, nil if absent
	p := skipSpace(raw, 0)
	if p >= len(raw) || raw[p] != '{' {
		return rejectf(errBadJSON, "want an event object, got %s", describe(raw[p:valueEnd(raw, p)]))
	}
	for p = skipSpace(raw, p+1); p < len(raw) && raw[p] != '}'; p = skipSpace(raw, p) {
		if raw[p] == ',' {
			p++
			continue
		}
		end := valueEnd(raw, p)
		key := raw[p:end]
		p = skipSpace(raw, end)
		if len(key) < 2 || key[0] != '"' || p >= len(raw) || raw[p] != ':' {
			return rejectf(errBadJSON, "malformed object") // json.Valid makes this unreachable
		}
		p = skipSpace(raw, p+1)
		end = valueEnd(raw, p)
		val := raw[p:end]
		p = end
		f := lookupField(key)
		if f == numFields {
			return rejectf(errBadField, "unknown field %s; an event has %s", short(key), knownFields)
		}
		if vals[f] != nil {
			return rejectf(errBadField, "field %q appears twice", fieldNames[f])
		}
		vals[f] = val
	}

	var err error
	if ev.CustomerID, err = d.text(fieldCustomer, vals[fieldCustomer], false); err != nil {
		return err
	}
	if ev.Segment, err = d.text(fieldSegment, vals[fieldSegment], true); err != nil {
		return err
	}
	if ev.Touchpoint, err = d.text(fieldTouchpoint, vals[fieldTouchpoint], true); err != nil {
		return err
	}
	if ev.Metric, err = parseMetric(vals[fieldMetric]); err != nil {
		return err
	}
	if ev.Score, err = parseScore(ev.Metric, vals[fieldScore]); err != nil {
		return err
	}
	if ev.Time, err = parseTime(vals[fieldTime]); err != nil {
		return err
	}
	if ev.ResponseID, err = d.text(fieldResponse, vals[fieldResponse], false); err != nil {
		return err
	}
	if len(ev.ResponseID) > engine.MaxResponseIDBytes {
		return fmt.Errorf("%w: response_id of %d bytes, want at most %d", engine.ErrInvalidResponseID, len(ev.ResponseID), engine.MaxResponseIDBytes)
	}
	if ev.Version, err = parseVersion(vals[fieldVersion]); err != nil {
		return err
	}
	return nil
}

// parseVersion decodes a response's version: absent or null is 0, else a
// non-negative integer written in plain digits (as every JSON encoder
// writes an integer such as a time in milliseconds) up to 2^64-1.
func parseVersion(val []byte) (uint64, error) {
	if val == nil || val[0] == 'n' {
		return 0, nil
	}
	if c := val[0]; c != '-' && (c < '0' || c > '9') {
		return 0, rejectf(errBadField, "version: want a non-negative integer, got %s", describe(val))
	}
	n, err := strconv.ParseUint(string(val), 10, 64)
	if err != nil {
		return 0, rejectf(errBadField, "version: want a non-negative integer of at most 20 digits, got %s", short(val))
	}
	return n, nil
}

// syntaxError describes why raw, which is not valid JSON, is not.
func syntaxError(raw []byte) error {
	var v struct{}
	err := json.Unmarshal(raw, &v)
	if se := (*json.SyntaxError)(nil); errors.As(err, &se) {
		return rejectf(errBadJSON, "invalid JSON at byte %d of the event: %s", se.Offset, se)
	}
	return rejectf(errBadJSON, "invalid JSON: %v", err)
}

func lookupField(key []byte) field {
	name := key[1 : len(key)-1]
	if bytes.IndexByte(name, '\\') >= 0 {
		name = []byte(unescape(key))
	}
	for f, n := range fieldNames {
		if string(name) == n {
			return field(f)
		}
	}
	return numFields
}

// text decodes a string field: absent or null is "".
func (d *eventDecoder) text(f field, val []byte, intern bool) (string, error) {
	if val == nil || val[0] == 'n' {
		return "", nil
	}
	if val[0] != '"' {
		return "", rejectf(errBadField, "%s: want a string, got %s", fieldNames[f], describe(val))
	}
	inner := val[1 : len(val)-1]
	if bytes.IndexByte(inner, '\\') >= 0 {
		return unescape(val), nil
	}
	if !intern {
		return string(inner), nil
	}
	if s, ok := d.labels[string(inner)]; ok {
		return s, nil
	}
	s := string(inner)
	if d.labels == nil {
		d.labels = make(map[string]string)
	}
	if len(d.labels) < maxInterned {
		d.labels[s] = s
	}
	return s, nil
}

func parseMetric(val []byte) (engine.Metric, error) {
	if val == nil || val[0] == 'n' {
		return 0, rejectf(errBadField, "metric: missing, want csat, ces or nps")
	}
	if val[0] != '"' {
		return 0, rejectf(errBadField, "metric: want a string (csat, ces or nps), got %s", describe(val))
	}
	name := val[1 : len(val)-1]
	if bytes.IndexByte(name, '\\') >= 0 {
		name = []byte(unescape(val))
	}
	switch string(name) {
	case "csat":
		return engine.CSAT, nil
	case "ces":
		return engine.CES, nil
	case "nps":
		return engine.NPS, nil
	}
	return 0, fmt.Errorf("%w: %s, want csat, ces or nps", engine.ErrUnknownMetric, short(val))
}

// parseScore decodes an integer score. An integral number written as a
// float (9.0, 9e0: what some JSON encoders make of an integer) is that
// integer; 9.5 is an error. A number too large for an int is out of m's
// range, and the message shows it as written, not clamped.
func parseScore(m engine.Metric, val []byte) (int, error) {
	if val == nil || val[0] == 'n' {
		return 0, rejectf(errBadField, "score: missing, want an integer")
	}
	if c := val[0]; c != '-' && (c < '0' || c > '9') {
		return 0, rejectf(errBadField, "score: want an integer, got %s", describe(val))
	}
	n, integral, big := parseInteger(val)
	switch {
	case !integral:
		return 0, rejectf(errBadField, "score: want an integer, got %s", short(val))
	case big:
		lo, hi := m.Scale()
		return 0, fmt.Errorf("%w: %s score %s, want %d-%d", engine.ErrScoreOutOfRange, m, short(val), lo, hi)
	}
	return n, nil
}

// parseInteger reads a JSON number literal exactly, without floating
// point: 9, 9.0, 0.9e1 and 900e-2 are all 9; 9.5 and 1e-400 are not
// integers (integral is false); 1e30 is an integer too big for n (big is
// true), as is anything beyond nine digits. lit must be a valid JSON number.
func parseInteger(lit []byte) (n int, integral, big bool) {
	neg := lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	mant, expText := lit, []byte(nil)
	if i := bytes.IndexAny(lit, "eE"); i >= 0 {
		mant, expText = lit[:i], lit[i+1:]
	}
	exp, expNeg := 0, false
	if len(expText) > 0 && (expText[0] == '+' || expText[0] == '-') {
		expNeg = expText[0] == '-'
		expText = expText[1:]
	}
	for _, c := range expText {
		if exp < 1e7 { // saturate: beyond this the answer cannot change
			exp = exp*10 + int(c-'0')
		}
	}
	if expNeg {
		exp = -exp
	}
	whole, frac, _ := bytes.Cut(mant, []byte("."))
	exp -= len(frac)
	// The digits of whole and frac, read as one run, times 10^exp.
	total := len(whole) + len(frac)
	digit := func(k int) byte {
		if k < len(whole) {
			return whole[k]
		}
		return frac[k-len(whole)]
	}
	lo := 0
	for lo < total && digit(lo) == '0' {
		lo++
	}
	if lo == total {
		return 0, true, false // zero, however written
	}
	hi := total
	for digit(hi-1) == '0' {
		hi--
		exp++
	}
	switch {
	case exp < 0:
		return 0, false, false
	case hi-lo+exp > 9:
		return 0, true, true
	}
	for k := lo; k < hi; k++ {
		n = n*10 + int(digit(k)-'0')
	}
	for ; exp > 0; exp-- {
		n *= 10
	}
	if neg {
		n = -n
	}
	return n, true, false
}

const timeExample = `an RFC 3339 time such as "2026-11-24T10:15:00Z"`

// parseTime decodes an RFC 3339 time: absent or null is the zero time, which
// the engine reads as "now". An explicit time the engine would read as
// "now" (0001-01-01T00:00:00Z, the zero time) is too old, like any other
// before 1970: the engine's own range check never sees it.
func parseTime(val []byte) (time.Time, error) {
	if val == nil || val[0] == 'n' {
		return time.Time{}, nil
	}
	if val[0] != '"' {
		return time.Time{}, rejectf(errBadField, "time: want %s, got %s", timeExample, describe(val))
	}
	s := string(val[1 : len(val)-1])
	if bytes.IndexByte(val, '\\') >= 0 {
		s = unescape(val)
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, rejectf(errBadField, "time: want %s, got %s", timeExample, short(val))
	}
	if t.IsZero() {
		return time.Time{}, fmt.Errorf("%w: %s is before 1970-01-01T00:00:00Z, the earliest time the engine represents", engine.ErrTooOld, short([]byte(s)))
	}
	return t, nil
}

// checkEscapes rejects \u escapes that do not decode to UTF-8: a lone
// surrogate (\ud800, a low one without a high one before it). encoding/json
// would turn each into U+FFFD, so that distinct labels become one. raw must
// be valid JSON, in which a backslash appears only inside strings.
func checkEscapes(raw []byte) error {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++ // the escaped byte; \\ is skipped whole
		if raw[i] != 'u' {
			continue
		}
		r := hex4(raw[i+1 : i+5])
		switch {
		case r >= 0xd800 && r < 0xdc00: // high: a low one must follow
			if i+10 < len(raw) && raw[i+5] == '\\' && raw[i+6] == 'u' {
				if lo := hex4(raw[i+7 : i+11]); lo >= 0xdc00 && lo < 0xe000 {
					i += 10
					continue
				}
			}
			return rejectf(errBadJSON, "event is not valid UTF-8: the escape %s is half a surrogate pair", raw[i-1:i+5])
		case r >= 0xdc00 && r < 0xe000:
			return rejectf(errBadJSON, "event is not valid UTF-8: the escape %s is half a surrogate pair", raw[i-1:i+5])
		}
		i += 4
	}
	return nil
}

// hex4 reads four hexadecimal digits, which json.Valid has checked.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case c >= 'a':
			c -= 'a' - 10
		case c >= 'A':
			c -= 'A' - 10
		default:
			c -= '0'
		}
		r = r<<4 | rune(c)
	}
	return r
}

// unescape decodes a JSON string token with escapes in it; it is the slow
// path, kept out of line so that the fast one allocates nothing.
func unescape(token []byte) string {
	var s string
	json.Unmarshal(token, &s) // token is a valid JSON string: no error
	return s
}

// skipSpace returns the index of the first byte at or after p that is not
// JSON white space.
func skipSpace(b []byte, p int) int {
	for p < len(b) && (b[p] == ' ' || b[p] == '\t' || b[p] == '\n' || b[p] == '\r') {
		p++
	}
	return p
}

// valueEnd returns the index just after the JSON value that starts at b[p].
// b must be valid JSON; it always returns more than p when p < len(b).
func valueEnd(b []byte, p int) int {
	if p >= len(b) {
		return len(b)
	}
	switch b[p] {
	case '"':
		for i := p + 1; i < len(b); i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return len(b)
	case '{', '[':
		depth := 0
		for i := p; i < len(b); i++ {
			switch b[i] {
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			case '"':
				i = valueEnd(b, i) - 1
			}
		}
		return len(b)
	}
	i := p + 1 // a number, true, false or null
	for i < len(b) && strings.IndexByte(" \t\r\n,:]}", b[i]) < 0 {
		i++
	}
	return i
}

// describe names the kind of a JSON value and shows it when short, for
// messages like `want an integer, got string "9"`.
func describe(val []byte) string {
	if len(val) == 0 {
		return "nothing"
	}
	switch val[0] {
	case '"':
		return "string " + short(val)
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "boolean " + string(val)
	case 'n':
		return "null"
	}
	return "number " + short(val)
}

// short returns val as text, cut to at most 40 bytes at a rune boundary.
func short(val []byte) string {
	const limit = 40
	if len(val) <= limit {
		return string(val)
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(val[cut]) {
		cut--
	}
	return string(val[:cut]) + "…"
}
