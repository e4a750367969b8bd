//go:build unix

package rest

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the test process has used (user and system), client and
// server together. Unlike elapsed time it hardly moves when other work competes for
// the machine's cores.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
