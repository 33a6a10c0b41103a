//go:build !unix

package nginxengine

import (
	"errors"
	"io/fs"
	"os"
	"runtime"
	"syscall"
)

// Outside Unix the real-nginx engine does not run (sys_unix.go): these
// keep the package building, and errNoEngine is what Probe and Run say.

const oNoFollow = 0

var errNoEngine = errors.New("the real-nginx engine runs on Unix only, not on " + runtime.GOOS + " (use the built-in emulator)")

func newSessionAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }

func killProcessGroup(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

func groupAlive(int) bool { return false }

// processExists cannot tell here: say yes, so no run directory is removed
// that might still be in use.
func processExists(int) bool { return true }

func fileOwner(fs.FileInfo) (int, bool) { return 0, false }

func tryLock(*os.File) error { return nil }

func unlock(*os.File) {}
