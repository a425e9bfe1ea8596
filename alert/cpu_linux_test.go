//go:build linux

package alert

import (
	"syscall"
	"time"
)

// threadCPU returns the CPU time the calling thread has used (user and
// system), for benchmarks on a shared machine: unlike the wall clock, it
// does not count the time other processes hold the core.
func threadCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
