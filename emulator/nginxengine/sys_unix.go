//go:build unix

package nginxengine

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// The process and file primitives the engine needs, on Unix. Elsewhere
// (sys_other.go) the engine refuses to run: nginx with lua-nginx-module
// runs on Unix, and there is no session or process group to contain it.

const oNoFollow = syscall.O_NOFOLLOW

var errNoEngine error // nil: the engine can run here

func newSessionAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// killProcessGroup sends SIGKILL to the process group pgid (ESRCH, a
// group already gone, is ignored).
func killProcessGroup(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }

// groupAlive reports whether any process of the group pgid still exists.
func groupAlive(pgid int) bool {
	err := syscall.Kill(-pgid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// processExists reports whether pid names a process (EPERM: one of
// another user's, which exists).
func processExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// fileOwner is the uid owning fi.
func fileOwner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// tryLock takes an exclusive flock on f without waiting.
func tryLock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

func unlock(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
