package nginxengine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// setGroup makes cmd the leader of a new session (and so of a new process
// group) and makes the context's cancellation kill that whole group, not
// only the leader: nginx with master_process on forks workers, and Lua may
// spawn processes (io.popen, os.execute), none of which may survive the
// run. The new session is also what lets sweepEscaped tell the run's
// descendants from other children of this process: every process nginx
// starts is outside ngxlint's own session, even one that calls setsid.
// (setpgid would fail after setsid, EPERM for a session leader, so only
// Setsid is set.)
func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = newSessionAttr()
	cmd.Env = nginxEnv(os.Environ())
	setParentDeath(cmd.SysProcAttr)
	cmd.Cancel = func() error {
		killGroup(cmd)
		return nil
	}
	cmd.WaitDelay = 2 * time.Second
}

// nginxEnv keeps of the caller's environment only what nginx and the
// dynamic loader need. The rest (a CI job's tokens among it) must not
// reach the configuration: init_by_lua runs while nginx's environ is
// still whole (ngx_set_environment trims it to TZ and the env directives
// only when the process cycle starts), and an `env NAME;` directive would
// hand any variable to the workers' Lua.
func nginxEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH", "TZ", "LANG", "LC_ALL", "LD_LIBRARY_PATH":
			out = append(out, kv)
		}
	}
	if out == nil {
		// A nil Env would mean "inherit everything".
		out = []string{}
	}
	return out
}

// killGroup sends SIGKILL to cmd's process group. It is safe to call on a
// command that never started or already exited (the group is then gone or
// empty and kill returns ESRCH, which is ignored).
func killGroup(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	// With Setsid the group id is the leader's pid.
	killProcessGroup(cmd.Process.Pid)
}

// proc is a running nginx. stop is idempotent and always kills the group.
type proc struct {
	cmd    *exec.Cmd
	done   chan struct{} // closed when Wait returns
	waitMu sync.Mutex
	err    error
	output *lockedBuffer
}

func startProc(ctx context.Context, dir, name string, args ...string) (*proc, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	setGroup(cmd)
	if err := startTracked(cmd); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{}), output: out}
	go func() {
		err := waitTracked(cmd)
		p.waitMu.Lock()
		p.err = err
		p.waitMu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// pid returns the process (and process group) id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended, and its wait error.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		p.waitMu.Lock()
		defer p.waitMu.Unlock()
		return true, p.err
	default:
		return false, nil
	}
}

// stop kills the process group and any descendant that left it, and waits
// for the leader to be reaped. The escaped descendants go first: one that
// holds nginx's stdout would otherwise keep Wait waiting for WaitDelay.
func (p *proc) stop() {
	killGroup(p.cmd)
	sweepEscaped()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		// SIGKILL cannot be ignored; this only guards against a zombie
		// that Wait never reports, and must not hang the caller.
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Bound what a chatty process can make us hold.
	if len(b.buf) < 1<<20 {
		b.buf = append(b.buf, p...)
	}
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// waitForFile polls until path exists, the process exits, or ctx ends.
func waitForFile(ctx context.Context, p *proc, path string) error {
	delay := time.Millisecond
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if done, err := p.exited(); done {
			return fmt.Errorf("nginx exited during startup: %v", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nginx did not start: %w", ctx.Err())
		case <-p.done:
		case <-time.After(delay):
		}
		if delay < 20*time.Millisecond {
			delay *= 2
		}
	}
}
