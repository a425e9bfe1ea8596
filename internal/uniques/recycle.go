package uniques

import (
	"math/bits"
	"sync"
	"unsafe"
)

// Recycled storage. A busy coarse bucket (an hour that crosses the exact
// limit) grows its table to full size, promotes into a dense sketch, and is
// sealed when its hour ends: the table and the byte-per-register sketch are
// dropped then, 8 KiB at the default precision for every busy key every
// hour. They go back here instead and the next hour's bucket takes them, so
// a steady stream of events allocates next to nothing and the collector
// has little to do. Only storage that its set drops and no one else
// references is recycled: a Set's storage is never shared (Clone copies,
// and a Set must not be copied by value once used).

// tables holds Hashed tables by size: tables[k] those of 2^k slots. A pool
// entry is a pointer to a table's first slot (pointer-shaped, so Put does
// not allocate), the table's length is its class.
var tables [bits.UintSize]sync.Pool

// newTable returns an empty table of n slots, a power of two.
func newTable(n int) []uint32 {
	if p, ok := tables[bits.TrailingZeros(uint(n))].Get().(*uint32); ok {
		t := unsafe.Slice(p, n)
		clear(t)
		return t
	}
	return make([]uint32, n)
}

// recycleTable gives back a table its set no longer uses.
func recycleTable(t []uint32) {
	if n := len(t); n >= minTable && n&(n-1) == 0 && cap(t) == n {
		tables[bits.TrailingZeros(uint(n))].Put(&t[0])
	}
}

// denseSketches holds byte-per-register sketches by precision.
var denseSketches [MaxPrecision + 1]sync.Pool

// newDense returns an empty byte-per-register sketch of precision p.
func newDense(p uint8) *registers {
	if rs, ok := denseSketches[p].Get().(*registers); ok {
		rs.reset()
		return rs
	}
	return &registers{r: make([]uint8, 1<<p)}
}

// recycleDense gives back a sketch its set no longer uses; packed ones are
// left to the collector.
func recycleDense(rs *registers, p uint8) {
	if rs != nil && !rs.packed(p) {
		denseSketches[p].Put(rs)
	}
}
