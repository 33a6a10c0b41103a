package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
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

Backend policies: ok, first-only, one-per-conn, close, reset, hang, status:NNN.

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
	requests := fs.String("requests", "GET /, GET /", `client requests, sent in order, one connection each: "GET /r1,GET /r2,POST /r3"`)
	server := fs.String("server", "", "server_name or listen address of the server to use")
	upstream := fs.String("upstream", "", "upstream block to exercise")
	backends := &backendFlag{def: "ok"}
	fs.Var(backends, "backend", "backend policy for every peer (POLICY) or one peer (ADDR=POLICY); repeatable")
	maxAttempts := fs.Int("max-attempts", 1000, "upstream attempts per client request before it is reported unbounded")
	timeout := fs.Duration("timeout", 10*time.Second, "time limit per client request")
	format := fs.String("format", "text", "output format: text or json")
	prefix := fs.String("prefix", "", "nginx prefix for relative *_by_lua_file paths")
	listProfiles := fs.Bool("list-profiles", false, "list the version profiles the emulator knows and exit")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
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
	ctx := context.Background()
	profile, _, err := vf.profile(ctx)
	if err != nil {
		return err
	}
	path, err := configPath(pos[0])
	if err != nil {
		return err
	}
	conf := nginxconf.LoadFile(path, nginxconf.Options{Prefix: *prefix})
	if len(conf.Errors) > 0 {
		for _, e := range conf.Errors {
			fmt.Fprintf(c.Stderr, "%s\n", e)
		}
		return &exitError{ExitUsage}
	}
	target, err := fromconf.Find(nginxconf.BuildModel(conf), *upstream, *server)
	if err != nil {
		return usagef("%s: %v", path, err)
	}
	cfg, err := fromconf.Build(target)
	if err != nil {
		return usagef("%v", err)
	}
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
	cfg.MaxAttempts, cfg.Timeout = *maxAttempts, *timeout
	res, err := emulator.Run(ctx, cfg)
	if err != nil {
		return usagef("emulate: %v", err)
	}
	if *format == "json" {
		out, err := res.JSON()
		if err != nil {
			return err
		}
		c.Stdout.Write(out)
		fmt.Fprintln(c.Stdout)
		return nil
	}
	fmt.Fprintf(c.Stdout, "upstream %q, location %s %s (%s)\n", target.Upstream.Name, target.Location.Modifier, target.Location.Path, target.Location.Directive.Pos)
	return res.WriteText(c.Stdout)
}
