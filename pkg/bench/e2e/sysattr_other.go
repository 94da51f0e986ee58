//go:build !linux

package e2e

import "syscall"

// sysProcAttr: only Linux has the /proc figures this benchmark reads; on
// other systems children start with the defaults.
func sysProcAttr() *syscall.SysProcAttr { return nil }
