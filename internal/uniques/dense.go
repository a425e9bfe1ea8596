package uniques

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"
)

// registers is a dense HyperLogLog sketch: the rank of each of its 2^p
// registers, as axiomhq/hyperloglog keeps them (it inserts, merges,
// estimates and encodes exactly as axiomhq's dense Sketch does;
// TestRegistersMatchAxiomhq holds it to that). A Packed set keeps them at
// 6 bits each (3·2^p/4 bytes: 3 KiB at p = 12, instead of 4): a rank is
// at most 65 − p ≤ 57, so nothing is lost. Which of the two r holds is told
// by its length.
type registers struct {
	r []uint8
}

// newRegisters returns empty registers of precision p, packed or not.
func newRegisters(p uint8, packed bool) *registers {
	if !packed {
		return newDense(p)
	}
	return &registers{r: make([]uint8, 3*(1<<p)/4)}
}

func (rs *registers) packed(p uint8) bool { return len(rs.r) != 1<<p }

func (rs *registers) reset() { clear(rs.r) }

func (rs *registers) clone() *registers {
	return &registers{r: append([]uint8(nil), rs.r...)}
}

// getPosVal returns the register and rank axiomhq's dense sketch gives the
// hash x at precision p (its utils.go).
func getPosVal(x uint64, p uint8) (uint32, uint8) {
	i := uint32(x >> (64 - p))
	w := x<<p | 1<<(p-1)
	return i, uint8(bits.LeadingZeros64(w)) + 1
}

// insertHash adds the hash x.
func (rs *registers) insertHash(p uint8, x uint64) {
	i, r := getPosVal(x, p)
	if !rs.packed(p) {
		rs.r[i] = max(rs.r[i], r)
		return
	}
	g := rs.r[3*(i>>2) : 3*(i>>2)+3]
	v := uint32(g[0]) | uint32(g[1])<<8 | uint32(g[2])<<16
	shift := 6 * (i & 3)
	if uint8(v>>shift&63) >= r {
		return
	}
	v = v&^(63<<shift) | uint32(r)<<shift
	g[0], g[1], g[2] = uint8(v), uint8(v>>8), uint8(v>>16)
}

// unpack writes the ranks of packed registers into dst, one byte each.
func unpack(dst, packed []uint8) {
	dst = dst[:4*len(packed)/3]
	for g := 0; g+6 <= len(packed); g += 6 {
		binary.LittleEndian.PutUint64(dst[4*g/3:], spread6(load48(packed[g:])))
	}
	if g := len(packed) / 6 * 6; g < len(packed) { // precisions below 3 only: a lone group of 3 bytes
		v := uint32(packed[g]) | uint32(packed[g+1])<<8 | uint32(packed[g+2])<<16
		d := dst[4*g/3 : 4*g/3+4]
		d[0], d[1], d[2], d[3] = uint8(v&63), uint8(v>>6&63), uint8(v>>12&63), uint8(v>>18&63)
	}
}

// load48 returns the first 6 bytes of b, little-endian, reading no further.
func load48(b []uint8) uint64 {
	_ = b[5]
	return uint64(binary.LittleEndian.Uint32(b)) | uint64(binary.LittleEndian.Uint16(b[4:]))<<32
}

// spread6 returns the eight 6-bit fields of the low 48 bits of v (the
// first at bit 0) one a byte, the first in the lowest: what unpack does to
// 6 bytes, in three shifts and masks that halve the fields' width each.
func spread6(v uint64) uint64 {
	v = v&0xFFFFFF | v>>24&0xFFFFFF<<32
	v = v&0x00000FFF00000FFF | v>>12&0x00000FFF00000FFF<<16
	return v&0x003F003F003F003F | v>>6&0x003F003F003F003F<<8
}

// hi8 is the high bit of every byte of a word.
const hi8 = 0x8080808080808080

// max8 returns the bytewise maximum of a and b, whose bytes are all below
// 128 (a rank is at most 57): (a|0x80) − b sets a byte's high bit exactly
// where a ≥ b, and never borrows from the next byte.
func max8(a, b uint64) uint64 {
	ge := ((a | hi8) - b) & hi8 >> 7 * 0xFF
	return b ^ (a^b)&ge
}

// maxInto sets each rank of dst to the larger of it and src's, 8 at a time.
func maxInto(dst, src []uint8) {
	src = src[:len(dst)]
	i := 0
	for ; i+32 <= len(dst); i += 32 {
		d, s := dst[i:i+32:i+32], src[i:i+32:i+32]
		binary.LittleEndian.PutUint64(d[0:], max8(binary.LittleEndian.Uint64(d[0:]), binary.LittleEndian.Uint64(s[0:])))
		binary.LittleEndian.PutUint64(d[8:], max8(binary.LittleEndian.Uint64(d[8:]), binary.LittleEndian.Uint64(s[8:])))
		binary.LittleEndian.PutUint64(d[16:], max8(binary.LittleEndian.Uint64(d[16:]), binary.LittleEndian.Uint64(s[16:])))
		binary.LittleEndian.PutUint64(d[24:], max8(binary.LittleEndian.Uint64(d[24:]), binary.LittleEndian.Uint64(s[24:])))
	}
	for ; i < len(dst); i++ {
		dst[i] = max(dst[i], src[i])
	}
}

// maxPackedInto sets each rank of dst, one byte each, to the larger of it
// and the packed registers', 8 registers (6 bytes) at a time.
func maxPackedInto(dst, packed []uint8) {
	dst = dst[:4*len(packed)/3]
	g := 0
	for ; g+12 <= len(packed); g += 12 {
		s, d := packed[g:g+12:g+12], dst[4*g/3:4*g/3+16:4*g/3+16]
		binary.LittleEndian.PutUint64(d[0:], max8(binary.LittleEndian.Uint64(d[0:]), spread6(load48(s[0:]))))
		binary.LittleEndian.PutUint64(d[8:], max8(binary.LittleEndian.Uint64(d[8:]), spread6(load48(s[6:]))))
	}
	for ; g+3 <= len(packed); g += 3 {
		v := uint32(packed[g]) | uint32(packed[g+1])<<8 | uint32(packed[g+2])<<16
		d := dst[4*g/3 : 4*g/3+4]
		d[0], d[1] = max(d[0], uint8(v&63)), max(d[1], uint8(v>>6&63))
		d[2], d[3] = max(d[2], uint8(v>>12&63)), max(d[3], uint8(v>>18&63))
	}
}

// pack writes one-byte ranks src into packed registers dst.
func pack6(dst, src []uint8) {
	for g := 0; g+3 <= len(dst); g += 3 {
		s := src[4*g/3 : 4*g/3+4]
		v := uint32(s[0]) | uint32(s[1])<<6 | uint32(s[2])<<12 | uint32(s[3])<<18
		dst[g], dst[g+1], dst[g+2] = uint8(v), uint8(v>>8), uint8(v>>16)
	}
}

// ranks returns the registers one byte each: rs.r itself (and a nil
// buffer), or unpacked into a pooled buffer the caller gives back with
// putRanks.
func (rs *registers) ranks(p uint8) (r []uint8, buf *[]byte) {
	if !rs.packed(p) {
		return rs.r, nil
	}
	buf = rankBuffers.Get().(*[]byte)
	r = (*buf)[:1<<p]
	unpack(r, rs.r)
	return r, buf
}

func putRanks(buf *[]byte) {
	if buf != nil {
		rankBuffers.Put(buf)
	}
}

var rankBuffers = sync.Pool{New: func() any { b := make([]byte, 1<<MaxPrecision); return &b }}

// merge sets each register to the larger of its rank and o's.
func (rs *registers) merge(p uint8, o *registers) {
	if !rs.packed(p) && o.packed(p) { // a sealed day into a query's union: unpack as we go
		maxPackedInto(rs.r, o.r)
		return
	}
	src, sbuf := o.ranks(p)
	if !rs.packed(p) {
		maxInto(rs.r, src)
		putRanks(sbuf)
		return
	}
	dst, dbuf := rs.ranks(p)
	maxInto(dst, src)
	pack6(rs.r, dst)
	putRanks(dbuf)
	putRanks(sbuf)
}

// estimate returns axiomhq's estimate of the registers.
func (rs *registers) estimate(p uint8) uint64 {
	r, buf := rs.ranks(p)
	est := estimateDense(r, p)
	putRanks(buf)
	return est
}

// denseHeader is the length of axiomhq's header before a dense sketch's
// registers: version 2, p, 0 (no bias), 0 (dense), and the count of
// registers, big-endian.
const denseHeader = 8

// appendBinary appends axiomhq's encoding of the dense sketch.
func (rs *registers) appendBinary(b []byte, p uint8) []byte {
	b = append(b, 2, p, 0, 0)
	b = binary.BigEndian.AppendUint32(b, 1<<p)
	if !rs.packed(p) {
		return append(b, rs.r...)
	}
	n := len(b)
	b = append(b, make([]byte, 1<<p)...)
	unpack(b[n:], rs.r)
	return b
}

// decodeRegisters decodes what appendBinary wrote at precision p, packed
// or not, accepting exactly what axiomhq's UnmarshalBinary accepts of a
// dense sketch that long.
func decodeRegisters(data []byte, p uint8, packed bool) (*registers, error) {
	m := 1 << p
	switch {
	case len(data) != denseHeader+m:
		return nil, fmt.Errorf("%w: dense sketch of %d bytes, want %d", ErrCorrupt, len(data), denseHeader+m)
	case data[0] != 2 || data[1] != p || data[2] != 0 || data[3] != 0 || binary.BigEndian.Uint32(data[4:8]) != uint32(m):
		return nil, fmt.Errorf("%w: inner sketch is not dense at precision %d", ErrCorrupt, p)
	}
	regs := data[denseHeader:]
	for i, r := range regs {
		if r > 65-p {
			return nil, fmt.Errorf("%w: register %d has rank %d, at most %d at precision %d", ErrCorrupt, i, r, 65-p, p)
		}
	}
	rs := newRegisters(p, packed)
	if packed {
		pack6(rs.r, regs)
	} else {
		copy(rs.r, regs)
	}
	return rs, nil
}
