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
	lw := (3*n + 3) / 4
	i := 0
	for wi, w := range words[lw:] {
		for w != 0 {
			pos := wi*32 + bits.TrailingZeros32(w)
			w &= w - 1
			// The word after the last low one is the bitmap's first, so
			// two words can always be read.
			bit := 24 * i
			k, off := bit>>5, uint(bit&31)
			low := uint32((uint64(words[k]) | uint64(words[k+1])<<32) >> off)
			fn(uint32(pos-i)<<24 | low&0xFFFFFF)
			i++
		}
	}
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
