package analyzer_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// proxyRule reports every proxy_pass, and every Lua line containing "BAD"
// (at that line inside the file where the Lua lives).
var proxyRule = &analyzer.Rule{ID: "TST1001", Slug: "test-proxy", Severity: analyzer.Warning,
	Run: func(p *analyzer.Pass) error {
		p.Config.Walk(func(d *nginxconf.Directive, _ []*nginxconf.Directive) bool {
			if d.Name == "proxy_pass" {
				p.Reportf(d, "proxy_pass here")
			}
			return true
		})
		for _, ref := range p.Model.Lua {
			c := ref.Chunk
			off := 0
			for i, line := range strings.Split(c.Code, "\n") {
				if strings.Contains(line, "BAD") {
					pos := c.Pos
					pos.Line += i
					pos.Offset += off
					if i > 0 {
						pos.Column = 1
					}
					p.Report(&analyzer.Diagnostic{Pos: pos, Message: "bad lua"})
				}
				off += len(line) + 1
			}
		}
		return nil
	}}

var otherRule = &analyzer.Rule{ID: "TST2001", Slug: "test-other", Severity: analyzer.Info,
	Run: func(*analyzer.Pass) error { return nil }}

func runOn(t *testing.T, files map[string]string, rules ...*analyzer.Rule) []*analyzer.Diagnostic {
	t.Helper()
	fsys := fstest.MapFS{}
	for n, s := range files {
		fsys[n] = &fstest.MapFile{Data: []byte(s)}
	}
	cfg := nginxconf.Load(fsys, "nginx.conf", nginxconf.Options{})
	for _, e := range cfg.Errors {
		t.Fatalf("load: %v", e)
	}
	res := analyzer.Run(cfg, nginxconf.BuildModel(cfg), rules, analyzer.Options{})
	for _, e := range res.RuleErrors {
		t.Fatal(e)
	}
	return res.Diagnostics
}

func summary(ds []*analyzer.Diagnostic) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.Pos.String()+" "+d.Rule.ID)
	}
	return strings.Join(s, "\n")
}

func TestSuppressions(t *testing.T) {
	conf := `http {
    server {
        location /a {
            proxy_pass http://a;
        }
        # ngxlint:ignore TST1001 the whole block is reviewed
        location /b {
            proxy_pass http://b;
        }
        # ngxlint:ignore test-proxy reviewed: slug works too
        location /c { proxy_pass http://c; }
        location /d { proxy_pass http://d; } # ngxlint:ignore TST* trailing, prefix pattern
        # ngxlint:ignore TST1001
        location /e { proxy_pass http://e; }
        # ngxlint:ignore TST1001 nothing to suppress on the next directive
        listen 80;
        # ngxlint:ignore TST2001 a rule that did not run: not reported as unused
        listen 81;
        location /lua {
            content_by_lua_block {
                local x = 1 -- BAD
                -- ngxlint:ignore TST1001 known, tracked in #12
                local y = 2 -- BAD
                local z = 3 -- BAD -- ngxlint:ignore TST1001 trailing in Lua
            }
        }
    }
}
`
	got := summary(runOn(t, map[string]string{"nginx.conf": conf}, proxyRule))
	want := strings.Join([]string{
		"nginx.conf:4:13 TST1001",  // /a not suppressed
		"nginx.conf:13:9 NGX0001",  // ignore without reason
		"nginx.conf:14:23 TST1001", // ... so /e still reported
		"nginx.conf:15:9 NGX0002",  // unused ignore
		"nginx.conf:21:1 TST1001",  // first BAD Lua line
	}, "\n")
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestFileIgnoreAndLuaFile(t *testing.T) {
	files := map[string]string{
		"nginx.conf": "# ngxlint:file-ignore TST1001 generated file\nhttp { server { location / { proxy_pass http://x; content_by_lua_file app.lua; } } }\n",
		"app.lua":    "local a = 1 -- BAD\n-- ngxlint:ignore TST1001 reviewed\nlocal b = 2 -- BAD\n",
	}
	got := summary(runOn(t, files, proxyRule))
	if got != "app.lua:1:1 TST1001" {
		t.Errorf("got:\n%s", got)
	}
}

func TestSelect(t *testing.T) {
	reg, err := analyzer.NewRegistry(proxyRule, otherRule)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		enable, disable []string
		want            string
	}{
		{nil, nil, "TST1001,TST2001"},
		{[]string{"TST1*"}, nil, "TST1001"},
		{nil, []string{"test-proxy"}, "TST2001"},
		{[]string{"TST*"}, []string{"TST2001"}, "TST1001"},
		{[]string{"TST*", "-TST1001"}, nil, "TST2001"},
	}
	for _, c := range cases {
		rs, err := reg.Select(c.enable, c.disable)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range rs {
			ids = append(ids, r.ID)
		}
		if got := strings.Join(ids, ","); got != c.want {
			t.Errorf("Select(%v, %v) = %s, want %s", c.enable, c.disable, got, c.want)
		}
	}
	if _, err := reg.Select([]string{"NOPE"}, nil); err == nil {
		t.Error("an unknown selector must be an error")
	}
	if _, err := analyzer.NewRegistry(proxyRule, proxyRule); err == nil {
		t.Error("duplicate IDs must be rejected")
	}
}

func TestPanickingRuleIsAnError(t *testing.T) {
	bad := &analyzer.Rule{ID: "TST9001", Slug: "test-panic", Severity: analyzer.Error,
		Run: func(*analyzer.Pass) error { panic("boom") }}
	fsys := fstest.MapFS{"nginx.conf": &fstest.MapFile{Data: []byte("http {}\n")}}
	cfg := nginxconf.Load(fsys, "nginx.conf", nginxconf.Options{})
	res := analyzer.Run(cfg, nginxconf.BuildModel(cfg), []*analyzer.Rule{bad, proxyRule}, analyzer.Options{})
	if len(res.RuleErrors) != 1 || !strings.Contains(res.RuleErrors[0].Error(), "boom") {
		t.Errorf("rule errors %v", res.RuleErrors)
	}
}

func TestSortAndDedup(t *testing.T) {
	conf := "http {\n  include a.conf;\n  include a.conf;\n  server { location / { proxy_pass http://z; } }\n}\n"
	files := map[string]string{"nginx.conf": conf, "a.conf": "server { location / { proxy_pass http://a; } }\n"}
	got := summary(runOn(t, files, proxyRule))
	want := "a.conf:1:23 TST1001\nnginx.conf:4:25 TST1001"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
