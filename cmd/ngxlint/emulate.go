package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/emulator/nginxengine"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

const emulateUsage = `Usage: ngxlint emulate [flags] CONFIG

Runs the request path of one location (the first that proxies to an upstream
block, or --server/--upstream) through the built-in emulator of nginx's
upstream machinery, against loopback backends that misbehave as --backend
says, and prints what happened per client request. Nothing leaves 127.0.0.1:
every peer address in the config or in set_current_peer is mapped to an
emulated backend.

A stream{} server is chosen with --server PORT (its listen port), or is the
target when the configuration has no http block: each request is then one TCP
session through the stream proxy, retried on connect failures only.

Backend policies: ok, first-only, one-per-conn, close, reset, hang, status:NNN,
refused, accept-close, echo (200 with the request head it read as the body;
a request header X-Ngxlint-Reflect-NAME comes back as response header NAME).

Flags:
`

// backendFlag collects repeated --backend POLICY / --backend ADDR=POLICY.
type backendFlag struct {
	def  string
	each map[string]string
}

func (b *backendFlag) String() string { return b.def }

func (b *backendFlag) Set(s string) error {
	if addr, pol, ok := strings.Cut(s, "="); ok {
		if b.each == nil {
			b.each = map[string]string{}
		}
		b.each[addr] = pol
		return nil
	}
	b.def = s
	return nil
}

func (c *Command) emulate(args []string) error {
	var vf versionFlags
	fs := c.newFlagSet("emulate", emulateUsage)
	vf.register(fs)
	requests := fs.String("requests", "GET /, GET /", `client requests, sent in order, one connection each, +IDLE before one waits that long first: "GET /r1, +300ms GET /r2, POST /r3"`)
	gap := fs.Duration("gap", 0, "idle time before every request after the first that gives no +IDLE of its own (emulated: free with --engine emulator)")
	server := fs.String("server", "", "server_name or listen address of the server to use")
	upstream := fs.String("upstream", "", "upstream block to exercise")
	backends := &backendFlag{def: "ok"}
	fs.Var(backends, "backend", "backend policy for every peer (POLICY) or one peer (ADDR=POLICY); repeatable")
	maxAttempts := fs.Int("max-attempts", 1000, "upstream attempts per client request before it is reported unbounded")
	timeout := fs.Duration("timeout", 10*time.Second, "time limit per client request")
	format := fs.String("format", "text", "output format: text or json")
	prefix := fs.String("prefix", "", "nginx prefix for relative *_by_lua_file paths")
	var limits nginxconf.Options
	var allow allowFlag
	registerLimitFlags(fs, &limits, &allow)
	var pf projectFlags
	pf.register(fs)
	var fxFlags fixtureFlags
	fxFlags.register(fs)
	listProfiles := fs.Bool("list-profiles", false, "list the version profiles the emulator knows and exit")
	transport := fs.String("transport", "memory", "how the emulator connects to its backends: memory (in process, no socket) or tcp (loopback)")
	engine := fs.String("engine", "emulator", "emulator (built in, sandboxed), nginx (run the real binary given by --nginx-binary on a rewritten copy of the config: it EXECUTES the configuration's Lua with your rights; trusted configurations only, docs/security.md), or both (report differences as emulator bugs)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *format != "json" {
		// The trace prints what the user's Lua logged and raised.
		defer c.escapeStdout()()
	}
	if *listProfiles {
		fmt.Fprintf(c.Stdout, "%-12s %-8s %-18s %-14s %s\n", "openresty", "nginx", "lua-nginx-module", "lua-resty-core", "notes")
		for _, b := range versions.Bundles() {
			fmt.Fprintf(c.Stdout, "%-12s %-8s %-18s %-14s %s\n", b.OpenResty, b.Nginx, b.LNM, b.Core, b.Note)
		}
		fmt.Fprintln(c.Stdout, "\nAny nginx / lua-nginx-module pair can also be given with --nginx-version and --lua-nginx-module-version (stock nginx: no OpenResty patches).")
		return nil
	}
	if len(pos) != 1 {
		return usagef("emulate takes one CONFIG")
	}
	if *format != "text" && *format != "json" {
		return usagef("unknown --format %q (want text or json)", *format)
	}
	if *maxAttempts <= 0 || *timeout <= 0 {
		return usagef("--max-attempts and --timeout must be positive")
	}
	switch *engine {
	case "emulator":
	case "nginx", "both":
		if vf.binary == "" {
			return usagef("--engine %s needs --nginx-binary PATH", *engine)
		}
	default:
		return usagef("unknown --engine %q (want emulator, nginx or both)", *engine)
	}
	ctx := context.Background()
	fc, err := pf.apply(fs, pos[0], &vf)
	if err != nil {
		return err
	}
	profile, notes, err := vf.profile(ctx)
	if err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintln(c.Stderr, "ngxlint: note:", n)
	}
	path, conf, tree, err := c.loadWithoutErrors(pos[0], *prefix, limits, allow, fc)
	if err != nil {
		return err
	}
	target, err := fromconf.Find(nginxconf.BuildModel(conf), *upstream, *server)
	if err != nil {
		return usagef("%s: %v", path, err)
	}
	target.Files = tree
	if fc != nil {
		target.PathMap = fc.nginxPathMap()
	}
	cfg, err := fromconf.Build(target)
	if err != nil {
		return usagef("%v", err)
	}
	fx, err := fixturesFrom(fc, tree)
	if err != nil {
		return err
	}
	if err := fxFlags.apply(&fx, tree); err != nil {
		return err
	}
	cfg.Fixtures = emulatorFixtures(fx)
	cfg.Profile = profile.Concrete()
	if cfg.DefaultPolicy, err = emulator.ParsePolicy(backends.def); err != nil {
		return usagef("--backend: %v", err)
	}
	for addr, pol := range backends.each {
		p, err := emulator.ParsePolicy(pol)
		if err != nil {
			return usagef("--backend %s: %v", addr, err)
		}
		if cfg.Backends == nil {
			cfg.Backends = map[string]emulator.Policy{}
		}
		cfg.Backends[addr] = p
	}
	if cfg.Requests, err = emulator.ParseRequests(*requests); err != nil {
		return usagef("--requests: %v", err)
	}
	if *gap < 0 || *gap > emulator.MaxIdle {
		return usagef("--gap %s: want a duration from 0 to %s", *gap, emulator.MaxIdle)
	}
	cfg.Requests = emulator.WithGap(cfg.Requests, *gap)
	cfg.MaxAttempts, cfg.Timeout = *maxAttempts, *timeout
	if cfg.Transport, err = emulator.ParseTransport(*transport); err != nil {
		return usagef("--transport: %v", err)
	}
	if *engine != "emulator" {
		if target.Server != nil {
			return usagef("--engine %s: the real-nginx engine runs http locations only; stream servers run in the emulator (differential tests: emulator/nginxengine/stream_diff_test.go)", *engine)
		}
		return c.emulateReal(ctx, *engine, vf, path, target, cfg, *format)
	}
	res, err := emulator.Run(ctx, cfg)
	if err != nil {
		return usagef("emulate: %v", err)
	}
	// The user's Lua failing on every request means nothing about nginx
	// was observed: a distinct exit code, so scripts do not read it as a
	// result.
	var failed error
	switch {
	case res.BalancerFailedEverywhere():
		failed = &exitError{ExitLuaFailed}
		fmt.Fprintln(c.Stderr, "ngxlint: the configuration's Lua failed on every request in the emulator: nothing it observed is nginx's behaviour (exit 4; the trace says why and what would let it run)")
	case len(res.ExternalDeps) > 0 && !reachedUpstream(res):
		// The Lua needed the world outside (a registry, the
		// environment) and without it no request reached a peer.
		failed = &exitError{ExitLuaFailed}
		fmt.Fprintln(c.Stderr, "ngxlint: the configuration's Lua reaches outside the configuration and no request reached an upstream peer without it: nothing observed is nginx's behaviour (exit 4; fixtures can stand in for what it needs)")
	}
	if *format == "json" {
		out, err := res.JSON()
		if err != nil {
			return err
		}
		c.Stdout.Write(out)
		fmt.Fprintln(c.Stdout)
		return failed
	}
	if s := target.Server; s != nil {
		fmt.Fprintf(c.Stdout, "stream upstream %q, server listening on %s (%s)\n", target.Upstream.Name, s.ListenPort(), s.Directive.Pos)
	} else {
		fmt.Fprintf(c.Stdout, "upstream %q, location %s %s (%s)\n", target.Upstream.Name, target.Location.Modifier, target.Location.Path, target.Location.Directive.Pos)
	}
	if err := res.WriteText(c.Stdout); err != nil {
		return err
	}
	return failed
}

// fixtureFlags are the emulate: fixtures of .ngxlint.yaml as flags; they
// add to (and override) the file's.
type fixtureFlags struct {
	dicts, env, vars, modules kvFlag
}

func (f *fixtureFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.dicts, "shared-dict", "fill a lua_shared_dict: DICT:KEY=VALUE (repeatable)")
	fs.Var(&f.env, "env", "what os.getenv returns in the emulated Lua: NAME=VALUE (repeatable; the real environment is never visible)")
	fs.Var(&f.vars, "var", "set an nginx variable on every request: NAME=VALUE (repeatable)")
	fs.Var(&f.modules, "module", "replace a Lua module with a stub file of the checked tree: NAME=FILE (repeatable)")
}

func (f *fixtureFlags) apply(fx *analyzer.Fixtures, tree fs.FS) error {
	for _, kv := range f.dicts {
		dk, v, _ := strings.Cut(kv, "=")
		dict, key, ok := strings.Cut(dk, ":")
		if !ok || dict == "" || key == "" {
			return usagef("--shared-dict: want DICT:KEY=VALUE, got %q", kv)
		}
		if fx.SharedDicts == nil {
			fx.SharedDicts = map[string]map[string]string{}
		}
		if fx.SharedDicts[dict] == nil {
			fx.SharedDicts[dict] = map[string]string{}
		}
		fx.SharedDicts[dict][key] = v
	}
	set := func(dst *map[string]string, list kvFlag) {
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			if *dst == nil {
				*dst = map[string]string{}
			}
			(*dst)[k] = v
		}
	}
	set(&fx.Env, f.env)
	set(&fx.Vars, f.vars)
	for _, kv := range f.modules {
		name, file, _ := strings.Cut(kv, "=")
		abs, err := filepath.Abs(file)
		if err != nil {
			return err
		}
		data, err := fs.ReadFile(tree, strings.TrimPrefix(filepath.ToSlash(abs), "/"))
		if err != nil {
			return usagef("--module %s: %s cannot be read inside the checked tree", name, file)
		}
		if fx.Modules == nil {
			fx.Modules = map[string]analyzer.FixtureModule{}
		}
		fx.Modules[name] = analyzer.FixtureModule{File: displayPath(abs), Code: string(data)}
	}
	return nil
}

// kvFlag collects repeated NAME=VALUE flags.
type kvFlag []string

func (k *kvFlag) String() string { return strings.Join(*k, ",") }

func (k *kvFlag) Set(v string) error {
	name, _, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", v)
	}
	*k = append(*k, v)
	return nil
}

// emulatorFixtures converts the engine's fixtures for emulator.Config.
func emulatorFixtures(f analyzer.Fixtures) emulator.Fixtures {
	out := emulator.Fixtures{SharedDicts: f.SharedDicts, Env: f.Env, Vars: f.Vars}
	for name, m := range f.Modules {
		if out.Modules == nil {
			out.Modules = map[string]emulator.LuaSource{}
		}
		out.Modules[name] = emulator.LuaSource{Code: m.Code, File: m.File, Line: 1, Column: 1, Name: name}
	}
	return out
}

// emulateReal runs the scenario on a real nginx (engine "nginx"), or on
// both engines and compares them (engine "both": a difference is a bug in
// the emulator, reported with exit code 1).
func (c *Command) emulateReal(ctx context.Context, engine string, vf versionFlags, path string, target fromconf.Target, cfg emulator.Config, format string) error {
	fsys, main, err := nginxengine.TreeFor(path)
	if err != nil {
		return usagef("%v", err)
	}
	sc := nginxengine.Scenario{ConfigFS: fsys, Main: main, Requests: cfg.Requests, Backends: cfg.Backends,
		DefaultPolicy: cfg.DefaultPolicy, Timeout: cfg.Timeout, LNMVersion: vf.lnm}
	if srv := target.Location.Server; srv != nil && len(srv.ServerNames) > 0 && srv.ServerNames[0] != "_" {
		sc.Server = srv.ServerNames[0]
	}
	real, err := nginxengine.Run(ctx, vf.binary, sc)
	if err != nil {
		return usagef("emulate on %s: %v", vf.binary, err)
	}
	var emu *emulator.Result
	var diffs []nginxengine.Difference
	if engine == "both" {
		// Compare against the profile the binary reports, not the flags.
		if p, perr := versions.Resolve(real.Profile.Nginx, real.Profile.LuaNginxModule, real.Profile.OpenResty); perr == nil {
			cfg.Profile = p.Concrete()
		}
		if emu, err = emulator.Run(ctx, cfg); err != nil {
			return usagef("emulate: %v", err)
		}
		diffs = nginxengine.Compare(real, emu)
	}
	if format == "json" {
		doc := any(real)
		if engine == "both" {
			ds := make([]string, 0, len(diffs))
			for _, d := range diffs {
				ds = append(ds, d.String())
			}
			doc = map[string]any{"nginx": real, "emulator": emu, "differences": ds}
		}
		enc := json.NewEncoder(c.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return err
		}
	} else {
		if err := real.WriteText(c.Stdout); err != nil {
			return err
		}
		if engine == "both" {
			fmt.Fprintln(c.Stdout, "\n--- the same scenario in the emulator:")
			if err := emu.WriteText(c.Stdout); err != nil {
				return err
			}
			if len(diffs) == 0 {
				fmt.Fprintln(c.Stdout, "\nnginx and the emulator agree.")
			}
			for _, d := range diffs {
				fmt.Fprintf(c.Stdout, "\nEMULATOR DIFFERS FROM NGINX (an emulator bug): %s\n", d)
			}
		}
	}
	if len(diffs) > 0 {
		return &exitError{ExitFindings}
	}
	return nil
}

// reachedUpstream reports whether any request of res reached a backend.
func reachedUpstream(res *emulator.Result) bool {
	for _, q := range res.Requests {
		if q.UpstreamConnections > 0 || q.UpstreamRequests > 0 {
			return true
		}
	}
	return false
}
