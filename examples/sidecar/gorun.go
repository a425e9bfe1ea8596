package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// parentPoll is how often a sidecar started by go run checks that the go
// command is still there.
const parentPoll = 250 * time.Millisecond

// stopWithGoRun returns ctx, also ended when the go command that started
// this process goes away, if it was go run that started it.
//
// go run builds the binary in a temporary folder and runs it as a child.
// A SIGINT from a terminal reaches both, but a SIGTERM sent to the go
// command alone (a process manager, kill PID) kills the go command and
// leaves the sidecar running, orphaned, with its final snapshot never
// written. Such a sidecar notices that its parent changed and shuts down
// as if it had been signalled. A binary started any other way is left
// alone: it must survive the shell that started it.
func stopWithGoRun(ctx context.Context, logger *slog.Logger) context.Context {
	exe, err := os.Executable()
	if err != nil || !builtByGoRun(exe) {
		return ctx
	}
	parent := os.Getppid()
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(parentPoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if os.Getppid() != parent {
					logger.Warn("the go command that ran this sidecar is gone; shutting down", "parent_pid", parent)
					cancel()
					return
				}
			}
		}
	}()
	return ctx
}

// builtByGoRun reports whether exe lies where go run puts the binaries it
// builds: $GOTMPDIR (or the temporary folder)/go-build*/b001/exe/name when
// it links one, or, since Go 1.24, the build cache's
// $GOCACHE/xx/<64 hex digits>-d/name when it runs one it linked before. The
// shapes are matched rather than the folders, which go env may move.
func builtByGoRun(exe string) bool {
	dir := filepath.Dir(exe)
	if goCacheEntry.MatchString(filepath.Base(dir)) && goCachePrefix.MatchString(filepath.Base(filepath.Dir(dir))) {
		return true
	}
	if filepath.Base(dir) != "exe" {
		return false
	}
	for d := filepath.Dir(dir); d != filepath.Dir(d); d = filepath.Dir(d) {
		if strings.HasPrefix(filepath.Base(d), "go-build") {
			return true
		}
	}
	return false
}

var (
	goCacheEntry  = regexp.MustCompile(`^[0-9a-f]{64}-d$`)
	goCachePrefix = regexp.MustCompile(`^[0-9a-f]{2}$`)
)
