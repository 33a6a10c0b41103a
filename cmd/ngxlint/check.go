package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint"
	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator/nginxengine"
	"github.com/ngxlint/ngxlint/format"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules"
	"github.com/ngxlint/ngxlint/versions"
)

const checkUsage = `Usage: ngxlint check [flags] PATH...

Loads each configuration (a directory means its nginx.conf), runs the rules,
and prints findings. Exit codes: 0 clean, 1 findings at or above --fail-on,
2 usage, configuration-file or configuration load error, 3 internal error.

Settings come from .ngxlint.yaml (found by walking up from each PATH, or
--config FILE); flags override it. With no PATH, the targets listed in the
.ngxlint.yaml of the working directory are checked. Lua files and included
files given as PATH are checked through the target that loads them; a Lua
file no target loads is checked on its own. PATH - reads one file from
standard input.

--changed (the pre-commit hook's mode): the PATHs are changed files; each
is checked in the configurations that include or load it (targets, or the
nginx.conf files found in the tree) and only findings in the changed files
are reported (--all reports everything). --new-from-rev REV reports only
findings on lines changed since REV (git; CI on pull requests needs the
history, e.g. actions/checkout fetch-depth: 0).

The repository is untrusted input: what ngxlint runs, reads, prints and
writes is in docs/security.md.

Flags:
`

// checkFormats are the values --format accepts.
var checkFormats = format.Names

type checkFlags struct {
	versionFlags
	format, failOn, enable, disable, prefix string
	confirm, verbose                        bool
	confirmTimeout                          time.Duration
	configFile                              string
	noConfig                                bool
	baseline, writeBaseline                 string
	fix, diff                               bool
	versionsSpec                            string
	settings                                settingsFlag
	engine                                  string
	upgradeTo                               string
	limits                                  nginxconf.Options
	allowPaths                              allowFlag
	color                                   string
	scope                                   changeScope // --changed, --new-from-rev, --all (changed.go)
}

// settingsFlag collects repeated --set key=value.
type settingsFlag map[string]string

func (s settingsFlag) String() string { return "" }

func (s settingsFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	s[strings.TrimSpace(k)] = val
	return nil
}

// checkUnit is one main configuration to check, with the configuration
// file that governs it.
type checkUnit struct {
	path string
	fc   *fileConfig
	cfg  *nginxconf.Config
	// readRoots are the checked tree, writeRoots the directories --fix
	// may write (tree.go).
	readRoots, writeRoots []string
}

// newCheckFlagSet declares check's flags into f (the action.yml test reads
// the declared names from it).
func (c *Command) newCheckFlagSet(f *checkFlags) *flag.FlagSet {
	f.settings = settingsFlag{}
	fs := c.newFlagSet("check", checkUsage)
	f.register(fs)
	registerLimitFlags(fs, &f.limits, &f.allowPaths)
	fs.StringVar(&f.format, "format", "text", "output format: "+strings.Join(checkFormats, ", "))
	fs.StringVar(&f.color, "color", "auto", "colour in the text format: auto (a terminal, unless NO_COLOR is set or TERM=dumb), always or never")
	fs.StringVar(&f.failOn, "fail-on", "warning", "lowest severity that fails the run: info, warning or error, or never (report only; configuration errors still exit 2)")
	fs.StringVar(&f.enable, "enable", "", "comma-separated rules to run (IDs, slugs or prefixes like LUA2*); default all")
	fs.StringVar(&f.disable, "disable", "", "comma-separated rules not to run")
	fs.StringVar(&f.prefix, "prefix", "", "nginx prefix (-p) for relative *_by_lua_file paths; default: the config's directory, or its parent when that is named conf")
	fs.BoolVar(&f.confirm, "confirm", false, "run every finding that has a scenario in the emulator and report what it observed")
	fs.DurationVar(&f.confirmTimeout, "confirm-timeout", 10*time.Second, "overall time limit for --confirm")
	fs.BoolVar(&f.verbose, "verbose", false, "with --confirm, print the emulator trace under each finding")
	fs.StringVar(&f.configFile, "config", "", "configuration file (default: .ngxlint.yaml found by walking up from each PATH)")
	fs.BoolVar(&f.noConfig, "no-config", false, "do not read any .ngxlint.yaml")
	fs.StringVar(&f.baseline, "baseline", "", "hide the findings recorded in this baseline file; fail only on new ones")
	fs.StringVar(&f.writeBaseline, "write-baseline", "", "record every current finding in this baseline file and exit 0")
	fs.BoolVar(&f.fix, "fix", false, "apply the safe suggested fixes to the files (atomically; refused if a file changed meanwhile)")
	fs.BoolVar(&f.diff, "diff", false, "print the suggested fixes as a unified diff instead of findings; write nothing")
	fs.StringVar(&f.versionsSpec, "versions", "", `versions in one flag, as in .ngxlint.yaml: "nginx=1.22.1,lua_nginx_module=0.10.23" or "openresty=1.21.4.1"`)
	fs.StringVar(&f.engine, "engine", "emulator", "with --confirm: emulator (built in, sandboxed), nginx (the real binary given by --nginx-binary: it EXECUTES the configuration's Lua with your rights; trusted configurations only, docs/security.md), or both (differences are reported as emulator bugs)")
	fs.StringVar(&f.upgradeTo, "upgrade-to", "", `compare the declared versions with a target ("1.29.2.4" = OpenResty, "1.29.7" = nginx, or "nginx=...,lnm=..."): findings that appear, disappear or change behaviour, each run on both profiles in the emulator`)
	fs.Var(f.settings, "set", "rule setting key=value (repeatable; overrides settings in .ngxlint.yaml)")
	f.scope.register(fs) // changed.go
	return fs
}

func (c *Command) check(args []string) error {
	var f checkFlags
	fs := c.newCheckFlagSet(&f)
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	setFlags := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { setFlags[fl.Name] = true })
	if f.color != "auto" && f.color != "always" && f.color != "never" {
		return usagef("unknown --color %q (want auto, always or never)", f.color)
	}
	if !slices.Contains(checkFormats, f.format) {
		return usagef("unknown --format %q (want %s)", f.format, strings.Join(checkFormats, ", "))
	}
	switch f.engine {
	case "emulator":
	case "nginx", "both":
		if f.binary == "" {
			return usagef("--engine %s needs --nginx-binary PATH", f.engine)
		}
		if slices.Contains(paths, "-") {
			// The real nginx runs a copy of the files on disk; standard
			// input has none (the confirmation failed on stat "/<stdin>").
			return usagef("--engine %s runs the configuration's files with nginx: check a path, not standard input", f.engine)
		}
	default:
		return usagef("unknown --engine %q (want emulator, nginx or both)", f.engine)
	}
	failOn, err := analyzer.ParseSeverity(f.failOn)
	if strings.EqualFold(strings.TrimSpace(f.failOn), "never") {
		failOn, err = analyzer.Error+1, nil // above every severity
	}
	if err != nil {
		return usagef("--fail-on: %v (or never)", err)
	}
	if f.versionsSpec != "" {
		if err := f.applyVersionsSpec(setFlags); err != nil {
			return err
		}
	}
	if f.configFile != "" && f.noConfig {
		return usagef("--config and --no-config exclude each other")
	}
	reg := rules.Registry()
	lookup := newRuleLookup(reg)
	for k, v := range f.settings {
		if err := analyzer.CheckSetting(lookup.rules, k, v); err != nil {
			return usagef("--set: %v", err)
		}
	}

	units, skipped, err := c.scopedUnits(&f, paths, lookup) // changed.go; checkUnits unless --changed / --new-from-rev
	if err != nil {
		return err
	}
	for _, s := range skipped {
		fmt.Fprintln(c.Stderr, "ngxlint:", s)
	}

	ctx := context.Background()
	var report checkReport
	loadFailed := false
	upgradeChanged := false
	var reps []*checkReport
	var profileNotes []string
	for i, u := range units {
		loadFailed = loadFailed || len(u.cfg.Errors) > 0
		profile, notes, err := f.unitProfile(ctx, u)
		if err != nil {
			return err
		}
		if i == 0 {
			report.Profile = format.ProfileOf(profile)
		}
		profileNotes = append(profileNotes, notes...)
		// flags -> library options: .ngxlint.yaml gives enable, disable,
		// severities and settings, flags override it. The engine comes
		// from this command's flags only: the file may come from the
		// repository under test.
		opts := ngxlint.Options{Profile: &profile, Enable: splitList(f.enable), Disable: splitList(f.disable),
			Settings: map[string]string{}, Confirm: f.confirm, Limits: f.limits}
		if u.fc != nil {
			if !setFlags["enable"] {
				opts.Enable = u.fc.Enable
			}
			if !setFlags["disable"] {
				opts.Disable = u.fc.Disable
			}
			opts.Severity = u.fc.Severity
			opts.Modules.Set = u.fc.Modules
			maps.Copy(opts.Settings, u.fc.Settings)
			opts.Limits.PathMap = u.fc.nginxPathMap()
			opts.Keep = u.fc.keep
		}
		maps.Copy(opts.Settings, f.settings)
		if f.engine != "emulator" {
			real := nginxengine.Runner{Binary: f.binary}
			if profile.HasLNM() {
				real.LNMVersion = profile.LNM.String()
			}
			opts.Runner = real
			if f.engine == "both" {
				opts.Runner = nginxengine.Both{Real: real}
			}
		}
		// What the emulated Lua may read, and the fixtures that stand in
		// for the world outside the configuration.
		opts.Files = nginxconf.TreeFS(u.readRoots, f.limits.MaxFileSize)
		if opts.Fixtures, err = fixturesFrom(u.fc, opts.Files); err != nil {
			return err
		}
		if f.upgradeTo != "" {
			for _, e := range u.cfg.Errors {
				report.Errors = append(report.Errors, format.Error{File: e.Pos.File, Line: e.Pos.Line, Column: e.Pos.Column, Message: e.Msg})
			}
			if len(u.cfg.Errors) > 0 {
				continue
			}
			changed, err := c.upgradeReport(ctx, &f, u.cfg, opts)
			if err != nil {
				return err
			}
			upgradeChanged = upgradeChanged || changed
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, f.confirmTimeout)
		rep, err := ngxlint.CheckConfig(cctx, u.cfg, opts)
		if err == nil && f.confirm && cctx.Err() == context.DeadlineExceeded {
			reportOutOfTime(c.Stderr, rep.Diagnostics, f.confirmTimeout)
		}
		cancel()
		var oe *ngxlint.OptionError
		switch {
		case errors.As(err, &oe):
			return usagef("%v", err)
		case err != nil:
			fmt.Fprintln(c.Stderr, "ngxlint:", err)
			return &exitError{ExitInternal}
		}
		reps = append(reps, rep)
	}
	if len(reps) > 0 {
		merged := ngxlint.Merge(reps...)
		// What the loader noted without failing (a stock include of the
		// installation, an install path outside this checkout, a
		// fragment checked in an implicit context) is said, not hidden;
		// the notes quote the repository, so token-like words are
		// redacted.
		for _, n := range merged.Notes {
			if s := redactQuoted(n); !slices.Contains(report.Notes, s) {
				report.Notes = append(report.Notes, s)
			}
		}
		report.Errors = append(report.Errors, merged.Errors...)
		report.Diagnostics, report.Configs, report.Rules = merged.Diagnostics, merged.Configs, merged.Rules
	}
	for _, n := range profileNotes {
		if !slices.Contains(report.Notes, n) {
			report.Notes = append(report.Notes, n)
		}
	}
	if f.upgradeTo != "" {
		if loadFailed {
			c.writeText(&report, false, f.color)
			return &exitError{ExitUsage}
		}
		if upgradeChanged {
			return &exitError{ExitFindings}
		}
		return nil
	}
	if report.Profile == nil {
		report.Profile = format.ProfileOf(versions.Profile{})
	}
	loadFailed = f.scope.filter(&report, loadFailed) // changed.go: only what changed, with --changed / --new-from-rev

	if loadFailed && (f.writeBaseline != "" || f.fix || f.diff) {
		// A configuration that did not load completely gives an incomplete
		// set of findings and edits: record or fix nothing from it.
		c.writeText(&report, false, f.color)
		fmt.Fprintln(c.Stderr, "ngxlint: configuration errors: no baseline written, no fix applied")
		return &exitError{ExitUsage}
	}
	if f.writeBaseline != "" {
		if err := writeBaseline(f.writeBaseline, &report); err != nil {
			return usagef("--write-baseline: %v", err)
		}
		fmt.Fprintf(c.Stderr, "ngxlint: wrote %d finding(s) to the baseline %s\n", len(report.Diagnostics), f.writeBaseline)
		return nil
	}
	if f.baseline != "" {
		base, err := readBaseline(f.baseline)
		if err != nil {
			return err
		}
		known, stale := applyBaseline(&report, f.baseline, base)
		report.Notes = append(report.Notes, baselineNote(known, stale, f.baseline))
	}

	if f.fix || f.diff {
		plan, err := planFixes(report.Diagnostics, report.Files())
		if err != nil {
			return err
		}
		plan.roots = []string{}
		for _, u := range units {
			plan.roots = append(plan.roots, u.writeRoots...)
		}
		if f.diff {
			plan.writeDiff(c.Stdout)
			return checkExit(loadFailed, report.Diagnostics, failOn)
		}
		written, err := plan.write(nil)
		for _, name := range written {
			fmt.Fprintf(c.Stderr, "ngxlint: fixed %d finding(s) in %s\n", len(plan.files[name].diags), name)
		}
		if err != nil {
			return usagef("%v", err)
		}
		fixed := plan.fixed()
		report.Diagnostics = slices.DeleteFunc(report.Diagnostics, func(d *analyzer.Diagnostic) bool { return fixed[d] })
		if n := len(plan.skipped); n > 0 {
			fmt.Fprintf(c.Stderr, "ngxlint: %d fix(es) overlap another fix and were not applied; run --fix again\n", n)
		}
	}

	if err := c.writeReport(&report, f); err != nil {
		return err
	}
	return checkExit(loadFailed, report.Diagnostics, failOn)
}

func checkExit(loadFailed bool, ds []*analyzer.Diagnostic, failOn analyzer.Severity) error {
	if loadFailed {
		return &exitError{ExitUsage}
	}
	for _, d := range ds {
		if d.Severity >= failOn {
			return &exitError{ExitFindings}
		}
	}
	return nil
}

func (c *Command) writeReport(report *checkReport, f checkFlags) error {
	redactReport(report) // redact.go: names that look like tokens are not printed
	if f.format == "sarif" || f.format == "codequality" {
		// Fingerprints name files relative to the baseline's directory,
		// so SARIF alerts and baseline entries match across checkouts.
		report.Fingerprints = reportFingerprints(report, f.baseline)
	}
	if f.format == "text" {
		for _, n := range report.Notes {
			// Notes name the repository's files: escaped like the findings.
			c.Stderr.Write(append(format.AppendSafe([]byte("ngxlint: note: "), n), '\n'))
		}
		if n := format.CountConditional(report.Diagnostics); n > 0 && !f.verbose {
			fmt.Fprintf(c.Stderr, "ngxlint: note: %d finding(s) hold only on versions you did not declare, grouped by rule at the end; declare yours (--versions, or versions: in %s) to resolve them, --verbose lists each\n", n, configFileName)
		}
	}
	return c.formatter(f.format, f.verbose, f.color).Format(c.Stdout, report)
}

// formatter is the --format formatter with this terminal's choices: a
// source snippet under each finding and colours, in text, when stdout is
// a terminal that wants them (--color).
func (c *Command) formatter(name string, verbose bool, colorMode string) format.Formatter {
	o := format.Options{Verbose: verbose, ToolVersion: buildVersion()}
	if name == "text" {
		o.Snippets = c.tty()
		if c.color(colorMode) {
			o.Style = ansiStyle
		}
	}
	fm, err := format.New(name, o)
	if err != nil {
		panic(err) // --format is checked against format.Names when parsed
	}
	return fm
}

// ansiStyle colours the text format's severities, confirmations and carets
// for a terminal.
func ansiStyle(r format.Role, s string) string {
	code := "1;36"
	switch r {
	case format.RoleError:
		code = "1;31"
	case format.RoleWarning:
		code = "1;33"
	case format.RoleConfirmed, format.RoleCaret:
		code = "1;32"
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// writeText prints the report as text (the load-error paths of check and
// its variants).
func (c *Command) writeText(r *checkReport, verbose bool, colorMode string) {
	c.formatter("text", verbose, colorMode).Format(c.Stdout, r)
}

// applyVersionsSpec reads --versions "nginx=1.22.1,lua_nginx_module=0.10.23"
// into the single-version flags (which must not also be given).
func (f *checkFlags) applyVersionsSpec(setFlags map[string]bool) error {
	return f.versionFlags.applySpec(f.versionsSpec, setFlags)
}

// applySpec reads a --versions value into the single-version flags.
func (f *versionFlags) applySpec(spec string, setFlags map[string]bool) error {
	for _, kv := range splitList(spec) {
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || v == "" {
			return usagef("--versions: want name=version, got %q", kv)
		}
		var dst *string
		var flagName string
		switch k {
		case "nginx":
			dst, flagName = &f.nginx, "nginx-version"
		case "lua_nginx_module", "lua-nginx-module", "lnm":
			dst, flagName = &f.lnm, "lua-nginx-module-version"
		case "openresty":
			dst, flagName = &f.openresty, "openresty-version"
		default:
			return usagef("--versions: unknown name %q (want nginx, lua_nginx_module or openresty)", k)
		}
		if setFlags[flagName] {
			return usagef("--versions sets %s and so does --%s", k, flagName)
		}
		*dst = v
	}
	return nil
}

// unitProfile resolves the versions of one unit: each version flag wins
// over the configuration file's value; --nginx-binary replaces the file's
// nginx and openresty versions.
func (f *checkFlags) unitProfile(ctx context.Context, u checkUnit) (versions.Profile, []string, error) {
	nginx, lnm, or := f.nginx, f.lnm, f.openresty
	if u.fc != nil {
		if nginx == "" && or == "" && f.binary == "" {
			nginx, or = u.fc.Versions.Nginx, u.fc.Versions.OpenResty
		}
		if lnm == "" && or == "" {
			lnm = u.fc.Versions.LNM
		}
	}
	if f.binary != "" {
		if f.nginx != "" || f.openresty != "" {
			return versions.Profile{}, nil, usagef("--nginx-binary cannot be combined with --nginx-version or --openresty-version")
		}
		return nginxBinaryProfile(ctx, f.binary, lnm, []*nginxconf.Config{u.cfg})
	}
	p, err := versions.Resolve(nginx, lnm, or)
	if err != nil {
		where := ""
		if u.fc != nil && (f.nginx == "" || f.lnm == "" || f.openresty == "") {
			where = " (versions from flags and " + u.fc.Path + ")"
		}
		return p, nil, usagef("%v%s", err, where)
	}
	// What Resolve had to assume (an OpenResty release it does not know)
	// is said, never silent.
	return p, p.Assumed, nil
}

// checkUnits turns the PATH arguments into the configurations to check.
// Each PATH gets the .ngxlint.yaml found above it (or --config). When that
// file lists targets, a PATH that is one of a target's files (an included
// .conf or a Lua file, as pre-commit passes staged files) is checked as
// that target; a Lua file no target loads is checked on its own, with a
// note (nginxconf.LoadLuaFile).
func (c *Command) checkUnits(f *checkFlags, paths []string, lookup ruleLookup) ([]checkUnit, []string, error) {
	configFor := f.configFinder(lookup)
	if len(paths) == 0 {
		fc, err := configFor(".")
		if err != nil {
			return nil, nil, err
		}
		if fc == nil || len(fc.Targets) == 0 {
			return nil, nil, usagef("check needs at least one PATH (or targets in %s)", configFileName)
		}
		for _, t := range fc.Targets {
			paths = append(paths, displayPath(filepath.Join(fc.Dir, t)))
		}
	}
	// Load every target of the configuration files involved, once.
	loaded := map[string]*checkUnit{} // by absolute main path
	load := func(p string, fc *fileConfig) *nginxconf.Config {
		abs, _ := filepath.Abs(p)
		if u, ok := loaded[abs]; ok {
			return u.cfg
		}
		u := f.loadUnit(p, fc)
		loaded[abs] = u
		return u.cfg
	}
	var units []checkUnit
	var notes []string
	seen := map[string]bool{}
	add := func(p string, fc *fileConfig, cfg *nginxconf.Config) {
		abs, _ := filepath.Abs(p)
		if seen[abs] {
			return
		}
		seen[abs] = true
		u := checkUnit{path: p, fc: fc, cfg: cfg}
		if l := loaded[abs]; l != nil {
			u.readRoots, u.writeRoots = l.readRoots, l.writeRoots
		}
		units = append(units, u)
	}
	for _, p := range paths {
		if p == "-" {
			// The configuration on standard input (stdin.go).
			cfg, err := c.loadStdin(f.limits)
			if err != nil {
				return nil, nil, err
			}
			units = append(units, checkUnit{path: stdinName, cfg: cfg})
			continue
		}
		fc, err := configFor(p)
		if err != nil {
			return nil, nil, err
		}
		abs, _ := filepath.Abs(p)
		absSlash := filepath.ToSlash(abs)
		mapped := false
		if fc != nil {
			for _, t := range fc.Targets {
				tp := displayPath(filepath.Join(fc.Dir, t))
				tabs, _ := filepath.Abs(tp)
				if tabs == abs {
					continue // the target itself: handled below
				}
				if st, err := os.Stat(tp); err != nil || st.IsDir() {
					if tp, err = configPath(tp); err != nil {
						return nil, nil, usagef("%s: target %q: %v", fc.Path, t, err)
					}
				}
				cfg := load(tp, fc)
				if configHasFile(cfg, absSlash) {
					add(tp, fc, cfg)
					mapped = true
					break
				}
			}
		}
		if mapped {
			continue
		}
		if strings.EqualFold(filepath.Ext(p), ".lua") {
			// No target loads it: check it on its own, and say that
			// what depends on the phase it runs in is not known.
			notes = append(notes, fmt.Sprintf("%s: no configuration loads it (list the configuration that does under targets in %s): checked on its own, in no particular phase, without the modules it requires", p, configFileName))
			add(p, fc, load(p, fc))
			continue
		}
		main, err := configPath(p)
		if err != nil {
			return nil, nil, err
		}
		add(main, fc, load(main, fc))
	}
	return units, notes, nil
}

// displayPath names an absolute path relative to the working directory
// when it is below it, so reports (and SARIF URIs) name targets from
// .ngxlint.yaml the way they name files given on the command line.
func displayPath(abs string) string {
	cwd, err := os.Getwd()
	if err != nil {
		return abs
	}
	rel, err := filepath.Rel(cwd, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return abs
	}
	return rel
}

func configHasFile(cfg *nginxconf.Config, absSlash string) bool {
	for _, fl := range cfg.AllFiles() {
		if fl.AbsPath == absSlash {
			return true
		}
	}
	return false
}

// checkReport is what check prints (package format prints it in every
// format; its JSON fields are the stable contract of --format json).
type checkReport = format.Report

// reportOutOfTime says on stderr how many confirmations the
// --confirm-timeout budget left unfinished, so a run cut short is not read
// as findings that failed to confirm.
func reportOutOfTime(w io.Writer, ds []*analyzer.Diagnostic, limit time.Duration) {
	var asked, cut int
	for _, d := range ds {
		if d.Confirm == nil {
			continue
		}
		asked++
		if strings.HasPrefix(d.Confirmation.Reason, analyzer.OutOfTime) {
			cut++
		}
	}
	if cut > 0 {
		fmt.Fprintf(w, "ngxlint: --confirm-timeout %s ran out: %d of %d confirmations did not finish (the most severe findings went first); raise --confirm-timeout or narrow with --rules\n", limit, cut, asked)
	}
}

// fixturesFrom turns the configuration file's emulate: section into the
// engine's fixtures, reading each stub module through the checked tree
// (tree.go), so a stub obeys the same roots and refusals as any file.
func fixturesFrom(fc *fileConfig, tree fs.FS) (analyzer.Fixtures, error) {
	var fx analyzer.Fixtures
	if fc == nil {
		return fx, nil
	}
	e := fc.Emulate
	fx.SharedDicts, fx.Env, fx.Vars = e.SharedDicts, e.Env, e.Vars
	for name, file := range e.Modules {
		abs, err := filepath.Abs(file)
		if err != nil {
			return fx, err
		}
		data, err := fs.ReadFile(tree, strings.TrimPrefix(filepath.ToSlash(abs), "/"))
		if err != nil {
			return fx, usagef("%s: emulate.modules.%s: %s cannot be read inside the checked tree", fc.Path, name, displayPath(abs))
		}
		if fx.Modules == nil {
			fx.Modules = map[string]analyzer.FixtureModule{}
		}
		fx.Modules[name] = analyzer.FixtureModule{File: displayPath(abs), Code: string(data)}
	}
	return fx, nil
}
