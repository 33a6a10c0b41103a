package rules

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
)

// A large configuration has many findings whose scenarios are the same
// emulation: every location that proxies to one upstream with the same
// settings gives NGX2002 the same Config, every rule on one upstream
// block the same balancer. runMemo runs each distinct scenario once per
// check and hands its Result to every finding that asks for it (issue 17
// item 4: "identical ones run once and share the result"). The judges
// only read a Result, so sharing it is safe; each finding still judges it
// with its own rule.

type runMemo struct {
	mu sync.Mutex
	m  map[[32]byte]*memoRun
	// runs counts the scenarios actually run (tests).
	runs int
}

type memoRun struct {
	done chan struct{}
	res  *emulator.Result
	err  error
}

// run returns the Result of the scenario keyed key, running it with f the
// first time. A caller whose context ends while another one runs the
// scenario gets the context's error.
func (m *runMemo) run(ctx context.Context, key [32]byte, f func() (*emulator.Result, error)) (*emulator.Result, error) {
	m.mu.Lock()
	if r, ok := m.m[key]; ok {
		m.mu.Unlock()
		select {
		case <-r.done:
			return r.res, r.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	r := &memoRun{done: make(chan struct{})}
	m.m[key] = r
	m.runs++
	m.mu.Unlock()
	r.res, r.err = f()
	close(r.done)
	return r.res, r.err
}

// scenarioKey is what a scenario's Result depends on: the worker every
// scenario of the http block shares (by identity: it holds the init code
// and modules, and one is built per configuration and run), and every
// field of the Config the emulator reads besides it, printed with %#v
// (maps print sorted). The files and path map come from the check's
// environment, the same for every scenario, and are left out: printing an
// fs.FS can print every file in it. A runner that is not ConfigOnly (the
// real-nginx engine runs the configuration on disk) also depends on the
// target location, which picks the request path.
func scenarioKey(worker *fromconf.Worker, cfg emulator.Config, runner emulator.Runner, sc emulator.Scenario) [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%p\x00%#v\x00%#v\x00%#v\x00%#v\x00%#v\x00%#v\x00%d\x00%d\x00%d\x00%v\x00%v\x00%#v\x00%#v\x00%#v\x00%#v",
		worker, cfg.Upstream, locationKey(cfg.Location), cfg.Profile, cfg.DefaultPolicy, cfg.Backends, cfg.Requests,
		cfg.MaxAttempts, cfg.Timeout, cfg.LuaTimeout, cfg.RestyCoreLoaded, cfg.Transport,
		cfg.Fixtures, cfg.Lua.Rewrite, cfg.Lua.Access, cfg.Lua.Vars)
	if _, ok := runner.(emulator.ConfigOnlyRunner); !ok {
		fmt.Fprintf(h, "\x00%T\x00%#v\x00%s", runner, runner, sc.ConfigFile)
		if l := sc.Location; l != nil {
			fmt.Fprintf(h, "\x00%s\x00%s\x00%p", l.Modifier, l.Path, l.Server)
		}
	}
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return k
}

// locationKey is l with its optional settings dereferenced: %#v prints a
// pointer's address, and every scenario has its own.
func locationKey(l emulator.Location) string {
	conn, buf := "<unset>", "<unset>"
	if l.ConnectionHeader != nil {
		conn = fmt.Sprintf("%q", *l.ConnectionHeader)
	}
	if l.RequestBuffering != nil {
		buf = fmt.Sprint(*l.RequestBuffering)
	}
	l.ConnectionHeader, l.RequestBuffering = nil, nil
	return fmt.Sprintf("%#v\x00%s\x00%s", l, conn, buf)
}
