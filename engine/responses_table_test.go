package engine

import (
	"testing"

	"pgregory.net/rapid"
)

// TestResponseTableMatchesMap holds a shard's table to a map: ids found,
// missed and blanked (as expire does) through growth and rebuilds. Ids are
// drawn from few distinct hash bits at times, so that probes run long and
// wrap around the table's end.
func TestResponseTableMatchesMap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var sh respShard
		model := map[uint64]uint64{} // stored id bits -> version
		mask := rapid.SampledFrom([]uint64{^uint64(0), 0xff00_0000_0000_0000, 0x0300_0000_0000_0f00}).Draw(t, "mask")
		id := func(label string) uint64 {
			return storedID(rapid.Uint64().Draw(t, label)) & mask
		}
		for step := range rapid.IntRange(1, 300).Draw(t, "steps") {
			switch rapid.IntRange(0, 9).Draw(t, "op") {
			case 0: // blank some entries and rebuild, as expire does
				gone := 0
				for i := range sh.tab {
					if c := &sh.tab[i]; c.id != 0 && c.version%3 == 0 {
						delete(model, c.id&^0xff)
						c.id = 0
						gone++
					}
				}
				sh.n -= gone
				sh.resize(rebuiltSize(sh.n))
			default:
				k := id("id")
				if _, held := model[k]; held {
					continue
				}
				sh.insert(heldResponse{id: k | 1<<4, version: uint64(step)})
				model[k] = uint64(step)
			}
			if sh.n != len(model) {
				t.Fatalf("%d entries, want %d", sh.n, len(model))
			}
			for k, v := range model {
				if i := sh.find(k); i < 0 || sh.tab[i].version != v {
					t.Fatalf("id %#x: found at %d, want version %d", k, i, v)
				}
			}
			if k := id("absent"); sh.find(k) >= 0 {
				if _, held := model[k]; !held {
					t.Fatalf("id %#x found, not held", k)
				}
			}
		}
	})
}
