package chtest

import "syscall"

// sysProcAttr has the server killed when the test binary dies before
// Close (a panic, a timeout, a kill), so that no server outlives it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
