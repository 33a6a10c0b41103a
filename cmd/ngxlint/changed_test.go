package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/rules"
)

// changedRepo is the OpenResty layout of issue 18: conf/nginx.conf
// includes conf/conf.d/*.conf, which load lua/*.lua (relative to the
// prefix, the parent of conf/) and require lua/util.lua through
// lua_package_path. It has one finding in a conf.d file (NGX2002 at
// api.conf:5, whose upstream is in nginx.conf) and two in a Lua file
// (access.lua:3).
var changedRepo = map[string]string{
	"conf/nginx.conf": `events {}
http {
    lua_package_path "$prefix/lua/?.lua;;";
    upstream app {
        server 127.0.0.1:8080;
        keepalive 16;
    }
    include conf.d/*.conf;
}
`,
	"conf/conf.d/api.conf": `server {
    listen 8080;
    location /api {
        access_by_lua_file lua/access.lua;
        proxy_pass http://app;
    }
}
`,
	"conf/conf.d/web.conf": `server {
    listen 8081;
    location / {
        content_by_lua_block {
            local util = require "util"
            ngx.say(util.greet())
        }
    }
}
`,
	"lua/access.lua": `local util = require "util"
if not util.allowed(ngx.var.remote_addr) then
    hits = (hits or 0) + 1
    return ngx.exit(403)
end
`,
	"lua/util.lua": `local _M = {}
function _M.allowed(addr)
    return addr ~= nil
end
function _M.greet()
    return "hi"
end
return _M
`,
}

// findingLines are the "file:line:col: severity: ... [ID" heads of the
// text report, sorted.
func findingLines(out string) []string {
	re := regexp.MustCompile(`(?m)^(\S+:\d+:\d+): \w+: .*\[(\w+) `)
	var got []string
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		got = append(got, m[1]+" "+m[2])
	}
	slices.Sort(got)
	return got
}

// changedTree writes changedRepo plus extra (a "" value removes a file)
// and makes it the working directory, as pre-commit runs hooks at the
// top of the work tree.
func changedTree(t *testing.T, extra map[string]string) string {
	t.Helper()
	files := map[string]string{}
	for k, v := range changedRepo {
		files[k] = v
	}
	for k, v := range extra {
		if v == "" {
			delete(files, k)
		} else {
			files[k] = v
		}
	}
	dir := writeTree(t, files)
	t.Chdir(dir)
	return dir
}

// TestChangedFileMapping: each changed file is checked in the
// configuration that includes or loads it, found through targets or, with
// none, by discovering nginx.conf under the git work tree or the
// directory of .ngxlint.yaml; only its findings are reported, and a
// finding elsewhere does not fail the run. Before --changed, a staged
// conf.d file gave a false "cannot read Lua file" error and lost NGX2002,
// a staged Lua module was checked in no phase, and with targets every
// finding of the tree was reported.
func TestChangedFileMapping(t *testing.T) {
	layouts := []struct {
		name  string
		extra map[string]string
	}{
		{"targets", map[string]string{".ngxlint.yaml": "targets: [conf/nginx.conf]\n"}},
		{"discovered in the git work tree", map[string]string{".git/HEAD": "ref: refs/heads/main\n"}},
		{"discovered under .ngxlint.yaml", map[string]string{".ngxlint.yaml": "versions: {openresty: 1.21.4.1}\n"}},
	}
	cases := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
		wantOut  []string // substrings of stdout
		notOut   []string
		wantNote string // substring of stderr
	}{
		{
			name: "a Lua file: its findings, in its phase", args: []string{"lua/access.lua"}, wantCode: ExitFindings,
			want:    []string{"lua/access.lua:3:13 LUA1113", "lua/access.lua:3:5 LUA1111"},
			wantOut: []string{"in access_by_lua_file"}, wantNote: "1 finding(s) in files that did not change are not reported",
		},
		{
			name: "a clean Lua module: findings elsewhere do not fail", args: []string{"lua/util.lua"}, wantCode: 0,
			wantNote: "3 finding(s) in files that did not change are not reported (--all reports them)",
		},
		{
			name: "a conf.d file: checked in its main configuration", args: []string{"conf/conf.d/api.conf"}, wantCode: ExitFindings,
			want:   []string{"conf/conf.d/api.conf:5:9 NGX2002"},
			notOut: []string{"cannot read Lua file", "NGX1001"},
		},
		{
			name: "--all reports the whole tree", args: []string{"--all", "lua/util.lua"}, wantCode: ExitFindings,
			want: []string{"conf/conf.d/api.conf:5:9 NGX2002", "lua/access.lua:3:13 LUA1113", "lua/access.lua:3:5 LUA1111"},
		},
		{
			name: "several files, one configuration", args: []string{"conf/conf.d/web.conf", "lua/util.lua", "lua/access.lua"}, wantCode: ExitFindings,
			want: []string{"lua/access.lua:3:13 LUA1113", "lua/access.lua:3:5 LUA1111"},
		},
	}
	for _, l := range layouts {
		for _, tc := range cases {
			t.Run(l.name+"/"+tc.name, func(t *testing.T) {
				changedTree(t, l.extra)
				code, out, errs := run(t, append([]string{"check", "--changed"}, tc.args...)...)
				if code != tc.wantCode {
					t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.wantCode, out, errs)
				}
				if got := findingLines(out); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("findings\n got %q\nwant %q\n%s", got, tc.want, out)
				}
				for _, s := range tc.wantOut {
					if !strings.Contains(out, s) {
						t.Errorf("output lacks %q:\n%s", s, out)
					}
				}
				for _, s := range tc.notOut {
					if strings.Contains(out+errs, s) {
						t.Errorf("output has %q:\n%s\n%s", s, out, errs)
					}
				}
				if !strings.Contains(errs, tc.wantNote) {
					t.Errorf("stderr lacks %q:\n%s", tc.wantNote, errs)
				}
				if strings.Contains(errs, "no configuration loads it") {
					t.Errorf("a file of the configuration was checked on its own:\n%s", errs)
				}
			})
		}
	}
}

// TestChangedDiscovery: discovery keeps main configurations (a fragment
// named nginx.conf is not one), skips hidden and dependency directories,
// and checks every configuration that contains the file; a file none
// contains is checked on its own, as a plain PATH is.
func TestChangedDiscovery(t *testing.T) {
	t.Run("fragment named nginx.conf, hidden and vendored copies", func(t *testing.T) {
		changedTree(t, map[string]string{
			".git/HEAD": "ref: refs/heads/main\n",
			// An include fragment that happens to be named nginx.conf: as a
			// main configuration it would put a location in the main
			// context.
			"conf/snippets/nginx.conf":       "location /x { access_by_lua_file ../../lua/access.lua; }\n",
			".cache/nginx.conf":              "events {}\nhttp { server { location / { access_by_lua_file ../lua/access.lua; } } }\n",
			"node_modules/x/nginx.conf":      "events {}\nhttp { server { location / { access_by_lua_file ../../lua/access.lua; } } }\n",
			"conf/snippets/unrelated/a.conf": "server { listen 1; }\n",
		})
		if units, notes := changedUnitsFor(t, "lua/access.lua"); !slices.Equal(units, []string{"conf/nginx.conf"}) {
			t.Errorf("units %q, want conf/nginx.conf only (notes %q)", units, notes)
		}
		code, out, errs := run(t, "check", "--changed", "lua/access.lua")
		want := []string{"lua/access.lua:3:13 LUA1113", "lua/access.lua:3:5 LUA1111"}
		if code != ExitFindings || !reflect.DeepEqual(findingLines(out), want) || strings.Contains(out+errs, "NGX1001") {
			t.Errorf("exit %d, findings %q, want %q\n%s\n%s", code, findingLines(out), want, out, errs)
		}
	})
	t.Run("two configurations load the file", func(t *testing.T) {
		changedTree(t, map[string]string{
			".git/HEAD": "ref: refs/heads/main\n",
			// A second deployment loads the same module in content_by_lua:
			// both are checked, and the same finding is reported once.
			"admin/nginx.conf": "events {}\nhttp {\n    lua_package_path \"$prefix/../lua/?.lua;;\";\n    server { location / { content_by_lua_file ../lua/access.lua; } }\n}\n",
		})
		units, notes := changedUnitsFor(t, "lua/access.lua")
		if !slices.Equal(units, []string{"admin/nginx.conf", "conf/nginx.conf"}) {
			t.Errorf("units %q, want both main configurations (notes %q)", units, notes)
		}
		code, out, _ := run(t, "check", "--changed", "lua/access.lua")
		if code != ExitFindings || strings.Count(out, "LUA1111") != 2 {
			// one per phase: W111 in access_by_lua_file and in content_by_lua_file
			t.Errorf("exit %d\n%s", code, out)
		}
	})
	t.Run("a file no configuration contains", func(t *testing.T) {
		changedTree(t, map[string]string{
			".git/HEAD":             "ref: refs/heads/main\n",
			"tools/lonely.lua":      "leaked = 1\n",
			"sites/other/site.conf": "server { listen 80; location / { return 200; } }\n",
		})
		code, out, errs := run(t, "check", "--changed", "tools/lonely.lua", "sites/other/site.conf")
		if code != ExitFindings || !strings.Contains(out, "tools/lonely.lua:1:1") || !strings.Contains(errs, "tools/lonely.lua: no configuration loads it") {
			t.Errorf("exit %d\n%s\n%s", code, out, errs)
		}
		units, _ := changedUnitsFor(t, "sites/other/site.conf")
		if !slices.Equal(units, []string{"sites/other/site.conf"}) {
			t.Errorf("units %q, want the .conf on its own", units)
		}
	})
	t.Run("a new file matched by an include glob", func(t *testing.T) {
		changedTree(t, map[string]string{
			".git/HEAD":              "ref: refs/heads/main\n",
			"conf/conf.d/admin.conf": "server {\n    listen 8082;\n    location / {\n        content_by_lua_file lua/admin.lua;\n    }\n}\n",
			"lua/admin.lua":          "local util = require \"util\"\nadmins = util.greet()\n",
		})
		code, out, errs := run(t, "check", "--changed", "conf/conf.d/admin.conf", "lua/admin.lua")
		want := []string{"lua/admin.lua:2:1 LUA1111"}
		if code != ExitFindings || !reflect.DeepEqual(findingLines(out), want) || !strings.Contains(out, "in content_by_lua_file") {
			t.Errorf("exit %d, findings %q, want %q\n%s\n%s", code, findingLines(out), want, out, errs)
		}
	})
}

// changedUnitsFor returns the main configurations --changed checks for
// files, and the notes.
func changedUnitsFor(t *testing.T, files ...string) ([]string, []string) {
	t.Helper()
	c := &Command{}
	var f checkFlags
	c.newCheckFlagSet(&f)
	units, notes, err := c.changedUnits(&f, files, newRuleLookup(rules.Registry()), false)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, u := range units {
		out = append(out, filepath.ToSlash(u.path))
	}
	slices.Sort(out)
	return out, notes
}

func TestChangedUsage(t *testing.T) {
	changedTree(t, nil)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--all", "conf/nginx.conf"}, "--all needs --changed or --new-from-rev"},
		{[]string{"--changed", "--write-baseline", "b.json", "lua/util.lua"}, "--write-baseline records every finding"},
		{[]string{"--changed"}, "--changed needs the changed files"},
		{[]string{"--changed", "-"}, "not standard input"},
		{[]string{"--new-from-rev", "--output=x", "conf/nginx.conf"}, "is not a revision"},
	} {
		code, _, errs := run(t, append([]string{"check"}, tc.args...)...)
		if code != ExitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%q: exit %d, want 2 with %q:\n%s", tc.args, code, tc.want, errs)
		}
	}
}

func TestParseUnifiedZero(t *testing.T) {
	out := `diff --git a/conf/nginx.conf b/conf/nginx.conf
index a5048d4..ef43cbe 100644
--- a/conf/nginx.conf
+++ b/conf/nginx.conf
@@ -6 +6 @@ http {
-        keepalive 16;
+        keepalive 32;
@@ -9,2 +9,0 @@ http {
-a
-b
diff --git a/lua/new.lua b/lua/new.lua
new file mode 100644
--- /dev/null
+++ b/lua/new.lua
@@ -0,0 +1,3 @@
+x = 1
+y = 2
+z = 3
diff --git a/gone.conf b/gone.conf
deleted file mode 100644
--- a/gone.conf
+++ /dev/null
@@ -1 +0,0 @@
-x;
diff --git "a/odd\tname.lua" "b/odd\tname.lua"
--- "a/odd\tname.lua"
+++ "b/odd\tname.lua"
@@ -1,0 +2,1 @@
+w = 1
`
	spans, order := parseUnifiedZero([]byte(out))
	wantOrder := []string{"conf/nginx.conf", "lua/new.lua", "odd\tname.lua"}
	if !slices.Equal(order, wantOrder) {
		t.Errorf("files %q, want %q", order, wantOrder)
	}
	want := map[string][]lineSpan{
		"conf/nginx.conf": {{6, 6}, {10, 9}},
		"lua/new.lua":     {{1, 3}},
		"odd\tname.lua":   {{2, 2}},
	}
	if !reflect.DeepEqual(spans, want) {
		t.Errorf("spans %v, want %v", spans, want)
	}
	for _, tc := range []struct {
		line, end int
		want      bool
	}{
		{6, 6, true},    // the changed line
		{5, 5, false},   // the line before it
		{7, 0, false},   // after it; an unset end
		{9, 9, false},   // the line before the deletion
		{10, 10, false}, // the line after it
		{9, 10, true},   // a block around the deletion
		{4, 12, true},   // a block around everything
		{10, 12, false}, // after
	} {
		if got := touches(spans["conf/nginx.conf"], tc.line, tc.end); got != tc.want {
			t.Errorf("touches(%d, %d) = %v, want %v", tc.line, tc.end, got, tc.want)
		}
	}
}

// gitRepo makes dir a git repository with one commit of its files.
func gitRepo(t *testing.T, dir string) func(args ...string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.email=t@example.invalid", "-c", "user.name=t", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %q: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", ".")
	git("add", "-A")
	git("commit", "-qm", "base")
	return git
}

func appendFile(t *testing.T, p, s string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestNewFromRev: only findings on lines added or changed since REV (or
// whose related position changed) are reported; without PATH the changed
// files are mapped to their configurations.
func TestNewFromRev(t *testing.T) {
	dir := changedTree(t, nil)
	git := gitRepo(t, dir)
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")

	// Nothing changed: nothing to report, though the tree has findings.
	code, out, errs := run(t, "check", "--new-from-rev", "HEAD")
	if code != 0 || out != "" || !strings.Contains(errs, "no file changed since HEAD") {
		t.Errorf("unchanged: exit %d\n%s\n%s", code, out, errs)
	}

	// A new global on a new line of access.lua: that one only, not the
	// two findings of line 3 nor NGX2002 in api.conf.
	appendFile(t, filepath.Join(dir, "lua/access.lua"), "counter = 1\n")
	code, out, errs = run(t, "check", "--new-from-rev", "HEAD")
	if want := []string{"lua/access.lua:6:1 LUA1111"}; code != ExitFindings || !reflect.DeepEqual(findingLines(out), want) {
		t.Errorf("new line: exit %d, findings %q, want %q\n%s\n%s", code, findingLines(out), want, out, errs)
	}
	if !strings.Contains(errs, "3 finding(s) on lines that did not change since HEAD are not reported") {
		t.Errorf("no note on the hidden findings:\n%s", errs)
	}
	// The same with the main configuration as PATH.
	code, out, _ = run(t, "check", "--new-from-rev", "HEAD", "conf/nginx.conf")
	if want := []string{"lua/access.lua:6:1 LUA1111"}; code != ExitFindings || !reflect.DeepEqual(findingLines(out), want) {
		t.Errorf("with PATH: exit %d, findings %q, want %q\n%s", code, findingLines(out), want, out)
	}
	// --all: everything of the configurations that hold changed files.
	code, out, _ = run(t, "check", "--new-from-rev", "HEAD", "--all")
	if code != ExitFindings || len(findingLines(out)) != 4 {
		t.Errorf("--all: exit %d\n%s", code, out)
	}
	git("commit", "-qam", "counter")

	// A change on a related line: keepalive added in nginx.conf makes
	// NGX2002 a new finding at the location that did not change.
	p := filepath.Join(dir, "conf/nginx.conf")
	data, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(data), "keepalive 16;", "keepalive 32;", 1)), 0o644)
	code, out, _ = run(t, "check", "--new-from-rev", "HEAD~1")
	if want := []string{"conf/conf.d/api.conf:5:9 NGX2002", "lua/access.lua:6:1 LUA1111"}; code != ExitFindings || !reflect.DeepEqual(findingLines(out), want) {
		t.Errorf("related: exit %d, findings %q, want %q\n%s", code, findingLines(out), want, out)
	}
	// Combined with --changed: the changed files given, their new lines.
	code, out, _ = run(t, "check", "--changed", "--new-from-rev", "HEAD~1", "lua/access.lua")
	if want := []string{"lua/access.lua:6:1 LUA1111"}; code != ExitFindings || !reflect.DeepEqual(findingLines(out), want) {
		t.Errorf("--changed: exit %d, findings %q, want %q\n%s", code, findingLines(out), want, out)
	}

	// An unknown revision, and a directory that is no git work tree,
	// are exit 2 with the reason.
	code, _, errs = run(t, "check", "--new-from-rev", "no-such-branch")
	if code != ExitUsage || !strings.Contains(errs, `unknown revision "no-such-branch"`) {
		t.Errorf("unknown revision: exit %d\n%s", code, errs)
	}
	t.Chdir(t.TempDir())
	code, _, errs = run(t, "check", "--new-from-rev", "HEAD", p)
	if code != ExitUsage || !strings.Contains(errs, "not in a git work tree") {
		t.Errorf("no work tree: exit %d\n%s", code, errs)
	}
	// git missing from PATH.
	t.Setenv("PATH", t.TempDir())
	code, _, errs = run(t, "check", "--new-from-rev", "HEAD", p)
	if code != ExitUsage || !strings.Contains(errs, "--new-from-rev needs git on PATH") {
		t.Errorf("no git: exit %d\n%s", code, errs)
	}
}
