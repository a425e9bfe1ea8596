// Package bench holds cxscore's comparative benchmarks: the engine side by
// side with the alternatives a Go team would otherwise write or use. It is a
// module of its own so that the baselines' dependencies stay out of the
// library's go.mod.
package bench
