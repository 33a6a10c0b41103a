package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/format"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules"
	"github.com/ngxlint/ngxlint/versions"
)

// Exit codes (README "Exit codes").
const (
	ExitClean    = 0
	ExitFindings = 1
	ExitUsage    = 2 // usage error or configuration load error
	ExitInternal = 3
	// ExitLuaFailed is emulate's: the configuration's Lua failed on every
	// request, so nothing was observed of nginx.
	ExitLuaFailed = 4
)

// Command is one invocation of the CLI with its standard streams.
type Command struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the environment (NO_COLOR); nil means none is set.
	Getenv func(string) string
	// IsTTY forces terminal output (colour, snippets) in tests; nil means
	// detect from Stdout.
	IsTTY *bool
}

// usageError is a bad invocation: exit 2 with the message.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// exitError carries an exit code decided by a subcommand.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

const topUsage = `ngxlint: lint nginx / OpenResty configurations and the Lua they carry

Usage:
  ngxlint check [flags] PATH...      report findings (a directory means its nginx.conf)
  ngxlint emulate [flags] CONFIG     run a config's request path in the built-in emulator
  ngxlint parse [--format json] PATH print the loaded tree, includes followed
  ngxlint rules                      list rules
  ngxlint explain ID|slug            print a rule's documentation
  ngxlint explain-retries PATH       print the retry model of every proxied location
  ngxlint docs [--out FILE]          print docs/rules.md (every rule's documentation)
  ngxlint playground [--listen ADDR] serve the browser playground (or --out DIR: write it)
  ngxlint version                    print ngxlint's version

Run "ngxlint COMMAND -h" for a command's flags.
`

// commands are the subcommands, for suggestions.
var commands = []string{"check", "emulate", "parse", "rules", "explain", "explain-retries", "docs", "playground", "version", "help"}

// Main runs the CLI and returns the process exit code.
func (c *Command) Main(args []string) (code int) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(c.Stderr, "ngxlint: internal error: %v\n%s", p, debug.Stack())
			code = ExitInternal
		}
	}()
	if len(args) < 2 {
		fmt.Fprint(c.Stderr, topUsage)
		return ExitUsage
	}
	var err error
	switch sub, rest := args[1], args[2:]; sub {
	case "check":
		err = c.check(rest)
	case "emulate":
		err = c.emulate(rest)
	case "parse":
		err = c.parse(rest)
	case "rules":
		err = c.listRules(rest)
	case "explain":
		err = c.explain(rest)
	case "explain-retries":
		err = c.explainRetries(rest)
	case "docs":
		err = c.docs(rest)
	case "playground":
		err = c.playground(rest)
	case "version", "--version":
		fmt.Fprintln(c.Stdout, "ngxlint", buildVersion())
	case "help", "-h", "--help":
		if len(rest) > 0 && slices.Contains(commands, rest[0]) && rest[0] != "help" && rest[0] != "version" {
			// "ngxlint help check" is "ngxlint check -h".
			return c.Main([]string{args[0], rest[0], "-h"})
		}
		fmt.Fprint(c.Stdout, topUsage)
	default:
		if m := analyzer.Closest(sub, commands); m != "" {
			err = usagef("unknown command %q: did you mean %q?\n\n%s", sub, m, topUsage)
		} else {
			err = usagef("unknown command %q\n\n%s", sub, topUsage)
		}
	}
	return c.exitCode(err)
}

func (c *Command) exitCode(err error) int {
	if err == nil {
		return ExitClean
	}
	var ue *usageError
	var ee *exitError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return ExitClean
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintln(c.Stderr, "ngxlint:", ue.msg)
		return ExitUsage
	default:
		fmt.Fprintln(c.Stderr, "ngxlint: internal error:", err)
		return ExitInternal
	}
}

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func (c *Command) env(k string) string {
	if c.Getenv == nil {
		return ""
	}
	return c.Getenv(k)
}

func (c *Command) tty() bool {
	if c.IsTTY != nil {
		return *c.IsTTY
	}
	f, ok := c.Stdout.(*os.File)
	if !ok {
		return false
	}
	// A character device is not enough: /dev/null is one too.
	return isTerminal(f)
}

// color decides colour for mode "auto" (a terminal that is not
// TERM=dumb, and no NO_COLOR: no-color.org), "always" or "never".
func (c *Command) color(mode string) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	return c.tty() && c.env("NO_COLOR") == "" && c.env("TERM") != "dumb"
}

// newFlagSet makes a flag set that reports to Stderr and does not exit.
func (c *Command) newFlagSet(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	fs.Usage = func() {
		fmt.Fprint(c.Stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses flags that may be interleaved with positional args, as
// users write `ngxlint check nginx.conf --format json`.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	// -h prints the whole usage; a bad flag prints only the error and a
	// pointer to -h, so the mistake is not buried under the flag list.
	full := fs.Usage
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "--h" || a == "-help" || a == "--help" {
			full()
			return nil, flag.ErrHelp
		}
	}
	// The flag package prints its own error and the usage before
	// returning the error; ngxlint says it once, in its own words, with a
	// suggestion and a pointer to -h.
	out := fs.Output()
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	defer func() { fs.Usage = full; fs.SetOutput(out) }()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, flagError(fs, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// flagError words a flag parse error: "--name" as users type it, a
// did-you-mean for an unknown flag, and where the flags are listed.
func flagError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	hint := fmt.Sprintf(" (run 'ngxlint %s -h' for the flags)", fs.Name())
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		name = strings.TrimLeft(name, "-")
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		if m := analyzer.Closest(name, names); m != "" {
			return usagef("unknown flag --%s: did you mean --%s?%s", name, m, hint)
		}
		return usagef("unknown flag --%s%s", name, hint)
	}
	// "invalid value "x" for flag -fail-on: ..." and "flag needs an
	// argument: -format".
	msg = strings.Replace(msg, " -", " --", 1)
	return usagef("%s%s", msg, hint)
}

// versionFlags are shared by check and emulate.
type versionFlags struct {
	nginx, lnm, openresty, binary string
}

func (v *versionFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&v.nginx, "nginx-version", "", "nginx version the config runs on (e.g. 1.22.1)")
	fs.StringVar(&v.lnm, "lua-nginx-module-version", "", "lua-nginx-module version (e.g. 0.10.23)")
	fs.StringVar(&v.openresty, "openresty-version", "", "OpenResty bundle version (e.g. 1.21.4.1); sets nginx and lua-nginx-module")
	fs.StringVar(&v.binary, "nginx-binary", "", "read versions from this nginx / openresty binary's -V output")
}

// profile resolves the declared versions. Unknown stays unknown: rules say
// what happens on the versions that would be affected.
func (v *versionFlags) profile(ctx context.Context) (versions.Profile, []string, error) {
	if v.binary == "" {
		p, err := versions.Resolve(v.nginx, v.lnm, v.openresty)
		if err != nil {
			return p, nil, usagef("%v", err)
		}
		return p, nil, nil
	}
	if v.nginx != "" || v.openresty != "" {
		return versions.Profile{}, nil, usagef("--nginx-binary cannot be combined with --nginx-version or --openresty-version")
	}
	return nginxBinaryProfile(ctx, v.binary, v.lnm, nil)
}

// configPath turns a PATH argument into the main config file: a directory
// means its nginx.conf (or conf/nginx.conf, OpenResty's prefix layout).
func configPath(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", usagef("%v", err)
	}
	if !st.IsDir() {
		return p, nil
	}
	for _, cand := range []string{"nginx.conf", filepath.Join("conf", "nginx.conf")} {
		full := filepath.Join(p, cand)
		if _, err := os.Stat(full); err == nil {
			return full, nil
		}
	}
	return "", usagef("%s is a directory with no nginx.conf or conf/nginx.conf", p)
}

func (c *Command) listRules(args []string) error {
	fs := c.newFlagSet("rules", "Usage: ngxlint rules [SELECTOR...]\n\nLists the rules; SELECTORs (IDs, slugs, prefixes such as LUA2 or LUA2*, words of the title) filter the list.\n")
	sels, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	shown := 0
	for _, r := range rules.Registry().All() {
		if len(sels) > 0 && !slices.ContainsFunc(sels, func(s string) bool { return ruleListed(r, s) }) {
			continue
		}
		fmt.Fprintf(c.Stdout, "%-8s %-32s %-8s %s\n", r.ID, r.Slug, r.Severity, r.Doc.Title)
		shown++
	}
	if shown == 0 && len(sels) > 0 {
		return usagef("no rule matches %s%s", strings.Join(sels, " "), ruleSuggestion(sels[0]))
	}
	return nil
}

func (c *Command) explain(args []string) error {
	fs := c.newFlagSet("explain", "Usage: ngxlint explain ID|slug\n")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("explain takes one rule ID or slug")
	}
	r := rules.Registry().Lookup(pos[0])
	if r == nil {
		for _, b := range []*analyzer.Rule{analyzer.InvalidIgnoreRule, analyzer.UnusedIgnoreRule} {
			if b.Matches(pos[0]) {
				r = b
			}
		}
	}
	if r == nil {
		return usagef("no rule %q (see ngxlint rules)", pos[0])
	}
	fmt.Fprint(c.Stdout, rules.Explain(r))
	return nil
}

func (c *Command) parse(args []string) error {
	fs := c.newFlagSet("parse", "Usage: ngxlint parse [--format json] PATH\n")
	format := fs.String("format", "json", "output format: json")
	prefix := fs.String("prefix", "", "nginx prefix for relative *_by_lua_file paths")
	var limits nginxconf.Options
	var allow allowFlag
	registerLimitFlags(fs, &limits, &allow)
	var pf projectFlags
	pf.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("parse takes one PATH")
	}
	if *format != "json" {
		return usagef("parse: unknown format %q", *format)
	}
	// The same .ngxlint.yaml as check: its directory bounds the tree and
	// its path_map applies (versions do not matter to the tree).
	var vf versionFlags
	fc, err := pf.apply(fs, pos[0], &vf)
	if err != nil {
		return err
	}
	_, cfg, _, err := c.loadTree(pos[0], *prefix, limits, allow, fc)
	if err != nil {
		return err
	}
	out, err := cfg.MarshalParseJSON()
	if err != nil {
		return err
	}
	c.Stdout.Write(out)
	fmt.Fprintln(c.Stdout)
	if len(cfg.Errors) > 0 {
		return &exitError{ExitUsage}
	}
	return nil
}

// loadWithoutErrors loads the configuration arg names (a directory means
// its nginx.conf) for the commands that need a complete one (emulate,
// explain-retries): load errors are printed and end the command with
// ExitUsage.
// fc is the governing .ngxlint.yaml (nil for none): its directory bounds
// the checked tree and its path_map applies. The loaded configuration's
// tree is returned as the sandbox's file system (nginxconf.TreeFS).
func (c *Command) loadWithoutErrors(arg, prefix string, limits nginxconf.Options, allow []string, fc *fileConfig) (string, *nginxconf.Config, fs.FS, error) {
	path, cfg, tree, err := c.loadTree(arg, prefix, limits, allow, fc)
	if err != nil {
		return "", nil, nil, err
	}
	// What the loader noted without failing (an include outside the
	// checkout, a stock file) is said, escaped like every repository text.
	for _, n := range cfg.Notes {
		c.Stderr.Write(append(format.AppendSafe([]byte("ngxlint: note: "), redactQuoted(n.Error())), '\n'))
	}
	if len(cfg.Errors) > 0 {
		for _, e := range cfg.Errors {
			fmt.Fprintln(c.Stderr, e)
		}
		return "", nil, nil, &exitError{ExitUsage}
	}
	return path, cfg, tree, nil
}

// loadTree loads the configuration arg names as every subcommand does:
// the tree bounded by the governing .ngxlint.yaml (fc), its path_map,
// modules followed.
func (c *Command) loadTree(arg, prefix string, limits nginxconf.Options, allow []string, fc *fileConfig) (string, *nginxconf.Config, fs.FS, error) {
	path, err := configPath(arg)
	if err != nil {
		return "", nil, nil, err
	}
	limits.Prefix = prefix
	configDir := ""
	if fc != nil {
		configDir = fc.Dir
		limits.PathMap = fc.nginxPathMap()
	}
	limits.Roots, _ = treeRoots(path, configDir, prefix, allow)
	limits.Requires = luacheck.Requires
	tree := nginxconf.TreeFS(limits.Roots, limits.MaxFileSize)
	return path, nginxconf.LoadFile(path, limits), tree, nil
}

// projectFlags are how emulate, explain-retries and parse find the same
// .ngxlint.yaml and versions as check.
type projectFlags struct {
	configFile   string
	noConfig     bool
	versionsSpec string
}

func (p *projectFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.configFile, "config", "", "configuration file (default: .ngxlint.yaml found by walking up from CONFIG)")
	fs.BoolVar(&p.noConfig, "no-config", false, "do not read any .ngxlint.yaml")
	fs.StringVar(&p.versionsSpec, "versions", "", `versions in one flag, as in .ngxlint.yaml: "nginx=1.22.1,lua_nginx_module=0.10.23" or "openresty=1.21.4.1"`)
}

// apply reads the .ngxlint.yaml that governs target (nil when there is
// none or --no-config) and completes vf as check does: --versions and the
// version flags win, the file's versions fill the rest.
func (p *projectFlags) apply(fs *flag.FlagSet, target string, vf *versionFlags) (*fileConfig, error) {
	if p.configFile != "" && p.noConfig {
		return nil, usagef("--config and --no-config exclude each other")
	}
	setFlags := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { setFlags[fl.Name] = true })
	if err := vf.applySpec(p.versionsSpec, setFlags); err != nil {
		return nil, err
	}
	if p.noConfig {
		return nil, nil
	}
	file := p.configFile
	if file == "" {
		file = findConfigFile(target)
	}
	if file == "" {
		return nil, nil
	}
	fc, err := loadFileConfig(file, newRuleLookup(rules.Registry()))
	if err != nil {
		return nil, err
	}
	if vf.binary == "" && vf.nginx == "" && vf.openresty == "" {
		vf.nginx, vf.openresty = fc.Versions.Nginx, fc.Versions.OpenResty
	}
	if vf.lnm == "" && vf.openresty == "" {
		vf.lnm = fc.Versions.LNM
	}
	return fc, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ruleListed reports whether `ngxlint rules SEL` lists r: a selector as
// --enable takes it, an ID prefix without the '*', or a word of the title.
func ruleListed(r *analyzer.Rule, sel string) bool {
	if r.Matches(sel) || r.Matches(sel+"*") {
		return true
	}
	return strings.Contains(strings.ToLower(r.Doc.Title), strings.ToLower(sel))
}

// ruleSuggestion is ": did you mean X?" for the rule ID or slug closest to
// sel, or "".
func ruleSuggestion(sel string) string {
	var names []string
	for _, r := range rules.Registry().All() {
		names = append(names, r.ID, r.Slug)
	}
	if m := analyzer.Closest(sel, names); m != "" {
		return fmt.Sprintf(": did you mean %s?", m)
	}
	return ""
}

// escapeStdout routes c.Stdout through safeLines until the returned
// function is called (it flushes and restores).
func (c *Command) escapeStdout() func() {
	orig := c.Stdout
	sl := format.NewSafeLines(orig)
	c.Stdout = sl
	return func() {
		sl.Flush()
		c.Stdout = orig
	}
}
