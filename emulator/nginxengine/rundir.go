package nginxengine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// runParent returns the directory that holds every run's private
// directory for this user: os.TempDir()/ngxlint-<uid>, mode 0700. A
// directory of that name that is a symlink, not a directory, or owned by
// another user is refused: in a shared /tmp another user could have made
// it, to read the copied configuration or to have us write through it.
func runParent() (string, error) {
	uid := os.Getuid()
	dir := filepath.Join(os.TempDir(), "ngxlint-"+strconv.Itoa(uid))
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	if fi.Mode()&fs.ModeSymlink != 0 || !fi.IsDir() {
		return "", fmt.Errorf("refusing %s for the engine's temporary files: not a directory (a symlink?)", dir)
	}
	if owner, ok := fileOwner(fi); ok && owner != uid {
		return "", fmt.Errorf("refusing %s for the engine's temporary files: owned by uid %d, not %d", dir, owner, uid)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// newRunDir removes the run directories that a dead ngxlint left behind
// (killed with SIGKILL, no deferred removal ran) and makes this run's:
// <parent>/run-<pid>-<random>. A directory is a leftover when its pid does
// not exist and its lock is free: the lock (flock on run.lock, held open
// for the whole run and released by the kernel when the holder dies)
// covers another ngxlint whose pid this process cannot see, in another
// pid namespace sharing the same /tmp. The returned release closes the
// lock; the caller removes the directory first.
func newRunDir() (dir string, release func(), err error) {
	parent, err := runParent()
	if err != nil {
		return "", nil, err
	}
	removeLeftovers(parent)
	dir, err = os.MkdirTemp(parent, fmt.Sprintf("run-%d-", os.Getpid()))
	if err != nil {
		return "", nil, err
	}
	// O_CLOEXEC (os.OpenFile's default): nginx must not inherit the
	// lock, or an escaped child would keep a dead run's directory alive.
	lock, err := os.OpenFile(filepath.Join(dir, "run.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	if err := tryLock(lock); err != nil {
		lock.Close()
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return dir, func() { lock.Close() }, nil
}

// removeLeftovers removes parent's run directories whose owner is gone.
// Errors are ignored: a leftover that cannot be removed now is tried again
// by the next run, and must not stop this one.
func removeLeftovers(parent string) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	self := os.Getpid()
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), "run-")
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == self || processExists(pid) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		if lockHeld(filepath.Join(dir, "run.lock")) {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

// lockHeld reports whether a live process holds the run lock. A missing
// lock file (a run killed before it made one) is not held.
func lockHeld(p string) bool {
	f, err := os.OpenFile(p, os.O_RDWR|oNoFollow, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := tryLock(f); err != nil {
		return true
	}
	unlock(f)
	return false
}
