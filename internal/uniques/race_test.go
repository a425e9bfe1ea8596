//go:build race

package uniques

// raceEnabled: the race detector makes sync.Pool drop a share of what is
// put into it on purpose, so pooled storage is not always reused.
const raceEnabled = true
