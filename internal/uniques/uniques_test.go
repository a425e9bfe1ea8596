package uniques

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/axiomhq/hyperloglog"
	"pgregory.net/rapid"
)

// distinct returns n hashes with distinct fingerprints.
func distinct(seed, n int) []uint64 {
	hs := make([]uint64, n)
	for i := range hs {
		hs[i] = Hash(fmt.Sprintf("customer-%d-%d", seed, i))
	}
	return hs
}

func TestUniquesExactBelowLimit(t *testing.T) {
	for _, layout := range []Layout{Hashed, Sorted, Appended, Packed} {
		u, _ := New(DefaultPrecision)
		u.Init(DefaultPrecision, layout)
		exactUpToLimit(t, u)
	}
}

func exactUpToLimit(t *testing.T, u *Set) {
	t.Helper()
	seen := map[uint32]bool{}
	for i, h := range distinct(1, 512) {
		u.Insert(h)
		u.Insert(h) // a repeat changes nothing
		seen[uint32(h>>32)] = true
		if got := u.Estimate(); got != uint64(len(seen)) {
			t.Fatalf("after %d customers: got %d, want %d", i+1, got, len(seen))
		}
	}
	if !u.Exact() {
		t.Fatal("512 customers at precision 12: promoted, want exact")
	}
	u.Insert(Hash("one more"))
	if u.Exact() {
		t.Fatal("513 customers at precision 12: exact, want promoted")
	}
}

// The estimate must stay within 3 standard errors (3 × 1.04/√4096 = 4.9%)
// over a range of cardinalities; the inputs are fixed, so this cannot flake.
func TestUniquesAccuracy(t *testing.T) {
	for _, n := range []int{2_000, 10_000, 100_000, 1_000_000} {
		var u Set
		for _, h := range distinct(n, n) {
			u.Insert(h)
		}
		got := float64(u.Estimate())
		if e := math.Abs(got-float64(n)) / float64(n); e > 0.049 {
			t.Errorf("%d customers: got %.0f, error %.1f%%, want ≤ 4.9%%", n, got, 100*e)
		}
	}
}

// Our registers, packed or not, insert, merge, estimate and encode exactly
// as axiomhq's dense Sketch does.
func TestEstimateMatchesAxiomhq(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := uint8(rapid.IntRange(MinPrecision, MaxPrecision).Draw(t, "precision"))
		n := rapid.IntRange(0, 200_000).Draw(t, "n")
		split := rapid.IntRange(0, n).Draw(t, "split")
		packed := rapid.Bool().Draw(t, "packed")
		sk, _ := hyperloglog.NewSketch(p, false)
		other, _ := hyperloglog.NewSketch(p, false)
		ours, theirs := newRegisters(p, packed), newRegisters(p, rapid.Bool().Draw(t, "other packed"))
		for i := range n {
			x := expand(uint32(Hash(fmt.Sprint(i)) >> 32))
			if i < split {
				sk.InsertHash(x)
				ours.insertHash(p, x)
			} else {
				other.InsertHash(x)
				theirs.insertHash(p, x)
			}
		}
		sk.Merge(other)
		ours.merge(p, theirs)
		want := sk.Clone().Estimate()
		if got := ours.estimate(p); got != want {
			t.Fatalf("p=%d n=%d: got %d, want axiomhq's %d", p, n, got, want)
		}
		enc, _ := sk.AppendBinary(nil)
		if got := ours.appendBinary(nil, p); string(got) != string(enc) {
			t.Fatalf("p=%d n=%d: encoding differs from axiomhq's", p, n)
		}
		back, err := decodeRegisters(enc, p, !packed)
		if err != nil || back.estimate(p) != want {
			t.Fatalf("p=%d n=%d: decoded %v, %v, want estimate %d", p, n, back, err, want)
		}
	})
}

// Unions in any order and grouping equal one sketch fed every customer,
// whichever forms (exact or dense) the parts are in.
func TestUniquesMergeIsOrderFree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := uint8(rapid.SampledFrom([]int{8, 10, 12}).Draw(t, "precision"))
		parts := rapid.IntRange(1, 6).Draw(t, "parts")
		ids := rapid.SliceOfN(rapid.IntRange(0, 3000), 0, 3000).Draw(t, "customers")
		layout := func(label string) *Set {
			u := new(Set)
			u.Init(p, Layout(rapid.IntRange(0, 3).Draw(t, label)))
			return u
		}
		whole := layout("whole compact")
		us := make([]*Set, parts)
		for i := range us {
			us[i] = layout("part compact")
		}
		for _, id := range ids {
			h := Hash(fmt.Sprint(id))
			whole.Insert(h)
			us[rapid.IntRange(0, parts-1).Draw(t, "part")].Insert(h)
		}
		order := rapid.Permutation(us).Draw(t, "order")
		merged := layout("merged compact")
		for _, u := range order {
			if err := merged.Merge(u); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := merged.Estimate(), whole.Estimate(); got != want || merged.Exact() != whole.Exact() {
			t.Fatalf("merged: got %d (exact %v), want %d (exact %v)", got, merged.Exact(), want, whole.Exact())
		}
		// Merging into a part (not an empty sketch) is the same union.
		first := order[0].Clone()
		for _, u := range order[1:] {
			first.Merge(u)
		}
		if got, want := first.Estimate(), whole.Estimate(); got != want {
			t.Fatalf("merged into first part: got %d, want %d", got, want)
		}
	})
}

func TestUniquesPrecisionMismatch(t *testing.T) {
	a, _ := New(12)
	b, _ := New(14)
	b.Insert(1 << 40)
	a.Insert(2 << 40)
	if err := a.Merge(b); !errors.Is(err, ErrPrecision) {
		t.Fatalf("Merge: got %v, want ErrPrecision", err)
	}
	if got := a.Estimate(); got != 1 {
		t.Fatalf("after a refused merge: got %d, want 1", got)
	}
	if _, err := New(7); !errors.Is(err, ErrPrecision) {
		t.Fatalf("New(7): got %v, want ErrPrecision", err)
	}
}

func TestUniquesResetReusesSketch(t *testing.T) {
	hs := distinct(2, 5000)
	var u Set
	for _, h := range hs {
		u.Insert(h)
	}
	want := u.Estimate()
	u.Reset()
	if !u.Exact() || !u.IsZero() || u.Estimate() != 0 {
		t.Fatalf("after Reset: exact=%v zero=%v estimate=%d, want exact, empty, 0", u.Exact(), u.IsZero(), u.Estimate())
	}
	u.Insert(hs[0])
	if got := u.Estimate(); got != 1 {
		t.Fatalf("one customer after Reset: got %d, want exactly 1", got)
	}
	spare := u.spare
	for _, h := range hs {
		u.Insert(h)
	}
	if u.hll != spare || u.Estimate() != want {
		t.Fatalf("refill after Reset: reused spare=%v estimate=%d, want true, %d", u.hll == spare, u.Estimate(), want)
	}
}

func TestUniquesInsertDoesNotAllocate(t *testing.T) {
	hs := distinct(3, 5000)
	var small, dense Set
	for _, h := range hs[:100] {
		small.Insert(h)
	}
	for _, h := range hs {
		dense.Insert(h)
	}
	i := 0
	testAllocs(t, "Insert of a known customer into an exact set", func() { small.Insert(hs[i%100]); i++ })
	testAllocs(t, "Insert into a dense sketch", func() { dense.Insert(hs[i%len(hs)]); i++ })
}

func testAllocs(t *testing.T, what string, f func()) {
	t.Helper()
	if n := testing.AllocsPerRun(1000, f); n != 0 {
		t.Errorf("%s: got %v allocs, want 0", what, n)
	}
}

func TestUniquesBinaryRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := uint8(rapid.SampledFrom([]int{8, 12}).Draw(t, "precision"))
		u, _ := New(p)
		for _, id := range rapid.SliceOfN(rapid.Int(), 0, 2000).Draw(t, "customers") {
			u.Insert(Hash(fmt.Sprint(id)))
		}
		data, err := u.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var v Set
		v.Init(DefaultPrecision, Layout(rapid.IntRange(0, 3).Draw(t, "decode layout"))) // the layout is kept, the content replaced
		if err := v.UnmarshalBinary(data); err != nil {
			t.Fatal(err)
		}
		if v.Estimate() != u.Estimate() || v.Exact() != u.Exact() || v.Precision() != p {
			t.Fatalf("round trip: got %d exact=%v p=%d, want %d exact=%v p=%d", v.Estimate(), v.Exact(), v.Precision(), u.Estimate(), u.Exact(), p)
		}
		again, _ := v.MarshalBinary()
		if string(again) != string(data) {
			t.Fatal("round trip: encoding changed")
		}
	})
}

func FuzzUniquesUnmarshal(f *testing.F) {
	small, _ := New(8)
	for _, h := range distinct(4, 20) {
		small.Insert(h)
	}
	big, _ := New(8)
	for _, h := range distinct(5, 200) {
		big.Insert(h)
	}
	for _, u := range []*Set{small, big, {}} {
		b, _ := u.MarshalBinary()
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{formExact, 12, 2, 5, 0})
	f.Add([]byte{formDense, 99})
	f.Fuzz(func(t *testing.T, data []byte) {
		u, _ := New(8)
		u.Insert(Hash("kept"))
		err := u.UnmarshalBinary(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrPrecision) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			if u.Estimate() != 1 || u.Precision() != 8 {
				t.Fatalf("rejected input changed the sketch: estimate %d, precision %d", u.Estimate(), u.Precision())
			}
			return
		}
		// Accepted input re-encodes to itself and stays usable.
		again, err := u.MarshalBinary()
		if err != nil || string(again) != string(data) {
			t.Fatalf("re-encoding accepted input: got %x, %v, want %x", again, err, data)
		}
		// A Packed set (a day bucket's) decodes it alike.
		var packed Set
		packed.Init(8, Packed)
		if err := packed.UnmarshalBinary(data); err != nil {
			t.Fatalf("a Packed set rejects what a Hashed one accepts: %v", err)
		}
		if again, _ := packed.MarshalBinary(); string(again) != string(data) || packed.Estimate() != u.Estimate() {
			t.Fatalf("a Packed set re-encodes %x as %x (estimate %d, want %d)", data, again, packed.Estimate(), u.Estimate())
		}
		u.Insert(Hash("another"))
		u.Estimate()
	})
}

// An Appended log with more than the limit of customers, not yet
// deduplicated, reads as the promoted sketch it stands for, and reading it
// (Estimate, AppendBinary, being merged) does not change it.
func TestUniquesAppendedReadsAsItsSet(t *testing.T) {
	for _, n := range []int{3, 510, 515, 900, 2000} {
		var u Set
		u.Init(DefaultPrecision, Appended)
		hs := distinct(9, n)
		for _, h := range hs {
			u.Insert(h)
		}
		u.Insert(hs[0]) // a repeat
		entries := u.set.len()
		var whole Set
		for _, h := range hs {
			whole.Insert(h)
		}
		if got, want := u.Estimate(), whole.Estimate(); got != want {
			t.Errorf("%d customers: Estimate got %d, want %d", n, got, want)
		}
		if got, want := u.Exact(), whole.Exact(); got != want {
			t.Errorf("%d customers: Exact got %v, want %v", n, got, want)
		}
		enc, _ := u.MarshalBinary()
		wantEnc, _ := whole.MarshalBinary()
		if string(enc) != string(wantEnc) {
			t.Errorf("%d customers: encoding differs from a Hashed sketch's", n)
		}
		var into Set
		into.Merge(&u)
		if got, want := into.Estimate(), whole.Estimate(); got != want || into.Exact() != whole.Exact() {
			t.Errorf("%d customers: merged got %d (exact %v), want %d (exact %v)", n, got, into.Exact(), want, whole.Exact())
		}
		if u.set.len() != entries {
			t.Errorf("%d customers: reading the log changed it (%d entries, want %d)", n, u.set.len(), entries)
		}
	}
}

// Sealing at any point, among inserts, merges and resets, never changes
// what a set counts or encodes; a sealed set is in the compact form, and
// Reset returns it to its own layout.
func TestUniquesSealKeepsCount(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := uint8(rapid.SampledFrom([]int{8, 10}).Draw(t, "precision"))
		var u, ref Set
		open := Layout(rapid.IntRange(0, 3).Draw(t, "layout"))
		u.Init(p, open)
		ref.Init(p, Hashed)
		for step := range rapid.IntRange(1, 60).Draw(t, "steps") {
			switch rapid.IntRange(0, 5).Draw(t, "op") {
			case 0, 1: // inserts
				for _, id := range rapid.SliceOfN(rapid.IntRange(0, 400), 0, 60).Draw(t, "customers") {
					h := Hash(fmt.Sprint(id))
					u.Insert(h)
					ref.Insert(h)
				}
			case 2: // a merge of another set, in any layout, sealed or not
				var o Set
				o.Init(p, Layout(rapid.IntRange(0, 3).Draw(t, "other layout")))
				for _, id := range rapid.SliceOfN(rapid.IntRange(0, 400), 0, 120).Draw(t, "other customers") {
					o.Insert(Hash(fmt.Sprint(id)))
				}
				if rapid.Bool().Draw(t, "other sealed") {
					o.Seal()
				}
				u.Merge(&o)
				ref.Merge(&o)
			case 3, 4:
				u.Seal()
				if u.set.layout != Packed || u.hll != nil && !u.hll.packed(p) {
					t.Fatalf("step %d: sealed set has layout %d, packed registers %v", step, u.set.layout, u.hll != nil && u.hll.packed(p))
				}
			default:
				u.Reset()
				ref.Reset()
				if u.set.layout != open {
					t.Fatalf("step %d: after Reset the layout is %d, want %d", step, u.set.layout, open)
				}
			}
			if got, want := u.Estimate(), ref.Estimate(); got != want || u.Exact() != ref.Exact() {
				t.Fatalf("step %d: estimate %d (exact %v), want %d (exact %v)", step, got, u.Exact(), want, ref.Exact())
			}
			got, _ := u.AppendBinary(nil)
			want, _ := ref.AppendBinary(nil)
			if !bytes.Equal(got, want) {
				t.Fatalf("step %d: the encoding differs from the unsealed set's", step)
			}
		}
	})
}
