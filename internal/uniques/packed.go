package uniques

import "math/bits"

// A Packed set keeps its sorted fingerprints in about 3.1 bytes each
// instead of 4, in the Elias-Fano way with the split at bit 24: the low 24
// bits of the i-th fingerprint at bit 24·i of the words, then a bitmap of
// n + 256 bits in which bit (fp>>24) + i is set for the i-th one. It is
// the layout of sealed coarse buckets: a day of 480 customers takes 1,532
// bytes (a 1,536-byte allocation) instead of 1,920 (a 2,048-byte one).
// Below packMin fingerprints the bitmap costs more than it saves, and the
// set keeps them as a plain sorted array, as Sorted does. Which of the two
// a set uses is a function of its size alone.

// packedWords returns the words n fingerprints take packed.
func packedWords(n int) int { return (3*n+3)/4 + (n+256+31)/32 }

// packs reports whether a Packed set of n fingerprints keeps them packed:
// when that takes fewer words than a plain array.
func packs(n int) bool { return packedWords(n) < n }

// packMin is the fewest fingerprints a Packed set keeps packed.
var packMin = func() int {
	n := 1
	for !packs(n) {
		n++
	}
	return n
}()

// words returns how many words a Packed set of n fingerprints stores.
func words(n int) int {
	if packs(n) {
		return packedWords(n)
	}
	return n
}

// store replaces a Packed set's content with the sorted, duplicate-free
// fps (which must not share s.slots' storage). It reuses the set's storage
// when it is large enough, else allocates exactly what the content takes.
func (s *fpSet) store(fps []uint32) {
	n := len(fps)
	w := words(n)
	if cap(s.slots) < w {
		s.slots = make([]uint32, w)
	} else {
		s.slots = s.slots[:w]
		clear(s.slots)
	}
	s.n = int32(n)
	if !packs(n) {
		copy(s.slots, fps)
		return
	}
	pack(s.slots, fps)
}

// pack encodes the sorted, duplicate-free fps into dst, which holds
// packedWords(len(fps)) zero words.
func pack(dst, fps []uint32) {
	lw := (3*len(fps) + 3) / 4
	for i, fp := range fps {
		low := fp & 0xFFFFFF
		bit := 24 * i
		k, off := bit>>5, uint(bit&31)
		dst[k] |= low << off
		if off > 8 {
			dst[k+1] |= low >> (32 - off)
		}
		pos := int(fp>>24) + i
		dst[lw+pos>>5] |= 1 << uint(pos&31)
	}
}

// eachPacked calls fn for each of the n fingerprints packed in words, in
// increasing order.
func eachPacked(words []uint32, n int, fn func(uint32)) {
	var buf [packedBatch]uint32
	c := newPackedCursor(words, n)
	for k := c.next(buf[:]); k > 0; k = c.next(buf[:]) {
		for _, fp := range buf[:k] {
			fn(fp)
		}
	}
}

// appendPacked appends the n fingerprints packed in words to dst, in
// increasing order.
func appendPacked(dst, words []uint32, n int) []uint32 {
	start := len(dst)
	dst = append(dst, make([]uint32, n)...) // no allocation: append(make) is cleared in place
	c := newPackedCursor(words, n)
	c.next(dst[start:])
	return dst
}

// packedBatch is how many fingerprints the readers of a packed set decode
// at a time, into a buffer on the stack, before they use them in a loop
// of their own.
const packedBatch = 128

// A packedCursor decodes the fingerprints of a packed set in increasing
// order, as many at a time as its caller has room for.
type packedCursor struct {
	words []uint32 // the low parts, then the bitmap
	lw    int      // words of low parts
	n, i  int      // fingerprints in all, and decoded so far
	wi    int      // the bitmap word being read
	w     uint32   // its bits not yet read
}

func newPackedCursor(words []uint32, n int) packedCursor {
	c := packedCursor{words: words, lw: (3*n + 3) / 4, n: n}
	if n > 0 {
		c.w = words[c.lw]
	}
	return c
}

// next decodes the next fingerprints into dst, up to len(dst) of them, and
// returns how many; 0 once all are.
func (c *packedCursor) next(dst []uint32) int {
	words, bitmap := c.words, c.words[c.lw:]
	i, wi, w := c.i, c.wi, c.w
	k := min(len(dst), c.n-i)
	for j := range dst[:k] {
		for w == 0 {
			wi++
			w = bitmap[wi]
		}
		high := wi*32 + bits.TrailingZeros32(w) - i
		w &= w - 1
		// The word after the last low one is the bitmap's first, so
		// two words can always be read.
		bit := 24 * i
		q, off := bit>>5, uint(bit&31)
		low := uint32((uint64(words[q]) | uint64(words[q+1])<<32) >> off)
		dst[j] = uint32(high)<<24 | low&0xFFFFFF
		i++
	}
	c.i, c.wi, c.w = i, wi, w
	return k
}

// unionInto appends the sorted union of the sorted, duplicate-free a and b
// to dst.
func unionInto(dst, a, b []uint32) []uint32 {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			dst = append(dst, a[i])
			i++
		case a[i] > b[j]:
			dst = append(dst, b[j])
			j++
		default:
			dst = append(dst, a[i])
			i, j = i+1, j+1
		}
	}
	dst = append(dst, a[i:]...)
	return append(dst, b[j:]...)
}
