package rules

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/analyzer/analysistest"
)

// TestRules runs each rule over its txtar cases in
// testdata/rules/<slug>/, checking "# want" / "-- want" expectations.
func TestRules(t *testing.T) {
	reg := Registry()
	dirs, err := os.ReadDir("../testdata/rules")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		r := reg.Lookup(d.Name())
		if r == nil {
			t.Errorf("testdata/rules/%s names no rule", d.Name())
			continue
		}
		files, _ := filepath.Glob(filepath.Join("../testdata/rules", d.Name(), "*.txtar"))
		if len(files) == 0 {
			t.Errorf("rule %s has no test cases", r.Slug)
		}
		for _, f := range files {
			t.Run(d.Name()+"/"+filepath.Base(f), func(t *testing.T) {
				res := analysistest.Check(t, f, []*analyzer.Rule{r})
				checkConfirmations(t, f, res)
			})
		}
	}
	for _, r := range reg.All() {
		if _, err := os.Stat(filepath.Join("../testdata/rules", r.Slug)); err != nil {
			t.Errorf("rule %s (%s) has no testdata/rules/%s", r.ID, r.Slug, r.Slug)
		}
	}
}

// TestOK runs every rule over testdata/ok: realistic configurations that
// must stay clean.
func TestOK(t *testing.T) {
	files, _ := filepath.Glob("../testdata/ok/*.txtar")
	if len(files) == 0 {
		t.Fatal("no testdata/ok cases")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			res := analysistest.Check(t, f, Registry().All())
			if len(res.Diagnostics) != 0 {
				t.Errorf("%d diagnostics on a clean config", len(res.Diagnostics))
			}
		})
	}
}

// TestDocExamples runs every rule's Bad and Good example: Bad must
// trigger the rule, Good must not (actionlint's check-checks).
func TestDocExamples(t *testing.T) {
	for _, r := range Registry().All() {
		t.Run(r.Slug, func(t *testing.T) {
			if r.Doc.Title == "" || r.Doc.Text == "" {
				t.Fatal("rule has no title or text")
			}
			if r.Doc.Bad == "" || r.Doc.GoodExample() == "" {
				t.Fatal("rule has no Bad/Good example")
			}
			bad, good := exampleVersions(r.Doc.Versions)
			if n := countFindings(t, r, r.Doc.Bad, bad); n == 0 {
				t.Errorf("Bad example does not trigger %s", r.ID)
			}
			if n := countFindings(t, r, r.Doc.GoodExample(), good); n != 0 {
				t.Errorf("Good example triggers %s %d time(s)", r.ID, n)
			}
		})
	}
}

// exampleVersions parses Doc.Versions: "lnm=0.10.0,nginx=1.9.7" for both
// examples, or "bad: lnm=0.10.0; good: openresty=1.9.7.4".
func exampleVersions(s string) (bad, good string) {
	if !strings.Contains(s, "bad:") {
		return s, s
	}
	for _, part := range strings.Split(s, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), ":")
		switch strings.TrimSpace(k) {
		case "bad":
			bad = strings.TrimSpace(v)
		case "good":
			good = strings.TrimSpace(v)
		}
	}
	return bad, good
}

func countFindings(t *testing.T, r *analyzer.Rule, conf, vers string) int {
	t.Helper()
	var header strings.Builder
	for _, kv := range strings.Split(vers, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
			header.WriteString(k + ": " + v + "\n")
		}
	}
	ar := &txtar.Archive{Comment: []byte(header.String()), Files: []txtar.File{{Name: "nginx.conf", Data: []byte(conf)}}}
	c, err := analysistest.FromArchive(r.Slug, ar)
	if err != nil {
		t.Fatal(err)
	}
	cfg, res := c.Analyze([]*analyzer.Rule{r})
	for _, e := range cfg.Errors {
		t.Errorf("example does not load: %v", e)
	}
	for _, e := range res.RuleErrors {
		t.Error(e)
	}
	return len(res.Diagnostics)
}

// TestSeedConfirmation runs the seed finding's scenario in the emulator:
// on lua-nginx-module 0.10.0 it must be confirmed (unbounded).
func TestSeedConfirmation(t *testing.T) {
	ar := &txtar.Archive{Comment: []byte("lnm: 0.10.0\n")}
	data, err := os.ReadFile("../examples/seed/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	ar.Files = append(ar.Files, txtar.File{Name: "nginx.conf", Data: data})
	c, err := analysistest.FromArchive("seed", ar)
	if err != nil {
		t.Fatal(err)
	}
	_, res := c.Analyze([]*analyzer.Rule{LuaBalancerKeepaliveLoop})
	if len(res.Diagnostics) != 1 {
		t.Fatalf("want 1 diagnostic, got %d", len(res.Diagnostics))
	}
	d := res.Diagnostics[0]
	if d.Confirmation.Status != analyzer.NotRun {
		t.Errorf("before confirmation the status is %q, want not-run", d.Confirmation.Status)
	}
	analyzer.ConfirmAll(context.Background(), res.Diagnostics, 1)
	cf := d.Confirmation
	if cf.Status != analyzer.Confirmed {
		t.Fatalf("status %q, summary %q, reason %q\n%s", cf.Status, cf.Summary, cf.Reason, cf.Trace)
	}
	if cf.Observed["unbounded"] != true {
		t.Errorf("observed %v, want unbounded", cf.Observed)
	}
	if conns, _ := cf.Observed["upstream_connections"].(int); conns < hotLoopCap-10 {
		t.Errorf("observed only %d upstream connections for a hot loop", conns)
	}
}

// TestLuaPositions pins exact line:column positions of findings inside Lua:
// a multi-line block, a quoted *_by_lua string whose escapes shift columns,
// and a *_by_lua_file file.
func TestLuaPositions(t *testing.T) {
	ar := txtar.Parse([]byte(`-- nginx.conf --
http {
    server {
        listen 80;
        location /a {
            content_by_lua_block {
                local t = { 1, 2 }
                ngx.say(t) t = = 3
            }
        }
        location /b {
            content_by_lua 'ngx.say(\'x\') local = 1';
        }
        location /c { content_by_lua_file app.lua; }
    }
}
-- app.lua --
ngx.say("a")
ngx.sayy("b")
`))
	c, err := analysistest.FromArchive("positions", ar)
	if err != nil {
		t.Fatal(err)
	}
	_, res := c.Analyze([]*analyzer.Rule{LuaSyntaxError, LuaUnknownNgxField})
	var got []string
	for _, d := range res.Diagnostics {
		got = append(got, d.Pos.String()+" "+d.Rule.ID)
	}
	want := []string{"app.lua:2:1 LUA1143", "nginx.conf:7:32 LUA1001", "nginx.conf:11:50 LUA1001"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// checkConfirmations runs the emulator scenario of every finding when the
// archive's header says "confirm: confirmed" (each finding must be
// confirmed) or "confirm: not-reproduced".
func checkConfirmations(t *testing.T, path string, res *analyzer.Result) {
	t.Helper()
	c, err := analysistest.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := c.Header["confirm"]
	if want == "" {
		return
	}
	var ds []*analyzer.Diagnostic
	for _, d := range res.Diagnostics {
		if d.Confirm != nil {
			ds = append(ds, d)
		}
	}
	if len(ds) == 0 {
		t.Fatalf("confirm: %s, but no finding has a scenario", want)
	}
	analyzer.ConfirmAll(context.Background(), ds, 0)
	for _, d := range ds {
		if d.Confirmation.Status != want {
			t.Errorf("%s %s: confirmation %s (%s%s), want %s\n%s", d.Pos, d.Rule.ID, d.Confirmation.Status, d.Confirmation.Summary, d.Confirmation.Reason, want, d.Confirmation.Trace)
		} else {
			t.Logf("%s %s: %s: %s", d.Pos, d.Rule.ID, d.Confirmation.Status, d.Confirmation.Summary)
		}
	}
}
