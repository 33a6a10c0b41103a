package nginxengine

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// prctl options from linux/prctl.h (Linux 3.4). The syscall package has
// no names for them, and golang.org/x/sys, which has, is not a dependency
// of this module for two constants.
const (
	prSetChildSubreaper = 36
	prGetChildSubreaper = 37
)

// setSubreaper turns the child subreaper attribute on and reports whether
// it was on already (then it is not ours to turn off). It needs no
// privilege.
func setSubreaper() (was bool, err error) {
	var cur int32
	if _, _, e := syscall.Syscall(syscall.SYS_PRCTL, prGetChildSubreaper, uintptr(unsafe.Pointer(&cur)), 0); e != 0 {
		return false, os.NewSyscallError("prctl(PR_GET_CHILD_SUBREAPER)", e)
	}
	if cur != 0 {
		return true, nil
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
		return false, os.NewSyscallError("prctl(PR_SET_CHILD_SUBREAPER)", e)
	}
	return false, nil
}

// clearSubreaper turns the attribute off: later orphans of unrelated
// children go to init again, as they did before the first run.
func clearSubreaper() {
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 0, 0)
}

// procStat is what /proc/<pid>/stat says of a process (proc(5)).
type procStat struct {
	state           byte
	ppid, pgrp, sid int
}

func readStat(pid string) (procStat, bool) {
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return procStat{}, false
	}
	// The command name is in parentheses and may hold spaces and ')':
	// the fields start after the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 4 || len(f[0]) != 1 {
		return procStat{}, false
	}
	var st procStat
	st.state = f[0][0]
	var e1, e2, e3 error
	st.ppid, e1 = strconv.Atoi(f[1])
	st.pgrp, e2 = strconv.Atoi(f[2])
	st.sid, e3 = strconv.Atoi(f[3])
	return st, e1 == nil && e2 == nil && e3 == nil
}

// killEscapedOnce sends SIGKILL to, or reaps, each process of a run that
// was reparented to us (see sweepEscaped), and returns how many there
// were. The caller holds reaper.mu.
func killEscapedOnce(direct map[int]bool) int {
	self := os.Getpid()
	me, ok := readStat("self")
	if !ok {
		return 0
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self || direct[pid] {
			continue
		}
		st, ok := readStat(e.Name())
		if !ok || st.ppid != self || st.sid == me.sid {
			continue
		}
		n++
		if st.state == 'Z' {
			// Killed earlier (or exited): reap it, or it stays a zombie
			// of ours. WNOHANG: only this pid, never another child's
			// status, and never a wait on one still dying.
			var ws syscall.WaitStatus
			if got, _ := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); got == pid {
				n--
			}
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return n
}
