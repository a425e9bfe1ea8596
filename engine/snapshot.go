package engine

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"slices"
	"time"

	"github.com/cxscore/cxscore/internal/timeline"
	"github.com/cxscore/cxscore/window"
)

// Snapshot errors; match them with errors.Is.
var (
	// ErrSnapshotCorrupt: a snapshot that is truncated, fails its checksum
	// or does not follow the format.
	ErrSnapshotCorrupt = errors.New("corrupt snapshot")
	// ErrSnapshotVersion: a snapshot of a format version this engine does
	// not read.
	ErrSnapshotVersion = errors.New("unsupported snapshot version")
	// ErrSnapshotIncompatible: a snapshot of an engine with other tiers,
	// another sketch precision or another time zone, whose buckets cannot
	// line up with ours.
	ErrSnapshotIncompatible = errors.New("incompatible snapshot")
)

// The snapshot format, version 3. Integers are unsigned (uvarint) or
// signed (varint) LEB128 varints as in encoding/binary.
//
//	magic       8 bytes "cxscore\x00"
//	version     1 byte, 3
//	precision   uvarint: the unique-customer sketch precision
//	tiers       uvarint n, then n × (resolution ns uvarint, retention ns uvarint)
//	zone        uvarint length + the IANA name of Config.Location ("UTC")
//	now         varint: the writer's clock, Unix ns
//	keys        for each key: the byte 1, then
//	              segment, touchpoint   uvarint length + UTF-8 bytes each
//	              units                 uvarint n, then n ×
//	                tier                uvarint
//	                slot                varint: the bucket's slot in that tier (timeline.Layout.Slot, in the zone)
//	                histogram           23 × uvarint: CSAT 1-5, CES 1-7, NPS 0-10
//	                customers           uvarint length + uniques.Set encoding
//	end         the byte 0, then uvarint: the number of keys
//	responses   uvarint n, then n held responses (Config.MaxHeldResponses), by increasing id hash:
//	              key                   uvarint: 1 + the index of its key above, or 0 for a key since deleted
//	              id                    8 bytes big-endian: the response id's xxhash
//	              version               uvarint
//	              slot                  varint: its finest-tier bucket, minus the bucket of now
//	              answer                1 byte: deleted << 7 | metric << 4 | score
//	checksum    4 bytes big-endian CRC-32C (Castagnoli) of everything before it
//
// Version 2 is version 3 without the zone, and version 1 is version 2
// without the responses. Both still load, into an engine in UTC only
// (their buckets are UTC hours and days); version 1 holds no responses.
//
// Each unit holds every event of its bucket, so each event appears once per
// tier; that is what makes a snapshot independent of how far the writer
// had folded its tiers. Keys are sorted, units by tier then slot, and
// encodings are canonical, so equal states write equal bytes.
const (
	snapshotMagic   = "cxscore\x00"
	snapshotVersion = 3
	keyRecord       = 1
	endRecord       = 0
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// WriteSnapshot writes the engine's whole state to w and returns the number
// of bytes written. Writers keep recording meanwhile: each key is read under
// its own locks (held for that key only), so the snapshot is consistent key
// by key and holds every event recorded before WriteSnapshot was called.
func (e *Engine) WriteSnapshot(w io.Writer) (int64, error) {
	if e.closed.Load() {
		return 0, ErrClosed
	}
	// Held responses and the buckets they count in are written as one
	// state: recording with a response id waits meanwhile (anonymous
	// events do not).
	e.resp.lockAll()
	defer e.resp.unlockAll()
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	crc := crc32.New(castagnoli)
	out := io.MultiWriter(bw, crc)
	now := e.Now().UnixNano()

	var buf []byte
	buf = append(buf, snapshotMagic...)
	buf = append(buf, snapshotVersion)
	buf = binary.AppendUvarint(buf, uint64(e.set.precision))
	buf = binary.AppendUvarint(buf, uint64(e.layout.Tiers()))
	for k := range e.layout.Tiers() {
		t := e.layout.Tier(k)
		buf = binary.AppendUvarint(buf, uint64(t.Resolution))
		buf = binary.AppendUvarint(buf, uint64(t.Retention))
	}
	buf = appendString(buf, e.set.location.String())
	buf = binary.AppendVarint(buf, now)
	if _, err := out.Write(buf); err != nil {
		return cw.n, err
	}

	all := slices.Clone(e.keys.series())
	slices.SortFunc(all, func(a, b *series) int { return compareKeys(a.key, b.key) })
	var units []byte
	for _, s := range all {
		units = units[:0]
		n := 0
		var err error
		s.data.Export(now, func(u timeline.Unit, b *bucket) {
			n++
			units = binary.AppendUvarint(units, uint64(u.Tier))
			units = binary.AppendVarint(units, u.Slot)
			units = b.appendHistogram(units)
			start := len(units)
			units = append(units, make([]byte, binary.MaxVarintLen64)...)
			if units, err = b.uniq.AppendBinary(units); err != nil {
				return
			}
			// Move the encoding back over the room left for its length.
			enc := units[start+binary.MaxVarintLen64:]
			l := binary.PutUvarint(units[start:], uint64(len(enc)))
			units = append(units[:start+l], enc...)
		})
		if err != nil {
			return cw.n, err
		}
		buf = buf[:0]
		buf = append(buf, keyRecord)
		buf = appendString(buf, s.key.Segment)
		buf = appendString(buf, s.key.Touchpoint)
		buf = binary.AppendUvarint(buf, uint64(n))
		if _, err := out.Write(buf); err != nil {
			return cw.n, err
		}
		if _, err := out.Write(units); err != nil {
			return cw.n, err
		}
	}
	buf = append(buf[:0], endRecord)
	buf = binary.AppendUvarint(buf, uint64(len(all)))
	buf = e.resp.appendSnapshot(buf, all, e.layout, now)
	if _, err := out.Write(buf); err != nil {
		return cw.n, err
	}
	if _, err := bw.Write(crc.Sum(nil)); err != nil {
		return cw.n, err
	}
	err := bw.Flush()
	return cw.n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func (b *bucket) appendHistogram(dst []byte) []byte {
	for m := CSAT; m <= NPS; m++ {
		lo, hi := m.Scale()
		for score := lo; score <= hi; score++ {
			dst = binary.AppendUvarint(dst, b.hist.Count(m, score))
		}
	}
	return dst
}

// MergeSnapshot reads a snapshot written by WriteSnapshot, from this engine
// or another one with the same tiers and precision (a replica), and adds it
// to the engine: histogram counts add, unique-customer sketches union, and
// buckets line up by time. Merging into an empty engine restores the
// snapshot; merging replicas' snapshots into one engine answers as one
// engine that recorded all their events would, unique counts included.
// Buckets older than this engine retains are dropped, so a snapshot
// restored some time after it was written loses only what aged out.
//
// A snapshot is outside input, and MergeSnapshot takes only what this
// engine could have recorded itself: no bucket further ahead of its clock
// than Config.MaxFuture, none older than its tier keeps at the time the
// snapshot was written, and no counts that would take the engine past
// MaxResponses (so no count can wrap around). What it allocates is bounded
// by the configuration: reading stops as soon as the keys would exceed
// Config.MaxKeys or the buckets read would not fit Config.MaxBytes beside
// what the engine holds, and a key holds at most a ring of buckets per
// tier. Merges run one at a time.
//
// Held responses (see Event.ResponseID) merge by version: when the engine
// and the snapshot hold the same response, only the higher version's answer
// stays counted, and at equal versions a deletion wins, so replicas that
// both received a webhook count it once. Unique customers of the answer
// taken out stay counted, as for corrections.
//
// The snapshot is read and checked completely, checksum included, before
// anything changes: on any error the engine is exactly as it was. Errors
// wrap ErrSnapshotCorrupt, ErrSnapshotVersion, ErrSnapshotIncompatible,
// ErrSnapshotRefused (with ErrTooNew or ErrTooOld for a bucket's time),
// ErrTooManyKeys (the snapshot's keys would exceed Config.MaxKeys),
// ErrTooManyResponses (its new responses would exceed Config.MaxHeldResponses),
// ErrMemoryBudget or ErrClosed, or are r's read errors. Memory grows only
// with the bytes actually read, never with a length the input claims.
//
// Queries running during the merge may see some keys merged and others
// not yet.
func (e *Engine) MergeSnapshot(r io.Reader) error {
	if e.closed.Load() {
		return ErrClosed
	}
	// One merge at a time: each checks the engine's responses and memory
	// before it adds to them.
	e.merging.Lock()
	defer e.merging.Unlock()
	staged, responses, err := e.readSnapshot(r)
	if err != nil {
		return err
	}
	now := e.Now().UnixNano()
	// Held responses and their buckets change together: recording with a
	// response id waits meanwhile (lock order: responses, then keys).
	e.resp.lockAll()
	defer e.resp.unlockAll()
	if err := e.resp.admit(responses, e.layout, now, e.set.maxResponses, len(staged)); err != nil {
		return err
	}
	keys := make([]Key, len(staged))
	for i, s := range staged {
		keys[i] = s.key
	}
	series, err := e.getOrCreateAll(keys)
	if err != nil {
		return err
	}
	for i, s := range staged {
		series[i].data.Absorb(s.units, s.buckets)
	}
	e.mergeResponses(responses, series, now)
	e.versions.epoch.Add(1) // every cached result may have changed
	return nil
}

type stagedKey struct {
	key     Key
	units   []timeline.Unit
	buckets []*bucket
}

// readSnapshot parses and checks a whole snapshot.
func (e *Engine) readSnapshot(r io.Reader) ([]stagedKey, []stagedResponse, error) {
	sr := &snapReader{r: bufio.NewReaderSize(r, 64<<10), crc: crc32.New(castagnoli)}
	magic := sr.bytes(len(snapshotMagic), "magic")
	if sr.err == nil && string(magic) != snapshotMagic {
		return nil, nil, fmt.Errorf("%w: not a cxscore snapshot (magic %q)", ErrSnapshotCorrupt, magic)
	}
	version := sr.byte("version")
	if sr.err == nil && (version < 1 || version > snapshotVersion) {
		return nil, nil, fmt.Errorf("%w: version %d, this engine reads versions 1 to %d", ErrSnapshotVersion, version, snapshotVersion)
	}
	precision := sr.uvarint("precision", 255)
	tiers := sr.uvarint("tier count", 16)
	if sr.err != nil {
		return nil, nil, sr.err
	}
	compatible := precision == uint64(e.set.precision) && tiers == uint64(e.layout.Tiers())
	var theirs []window.Tier
	for k := range tiers {
		t := window.Tier{Resolution: sr.duration("resolution"), Retention: sr.duration("retention")}
		theirs = append(theirs, t)
		// Retentions may differ (main's default days were 35, ours are
		// 61): buckets line up as long as the resolutions do.
		if int(k) >= e.layout.Tiers() || t.Resolution != e.layout.Tier(int(k)).Resolution {
			compatible = false
		}
	}
	zone := "UTC" // versions 1 and 2 have no zone: their buckets are UTC days and hours
	if version >= 3 {
		zone = string(sr.bytes(int(sr.uvarint("zone length", 255)), "zone"))
	}
	written := sr.varint("time")
	if sr.err != nil {
		return nil, nil, sr.err
	}
	if ours := e.set.location.String(); zone != ours {
		return nil, nil, fmt.Errorf("%w: the snapshot's buckets are days and hours in time zone %q, this engine's are in %q", ErrSnapshotIncompatible, zone, ours)
	}
	if !compatible {
		var ours []window.Tier
		for k := range e.layout.Tiers() {
			ours = append(ours, e.layout.Tier(k))
		}
		return nil, nil, fmt.Errorf("%w: precision %d and tiers %v, this engine has precision %d and tiers %v",
			ErrSnapshotIncompatible, precision, theirs, e.set.precision, ours)
	}

	check, err := e.newMergeCheck(written)
	if err != nil {
		return nil, nil, err
	}
	for k, t := range theirs {
		check.longer[k] = t.Retention > e.layout.Tier(k).Retention
	}
	maxUnits := uint64(e.layout.MaxUnits())           // a key holds at most a ring of buckets per tier
	maxUniques := uint64(16 + 8 + 1<<e.set.precision) // the largest valid encoding, dense
	var staged []stagedKey
	seen := map[Key]bool{}
	for {
		tag := sr.byte("record")
		if sr.err != nil {
			return nil, nil, sr.err
		}
		if tag == endRecord {
			break
		}
		if tag != keyRecord {
			return nil, nil, sr.corrupt("record tag %d", tag)
		}
		k := Key{Segment: sr.label("segment"), Touchpoint: sr.label("touchpoint")}
		if sr.err != nil {
			return nil, nil, sr.err
		}
		if err := checkLabel(ErrInvalidSegment, "segment", k.Segment); err != nil {
			return nil, nil, sr.corrupt("%v", err)
		}
		if err := checkLabel(ErrInvalidTouchpoint, "touchpoint", k.Touchpoint); err != nil {
			return nil, nil, sr.corrupt("%v", err)
		}
		if seen[k] {
			return nil, nil, sr.corrupt("key %q × %q twice", k.Segment, k.Touchpoint)
		}
		seen[k] = true
		if err := check.key(k); err != nil {
			return nil, nil, err
		}
		sk := stagedKey{key: k}
		n := sr.uvarint("unit count", maxUnits)
		prev := timeline.Unit{Tier: -1}
		for range n {
			u := timeline.Unit{Tier: int(sr.uvarint("tier", tiers-1)), Slot: sr.varint("slot")}
			if sr.err != nil {
				return nil, nil, sr.err
			}
			if u.Tier < prev.Tier || (u.Tier == prev.Tier && u.Slot <= prev.Slot) {
				return nil, nil, sr.corrupt("units of %q × %q out of order", k.Segment, k.Touchpoint)
			}
			prev = u
			b := check.unit(k, u)
			keep := b != nil
			if !keep {
				b = check.discard()
			}
			for m := CSAT; m <= NPS; m++ {
				lo, hi := m.Scale()
				for score := lo; score <= hi; score++ {
					b.hist.AddN(m, score, sr.uvarint("count", 1<<64-1)) // checked by check.add
				}
			}
			enc := sr.bytes(int(sr.uvarint("sketch length", maxUniques)), "sketch")
			if sr.err != nil {
				return nil, nil, sr.err
			}
			if err := b.uniq.UnmarshalBinary(enc); err != nil {
				return nil, nil, sr.corrupt("customers of %q × %q: %v", k.Segment, k.Touchpoint, err)
			}
			if b.uniq.Precision() != e.set.precision {
				return nil, nil, sr.corrupt("a sketch of precision %d", b.uniq.Precision())
			}
			if !keep {
				continue
			}
			if err := check.add(k, b); err != nil {
				return nil, nil, err
			}
			sk.units = append(sk.units, u)
			sk.buckets = append(sk.buckets, b)
		}
		staged = append(staged, sk)
	}
	keyLimit := uint64(e.set.maxKeys)
	if e.set.overflow != (Key{}) {
		keyLimit++ // the overflow key is not counted towards MaxKeys
	}
	if n := sr.uvarint("key count", keyLimit); sr.err == nil && n != uint64(len(staged)) {
		return nil, nil, sr.corrupt("ends after %d keys, says %d", len(staged), n)
	}
	if sr.err != nil {
		return nil, nil, sr.err
	}
	var responses []stagedResponse
	if version >= 2 {
		if responses = e.readResponses(sr, len(staged), written); sr.err != nil {
			return nil, nil, sr.err
		}
	}
	want := sr.crc.Sum32()
	var sum [4]byte
	if _, err := io.ReadFull(sr.r, sum[:]); err != nil {
		sr.fail("checksum", err)
		return nil, nil, sr.err
	}
	if got := binary.BigEndian.Uint32(sum[:]); got != want {
		return nil, nil, fmt.Errorf("%w: checksum %08x, content sums to %08x", ErrSnapshotCorrupt, got, want)
	}
	switch _, err := sr.r.ReadByte(); {
	case err == nil:
		return nil, nil, fmt.Errorf("%w: data after the checksum", ErrSnapshotCorrupt)
	case err != io.EOF:
		return nil, nil, err // the reader's own error
	}
	if check.refused != nil {
		return nil, nil, check.refused
	}
	return staged, responses, nil
}

// snapReader reads snapshot fields, hashing exactly the bytes it consumes.
// After the first error every read returns zero values and err keeps it.
type snapReader struct {
	r   *bufio.Reader
	crc hash.Hash32
	n   int64
	err error
	one [1]byte
}

func (s *snapReader) corrupt(format string, args ...any) error {
	if s.err == nil {
		s.err = fmt.Errorf("%w: at byte %d: %s", ErrSnapshotCorrupt, s.n, fmt.Sprintf(format, args...))
	}
	return s.err
}

func (s *snapReader) fail(what string, err error) {
	if s.err != nil {
		return
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		s.corrupt("truncated in %s", what)
		return
	}
	s.err = err // the reader's own error
}

func (s *snapReader) byte(what string) byte {
	if s.err != nil {
		return 0
	}
	b, err := s.r.ReadByte()
	if err != nil {
		s.fail(what, err)
		return 0
	}
	s.one[0] = b
	s.crc.Write(s.one[:])
	s.n++
	return b
}

// bytes reads n bytes; n was bounded by the caller, and memory follows
// what is actually read.
func (s *snapReader) bytes(n int, what string) []byte {
	if s.err != nil {
		return nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(s.r, b); err != nil {
		s.fail(what, err)
		return nil
	}
	s.crc.Write(b)
	s.n += int64(n)
	return b
}

func (s *snapReader) uvarint(what string, limit uint64) uint64 {
	var x uint64
	for shift := uint(0); ; shift += 7 {
		b := s.byte(what)
		if s.err != nil {
			return 0
		}
		if shift == 63 && b > 1 {
			s.corrupt("%s overflows 64 bits", what)
			return 0
		}
		x |= uint64(b&0x7f) << shift
		if b < 0x80 {
			if b == 0 && shift > 0 {
				s.corrupt("%s is not minimally encoded", what)
				return 0
			}
			break
		}
	}
	if x > limit {
		s.corrupt("%s %d, at most %d", what, x, limit)
		return 0
	}
	return x
}

func (s *snapReader) varint(what string) int64 {
	ux := s.uvarint(what, 1<<64-1)
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (s *snapReader) duration(what string) time.Duration {
	return time.Duration(s.uvarint(what, uint64(100*365*24*time.Hour)))
}

func (s *snapReader) label(what string) string {
	return string(s.bytes(int(s.uvarint(what+" length", MaxLabelBytes)), what))
}
