package uniques

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// randomRanks returns 2^p ranks, each at most 65 − p (the most a register
// holds), drawn by rng; a few maxima and zeros always among them.
func randomRanks(rng *rand.Rand, p uint8) []uint8 {
	r := make([]uint8, 1<<p)
	top := 66 - int(p)
	for i := range r {
		switch rng.IntN(8) {
		case 0:
			r[i] = 0
		case 1:
			r[i] = uint8(top - 1)
		default:
			r[i] = uint8(rng.IntN(top))
		}
	}
	return r
}

// The word-at-a-time register reads (unpack, maxInto, maxPackedInto) give
// what the obvious loops over one register at a time give, at every
// precision, from one-byte and from packed registers.
func TestRegisterReadsMatchScalar(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := uint8(rapid.IntRange(MinPrecision, MaxPrecision).Draw(t, "precision"))
		rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 2))
		a, b := randomRanks(rng, p), randomRanks(rng, p)
		want := make([]uint8, len(a))
		for i := range a {
			want[i] = max(a[i], b[i])
		}

		packed := make([]uint8, 3*len(b)/4)
		pack6(packed, b)
		for i := range b { // the packed layout, register by register
			g := packed[3*(i/4):]
			v := uint32(g[0]) | uint32(g[1])<<8 | uint32(g[2])<<16
			if got := uint8(v >> (6 * (i % 4)) & 63); got != b[i] {
				t.Fatalf("p=%d: packed register %d holds %d, want %d", p, i, got, b[i])
			}
		}
		got := make([]uint8, len(b))
		unpack(got, packed)
		if !slices.Equal(got, b) {
			t.Fatalf("p=%d: unpack(pack6(x)) != x", p)
		}

		got = slices.Clone(a)
		maxInto(got, b)
		if !slices.Equal(got, want) {
			t.Fatalf("p=%d: maxInto differs from the bytewise max", p)
		}
		got = slices.Clone(a)
		maxPackedInto(got, packed)
		if !slices.Equal(got, want) {
			t.Fatalf("p=%d: maxPackedInto differs from the bytewise max", p)
		}
	})
}

// max8 is the bytewise maximum for every pair of ranks, in every byte.
func TestMax8(t *testing.T) {
	for x := range 128 {
		for y := range 128 {
			for k := range 8 {
				a, b := uint64(x)<<(8*k)|0x0102030405060708&^(0xFF<<(8*k)), uint64(y)<<(8*k)|0x3f00203f10000001&^(0xFF<<(8*k))
				var want uint64
				for j := range 8 {
					want |= uint64(max(uint8(a>>(8*j)), uint8(b>>(8*j)))) << (8 * j)
				}
				if got := max8(a, b); got != want {
					t.Fatalf("max8(%#x, %#x) = %#x, want %#x", a, b, got, want)
				}
			}
		}
	}
}

// A packed set decoded a batch at a time, in batches of any size, gives
// its fingerprints back in order.
func TestPackedCursorBatches(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(packMin, ExactLimit(MaxPrecision)).Draw(t, "n")
		span := rapid.SampledFrom([]uint64{1 << 32, 1 << 25, 1 << 20}).Draw(t, "span")
		rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 3))
		seen := map[uint32]bool{}
		var fps []uint32
		for len(fps) < n {
			if fp := uint32(rng.Uint64N(span)); !seen[fp] {
				seen[fp] = true
				fps = append(fps, fp)
			}
		}
		slices.Sort(fps)
		words := make([]uint32, packedWords(n))
		pack(words, fps)
		batch := rapid.IntRange(1, 300).Draw(t, "batch")
		var got []uint32
		buf := make([]uint32, batch)
		c := newPackedCursor(words, n)
		for k := c.next(buf); k > 0; k = c.next(buf) {
			got = append(got, buf[:k]...)
		}
		if !slices.Equal(got, fps) {
			t.Fatalf("%d fingerprints in batches of %d: decoded %d, differ", n, batch, len(got))
		}
		if got := appendPacked([]uint32{7}, words, n); got[0] != 7 || !slices.Equal(got[1:], fps) {
			t.Fatalf("appendPacked differs")
		}
	})
}

// Merging an exact set of any layout into a query's union (a Hashed Set,
// exact or promoted, of one-byte or packed registers) gives what inserting
// its fingerprints one at a time gives: the same estimate, form and
// encoding.
func TestMergeExactMatchesInserts(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := uint8(rapid.SampledFrom([]int{8, 10, 12}).Draw(t, "precision"))
		limit := ExactLimit(p)
		id := rapid.IntRange(0, 3*limit)
		var acc Set
		acc.Init(p, rapid.SampledFrom([]Layout{Hashed, Hashed, Packed}).Draw(t, "union layout"))
		for range rapid.IntRange(0, 2*limit).Draw(t, "union customers") {
			acc.Insert(Hash(fmt.Sprint(id.Draw(t, "customer"))))
		}
		var o Set
		o.Init(p, Layout(rapid.IntRange(0, 3).Draw(t, "layout")))
		for range rapid.IntRange(0, limit).Draw(t, "customers") {
			o.Insert(Hash(fmt.Sprint(id.Draw(t, "customer"))))
		}
		if rapid.Bool().Draw(t, "fingerprint 0") && o.set.len() < limit {
			o.insert(0)
		}
		if o.hll != nil {
			t.Skip("promoted")
		}
		got, want := acc.Clone(), acc.Clone()
		got.Merge(&o)
		o.set.each(want.insert)
		if g, w := got.Estimate(), want.Estimate(); g != w {
			t.Fatalf("Estimate: got %d, want %d", g, w)
		}
		if g, w := got.Exact(), want.Exact(); g != w {
			t.Fatalf("Exact: got %v, want %v", g, w)
		}
		g, _ := got.MarshalBinary()
		w, _ := want.MarshalBinary()
		if string(g) != string(w) {
			t.Fatal("encodings differ")
		}
	})
}
