// Package analysistest runs rules over txtar archives and checks the
// diagnostics against expectations written where they apply, in the manner
// of golang.org/x/tools/go/analysis/analysistest:
//
//	keepalive 1;                 # want "NGX2001"
//	local ok = set_current_peer() -- want "LUA3001" "LUA1211"
//
// Each quoted string is a regular expression matched against
// "ID slug: message", followed, when the diagnostic has details, by a
// newline and "details: " and the details; every expectation must be met
// by one diagnostic on that line of that file, and every diagnostic must
// meet an expectation. As "." does not match a newline, an expectation
// reads the headline only unless it asks for the details:
//
//	keepalive 1; # want "NGX2001 .*on lua-nginx-module 0.10.0\n(?s)details: .*fixed in lua-nginx-module 0.10.1"
//
// The archive's comment section holds settings, one "key: value" per line:
// main (the file to load, default nginx.conf), nginx, lnm, openresty
// (declared versions), prefix (nginx's -p, as --prefix: "/" is the
// archive's root), set (rule settings as k=v pairs), modules-load (the
// third-party modules declared present, space-separated) and
// modules-directives (declared directives, "name/ctx,ctx/args" separated
// by ";", as directives.Extra reads them).
package analysistest

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/tools/txtar"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/directives"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// Case is a loaded archive.
type Case struct {
	Name     string
	Archive  *txtar.Archive
	FS       fstest.MapFS
	Main     string
	Profile  versions.Profile
	Settings map[string]string
	Modules  *directives.ModuleSet
	Header   map[string]string
}

// Load reads a txtar archive into a Case.
func Load(path string) (*Case, error) {
	ar, err := txtar.ParseFile(path)
	if err != nil {
		return nil, err
	}
	return FromArchive(path, ar)
}

// FromArchive builds a Case from a parsed archive.
func FromArchive(name string, ar *txtar.Archive) (*Case, error) {
	c := &Case{Name: name, Archive: ar, FS: fstest.MapFS{}, Main: "nginx.conf", Settings: map[string]string{}, Header: map[string]string{}}
	for _, line := range strings.Split(string(ar.Comment), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		c.Header[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if m := c.Header["main"]; m != "" {
		c.Main = m
	}
	for _, kv := range strings.Fields(c.Header["set"]) {
		k, v, _ := strings.Cut(kv, "=")
		c.Settings[k] = v
	}
	p, err := versions.Resolve(c.Header["nginx"], c.Header["lnm"], c.Header["openresty"])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c.Profile = p
	if c.Modules, err = headerModules(c.Header); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for _, f := range ar.Files {
		c.FS[f.Name] = &fstest.MapFile{Data: f.Data, Mode: 0o644}
	}
	return c, nil
}

// Analyze loads the case's configuration and runs rules over it.
func (c *Case) Analyze(rules []*analyzer.Rule) (*nginxconf.Config, *analyzer.Result) {
	cfg := nginxconf.Load(c.FS, c.Main, nginxconf.Options{Prefix: c.Header["prefix"]})
	model := nginxconf.BuildModel(cfg)
	return cfg, analyzer.Run(cfg, model, rules, analyzer.Options{Profile: c.Profile, Settings: c.Settings, Modules: c.Modules})
}

// headerModules builds the declared module set of the header, nil when
// it declares none.
func headerModules(h map[string]string) (*directives.ModuleSet, error) {
	load, hasLoad := h["modules-load"]
	decl := h["modules-directives"]
	if !hasLoad && decl == "" {
		return nil, nil
	}
	var names []string
	if hasLoad {
		names = append([]string{}, strings.Fields(load)...)
	}
	var extra []directives.Extra
	for _, d := range strings.Split(decl, ";") {
		if strings.TrimSpace(d) == "" {
			continue
		}
		parts := strings.Split(strings.TrimSpace(d), "/")
		e := directives.Extra{Name: parts[0]}
		if len(parts) > 1 && parts[1] != "" {
			e.Contexts = strings.Split(parts[1], ",")
		}
		if len(parts) > 2 {
			e.Args = parts[2]
		}
		extra = append(extra, e)
	}
	return directives.NewModuleSet(names, extra)
}

var wantRE = regexp.MustCompile(`(?:#|--)\s*want((?:\s+"(?:[^"\\]|\\.)*")+)`)
var quotedRE = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

type key struct {
	file string
	line int
}

// Expectations extracts the want comments of every file in the archive.
func (c *Case) Expectations() (map[key][]*regexp.Regexp, error) {
	out := map[key][]*regexp.Regexp{}
	for _, f := range c.Archive.Files {
		for i, line := range strings.Split(string(f.Data), "\n") {
			m := wantRE.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			for _, q := range quotedRE.FindAllString(m[1], -1) {
				s, err := strconv.Unquote(q)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: bad want string %s", f.Name, i+1, q)
				}
				re, err := regexp.Compile(s)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: bad want regexp: %v", f.Name, i+1, err)
				}
				k := key{f.Name, i + 1}
				out[k] = append(out[k], re)
			}
		}
	}
	return out, nil
}

// Check runs the rules on the archive at path and reports every missing
// or unexpected diagnostic, and every load error unless the archive says
// "errors: ok".
func Check(t *testing.T, path string, rules []*analyzer.Rule) *analyzer.Result {
	t.Helper()
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, res := c.Analyze(rules)
	if c.Header["errors"] != "ok" {
		for _, e := range cfg.Errors {
			t.Errorf("%s: load error: %v", path, e)
		}
	}
	for _, e := range res.RuleErrors {
		t.Errorf("%s: %v", path, e)
	}
	wants, err := c.Expectations()
	if err != nil {
		t.Fatal(err)
	}
	got := map[key][]*analyzer.Diagnostic{}
	for _, d := range res.Diagnostics {
		k := key{d.Pos.File, d.Pos.Line}
		got[k] = append(got[k], d)
	}
	var problems []string
	for k, ds := range got {
		res := wants[k]
		used := make([]bool, len(res))
	diag:
		for _, d := range ds {
			text := d.Rule.ID + " " + d.Rule.Slug + ": " + d.Message
			if d.Details != "" {
				text += "\ndetails: " + d.Details
			}

			for i, re := range res {
				if !used[i] && re.MatchString(text) {
					used[i] = true
					continue diag
				}
			}
			problems = append(problems, fmt.Sprintf("%s:%d:%d: unexpected diagnostic: %s", k.file, k.line, d.Pos.Column, text))
		}
		for i, re := range res {
			if !used[i] {
				problems = append(problems, fmt.Sprintf("%s:%d: no diagnostic matched %q", k.file, k.line, re))
			}
		}
	}
	for k, res := range wants {
		if _, ok := got[k]; !ok {
			for _, re := range res {
				problems = append(problems, fmt.Sprintf("%s:%d: no diagnostic matched %q", k.file, k.line, re))
			}
		}
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Errorf("%s: %s", path, p)
	}
	return res
}
