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
//
// The report prints in any of the CLI's formats through package format:
//
//	f, _ := format.New("sarif", format.Options{})
//	err = f.Format(os.Stdout, rep)
package ngxlint

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/directives"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/format"
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
	// Profile, when set, is the resolved versions and Versions is not
	// read (the CLI resolves them from flags, .ngxlint.yaml or nginx -V).
	Profile *versions.Profile
	// Enable and Disable select rules by ID, slug or prefix ("LUA2*"),
	// the built-in suppression rules (analyzer.InvalidIgnoreRule,
	// analyzer.UnusedIgnoreRule) included.
	Enable, Disable []string
	// Settings are rule settings; each must be one a rule declares.
	Settings map[string]string
	// Severity overrides rules' severities by rule ID.
	Severity map[string]analyzer.Severity
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
	// Keep, when set, drops the findings it returns false for, before
	// they are confirmed (the CLI's per-path disables in .ngxlint.yaml).
	Keep func(*analyzer.Diagnostic) bool
	// Confirm runs every finding that has a scenario and fills its
	// Confirmation; Runner runs them (nil: the built-in emulator).
	Confirm bool
	Runner  emulator.Runner
	// Files is what the emulated Lua may read (io.open, dofile...);
	// nil: the fsys given to Check, nothing for CheckConfig.
	Files fs.FS
	// Fixtures stand in for the world outside the configuration when the
	// emulator runs its Lua.
	Fixtures analyzer.Fixtures
}

// OptionError is an invalid option: an unknown rule or setting, a
// malformed value or version.
type OptionError struct{ Err error }

func (e *OptionError) Error() string { return e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

// Check loads each configuration named by paths (paths in fsys, whose root
// stands for nginx's "/"), runs the selected rules and returns one report
// for all of them. An invalid option is an *OptionError; a configuration
// that does not load is reported in Report.Errors, as the CLI reports it
// with exit code 2.
func Check(ctx context.Context, fsys fs.FS, paths []string, opts Options) (*Report, error) {
	if opts.Files == nil {
		opts.Files = fsys
	}
	var reps []*Report
	for _, p := range paths {
		lo := opts.Limits
		lo.Prefix = opts.Prefix
		lo.Requires = luacheck.Requires
		name := strings.TrimPrefix(path.Clean("/"+p), "/")
		rep, err := CheckConfig(ctx, nginxconf.Load(fsys, name, lo), opts)
		if err != nil {
			return nil, err
		}
		reps = append(reps, rep)
	}
	if len(reps) == 0 {
		return checkNothing(opts)
	}
	return Merge(reps...), nil
}

// checkNothing is the report of no configuration: the options are still
// checked.
func checkNothing(opts Options) (*Report, error) {
	profile, _, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	return &Report{Profile: format.ProfileOf(profile), Findings: []Finding{}, Errors: []Error{}}, nil
}

// CheckConfig runs the selected rules on a configuration already loaded
// (nginxconf.Load, with the caller's roots and limits) and confirms the
// findings when asked. Load errors and notes of cfg are in the report.
func CheckConfig(ctx context.Context, cfg *nginxconf.Config, opts Options) (*Report, error) {
	profile, sel, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	rep := &Report{Profile: format.ProfileOf(profile), Findings: []Finding{}, Errors: []Error{}, Rules: sel.rules,
		Configs: []*nginxconf.Config{cfg}}
	for _, e := range cfg.Errors {
		rep.Errors = append(rep.Errors, Error{File: e.Pos.File, Line: e.Pos.Line, Column: e.Pos.Column, Message: e.Msg})
	}
	for _, n := range cfg.Notes {
		rep.Notes = append(rep.Notes, n.Error())
	}
	if ic := cfg.ImplicitContext; ic != "" && cfg.Main != nil {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%s: checked as an include of %s{} (its top level holds directives nginx accepts only there)", cfg.Main.Path, ic))
	}
	aopts := analyzer.Options{Profile: profile, Settings: opts.Settings, Severity: opts.Severity, Facts: analyzer.NewFacts(), Modules: sel.modules,
		Engine: analyzer.Engine{Runner: opts.Runner, Files: opts.Files, PathMap: opts.Limits.PathMap, Fixtures: opts.Fixtures}}
	// The Lua analysis needs only the loaded files: it runs on the other
	// processors while BuildModel runs on one.
	luaDone := make(chan struct{})
	go func() {
		defer close(luaDone)
		rules.PrewarmLua(aopts.Facts, cfg, profile)
	}()
	model := nginxconf.BuildModel(cfg)
	res := analyzer.Run(cfg, model, sel.rules, aopts)
	<-luaDone // normally long done: the rules read every chunk
	if len(res.RuleErrors) > 0 {
		return nil, fmt.Errorf("internal error in a rule: %w", errors.Join(res.RuleErrors...))
	}
	ds := slices.DeleteFunc(res.Diagnostics, func(d *analyzer.Diagnostic) bool {
		return sel.builtinOff[d.Rule.ID] || (opts.Keep != nil && !opts.Keep(d))
	})
	for _, d := range ds {
		if s, ok := opts.Severity[d.Rule.ID]; ok {
			d.Severity = s // the built-in rules are reported after the driver applies overrides
		}
	}
	if opts.Confirm {
		analyzer.ConfirmAll(ctx, ds, 0)
	}
	rep.Diagnostics = analyzer.SortDiagnostics(ds)
	rep.Findings = append(rep.Findings, format.FindingsOf(rep.Diagnostics)...)
	return rep, nil
}

// Merge joins the reports of several configurations into one: the first
// one's profile, every finding once in report order, every error, and
// every note once in the order they came.
func Merge(reps ...*Report) *Report {
	if len(reps) == 1 {
		// One configuration (the usual case): its report is already in
		// order, with its findings built.
		out := *reps[0]
		out.Notes = nil
		for _, n := range reps[0].Notes {
			if !slices.Contains(out.Notes, n) {
				out.Notes = append(out.Notes, n)
			}
		}
		return &out
	}
	out := &Report{Findings: []Finding{}, Errors: []Error{}}
	for i, r := range reps {
		if i == 0 {
			out.Profile = r.Profile
		}
		out.Errors = append(out.Errors, r.Errors...)
		for _, n := range r.Notes {
			if !slices.Contains(out.Notes, n) {
				out.Notes = append(out.Notes, n)
			}
		}
		out.Diagnostics = append(out.Diagnostics, r.Diagnostics...)
		out.Configs = append(out.Configs, r.Configs...)
		for _, rule := range r.Rules {
			if !slices.Contains(out.Rules, rule) {
				out.Rules = append(out.Rules, rule)
			}
		}
	}
	out.Diagnostics = analyzer.SortDiagnostics(out.Diagnostics)
	out.Findings = append(out.Findings, format.FindingsOf(out.Diagnostics)...)
	return out
}

// ModulesOption is Options.Modules: Load names the third-party modules
// the build has (nil: not said; a non-nil list makes the others absent),
// Directives declares directives of modules ngxlint does not know. Set,
// when not nil, is a set validated already (the CLI's, read from
// .ngxlint.yaml with positions for its errors) and is used as it is.
type ModulesOption struct {
	Load       []string
	Directives []directives.Extra
	Set        *directives.ModuleSet
}

func (m ModulesOption) moduleSet() (*directives.ModuleSet, error) {
	if m.Set != nil {
		return m.Set, nil
	}
	if m.Load == nil && m.Directives == nil {
		return nil, nil
	}
	return directives.NewModuleSet(m.Load, m.Directives)
}

// selection is the rules a run selected, and the built-in rules it turned
// off (they are not in the registry: the driver reports them).
type selection struct {
	rules      []*analyzer.Rule
	builtinOff map[string]bool
	modules    *directives.ModuleSet
}

// resolve checks the options and returns the profile and the selection.
func (o Options) resolve() (versions.Profile, selection, error) {
	var profile versions.Profile
	if o.Profile != nil {
		profile = *o.Profile
	} else {
		p, err := parseVersions(o.Versions)
		if err != nil {
			return profile, selection{}, &OptionError{err}
		}
		profile = p
	}
	reg := rules.Registry()
	for k, v := range o.Settings {
		if err := analyzer.CheckSetting(reg.All(), k, v); err != nil {
			return profile, selection{}, &OptionError{err}
		}
	}
	enable, _ := splitBuiltin(o.Enable)
	disable, off := splitBuiltin(o.Disable)
	selected, err := reg.Select(enable, disable)
	if err != nil {
		return profile, selection{}, &OptionError{err}
	}
	mods, err := o.Modules.moduleSet()
	if err != nil {
		return profile, selection{}, &OptionError{err}
	}
	return profile, selection{rules: selected, builtinOff: off, modules: mods}, nil
}

// builtinRules are the rules the driver itself reports.
var builtinRules = []*analyzer.Rule{analyzer.InvalidIgnoreRule, analyzer.UnusedIgnoreRule}

// splitBuiltin separates the selectors that name only built-in rules
// (which the registry does not know) from the others, and says which
// built-in rules a disabling selector turns off.
func splitBuiltin(sels []string) (registry []string, builtinOff map[string]bool) {
	builtinOff = map[string]bool{}
	for _, s := range sels {
		name := strings.TrimPrefix(strings.TrimSpace(s), "-")
		onlyBuiltin, matched := true, false
		for _, r := range builtinRules {
			if r.Matches(name) {
				matched = true
				if !strings.HasPrefix(strings.TrimSpace(s), "-") {
					builtinOff[r.ID] = true
				}
			}
		}
		for _, r := range rules.Registry().All() {
			if r.Matches(name) {
				onlyBuiltin = false
			}
		}
		if !matched || !onlyBuiltin {
			registry = append(registry, s)
		}
	}
	return registry, builtinOff
}

// The report's types and their JSON contract live in package format,
// which prints them; they are named here too so that a library user needs
// only this package to read a report.
type (
	// Report is what Check found: the JSON document of `ngxlint check
	// --format json`, and what package format prints.
	Report = format.Report
	// Finding is one finding of a Report.
	Finding = format.Finding
	// Error is a configuration load error of a Report.
	Error = format.Error
	// Related, Fix and Edit are parts of a Finding.
	Related = format.Related
	Fix     = format.Fix
	Edit    = format.Edit
)

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
