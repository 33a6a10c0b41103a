// Package ngxlint is the library form of the ngxlint linter: it loads an
// nginx / OpenResty configuration tree from any fs.FS, runs the rules over
// it and the Lua it carries, optionally confirms the findings by running
// them (in the built-in emulator, or in an engine the caller passes in),
// and returns the report that `ngxlint check --format json` prints.
//
// It is thin on purpose: the work is done by the packages below it
// (nginxconf loads, luacheck analyses Lua, rules judge, emulator confirms);
// this package wires them, as cmd/ngxlint does for the command line. Nothing
// here opens a socket or starts a process unless Options.Confirm is set, and
// then only through Options.Runner (the emulator, in process, by default).
//
//	rep, err := ngxlint.Check(ctx, os.DirFS("."), []string{"conf/nginx.conf"}, ngxlint.Options{
//		Versions: "openresty=1.21.4.1",
//	})
package ngxlint

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/directives"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules"
	"github.com/ngxlint/ngxlint/versions"
)

// Options configure Check. The zero value checks with every rule, no
// declared versions and no confirmation.
type Options struct {
	// Versions declares what the configuration runs on, as the CLI's
	// --versions: "openresty=1.21.4.1" or "nginx=1.22.1,lua_nginx_module=0.10.23".
	Versions string
	// Enable and Disable select rules by ID, slug or prefix ("LUA2*").
	Enable, Disable []string
	// Settings are rule settings; each must be one a rule declares.
	Settings map[string]string
	// Modules declares the build's third-party modules and the
	// directives of modules ngxlint does not know, as .ngxlint.yaml's
	// modules: does; Check validates it (directives.NewModuleSet).
	Modules ModulesOption
	// Prefix is nginx's prefix (-p) in fsys, for relative *_by_lua_file
	// paths and $prefix in lua_package_path; "" guesses it from the main
	// file's place.
	Prefix string
	// Limits bound what is read (nginxconf.Options' Max* fields; zero
	// values are the defaults). Its Roots, when set, confine reads to
	// those directories of fsys.
	Limits nginxconf.Options
	// Confirm runs every finding that has a scenario and fills its
	// Confirmation; Runner runs them (nil: the built-in emulator).
	Confirm bool
	Runner  emulator.Runner
	// Fixtures stand in for the world outside the configuration when the
	// emulator runs its Lua.
	Fixtures analyzer.Fixtures
}

// Check loads each configuration named by paths (paths in fsys, whose root
// stands for nginx's "/"), runs the selected rules and returns one report
// for all of them. An invalid option (an unknown rule or setting, a bad
// version) is an error; a configuration that does not load is reported in
// Report.Errors, as the CLI reports it with exit code 2.
func Check(ctx context.Context, fsys fs.FS, paths []string, opts Options) (*Report, error) {
	profile, err := parseVersions(opts.Versions)
	if err != nil {
		return nil, err
	}
	reg := rules.Registry()
	selected, err := reg.Select(opts.Enable, opts.Disable)
	if err != nil {
		return nil, err
	}
	for k, v := range opts.Settings {
		if err := analyzer.CheckSetting(reg.All(), k, v); err != nil {
			return nil, err
		}
	}
	mods, err := opts.Modules.moduleSet()
	if err != nil {
		return nil, err
	}
	rep := &Report{Profile: ProfileOf(profile), Findings: []Finding{}, Errors: []Error{}}
	var all []*analyzer.Diagnostic
	for _, p := range paths {
		lo := opts.Limits
		lo.Prefix = opts.Prefix
		lo.Requires = luacheck.Requires
		name := strings.TrimPrefix(path.Clean("/"+p), "/")
		cfg := nginxconf.Load(fsys, name, lo)
		for _, e := range cfg.Errors {
			rep.Errors = append(rep.Errors, Error{File: e.Pos.File, Line: e.Pos.Line, Column: e.Pos.Column, Message: e.Msg})
		}
		for _, n := range cfg.Notes {
			rep.Notes = append(rep.Notes, n.Error())
		}
		aopts := analyzer.Options{Profile: profile, Settings: opts.Settings, Modules: mods,
			Engine: analyzer.Engine{Runner: opts.Runner, Files: fsys, PathMap: lo.PathMap, Fixtures: opts.Fixtures}}
		res := analyzer.Run(cfg, nginxconf.BuildModel(cfg), selected, aopts)
		if len(res.RuleErrors) > 0 {
			return nil, fmt.Errorf("internal error in a rule: %w", res.RuleErrors[0])
		}
		if opts.Confirm {
			analyzer.ConfirmAll(ctx, res.Diagnostics, 0)
		}
		all = append(all, res.Diagnostics...)
	}
	rep.Findings = append(rep.Findings, FindingsOf(analyzer.SortDiagnostics(all))...)
	slices.Sort(rep.Notes)
	rep.Notes = slices.Compact(rep.Notes)
	return rep, nil
}

// ModulesOption is Options.Modules: Load names the third-party modules
// the build has (nil: not said; a non-nil list makes the others absent),
// Directives declares directives of modules ngxlint does not know.
type ModulesOption struct {
	Load       []string
	Directives []directives.Extra
}

func (m ModulesOption) moduleSet() (*directives.ModuleSet, error) {
	if m.Load == nil && m.Directives == nil {
		return nil, nil
	}
	return directives.NewModuleSet(m.Load, m.Directives)
}

// parseVersions reads "nginx=1.22.1,lua_nginx_module=0.10.23" or
// "openresty=1.21.4.1" ("" = unknown).
func parseVersions(spec string) (versions.Profile, error) {
	var ng, lnm, or string
	for _, kv := range strings.Split(spec, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return versions.Profile{}, fmt.Errorf("versions: want name=version, got %q", kv)
		}
		switch strings.TrimSpace(k) {
		case "nginx":
			ng = strings.TrimSpace(v)
		case "lua_nginx_module", "lua-nginx-module", "lnm":
			lnm = strings.TrimSpace(v)
		case "openresty":
			or = strings.TrimSpace(v)
		default:
			return versions.Profile{}, fmt.Errorf("versions: unknown name %q (want nginx, lua_nginx_module or openresty)", k)
		}
	}
	return versions.Resolve(ng, lnm, or)
}
