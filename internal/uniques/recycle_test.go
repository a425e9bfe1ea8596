package uniques

import (
	"fmt"
	"maps"
	"testing"

	"pgregory.net/rapid"
)

// Storage that a set drops goes back to a pool and into other sets
// (recycle.go): a set must never see it change under it. Several sets live
// side by side through inserts, merges, seals, resets and clones, so that
// recycled tables and sketches move between them; each must count as a
// set built afresh from its customers does (a Set's form is a function of
// its customers alone).
func TestRecycledStorageIsNotShared(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		const p = 8 // exact limit 32: tables grow, promote and seal often
		var sets [5]Set
		var models [len(sets)]map[uint64]bool
		for i := range sets {
			sets[i].Init(p, Layout(rapid.IntRange(0, 3).Draw(t, "layout")))
			models[i] = map[uint64]bool{}
		}
		for step := range rapid.IntRange(1, 40).Draw(t, "steps") {
			i := rapid.IntRange(0, len(sets)-1).Draw(t, "set")
			j := rapid.IntRange(0, len(sets)-1).Draw(t, "other")
			switch rapid.IntRange(0, 5).Draw(t, "op") {
			case 0, 1:
				for _, id := range rapid.SliceOfN(rapid.IntRange(0, 200), 0, 50).Draw(t, "customers") {
					h := Hash(fmt.Sprint(id))
					sets[i].Insert(h)
					models[i][h] = true
				}
			case 2:
				sets[i].Merge(&sets[j])
				maps.Copy(models[i], models[j])
			case 3:
				sets[i].Seal()
			case 4:
				sets[i].Reset()
				clear(models[i])
			default:
				if i != j {
					sets[j] = *sets[i].Clone()
					models[j] = maps.Clone(models[i])
				}
			}
			for k := range sets {
				var fresh Set
				fresh.Init(p, Hashed)
				for h := range models[k] {
					fresh.Insert(h)
				}
				if got, want := sets[k].Estimate(), fresh.Estimate(); got != want {
					t.Fatalf("step %d: set %d counts %d, a fresh set of its %d customers %d", step, k, got, len(models[k]), want)
				}
			}
		}
	})
}

// A steady stream of busy buckets (filled past the exact limit, sealed,
// replaced) takes its tables and sketches from the ones sealed before.
func TestSealRecyclesStorage(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items on purpose")
	}
	hs := distinct(7, 2*ExactLimit(DefaultPrecision))
	busyHour := func() {
		var u Set
		u.Init(DefaultPrecision, Hashed)
		for _, h := range hs {
			u.Insert(h)
		}
		u.Seal()
	}
	busyHour()
	// What sealing keeps, 3 KiB of packed registers and their header, is all
	// that is allocated; the table (grown in steps) and the byte-per-register
	// sketch come from the bucket sealed before. (A GC that empties the pools
	// costs one run a few allocations, which AllocsPerRun's average drops.)
	if n := testing.AllocsPerRun(50, busyHour); n > 2 {
		t.Errorf("a busy bucket's life allocates %.1f times, want at most 2", n)
	}
}
