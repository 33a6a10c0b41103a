package nginxengine

import (
	"os/exec"
	"sync"
	"time"
)

// The registry of the processes this package started, and the count of
// runs under way. They are process-wide because what they guard is: the
// child subreaper attribute of Linux belongs to the whole process (it is
// kept in the kernel's signal_struct, shared by all threads), so every
// orphan of every run is reparented to the same process, and one run's
// sweep must not kill another run's nginx, which is also our child and
// also outside our session.
var reaper struct {
	mu sync.Mutex
	// direct holds the pids of the children started through
	// startTracked that have not been reaped yet.
	direct map[int]bool
	// runs counts the contained runs under way; the subreaper attribute
	// is set while it is positive.
	runs int
	// set is whether this package turned the attribute on (and so must
	// turn it off again); on is whether it is on for the current runs.
	set, on bool
}

// startTracked starts cmd and records it as a direct child before any
// sweep can look at the process table: the lock is held across the fork,
// so a sweep never sees a new nginx that is not yet recorded.
func startTracked(cmd *exec.Cmd) error {
	reaper.mu.Lock()
	defer reaper.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	if reaper.direct == nil {
		reaper.direct = map[int]bool{}
	}
	reaper.direct[cmd.Process.Pid] = true
	return nil
}

// waitTracked waits for cmd and forgets it once it is reaped.
func waitTracked(cmd *exec.Cmd) error {
	err := cmd.Wait()
	reaper.mu.Lock()
	delete(reaper.direct, cmd.Process.Pid)
	reaper.mu.Unlock()
	return err
}

// beginContainment is called before a run starts its first nginx process.
// On Linux it makes this process a child subreaper, so that a process
// that escapes nginx's session (setsid, a double fork) is reparented to
// us when its parent dies, instead of to init, where nothing could
// attribute it to the run. It returns a note when that is not possible;
// the run then relies on the process-group kill and Pdeathsig alone.
func beginContainment() (note string) {
	reaper.mu.Lock()
	defer reaper.mu.Unlock()
	reaper.runs++
	if reaper.runs > 1 {
		return ""
	}
	was, err := setSubreaper()
	if err != nil {
		reaper.on = false
		return "processes that leave nginx's session cannot be tracked: " + err.Error()
	}
	reaper.on, reaper.set = true, !was
	return ""
}

// endContainment kills whatever escaped and, after the last run, gives
// the subreaper attribute back. It returns the number of processes that
// could not be killed.
func endContainment() int {
	left := sweepEscaped()
	reaper.mu.Lock()
	defer reaper.mu.Unlock()
	reaper.runs--
	if reaper.runs == 0 && reaper.on {
		if reaper.set {
			clearSubreaper()
		}
		reaper.on, reaper.set = false, false
	}
	return left
}

// sweepEscaped kills, and reaps, every process reparented to this one
// that belongs to an nginx run: a child of ours that we did not start
// (startTracked) and that is not in ngxlint's own session. Only a
// descendant of a process that left our session can be such a child, and
// the only processes this package starts leave it (setGroup); so each one
// descends from an nginx of some run. Killing one orphans its own
// children, which are reparented to us in turn: the sweep repeats until
// none is left, a bounded number of times (a fork bomb could outpace it;
// what is left is reported).
func sweepEscaped() int {
	reaper.mu.Lock()
	on := reaper.on
	reaper.mu.Unlock()
	if !on {
		return 0
	}
	delay := time.Millisecond
	left := 0
	for round := 0; round < 200; round++ {
		reaper.mu.Lock()
		left = killEscapedOnce(reaper.direct)
		reaper.mu.Unlock()
		if left == 0 {
			return 0
		}
		time.Sleep(delay)
		if delay < 10*time.Millisecond {
			delay *= 2
		}
	}
	return left
}
