package rules

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/analyzer/analysistest"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// TestConfirmCases runs the txtar cases of testdata/lua/confirm: a
// configuration with its Lua modules, optional fixtures, and the status each
// finding's confirmation must get in the emulator. It is where the honest
// statuses (issue 15 item 5: a run whose Lua failed is never an
// observation) and the fixtures that let real balancers run are written
// down case by case. Header lines:
//
//	rules: NGX2104 ...                   the rules to run
//	nginx:, lnm:, openresty:             declared versions
//	want: ID STATUS "regexp"             every finding of ID gets STATUS,
//	                                     with the summary or reason matching
//
// An optional file "fixtures" holds one fixture per line:
// "shared_dict DICT KEY VALUE", "env NAME VALUE", "var NAME VALUE",
// "module NAME FILE" (FILE another file of the archive).
func TestConfirmCases(t *testing.T) {
	files, _ := filepath.Glob("../testdata/lua/confirm/*.txtar")
	if len(files) == 0 {
		t.Fatal("no cases")
	}
	reg := Registry()
	wantRE := regexp.MustCompile(`^(\S+)\s+(\S+)\s+(".*")$`)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := analysistest.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			var rs []*analyzer.Rule
			for _, n := range strings.Fields(c.Header["rules"]) {
				r := reg.Lookup(n)
				if r == nil {
					t.Fatalf("rules: %q names no rule", n)
				}
				rs = append(rs, r)
			}
			m := wantRE.FindStringSubmatch(c.Header["want"])
			if m == nil {
				t.Fatalf("want: %q is not ID STATUS \"regexp\"", c.Header["want"])
			}
			pat, err := strconv.Unquote(m[3])
			if err != nil {
				t.Fatal(err)
			}
			re := regexp.MustCompile(pat)
			eng := analyzer.Engine{Files: c.FS}
			if fx, ok := c.FS["fixtures"]; ok {
				eng.Fixtures = parseFixtureLines(t, string(fx.Data), c)
			}
			cfg := nginxconf.Load(c.FS, c.Main, nginxconf.Options{Requires: luacheck.Requires})
			for _, e := range cfg.Errors {
				t.Fatalf("load error: %v", e)
			}
			res := analyzer.Run(cfg, nginxconf.BuildModel(cfg), rs, analyzer.Options{Profile: c.Profile, Engine: eng})
			n := 0
			for _, d := range res.Diagnostics {
				if d.Rule.ID != m[1] || d.Confirm == nil {
					continue
				}
				n++
				got := d.Confirm.Confirm(context.Background())
				text := got.Summary + " " + got.Reason
				if got.Status != m[2] || !re.MatchString(text) {
					t.Errorf("%s at %s: status %s (%s), want %s matching %q", d.Rule.ID, d.Pos, got.Status, text, m[2], pat)
				}
			}
			if n == 0 {
				t.Errorf("no %s finding with a confirmation scenario", m[1])
			}
		})
	}
}

func parseFixtureLines(t *testing.T, text string, c *analysistest.Case) analyzer.Fixtures {
	var fx analyzer.Fixtures
	set := func(m *map[string]string, k, v string) {
		if *m == nil {
			*m = map[string]string{}
		}
		(*m)[k] = v
	}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case f[0] == "shared_dict" && len(f) == 4:
			if fx.SharedDicts == nil {
				fx.SharedDicts = map[string]map[string]string{}
			}
			if fx.SharedDicts[f[1]] == nil {
				fx.SharedDicts[f[1]] = map[string]string{}
			}
			fx.SharedDicts[f[1]][f[2]] = f[3]
		case f[0] == "env" && len(f) == 3:
			set(&fx.Env, f[1], f[2])
		case f[0] == "var" && len(f) == 3:
			set(&fx.Vars, f[1], f[2])
		case f[0] == "module" && len(f) == 3:
			mf, ok := c.FS[f[2]]
			if !ok {
				t.Fatalf("fixtures: module file %s not in the archive", f[2])
			}
			if fx.Modules == nil {
				fx.Modules = map[string]analyzer.FixtureModule{}
			}
			fx.Modules[f[1]] = analyzer.FixtureModule{File: f[2], Code: string(mf.Data)}
		default:
			t.Fatalf("fixtures: bad line %q", line)
		}
	}
	return fx
}
