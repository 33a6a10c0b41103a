package emulator

import (
	"context"
	"errors"
	"io/fs"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// Runner runs one scenario and reports what it observed. The emulator
// itself is Builtin; the real-nginx engine (emulator/nginxengine) is
// another, which runs the configuration on disk with a real binary. Callers
// (rules' confirmations, the CLI) are handed one and never choose it
// themselves: which program runs is the caller's decision
// (docs/security.md), and code that must build where no nginx can run
// (js/wasm) only ever sees this interface.
type Runner interface {
	Run(ctx context.Context, sc Scenario) (*Result, error)
}

// Scenario is a Config with, for runners that run the configuration
// itself, where it lives and which location its requests must reach.
type Scenario struct {
	Config Config
	// ConfigFile is the main configuration file on disk ("" when the
	// configuration is not on disk: only Builtin can run it).
	ConfigFile string
	// Location is the target location: a real nginx must be sent requests
	// that its location matching routes there.
	Location *nginxconf.Location
	// Server, with Location nil, is the http server{} of a request-path
	// confirmation: its requests are a finding's crafted ones, which a
	// real nginx is sent as they are (path, query, headers) on that
	// server's listener, and which no Config-level emulation answers
	// (the caller compares with Serve itself).
	Server *nginxconf.Server
	// Files is a synthetic file tree the requests read (an alias or root
	// finding's directory and a file outside it), with paths relative to
	// "/" ("etc/passwd"). A real-nginx runner writes it into its own
	// per-run directory and points every root and alias there; it answers
	// ErrNotReplayable for a configuration it cannot confine to it.
	Files fs.FS
	// RequestHosts, for a request-path confirmation, asks a real-nginx
	// runner to accept a proxy_pass whose host the requests choose (an
	// SSRF finding), which it does only where it can prove the host is
	// never an address, with a DNS stub that records the names nginx
	// asks for (RequestResult.Resolved) and resolves none.
	RequestHosts bool
}

// ErrNotReplayable wraps a runner's refusal of a scenario it cannot run
// safely as given (a synthetic file tree the configuration could read
// past): the finding is then not confirmable there, which is not an
// error of the run.
var ErrNotReplayable = errors.New("not replayable")

// Builtin is the emulator as a Runner.
var Builtin Runner = builtinRunner{}

type builtinRunner struct{}

// ConfigOnlyRunner is implemented by runners whose Result depends on
// Scenario.Config alone, not on where the configuration lives or which
// location is targeted. Callers may then share one Result among scenarios
// with equal Configs (rules run each distinct scenario of a check once).
type ConfigOnlyRunner interface {
	Runner
	ConfigOnly()
}

// ConfigOnly marks the emulator: it reads only the Config.
func (builtinRunner) ConfigOnly() {}

func (builtinRunner) Run(ctx context.Context, sc Scenario) (*Result, error) {
	return Run(ctx, sc.Config)
}
