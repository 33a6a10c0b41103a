//go:build !linux

package nginxengine

import "syscall"

// setParentDeath has no portable equivalent outside Linux.
func setParentDeath(*syscall.SysProcAttr) {}
