//go:build !race

package uniques

const raceEnabled = false
