package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint"
	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator/nginxengine"
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
var checkFormats = []string{"text", "json", "sarif", "github", "codequality"}

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
	var ranRules []*analyzer.Rule
	for i, u := range units {
		for _, e := range u.cfg.Errors {
			report.Errors = append(report.Errors, errorJSON{File: e.Pos.File, Line: e.Pos.Line, Column: e.Pos.Column, Message: e.Msg})
			loadFailed = true
		}
		// What the loader noted without failing (a stock include of the
		// installation, an install path outside this checkout, a
		// fragment checked in an implicit context) is said, not hidden.
		for _, n := range u.cfg.Notes {
			if s := redactQuoted(n.Error()); !slices.Contains(report.Notes, s) {
				report.Notes = append(report.Notes, s)
			}
		}
		if ic := u.cfg.ImplicitContext; ic != "" && u.cfg.Main != nil {
			report.Notes = append(report.Notes, fmt.Sprintf("%s: checked as an include of %s{} (its top level holds directives nginx accepts only there)", u.cfg.Main.Path, ic))
		}
		profile, notes, err := f.unitProfile(ctx, u)
		if err != nil {
			return err
		}
		if i == 0 {
			report.Profile = profileJSON(profile)
		}
		for _, n := range notes {
			if !slices.Contains(report.Notes, n) {
				report.Notes = append(report.Notes, n)
			}
		}
		enable, disable := splitList(f.enable), splitList(f.disable)
		opts := analyzer.Options{Profile: profile, Settings: map[string]string{}}
		if u.fc != nil {
			if !setFlags["enable"] {
				enable = u.fc.Enable
			}
			if !setFlags["disable"] {
				disable = u.fc.Disable
			}
			opts.Severity = u.fc.Severity
			opts.Modules = u.fc.Modules
			maps.Copy(opts.Settings, u.fc.Settings)
		}
		maps.Copy(opts.Settings, f.settings)
		// The engine comes from this command's flags only: the settings
		// above may come from the repository under test.
		if f.engine != "emulator" {
			real := nginxengine.Runner{Binary: f.binary}
			if profile.HasLNM() {
				real.LNMVersion = profile.LNM.String()
			}
			opts.Engine.Runner = real
			if f.engine == "both" {
				opts.Engine.Runner = nginxengine.Both{Real: real}
			}
		}
		// What the emulated Lua may read, and the fixtures that stand in
		// for the world outside the configuration.
		opts.Engine.Files = nginxconf.TreeFS(u.readRoots, f.limits.MaxFileSize)
		if u.fc != nil {
			opts.Engine.PathMap = u.fc.nginxPathMap()
		}
		if opts.Engine.Fixtures, err = fixturesFrom(u.fc, opts.Engine.Files); err != nil {
			return err
		}
		regEnable, _ := splitBuiltin(enable, lookup)
		regDisable, builtinOff := splitBuiltin(disable, lookup)
		selected, err := reg.Select(regEnable, regDisable)
		if err != nil {
			return usagef("%v", err)
		}
		for _, r := range selected {
			if !slices.Contains(ranRules, r) {
				ranRules = append(ranRules, r)
			}
		}
		var luaDone chan struct{}
		if f.upgradeTo == "" {
			// The Lua analysis needs only the loaded files: it runs on
			// the other processors while BuildModel runs on one.
			opts.Facts = analyzer.NewFacts()
			luaDone = make(chan struct{})
			go func() {
				defer close(luaDone)
				rules.PrewarmLua(opts.Facts, u.cfg, profile)
			}()
		}
		model := nginxconf.BuildModel(u.cfg)
		if f.upgradeTo != "" {
			if len(u.cfg.Errors) > 0 {
				continue
			}
			changed, err := c.upgradeReport(ctx, &f, u.cfg, model, profile, selected, opts)
			if err != nil {
				return err
			}
			upgradeChanged = upgradeChanged || changed
			continue
		}
		res := analyzer.Run(u.cfg, model, selected, opts)
		<-luaDone // normally long done: the rules read every chunk
		if len(res.RuleErrors) > 0 {
			for _, e := range res.RuleErrors {
				fmt.Fprintln(c.Stderr, "ngxlint: internal error:", e)
			}
			return &exitError{ExitInternal}
		}
		ds := u.fc.pathDisabled(res.Diagnostics)
		ds = slices.DeleteFunc(ds, func(d *analyzer.Diagnostic) bool { return builtinOff[d.Rule.ID] })
		for _, d := range ds {
			if s, ok := opts.Severity[d.Rule.ID]; ok {
				d.Severity = s // the built-in rules are reported after the driver applies overrides
			}
		}
		if f.confirm {
			cctx, cancel := context.WithTimeout(ctx, f.confirmTimeout)
			analyzer.ConfirmAll(cctx, ds, 0)
			if cctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
				reportOutOfTime(c.Stderr, ds, f.confirmTimeout)
			}
			cancel()
		}
		report.diags = append(report.diags, ds...)
		report.files = append(report.files, u.cfg)
	}
	if f.upgradeTo != "" {
		if loadFailed {
			c.writeText(report, false, f.color)
			return &exitError{ExitUsage}
		}
		if upgradeChanged {
			return &exitError{ExitFindings}
		}
		return nil
	}
	if report.Profile == nil {
		report.Profile = profileJSON(versions.Profile{})
	}
	report.diags = analyzer.SortDiagnostics(report.diags)
	loadFailed = f.scope.filter(&report, loadFailed) // changed.go: only what changed, with --changed / --new-from-rev

	if loadFailed && (f.writeBaseline != "" || f.fix || f.diff) {
		// A configuration that did not load completely gives an incomplete
		// set of findings and edits: record or fix nothing from it.
		c.writeText(report, false, f.color)
		fmt.Fprintln(c.Stderr, "ngxlint: configuration errors: no baseline written, no fix applied")
		return &exitError{ExitUsage}
	}
	if f.writeBaseline != "" {
		if err := writeBaseline(f.writeBaseline, &report); err != nil {
			return usagef("--write-baseline: %v", err)
		}
		fmt.Fprintf(c.Stderr, "ngxlint: wrote %d finding(s) to the baseline %s\n", len(report.diags), f.writeBaseline)
		return nil
	}
	if f.baseline != "" {
		base, err := readBaseline(f.baseline)
		if err != nil {
			return err
		}
		known, stale := report.applyBaseline(f.baseline, base)
		report.Notes = append(report.Notes, baselineNote(known, stale, f.baseline))
	}

	if f.fix || f.diff {
		plan, err := planFixes(report.diags, report.fileIndex())
		if err != nil {
			return err
		}
		plan.roots = []string{}
		for _, u := range units {
			plan.roots = append(plan.roots, u.writeRoots...)
		}
		if f.diff {
			plan.writeDiff(c.Stdout)
			return checkExit(loadFailed, report.diags, failOn)
		}
		written, err := plan.write(nil)
		for _, name := range written {
			fmt.Fprintf(c.Stderr, "ngxlint: fixed %d finding(s) in %s\n", len(plan.files[name].diags), name)
		}
		if err != nil {
			return usagef("%v", err)
		}
		fixed := plan.fixed()
		report.diags = slices.DeleteFunc(report.diags, func(d *analyzer.Diagnostic) bool { return fixed[d] })
		if n := len(plan.skipped); n > 0 {
			fmt.Fprintf(c.Stderr, "ngxlint: %d fix(es) overlap another fix and were not applied; run --fix again\n", n)
		}
	}

	if err := c.writeReport(&report, f, ranRules); err != nil {
		return err
	}
	return checkExit(loadFailed, report.diags, failOn)
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

func (c *Command) writeReport(report *checkReport, f checkFlags, ranRules []*analyzer.Rule) error {
	redactReport(report) // redact.go: names that look like tokens are not printed
	switch f.format {
	case "json":
		report.Findings = findingsJSON(report.diags)
		if report.Findings == nil {
			report.Findings = []findingJSON{}
		}
		if report.Errors == nil {
			report.Errors = []errorJSON{}
		}
		enc := json.NewEncoder(c.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	case "sarif":
		return writeSARIF(c.Stdout, report, ranRules, report.fingerprints(f.baseline))
	case "github":
		if !f.verbose {
			// Annotations are shown per line of the diff: one per rule for
			// the conditional findings, as in the text format.
			grouped := *report
			var groups []conditionalGroup
			grouped.diags, groups = groupConditional(report.diags)
			for _, g := range groups {
				grouped.diags = append(grouped.diags, g.summary())
			}
			report = &grouped
		}
		writeGitHub(c.Stdout, report)
		for _, n := range report.Notes {
			fmt.Fprintf(c.Stdout, "::notice title=ngxlint::%s\n", escapeGitHubData(n))
		}
		return nil
	case "codequality":
		return writeCodeQuality(c.Stdout, report, report.fingerprints(f.baseline))
	}
	for _, n := range report.Notes {
		// Notes name the repository's files: escaped like the findings.
		c.Stderr.Write(append(appendSafe([]byte("ngxlint: note: "), n), '\n'))
	}
	if n := countConditional(report.diags); n > 0 && !f.verbose {
		fmt.Fprintf(c.Stderr, "ngxlint: note: %d finding(s) hold only on versions you did not declare; they are grouped by rule at the end. Declare yours (--openresty-version, or --nginx-version and --lua-nginx-module-version, or versions: in %s) to resolve them, or pass --verbose to list each\n", n, configFileName)
	}
	c.writeText(*report, f.verbose, f.color)
	return nil
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

// splitBuiltin separates selectors that only name the built-in NGX0001 /
// NGX0002 (which are not in the registry and are filtered after the run)
// from the ones the registry selects on.
func splitBuiltin(sels []string, lookup ruleLookup) (registry []string, builtinOff map[string]bool) {
	builtinOff = map[string]bool{}
	for _, s := range sels {
		onlyBuiltin := true
		ms := lookup.match(s)
		for _, r := range ms {
			if r != analyzer.InvalidIgnoreRule && r != analyzer.UnusedIgnoreRule {
				onlyBuiltin = false
			} else if !strings.HasPrefix(s, "-") {
				builtinOff[r.ID] = true
			}
		}
		if !onlyBuiltin || len(ms) == 0 {
			registry = append(registry, s)
		}
	}
	return registry, builtinOff
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
	for _, fl := range allFiles(cfg) {
		if fl.AbsPath == absSlash {
			return true
		}
	}
	return false
}

// allFiles are every file a configuration read: its configuration files,
// its *_by_lua_file files and the Lua modules they require.
func allFiles(cfg *nginxconf.Config) []*nginxconf.File {
	out := append(append([]*nginxconf.File(nil), cfg.Files...), cfg.LuaFiles...)
	for _, m := range cfg.Modules {
		if m.File != nil {
			out = append(out, m.File)
		}
	}
	return out
}

// checkReport is the JSON document of `check --format json` (README
// "JSON output"); its field names are a stable contract.
type checkReport struct {
	Profile  map[string]string `json:"profile"`
	Notes    []string          `json:"notes,omitempty"`
	Findings []findingJSON     `json:"findings"`
	Errors   []errorJSON       `json:"errors"`

	diags []*analyzer.Diagnostic
	files []*nginxconf.Config
}

// sources maps every loaded file's name (as positions name it) to its
// content.
func (r *checkReport) sources() map[string][]byte {
	m := map[string][]byte{}
	for name, f := range r.fileIndex() {
		m[name] = f.Data
	}
	return m
}

// fileIndex maps every loaded file's name to the file.
func (r *checkReport) fileIndex() map[string]*nginxconf.File {
	m := map[string]*nginxconf.File{}
	for _, cfg := range r.files {
		for _, f := range allFiles(cfg) {
			if _, ok := m[f.Path]; !ok {
				m[f.Path] = f
			}
		}
	}
	return m
}

// The report's types and their JSON contract live in the root package, so
// that library users get the same document (ngxlint.Report).
type (
	findingJSON = ngxlint.Finding
	errorJSON   = ngxlint.Error
)

func profileJSON(p versions.Profile) map[string]string { return ngxlint.ProfileOf(p) }

func findingsJSON(ds []*analyzer.Diagnostic) []findingJSON { return ngxlint.FindingsOf(ds) }

// writeText prints gcc-style lines, with a source snippet and caret and
// colour on a terminal.
func (c *Command) writeText(r checkReport, verbose bool, colorMode string) {
	color := c.color(colorMode)
	tty := c.tty()
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	sources := r.sources()
	for _, e := range r.Errors {
		// File names and messages may carry the repository's bytes:
		// appendSafe (textsafe.go) keeps them from forging lines.
		eb := appendSafe(nil, e.File)
		eb = fmt.Appendf(eb, ":%d:%d: %s: ", e.Line, e.Column, paint("1;31", "error"))
		eb = appendSafe(eb, e.Message)
		c.Stdout.Write(append(eb, '\n'))
	}
	// Findings are appended to one reused buffer, written out every
	// 64 KiB: fmt.Fprintf per line was a visible cost with tens of
	// thousands of findings, and building the whole report in memory
	// cost more memory than it saved time.
	var b []byte
	diags, groups := r.diags, []conditionalGroup(nil)
	if !verbose {
		diags, groups = groupConditional(r.diags)
	}
	for _, d := range diags {
		b = appendTextFinding(b, d, sources, tty, verbose, paint)
		if len(b) >= 64<<10 {
			c.Stdout.Write(b)
			b = b[:0]
		}
	}
	for _, g := range groups {
		b = appendTextFinding(b, g.summary(), sources, false, false, paint)
	}
	c.Stdout.Write(b)
	if len(r.diags) > 0 || len(r.Errors) > 0 {
		fmt.Fprintln(c.Stdout, summaryLine(r.diags, len(r.Errors)))
	}
}

// appendSafePos is Pos.AppendText with the file name escaped (textsafe.go).
func appendSafePos(b []byte, p nginxconf.Pos) []byte {
	if p.File != "" {
		b = appendSafe(b, p.File)
		b = append(b, ':')
	}
	b = strconv.AppendInt(b, int64(p.Line), 10)
	b = append(b, ':')
	return strconv.AppendInt(b, int64(p.Column), 10)
}

// appendTextFinding appends one finding as the text format prints it:
// "file:line:col: severity: message [ID slug]", the source line and a
// caret on a terminal, the related positions and the confirmation.
func appendTextFinding(b []byte, d *analyzer.Diagnostic, sources map[string][]byte, tty, verbose bool, paint func(code, s string) string) []byte {
	sev := d.Severity.String()
	switch d.Severity {
	case analyzer.Error:
		sev = paint("1;31", sev)
	case analyzer.Warning:
		sev = paint("1;33", sev)
	default:
		sev = paint("1;36", sev)
	}
	b = appendSafePos(b, d.Pos)
	b = append(b, ": "...)
	b = append(b, sev...)
	b = append(b, ": "...)
	b = appendSafe(b, d.Message)
	b = append(b, " ["...)
	b = append(b, d.Rule.ID...)
	b = append(b, ' ')
	b = append(b, d.Rule.Slug...)
	b = append(b, "]\n"...)
	if tty {
		var w bytes.Buffer
		writeSnippet(&w, sources[d.Pos.File], d.Pos, paint)
		b = append(b, w.Bytes()...)
	}
	for _, rel := range d.Related {
		b = append(b, "    "...)
		b = appendSafePos(b, rel.Pos)
		b = append(b, ": "...)
		b = appendSafe(b, rel.Message)
		b = append(b, '\n')
	}
	switch cf := d.Confirmation; cf.Status {
	case analyzer.Confirmed, analyzer.NotReproduced, analyzer.ConfirmError:
		label := cf.Status
		if cf.Status == analyzer.Confirmed {
			label = paint("1;32", label)
		}
		line := cf.Summary
		if line == "" {
			line = cf.Reason
		}
		b = append(b, "    "...)
		b = append(b, label...)
		b = append(b, ": "...)
		b = appendSafe(b, line)
		if cf.Profile != "" {
			b = append(b, " ("...)
			b = appendSafe(b, cf.Profile)
			b = append(b, ')')
		}
		b = append(b, '\n')
		if verbose && cf.Trace != "" {
			// The trace holds what the user's Lua logged and raised.
			for _, l := range strings.Split(strings.TrimRight(cf.Trace, "\n"), "\n") {
				b = append(b, "      "...)
				b = appendSafe(b, l)
				b = append(b, '\n')
			}
		}
	}
	return b
}

// writeSnippet prints the line holding pos and a caret under its column.
// It finds the line from the byte offset, so printing many findings of a
// large file stays linear.
func writeSnippet(w io.Writer, src []byte, pos nginxconf.Pos, paint func(string, string) string) {
	if src == nil || pos.Line <= 0 || pos.Offset < 0 || pos.Offset > len(src) {
		return
	}
	start := bytes.LastIndexByte(src[:pos.Offset], '\n') + 1
	end := bytes.IndexByte(src[pos.Offset:], '\n')
	if end < 0 {
		end = len(src)
	} else {
		end += pos.Offset
	}
	line := strings.ReplaceAll(strings.TrimRight(string(src[start:end]), "\r"), "\t", " ")
	// The source line goes to a terminal: its escape sequences are shown,
	// not run. The caret is placed under the escaped text.
	safe := appendSafe([]byte("  "), line)
	safe = append(safe, '\n')
	w.Write(safe)
	col := len(appendSafe([]byte("  "), line[:min(max(pos.Column-1, 0), len(line))])) - 2
	fmt.Fprintf(w, "  %s%s\n", strings.Repeat(" ", col), paint("1;32", "^"))
}

// conditionalGroup is the findings of one rule that hold only on versions
// that were not declared (analyzer.Diagnostic.Conditional). On a large
// configuration with no version declared they were four in five lines of
// the report (issue 16 item 9), so the text and github formats print one
// line per rule unless --verbose; JSON, SARIF and Code Quality keep each.
type conditionalGroup struct {
	first     *analyzer.Diagnostic
	n         int
	confirmed int
	versions  []string
}

func countConditional(ds []*analyzer.Diagnostic) int {
	n := 0
	for _, d := range ds {
		if d.Conditional != "" {
			n++
		}
	}
	return n
}

// groupConditional splits ds into the findings printed one by one and the
// conditional groups, in the order of each rule's first finding.
func groupConditional(ds []*analyzer.Diagnostic) ([]*analyzer.Diagnostic, []conditionalGroup) {
	if countConditional(ds) == 0 {
		return ds, nil
	}
	var plain []*analyzer.Diagnostic
	var groups []conditionalGroup
	index := map[*analyzer.Rule]int{}
	for _, d := range ds {
		if d.Conditional == "" {
			plain = append(plain, d)
			continue
		}
		i, ok := index[d.Rule]
		if !ok {
			i = len(groups)
			index[d.Rule] = i
			groups = append(groups, conditionalGroup{first: d})
		}
		g := &groups[i]
		g.n++
		if d.Confirmation.Status == analyzer.Confirmed {
			g.confirmed++
		}
		if !slices.Contains(g.versions, d.Conditional) {
			g.versions = append(g.versions, d.Conditional)
		}
	}
	return plain, groups
}

// summary is the group as one finding at its first place.
func (g conditionalGroup) summary() *analyzer.Diagnostic {
	var b strings.Builder
	b.WriteString("if this runs on ")
	b.WriteString(strings.Join(g.versions, " or "))
	b.WriteString(": ")
	b.WriteString(g.first.Rule.Doc.Title)
	if g.n == 1 {
		b.WriteString(" (here)")
	} else {
		fmt.Fprintf(&b, " (%d places, the first here)", g.n)
	}
	if g.confirmed > 0 {
		fmt.Fprintf(&b, "; the emulator confirmed %d on those versions", g.confirmed)
	}
	b.WriteString("; declare your versions to resolve it, --verbose lists each")
	return &analyzer.Diagnostic{Rule: g.first.Rule, Pos: g.first.Pos, End: g.first.End, Severity: g.first.Severity, Message: b.String(),
		Conditional: g.first.Conditional}
}

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

// summaryLine counts findings by severity and the configuration errors
// apart: "8 findings (1 error, 2 warnings, 5 info); no configuration
// errors". "0 error(s)" under three "error:" findings read as a
// contradiction.
func summaryLine(ds []*analyzer.Diagnostic, loadErrors int) string {
	var n [analyzer.Error + 1]int
	for _, d := range ds {
		if d.Severity >= analyzer.Info && d.Severity <= analyzer.Error {
			n[d.Severity]++
		}
	}
	plural := func(k int, one, many string) string {
		if k == 1 {
			return "1 " + one
		}
		return strconv.Itoa(k) + " " + many
	}
	var parts []string
	if n[analyzer.Error] > 0 {
		parts = append(parts, plural(n[analyzer.Error], "error", "errors"))
	}
	if n[analyzer.Warning] > 0 {
		parts = append(parts, plural(n[analyzer.Warning], "warning", "warnings"))
	}
	if n[analyzer.Info] > 0 {
		parts = append(parts, strconv.Itoa(n[analyzer.Info])+" info")
	}
	s := plural(len(ds), "finding", "findings")
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	switch loadErrors {
	case 0:
		return s + "; no configuration errors"
	case 1:
		return s + "; 1 configuration error"
	}
	return s + "; " + strconv.Itoa(loadErrors) + " configuration errors"
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
