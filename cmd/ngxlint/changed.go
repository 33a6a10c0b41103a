package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/format"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// Checking what changed (issue 18 item 1). pre-commit passes the staged
// files, and a pull request changes a few lines of a tree: in both, the
// files have to be checked in the configuration that includes or loads
// them (an included conf.d file alone has no upstreams and resolves its
// *_by_lua_file paths against the wrong prefix; a Lua module alone runs in
// no phase), while only what the change touched may fail the commit.
//
//   - --changed: the PATHs are changed files. Each is mapped to the main
//     configurations whose files contain it (the targets of .ngxlint.yaml,
//     or, without targets, the nginx.conf files discovered in the checked
//     tree); those are checked whole, and only findings located in the
//     changed files are reported. A file no configuration contains is
//     checked on its own, as a plain PATH is.
//   - --new-from-rev REV: only findings on lines added or changed since REV
//     (git diff --unified=0 REV) are reported. Without PATH the files
//     changed since REV are checked as with --changed.
//   - --all: check the same configurations, report every finding.

// changeScope holds check's --changed, --new-from-rev and --all, and, once
// scopedUnits has run, what the report is narrowed to.
type changeScope struct {
	changed    bool
	newFromRev string
	all        bool

	// active is set when findings are narrowed: files holds the changed
	// files (by real path), lines the changed lines of each (by real path)
	// with --new-from-rev, nil otherwise.
	active bool
	files  map[string]bool
	lines  map[string][]lineSpan
}

func (s *changeScope) register(fs *flag.FlagSet) {
	fs.BoolVar(&s.changed, "changed", false, "the PATHs are changed files (as pre-commit passes them): check the configurations that include or load them, and report only findings in them")
	fs.StringVar(&s.newFromRev, "new-from-rev", "", "report only findings on lines added or changed since the git revision REV (git diff REV); without PATH, check the files changed since REV as --changed does")
	fs.BoolVar(&s.all, "all", false, "with --changed or --new-from-rev: check the same configurations but report every finding")
}

// Discovery bounds: the tree comes from the repository under test, so the
// walk and the number of configurations loaded are bounded. Past them
// the user is told to list targets.
const (
	maxDiscoverEntries = 100000
	maxDiscoverMains   = 64
)

// scopedUnits is checkUnits for check's changed-files modes; without
// them it is checkUnits.
func (c *Command) scopedUnits(f *checkFlags, paths []string, lookup ruleLookup) ([]checkUnit, []string, error) {
	s := &f.scope
	if !s.changed && s.newFromRev == "" {
		if s.all {
			return nil, nil, usagef("--all needs --changed or --new-from-rev")
		}
		return c.checkUnits(f, paths, lookup)
	}
	switch {
	case f.writeBaseline != "":
		return nil, nil, usagef("--write-baseline records every finding: it cannot be combined with --changed or --new-from-rev")
	case f.upgradeTo != "":
		return nil, nil, usagef("--upgrade-to compares whole configurations: it cannot be combined with --changed or --new-from-rev")
	case slices.Contains(paths, "-"):
		return nil, nil, usagef("--changed and --new-from-rev need files, not standard input")
	}
	var notes []string
	if s.newFromRev != "" {
		lines, files, err := gitChangedLines(context.Background(), s.newFromRev)
		if err != nil {
			return nil, nil, err
		}
		s.lines = lines
		if len(paths) == 0 {
			if len(files) == 0 {
				notes = append(notes, fmt.Sprintf("no file changed since %s", s.newFromRev))
				s.active, s.files = true, map[string]bool{}
				return nil, notes, nil
			}
			paths, s.changed = files, true
		} else if !s.changed {
			// The PATHs are main configurations, checked as usual; the
			// findings are narrowed to the changed lines.
			s.active = !s.all
			return c.checkUnits(f, paths, lookup)
		}
	}
	if len(paths) == 0 {
		return nil, nil, usagef("--changed needs the changed files as PATH")
	}
	units, more, err := c.changedUnits(f, paths, lookup, s.newFromRev != "")
	if err != nil {
		return nil, nil, err
	}
	s.active = !s.all
	s.files = map[string]bool{}
	for _, p := range paths {
		s.files[realAbs(p)] = true
	}
	return units, append(notes, more...), nil
}

// changedUnits maps changed files to the configurations that contain
// them. Files no configuration contains go to checkUnits, which checks a
// .conf (or a directory) as a main configuration and a .lua file on its
// own, with a note. fromGit says the files come from git rather than the
// command line: then other files (README.md, images) no configuration
// contains are dropped rather than parsed as nginx configurations.
func (c *Command) changedUnits(f *checkFlags, files []string, lookup ruleLookup, fromGit bool) ([]checkUnit, []string, error) {
	configFor := f.configFinder(lookup)
	loaded := map[string]*checkUnit{} // by absolute main path
	load := func(p string, fc *fileConfig) *checkUnit {
		abs, _ := filepath.Abs(p)
		if u, ok := loaded[abs]; ok {
			return u
		}
		u := f.loadUnit(p, fc)
		loaded[abs] = u
		return u
	}
	discovered := map[string][]string{} // by root
	var units []checkUnit
	var notes, own []string
	seen := map[string]bool{}
	for _, p := range files {
		st, err := os.Stat(p)
		if err != nil {
			return nil, nil, usagef("%v", err)
		}
		if st.IsDir() {
			own = append(own, p) // a directory names its nginx.conf
			continue
		}
		fc, err := configFor(p)
		if err != nil {
			return nil, nil, err
		}
		var mains []string
		var mainFC func(string) (*fileConfig, error)
		targets := fc != nil && len(fc.Targets) > 0
		if targets {
			mainFC = func(string) (*fileConfig, error) { return fc, nil }
			for _, t := range fc.Targets {
				tp := displayPath(filepath.Join(fc.Dir, t))
				if st, err := os.Stat(tp); err != nil || st.IsDir() {
					if tp, err = configPath(tp); err != nil {
						return nil, nil, usagef("%s: target %q: %v", fc.Path, t, err)
					}
				}
				mains = append(mains, tp)
			}
		} else {
			mainFC = configFor
			configDir := ""
			if fc != nil {
				configDir = fc.Dir
			}
			_, write := treeRoots(p, configDir, "", nil)
			root := write[0]
			if _, ok := discovered[root]; !ok {
				found, truncated := discoverMains(root)
				discovered[root] = found
				if truncated {
					notes = append(notes, fmt.Sprintf("%s: more files than ngxlint looks through for nginx.conf: list your main configurations under targets in %s", displayPath(root), configFileName))
				}
			}
			mains = discovered[root]
		}
		contained := false
		for _, m := range mains {
			mfc, err := mainFC(m)
			if err != nil {
				return nil, nil, err
			}
			u := load(m, mfc)
			if u.cfg.Main == nil || !targets && !isMainConfig(u.cfg) {
				continue // discovered, but an include fragment named nginx.conf
			}
			if !configHasAnyFile(u.cfg, p) {
				continue
			}
			contained = true
			abs, _ := filepath.Abs(m)
			if !seen[abs] {
				seen[abs] = true
				units = append(units, *u)
			}
		}
		if contained {
			continue
		}
		ext := strings.ToLower(filepath.Ext(p))
		if fromGit && ext != ".conf" && ext != ".lua" {
			continue // a changed file no configuration uses
		}
		own = append(own, p)
	}
	if len(own) > 0 {
		more, moreNotes, err := c.checkUnits(f, own, lookup)
		if err != nil {
			return nil, nil, err
		}
		for _, u := range more {
			abs, _ := filepath.Abs(u.path)
			if !seen[abs] {
				seen[abs] = true
				units = append(units, u)
			}
		}
		notes = append(notes, moreNotes...)
	}
	return units, notes, nil
}

// loadUnit loads the main configuration at p the way checkUnits does:
// the same limits, roots (tree.go), prefix, module resolution and path
// map, so that a configuration found for a changed file gives the same
// findings as the same configuration named on the command line.
func (f *checkFlags) loadUnit(p string, fc *fileConfig) *checkUnit {
	o := f.limits
	o.Prefix = f.prefix
	configDir := ""
	if fc != nil {
		configDir = fc.Dir
		o.PathMap = fc.nginxPathMap()
	}
	var write []string
	o.Roots, write = treeRoots(p, configDir, f.prefix, f.allowPaths)
	o.Requires = luacheck.Requires
	load := nginxconf.LoadFile
	if strings.EqualFold(filepath.Ext(p), ".lua") {
		load = nginxconf.LoadLuaFile // a Lua file no configuration loads
	}
	return &checkUnit{path: p, fc: fc, cfg: load(p, o), readRoots: o.Roots, writeRoots: write}
}

// configFinder returns the .ngxlint.yaml that governs a path (--config,
// or the one found above it; nil with --no-config or none), each file
// read once.
func (f *checkFlags) configFinder(lookup ruleLookup) func(string) (*fileConfig, error) {
	configs := map[string]*fileConfig{}
	return func(p string) (*fileConfig, error) {
		if f.noConfig {
			return nil, nil
		}
		file := f.configFile
		if file == "" {
			file = findConfigFile(p)
		}
		if file == "" {
			return nil, nil
		}
		if fc, ok := configs[file]; ok {
			return fc, nil
		}
		fc, err := loadFileConfig(file, lookup)
		if err != nil {
			return nil, err
		}
		configs[file] = fc
		return fc, nil
	}
}

// discoverMains lists the files named nginx.conf under root (which covers
// OpenResty's conf/nginx.conf layout), in walk order. It does not follow
// symbolic links, and skips hidden directories (.git) and the directories
// of other tools' dependencies, which hold no configuration of this
// repository. truncated says the walk stopped at its bounds.
func discoverMains(root string) (mains []string, truncated bool) {
	n := 0
	errStop := errors.New("stop")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable directory holds nothing to check
		}
		if n++; n > maxDiscoverEntries || len(mains) >= maxDiscoverMains {
			return errStop
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if name == "nginx.conf" && d.Type().IsRegular() {
			mains = append(mains, displayPath(p))
		}
		return nil
	})
	return mains, err == errStop
}

// isMainConfig reports whether cfg's main file is a main configuration:
// nginx's main context holds the events, http, stream or mail blocks
// (ngx_core_module's context; an included server or location fragment
// that happens to be named nginx.conf holds none of them).
func isMainConfig(cfg *nginxconf.Config) bool {
	for _, d := range cfg.Main.Directives {
		switch d.Name {
		case "events", "http", "stream", "mail":
			return true
		}
	}
	return false
}

// configHasAnyFile is configHasFile (check.go) comparing real paths too,
// so a checkout reached through a symbolic link still maps.
func configHasAnyFile(cfg *nginxconf.Config, p string) bool {
	abs, _ := filepath.Abs(p)
	if configHasFile(cfg, filepath.ToSlash(abs)) {
		return true
	}
	real := realAbs(p)
	for _, fl := range cfg.AllFiles() {
		if realAbs(filepath.FromSlash(fl.AbsPath)) == real {
			return true
		}
	}
	return false
}

// realAbs is p made absolute with symbolic links resolved (p when that
// fails), in slash form: the key files are compared by.
func realAbs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		p = a
	}
	return filepath.ToSlash(realPath(p))
}

// filter narrows the report to what changed: findings located in the
// changed files (on the changed lines with --new-from-rev), and the
// configuration errors of those files. The rest is counted in a note. It
// returns whether a configuration error is left, which is what
// loadFailed means to check.
func (s *changeScope) filter(r *checkReport, loadFailed bool) bool {
	if !s.active {
		return loadFailed
	}
	idx := r.Files()
	keyOf := map[string]string{}
	key := func(name string) string {
		if k, ok := keyOf[name]; ok {
			return k
		}
		k := ""
		if fl, ok := idx[name]; ok && fl.AbsPath != "" {
			k = realAbs(filepath.FromSlash(fl.AbsPath))
		} else if name != "" {
			k = realAbs(name)
		}
		keyOf[name] = k
		return k
	}
	inScope := func(file string, line, end int) bool {
		k := key(file)
		if s.files != nil && !s.files[k] {
			return false
		}
		if s.lines == nil {
			return true
		}
		return touches(s.lines[k], line, end)
	}
	before := len(r.Diagnostics)
	kept := r.Diagnostics[:0]
	for _, d := range r.Diagnostics {
		// With --new-from-rev a finding is new too when one of its
		// related positions changed: adding keepalive to an upstream
		// makes NGX2002 appear at a location that did not change. With
		// --changed alone the changed file is the whole scope, and most
		// findings relate to the main configuration, so only where a
		// finding is counts.
		if inScope(d.Pos.File, d.Pos.Line, d.End.Line) ||
			s.lines != nil && slices.ContainsFunc(d.Related, func(rel analyzer.Related) bool {
				return inScope(rel.Pos.File, rel.Pos.Line, rel.End.Line)
			}) {
			kept = append(kept, d)
		}
	}
	r.Diagnostics = kept
	dropped := before - len(kept)

	var errs []format.Error
	droppedErrs := 0
	seen := map[format.Error]bool{}
	for _, e := range r.Errors {
		if seen[e] {
			continue // the same file in two configurations
		}
		seen[e] = true
		k := key(e.File)
		if e.File == "" || s.files == nil && s.lines[k] != nil || s.files[k] {
			errs = append(errs, e)
		} else {
			droppedErrs++
		}
	}
	r.Errors = errs
	what := "in files that did not change"
	if s.lines != nil {
		what = "on lines that did not change since " + s.newFromRev
	}
	if dropped > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d finding(s) %s are not reported (--all reports them)", dropped, what))
	}
	if droppedErrs > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d configuration error(s) in files that did not change are not reported (--all reports them)", droppedErrs))
	}
	return len(r.Errors) > 0
}

// lineSpan is a run of changed lines [from, to] of the new file; from ==
// to+1 marks a deletion between lines to and from.
type lineSpan struct{ from, to int }

// touches reports whether a finding on lines [line, end] meets a change:
// it lies on an added or changed line, or it spans lines around which
// something was deleted (a block whose directive was removed).
func touches(spans []lineSpan, line, end int) bool {
	if end < line {
		end = line
	}
	for _, sp := range spans {
		// For a deletion (from == to+1) this asks that the finding
		// span both lines around it.
		if line <= sp.to && sp.from <= end {
			return true
		}
	}
	return false
}

// gitTimeout bounds each git command: git diff of a checkout is quick,
// and a hung git (a credential prompt, a lock) must not hang CI.
const gitTimeout = 60 * time.Second

// gitChangedLines runs git diff --unified=0 REV on the whole git work
// tree of the working directory (the PATHs are main configurations, whose
// files may be anywhere in it) and returns the added or changed lines of
// each file by real path, and the files that exist now, as display paths. git runs with a fixed argument list
// (no shell), without external diff drivers, textconv filters or
// fsmonitor hooks, so nothing configured for the checkout runs. Every
// failure is a usage error (exit 2).
func gitChangedLines(ctx context.Context, rev string) (map[string][]lineSpan, []string, error) {
	if rev == "" || strings.HasPrefix(rev, "-") || strings.ContainsAny(rev, "\x00\n") {
		return nil, nil, usagef("--new-from-rev: %q is not a revision", rev)
	}
	git, err := exec.LookPath("git")
	if err != nil {
		return nil, nil, usagef("--new-from-rev needs git on PATH: %v", err)
	}
	run := func(dir string, args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(ctx, gitTimeout)
		defer cancel()
		all := append([]string{"--no-pager", "-c", "core.fsmonitor=false", "-c", "core.quotePath=true"}, args...)
		cmd := exec.CommandContext(ctx, git, all...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			msg, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
			if msg == "" {
				msg = err.Error()
			}
			return nil, errors.New(printable(msg))
		}
		return out, nil
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, nil, usagef("--new-from-rev: %v", err)
	}
	top, err := run(cwd, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, nil, usagef("--new-from-rev: not in a git work tree: %v", err)
	}
	root := strings.TrimSpace(string(top))
	commit, err := run(root, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return nil, nil, usagef("--new-from-rev: unknown revision %q (fetch it first, e.g. git fetch origin main)", rev)
	}
	args := []string{"diff", "--no-ext-diff", "--no-textconv", "--no-color", "--no-relative", "-M",
		"--unified=0", "--src-prefix=a/", "--dst-prefix=b/", "--diff-filter=ACMR", strings.TrimSpace(string(commit)), "--"}
	out, err := run(root, args...)
	if err != nil {
		return nil, nil, usagef("--new-from-rev: git diff %s: %v", rev, err)
	}
	lines, order := parseUnifiedZero(out)
	spans := map[string][]lineSpan{}
	var files []string
	for _, name := range order {
		p := filepath.Join(root, filepath.FromSlash(name))
		spans[realAbs(p)] = lines[name]
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			files = append(files, displayPath(p))
		}
	}
	return spans, files, nil
}

// parseUnifiedZero reads the output of git diff --unified=0: for each
// file ("+++ b/NAME"), the new-side line ranges of its hunks ("@@ -a,b
// +c,d @@": d lines from c, or, with d = 0, a deletion after line c). A
// file that only changed mode or was renamed unchanged has no spans but
// is listed.
func parseUnifiedZero(out []byte) (map[string][]lineSpan, []string) {
	spans := map[string][]lineSpan{}
	var order []string
	cur := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "diff --git "):
			cur = ""
		case strings.HasPrefix(line, "+++ "):
			name := strings.TrimPrefix(line, "+++ ")
			if strings.HasPrefix(name, `"`) {
				// core.quotePath: a name with special bytes is C-quoted.
				if u, err := strconv.Unquote(name); err == nil {
					name = u
				}
			}
			name, ok := strings.CutPrefix(name, "b/")
			if !ok { // /dev/null: deleted
				cur = ""
				continue
			}
			cur = name
			if _, ok := spans[cur]; !ok {
				spans[cur] = []lineSpan{}
				order = append(order, cur)
			}
		case strings.HasPrefix(line, "@@ ") && cur != "":
			// "@@ -a[,b] +c[,d] @@ context"
			fields := strings.Fields(line)
			if len(fields) < 3 || !strings.HasPrefix(fields[2], "+") {
				continue
			}
			start, count := fields[2][1:], "1"
			if s, c, ok := strings.Cut(start, ","); ok {
				start, count = s, c
			}
			c, err1 := strconv.Atoi(start)
			d, err2 := strconv.Atoi(count)
			if err1 != nil || err2 != nil {
				continue
			}
			if d == 0 {
				spans[cur] = append(spans[cur], lineSpan{from: c + 1, to: c})
			} else {
				spans[cur] = append(spans[cur], lineSpan{from: c, to: c + d - 1})
			}
		}
	}
	return spans, order
}

// printable drops control characters from git's message, which may name
// files of the repository under test, before it reaches a terminal.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
