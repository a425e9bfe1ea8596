package uniques

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// Packing any sorted set of fingerprints, of any size up to the largest
// exact limit, and unpacking it gives the set back; a packed set takes
// fewer words than a plain array.
func TestPackRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		// rapid draws short slices; the size and a seed are drawn instead,
		// and few distinct high bytes make runs of equal top bits.
		n := rapid.IntRange(0, ExactLimit(MaxPrecision)).Draw(t, "n")
		span := rapid.SampledFrom([]uint64{1 << 32, 1 << 25, 1 << 20}).Draw(t, "span")
		rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 1))
		seen := map[uint32]bool{0: true, 1<<32 - 1: true}
		fps := []uint32{0, 1<<32 - 1}[:min(n, 2)]
		for len(fps) < n && len(seen) < int(span) {
			if fp := uint32(rng.Uint64N(span)); !seen[fp] {
				seen[fp] = true
				fps = append(fps, fp)
			}
		}
		slices.Sort(fps)
		var s fpSet
		s.layout = Packed
		s.store(fps)
		if got := s.appendSorted(nil); !slices.Equal(got, fps) && len(fps) > 0 {
			t.Fatalf("%d fingerprints: unpacked %v, want %v", len(fps), got, fps)
		}
		if s.len() != len(fps) {
			t.Fatalf("len: got %d, want %d", s.len(), len(fps))
		}
		if len(fps) >= packMin && len(s.slots) >= len(fps) {
			t.Fatalf("%d fingerprints take %d words packed, want fewer", len(fps), len(s.slots))
		}
		for _, fp := range fps {
			if !s.has(fp) {
				t.Fatalf("has(%#x): false, want true", fp)
			}
		}
	})
}

// packedModel is what a Packed set must answer like: a Sorted one, fed the
// same operations.
func TestPackedAnswersAsSorted(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := uint8(rapid.SampledFrom([]int{8, 10, 12}).Draw(t, "precision"))
		var packed, sorted Set
		packed.Init(p, Packed)
		sorted.Init(p, Sorted)
		id := rapid.IntRange(0, 1500)
		check := func(what string) {
			if g, w := packed.Estimate(), sorted.Estimate(); g != w {
				t.Fatalf("after %s: Estimate got %d, want %d", what, g, w)
			}
			if g, w := packed.Exact(), sorted.Exact(); g != w {
				t.Fatalf("after %s: Exact got %v, want %v", what, g, w)
			}
			g, _ := packed.MarshalBinary()
			w, _ := sorted.MarshalBinary()
			if string(g) != string(w) {
				t.Fatalf("after %s: encodings differ", what)
			}
			var a, b Set // both read the same when merged into a query's union
			a.Init(p, Hashed)
			b.Init(p, Hashed)
			a.Merge(&packed)
			b.Merge(&sorted)
			if a.Estimate() != b.Estimate() || a.Exact() != b.Exact() {
				t.Fatalf("after %s: merged into a table got %d, want %d", what, a.Estimate(), b.Estimate())
			}
		}
		for i := range rapid.IntRange(1, 30).Draw(t, "steps") {
			switch rapid.IntRange(0, 4).Draw(t, "op") {
			case 0, 1:
				h := Hash(fmt.Sprint(id.Draw(t, "customer")))
				packed.Insert(h)
				sorted.Insert(h)
			case 2: // a fold: another bucket, of any layout, merged in
				var o Set
				o.Init(p, Layout(rapid.IntRange(0, 3).Draw(t, "layout")))
				for range rapid.IntRange(0, 300).Draw(t, "customers") {
					o.Insert(Hash(fmt.Sprint(id.Draw(t, "customer"))))
				}
				packed.Merge(&o)
				sorted.Merge(&o)
			case 3:
				packed.Reset()
				sorted.Reset()
			case 4: // a snapshot round trip into a packed set
				data, _ := packed.MarshalBinary()
				var v Set
				v.Init(DefaultPrecision, Packed)
				if err := v.UnmarshalBinary(data); err != nil {
					t.Fatal(err)
				}
				packed = v
			}
			check(fmt.Sprintf("step %d", i))
		}
	})
}
