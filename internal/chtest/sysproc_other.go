//go:build !linux

package chtest

import "syscall"

// sysProcAttr: only Linux has a parent-death signal; elsewhere a test
// binary that dies before Close leaves its server running.
func sysProcAttr() *syscall.SysProcAttr { return nil }
