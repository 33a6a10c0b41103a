package nginxengine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// Runner is a real nginx binary as an emulator.Runner: the scenario's
// configuration file is copied, rewritten and run (Run), and its requests
// are sent to a path nginx routes to the scenario's location. It executes
// the configuration's Lua with the caller's rights (doc.go).
type Runner struct {
	Binary string
	// LNMVersion overrides the lua-nginx-module version read from the
	// binary (Debian's dynamic module does not print it).
	LNMVersion string
	// Timeout bounds each request (default 2s).
	Timeout time.Duration
}

// Run implements emulator.Runner.
func (r Runner) Run(ctx context.Context, sc emulator.Scenario) (*emulator.Result, error) {
	real, err := r.run(ctx, sc)
	if err != nil {
		return nil, err
	}
	res := real.Emulator()
	res.Binary = real.Binary
	return res, nil
}

func (r Runner) run(ctx context.Context, sc emulator.Scenario) (*Result, error) {
	if r.Binary == "" {
		return nil, fmt.Errorf("the real-nginx engine needs a binary (--nginx-binary)")
	}
	if sc.ConfigFile == "" {
		return nil, fmt.Errorf("the real-nginx engine needs a configuration on disk")
	}
	fsys, main, err := TreeFor(sc.ConfigFile)
	if err != nil {
		return nil, err
	}
	cfg := sc.Config
	reqs := append([]emulator.Request(nil), cfg.Requests...)
	var server string
	index, streamIndex := 0, 0
	if l := sc.Location; l != nil {
		path, err := RequestPath(l)
		if err != nil {
			return nil, err
		}
		for i := range reqs {
			reqs[i].Path = path
		}
		if srv := l.Server; srv != nil {
			server = plainName(srv)
		}
	} else if sc.Server != nil {
		// A request-path confirmation: the finding's own requests, sent
		// unchanged to the finding's server, picked by its place in the
		// configuration (the engine reads the same files) and reached
		// with the Host emulator.HostFor gives, which the requests
		// carry.
		if index = serverIndex(sc.Server); index == 0 {
			return nil, fmt.Errorf("the finding's server{} is not among its configuration's servers")
		}
		if sc.Server.Context.Kind == "stream" {
			// A stream server is picked by its place among the
			// stream servers, and probed by handshakes only.
			streamIndex, index = index, 0
		}
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	return Run(ctx, r.Binary, Scenario{ConfigFS: fsys, Main: main, Requests: reqs, DefaultPolicy: cfg.DefaultPolicy,
		Backends: cfg.Backends, Timeout: timeout, LNMVersion: r.LNMVersion, Server: server, ServerIndex: index, StreamIndex: streamIndex, Files: sc.Files, RequestHosts: sc.RequestHosts && sc.Server != nil && sc.Location == nil})
}

// serverIndex is srv's 1-based place among the servers of its context
// (http or stream), 0 if it is not there.
func serverIndex(srv *nginxconf.Server) int {
	if srv.Context == nil {
		return 0
	}
	for i, s := range srv.Context.Servers {
		if s == srv {
			return i + 1
		}
	}
	return 0
}

// plainName is a server_name that selects srv ("" when it has none:
// wildcards and regexes select nothing by themselves).
func plainName(srv *nginxconf.Server) string {
	for _, n := range srv.ServerNames {
		if n != "" && n != "_" && !strings.ContainsAny(n, "*~") {
			return n
		}
	}
	return ""
}

// RequestPath is a URI that nginx routes to l: its own path for prefix and
// exact locations. Regex and named locations cannot be targeted this way.
func RequestPath(l *nginxconf.Location) (string, error) {
	switch l.Modifier {
	case "", "=", "^~":
		if strings.HasPrefix(l.Path, "/") {
			return l.Path, nil
		}
	}
	return "", fmt.Errorf("cannot route a test request to location %s %s on real nginx", l.Modifier, l.Path)
}

// Both runs the scenario on a real nginx and on the emulator, and returns
// the real result with every difference recorded (a difference is a bug in
// the emulator).
type Both struct{ Real Runner }

// Run implements emulator.Runner.
func (b Both) Run(ctx context.Context, sc emulator.Scenario) (*emulator.Result, error) {
	real, err := b.Real.run(ctx, sc)
	if err != nil {
		return nil, err
	}
	if sc.Location == nil && sc.Server != nil {
		// The request path is not emulator.Run's: the caller, which
		// holds the site, compares with emulator.Serve.
		res := real.Emulator()
		res.Binary = real.Binary
		res.Engine = "nginx+emulator"
		return res, nil
	}
	emu, err := emulator.Run(ctx, sc.Config)
	if err != nil {
		return nil, err
	}
	res := real.Emulator()
	res.Binary = real.Binary
	res.Engine = "nginx+emulator"
	for _, d := range Compare(real, emu) {
		res.Differences = append(res.Differences, d.String())
	}
	return res, nil
}
