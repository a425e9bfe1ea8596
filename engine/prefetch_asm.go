//go:build amd64 || arm64

package engine

// prefetch asks the CPU to bring the cache line at addr closer (PREFETCHT0,
// PRFM PLDL1KEEP). It never faults, whatever addr is, and changes nothing
// a program can observe but time.
//
//go:noescape
func prefetch(addr uintptr)
