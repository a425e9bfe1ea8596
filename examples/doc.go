// Package examples holds programs built on cxscore: the HTTP sidecar and
// small embedding examples. It is a module of its own so that their
// dependencies stay out of the library's go.mod.
package examples
