package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// runEnv runs the CLI with an environment and a terminal setting.
func runEnv(t *testing.T, env map[string]string, tty bool, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := &Command{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, IsTTY: &tty,
		Getenv: func(k string) string { return env[k] }}
	code := c.Main(append([]string{"ngxlint"}, args...))
	return code, out.String(), errb.String()
}

// TestCLIHabits: the frictions of issue 18 items 3 and 4, each as a user
// meets it.
func TestCLIHabits(t *testing.T) {
	seed := seedConfig(t)
	cases := []struct {
		name    string
		args    []string
		code    int
		stdout  string // substring expected in stdout ("" = no check)
		stderr  string // substring expected in stderr
		noLines int    // stderr has at most this many lines (0 = no check)
	}{
		{"misspelt flag, said once", []string{"check", "--fial-on", "error", seed}, ExitUsage, "", "unknown flag --fial-on: did you mean --fail-on? (run 'ngxlint check -h' for the flags)", 1},
		{"misspelt command", []string{"chek", seed}, ExitUsage, "", `unknown command "chek": did you mean "check"?`, 0},
		{"misspelt rule", []string{"check", "--enable", "lua-balancer-peer-uncheked", seed}, ExitUsage, "", "did you mean lua-balancer-peer-unchecked?", 1},
		{"rules filter", []string{"rules", "LUA2"}, ExitClean, "LUA2001", "", 0},
		{"help COMMAND", []string{"help", "check"}, ExitClean, "", "Usage: ngxlint check", 0},
		{"fail-on never", []string{"check", "--fail-on", "never", seed}, ExitClean, "findings", "", 0},
		{"bad value, double dash", []string{"check", "--max-files", "x", seed}, ExitUsage, "", "for flag --max-files", 1},
		{"nginx version with four parts", []string{"check", "--nginx-version", "1.21.4.1", seed}, ExitUsage, "", "1.21.4.1 is an OpenResty release", 0},
		{"OpenResty version with three parts", []string{"check", "--openresty-version", "1.21.4", seed}, ExitUsage, "", "known: 1.21.4.1, 1.21.4.2", 0},
		{"unknown OpenResty release", []string{"check", "--openresty-version", "1.21.4.9", seed}, ExitFindings, "", "OpenResty 1.21.4.9 is not a release ngxlint knows (nearest: 1.21.4.1", 0},
		{"summary", []string{"check", "--lua-nginx-module-version", "0.10.0", seed}, ExitFindings, "8 findings (1 error, 2 warnings, 5 info); no configuration errors", "", 0},
		{"bad --color", []string{"check", "--color", "sometimes", seed}, ExitUsage, "", "want auto, always or never", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runEnv(t, nil, false, c.args...)
			if code != c.code || !strings.Contains(out, c.stdout) || !strings.Contains(errs, c.stderr) {
				t.Errorf("exit %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", code, c.code, out, c.stdout, errs, c.stderr)
			}
			if c.noLines > 0 && strings.Count(strings.TrimSpace(errs), "\n")+1 > c.noLines {
				t.Errorf("stderr has more than %d line(s):\n%s", c.noLines, errs)
			}
		})
	}
	t.Run("rules filter lists only matches", func(t *testing.T) {
		_, out, _ := runEnv(t, nil, false, "rules", "LUA2")
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasPrefix(l, "LUA2") {
				t.Errorf("rules LUA2 lists %q", l)
			}
		}
	})
}

// TestColourModes: colour follows --color, NO_COLOR and TERM=dumb.
func TestColourModes(t *testing.T) {
	seed := seedConfig(t)
	for _, c := range []struct {
		env    map[string]string
		tty    bool
		flag   string
		colour bool
	}{
		{nil, true, "auto", true},
		{map[string]string{"TERM": "dumb"}, true, "auto", false},
		{map[string]string{"NO_COLOR": "1"}, true, "auto", false},
		{nil, false, "auto", false},
		{nil, false, "always", true},
		{nil, true, "never", false},
	} {
		_, out, _ := runEnv(t, c.env, c.tty, "check", "--color", c.flag, filepath.Clean(seed))
		if got := strings.Contains(out, "\x1b["); got != c.colour {
			t.Errorf("env %v tty %v --color %s: colour %v, want %v", c.env, c.tty, c.flag, got, c.colour)
		}
	}
}

// TestBaselineSurvivesDuplicates: an identical line added in another block
// above a baselined finding makes only the new line new (issue 18 item
// 5: the old line reappeared, its occurrence index shifted).
func TestBaselineSurvivesDuplicates(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	base := filepath.Join(dir, "baseline.json")
	head := "http {\n    upstream x { server 127.0.0.1:8080; keepalive 8; }\n    server {\n        listen 80;\n"
	old := "        location /old {\n            proxy_pass http://x;\n        }\n"
	added := "        location /new {\n            proxy_pass http://x;\n        }\n"
	tail := "    }\n}\n"
	writeTestFile(t, conf, head+old+tail)
	args := []string{"check", "--no-config", "--nginx-version", "1.22.1", "--enable", "NGX2002", "--format", "json"}
	if code, _, errs := runBounded(t, append(args, "--write-baseline", base, conf)...); code != ExitClean {
		t.Fatalf("write baseline: exit %d %s", code, errs)
	}
	writeTestFile(t, conf, head+added+old+tail)
	code, out, errs := runBounded(t, append(args, "--baseline", base, conf)...)
	r := decodeCheck(t, out)
	if code != ExitFindings || len(r.Findings) != 1 || r.Findings[0].Line != 6 {
		t.Errorf("exit %d, findings %+v (want only the added line 6)\n%s", code, r.Findings, errs)
	}
}

// TestFingerprintVersions: format 2 hashes the block context, format 1 (read
// for old baselines) does not; at top level they agree.
func TestFingerprintVersions(t *testing.T) {
	r := &analyzer.Rule{ID: "TST1", Slug: "t"}
	data := []byte("top;\nlocation /a {\n    proxy_pass http://x;\n}\nlocation /b {\n    proxy_pass http://x;\n}\n")
	ds := []*analyzer.Diagnostic{
		{Rule: r, Pos: nginxconf.Pos{File: "f", Offset: 0}},
		{Rule: r, Pos: nginxconf.Pos{File: "f", Offset: strings.Index(string(data), "proxy_pass")}},
		{Rule: r, Pos: nginxconf.Pos{File: "f", Offset: strings.LastIndex(string(data), "proxy_pass")}},
	}
	id := func(s string) string { return s }
	src := func(string) []byte { return data }
	v2, v1 := analyzer.Fingerprints(ds, id, src), analyzer.FingerprintsV1(ds, id, src)
	if v2[0] != v1[0] {
		t.Errorf("top level: %v vs %v", v2[0], v1[0])
	}
	if v2[1].Hash == v2[2].Hash || v2[1].Occurrence != 0 || v2[2].Occurrence != 0 {
		t.Errorf("v2 does not tell the blocks apart: %+v", v2)
	}
	if v1[1].Hash != v1[2].Hash || v1[1].Occurrence != 0 || v1[2].Occurrence != 1 {
		t.Errorf("v1 changed: %+v", v1)
	}
}

// TestCheckStdin: `check -` reads the configuration from standard input
// and names it <stdin>; its includes reach nothing on disk.
func TestCheckStdin(t *testing.T) {
	conf := "http {\n upstream u { server 127.0.0.1; keepalive 4; }\n server { listen 80; location / { proxy_pass http://u; } }\n}\n"
	var out, errb bytes.Buffer
	c := &Command{Stdin: strings.NewReader(conf), Stdout: &out, Stderr: &errb}
	code := c.Main([]string{"ngxlint", "check", "--nginx-version", "1.22.1", "-"})
	if code != ExitFindings || !strings.Contains(out.String(), "<stdin>:3:35: warning:") {
		t.Errorf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	c = &Command{Stdin: strings.NewReader("include /etc/hostname;\n"), Stdout: &out, Stderr: &errb}
	if code := c.Main([]string{"ngxlint", "check", "-"}); code != ExitClean || !strings.Contains(errb.String(), `<stdin>:1:1: include "/etc/hostname": not in this checkout`) {
		t.Errorf("include from stdin: exit %d\n%s%s", code, out.String(), errb.String())
	}
	// The real engine runs files on disk: with standard input it is a
	// usage error, not a confirmation that fails later.
	out.Reset()
	errb.Reset()
	c = &Command{Stdin: strings.NewReader(conf), Stdout: &out, Stderr: &errb}
	if code := c.Main([]string{"ngxlint", "check", "--confirm", "--engine", "nginx", "--nginx-binary", "/usr/sbin/nginx", "-"}); code != ExitUsage ||
		!strings.Contains(errb.String(), "not standard input") {
		t.Errorf("--engine nginx with stdin: exit %d\n%s%s", code, out.String(), errb.String())
	}
}
