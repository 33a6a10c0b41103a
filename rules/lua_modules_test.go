package rules

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/analyzer/analysistest"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
)

var (
	modWantRE   = regexp.MustCompile(`(?:#|--)\s*want((?:\s+"(?:[^"\\]|\\.)*")+)`)
	modQuotedRE = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	// related "FILE:LINE" "REGEXP" on a want line asks for a related
	// position of the diagnostic matched on that line.
	modRelatedRE = regexp.MustCompile(`\brelated\s+"([^"]+)"\s+"((?:[^"\\]|\\.)*)"`)
)

// TestLuaModuleCases runs the cases of testdata/lua/modules: configurations
// loaded as the CLI loads them, following Lua modules (luacheck.Requires),
// with the rules the archive's "rules:" line names (slugs or IDs). Wants
// are written in the module files too, where the findings are.
func TestLuaModuleCases(t *testing.T) {
	files, _ := filepath.Glob("../testdata/lua/modules/*.txtar")
	if len(files) == 0 {
		t.Fatal("no cases")
	}
	reg := Registry()
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := analysistest.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			if why := c.Header["pending"]; why != "" {
				t.Skip("pending: " + why)
			}
			var rs []*analyzer.Rule
			for _, n := range strings.Fields(c.Header["rules"]) {
				r := reg.Lookup(n)
				if r == nil {
					t.Fatalf("rules: %q names no rule", n)
				}
				rs = append(rs, r)
			}
			cfg := nginxconf.Load(c.FS, c.Main, nginxconf.Options{Requires: luacheck.Requires})
			if c.Header["errors"] != "ok" {
				for _, e := range cfg.Errors {
					t.Errorf("load error: %v", e)
				}
			}
			res := analyzer.Run(cfg, nginxconf.BuildModel(cfg), rs, analyzer.Options{Profile: c.Profile, Settings: c.Settings})
			for _, e := range res.RuleErrors {
				t.Error(e)
			}
			type key struct {
				file string
				line int
			}
			wants := map[key][]*regexp.Regexp{}
			related := map[key][2]string{}
			for _, af := range c.Archive.Files {
				for i, line := range strings.Split(string(af.Data), "\n") {
					k := key{af.Name, i + 1}
					if m := modWantRE.FindStringSubmatch(line); m != nil {
						for _, q := range modQuotedRE.FindAllString(m[1], -1) {
							s, _ := strconv.Unquote(q)
							wants[k] = append(wants[k], regexp.MustCompile(s))
						}
					}
					if m := modRelatedRE.FindStringSubmatch(line); m != nil {
						related[k] = [2]string{m[1], m[2]}
					}
				}
			}
			var problems []string
			got := map[key]bool{}
			for _, d := range res.Diagnostics {
				k := key{d.Pos.File, d.Pos.Line}
				got[k] = true
				text := d.Rule.ID + " " + d.Rule.Slug + ": " + d.Message
				matched := -1
				for i, re := range wants[k] {
					if re != nil && re.MatchString(text) {
						matched = i
						break
					}
				}
				if matched < 0 {
					problems = append(problems, fmt.Sprintf("%s:%d:%d: unexpected diagnostic: %s", k.file, k.line, d.Pos.Column, text))
					continue
				}
				wants[k][matched] = nil
				if rel, ok := related[k]; ok {
					found := false
					for _, r := range d.Related {
						if fmt.Sprintf("%s:%d", r.Pos.File, r.Pos.Line) == rel[0] && regexp.MustCompile(rel[1]).MatchString(r.Message) {
							found = true
						}
					}
					if !found {
						problems = append(problems, fmt.Sprintf("%s:%d: no related position %s %q in %+v", k.file, k.line, rel[0], rel[1], d.Related))
					}
				}
			}
			for k, res := range wants {
				for _, re := range res {
					if re != nil {
						problems = append(problems, fmt.Sprintf("%s:%d: no diagnostic matched %q", k.file, k.line, re))
					}
				}
			}
			sort.Strings(problems)
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
}
