//go:build unix

package luacheck

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) the test process has used.
// Benchmarks report it per line next to wall time, which on a shared
// machine also counts the time spent waiting for a processor.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
