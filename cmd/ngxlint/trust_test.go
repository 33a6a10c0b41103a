package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// This file tests the trust boundary of docs/security.md through the CLI:
// what the repository under test supplies (.ngxlint.yaml, configs, Lua)
// never chooses what runs.

// seedConfig is the bundled example that every confirmation rule fires on.
func seedConfig(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "examples", "seed", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigCannotChooseEngine: a pull request's .ngxlint.yaml that names a
// confirmation engine and a binary (its own script) is refused with exit 2
// at the offending key, and the script never runs, with --confirm as the
// Action's documented example runs it.
func TestConfigCannotChooseEngine(t *testing.T) {
	seedSrc, err := os.ReadFile(seedConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, settings := range []string{
		"settings: {confirm-engine: nginx, nginx-binary: ./pwn.sh}",
		"settings:\n  nginx-binary: ./pwn.sh\n  confirm-engine: both",
		"settings: {engine: nginx}",
	} {
		t.Run(strings.ReplaceAll(settings, "\n", " "), func(t *testing.T) {
			dir := t.TempDir()
			marker := filepath.Join(dir, "ran")
			writeTestFile(t, filepath.Join(dir, "nginx.conf"), string(seedSrc))
			writeTestFile(t, filepath.Join(dir, ".ngxlint.yaml"), "versions: {nginx: 1.9.7, lua_nginx_module: 0.10.0}\n"+settings+"\n")
			script := "#!/bin/sh\ntouch " + marker + "\necho 'nginx version: openresty/1.9.7.3'\n"
			if err := os.WriteFile(filepath.Join(dir, "pwn.sh"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			wd, _ := os.Getwd()
			if err := os.Chdir(dir); err != nil {
				t.Fatal(err)
			}
			defer os.Chdir(wd)
			code, out, errs := runBounded(t, "check", "--confirm", "--enable", "NGX2001", "nginx.conf")
			if _, err := os.Stat(marker); err == nil {
				t.Fatalf("the repository's script was executed (exit %d)\n%s%s", code, out, errs)
			}
			if code != ExitUsage {
				t.Errorf("exit %d, want 2 (the setting is refused)\n%s%s", code, out, errs)
			}
			if !strings.Contains(errs, ".ngxlint.yaml:") || !strings.Contains(errs, "unknown setting") {
				t.Errorf("stderr does not point at the setting:\n%s", errs)
			}
		})
	}
}

// TestSetFlagValidated: --set takes declared rule settings only, with a
// suggestion for a typo, and a malformed value is a usage error.
func TestSetFlagValidated(t *testing.T) {
	seed := seedConfig(t)
	cases := []struct{ set, want string }{
		{"confirm-engine=nginx", `unknown setting "confirm-engine"`},
		{"nginx-binary=/bin/sh", `unknown setting "nginx-binary"`},
		{"retry-treshold=5", `did you mean "retry-threshold"`},
		{"retry-threshold=abc", "want a whole number"},
		{"retry-threshold=0", "want a whole number"},
	}
	for _, c := range cases {
		code, out, errs := runBounded(t, "check", "--no-config", "--set", c.set, seed)
		if code != ExitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("--set %s: exit %d, stderr %q; want 2 and %q\n%s", c.set, code, errs, c.want, out)
		}
	}
	if code, _, errs := runBounded(t, "check", "--no-config", "--set", "retry-threshold=5", seed); code == ExitUsage {
		t.Errorf("--set retry-threshold=5 refused: %s", errs)
	}
}

// TestConfigSettingTypo: a misspelt or malformed setting in .ngxlint.yaml
// stops the run at its line.
func TestConfigSettingTypo(t *testing.T) {
	seed := seedConfig(t)
	for _, c := range []struct{ yaml, want string }{
		{"settings:\n  retry-treshold: 5\n", `.ngxlint.yaml:2:3: unknown setting "retry-treshold": did you mean "retry-threshold"?`},
		{"settings:\n  retry-threshold: many\n", `.ngxlint.yaml:2:20: setting retry-threshold: want a whole number`},
	} {
		dir := t.TempDir()
		cfg := filepath.Join(dir, ".ngxlint.yaml")
		writeTestFile(t, cfg, c.yaml)
		code, _, errs := runBounded(t, "check", "--config", cfg, seed)
		if code != ExitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", c.yaml, code, errs, c.want)
		}
	}
}

// forgedLine reports an output line that a CI runner would take as a
// command, or that carries a raw control character: "::" after leading
// blanks (GitHub workflow commands), "##[" or "##vso[" anywhere (log
// commands), ESC or CR anywhere.
func forgedLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, " \t"), "::") || strings.Contains(l, "##[") ||
			strings.Contains(l, "##vso[") || strings.ContainsAny(l, "\x1b\r\x00\u202e") {
			return l
		}
	}
	return ""
}

// injectingBalancer is the seed with a balancer that logs and raises text
// shaped like workflow commands and terminal escapes.
const injectingBalancer = `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local balancer = require "ngx.balancer"
            ngx.log(ngx.ERR, "x\n::warning file=a.conf::forged ##[error]y ##vso[task.setvariable]z \27[2J\r\226\128\174")
            local ok, err = balancer.set_current_peer("127.0.0.1", 8080)
            if ngx.ctx.n then error("boom\n  ::error::forged") end
            ngx.ctx.n = 1
        }
        keepalive 1;
    }
    server {
        listen 80;
        proxy_next_upstream off;
        location / {
            proxy_pass http://backend$request_uri;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`

// TestTextOutputNotForged: what the repository controls (file names, Lua
// log and error text in traces) cannot start a line a CI runner would
// execute as a command, nor reach the terminal as an escape sequence.
func TestTextOutputNotForged(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	writeTestFile(t, conf, injectingBalancer)

	t.Run("emulate", func(t *testing.T) {
		code, out, errs := runBounded(t, "emulate", "--lua-nginx-module-version", "0.10.0", "--nginx-version", "1.9.7", "--backend", "first-only", conf)
		if !strings.Contains(out, "forged") {
			t.Fatalf("exit %d: the trace does not show the Lua log at all (fixture broken?)\n%s%s", code, out, errs)
		}
		if l := forgedLine(out); l != "" {
			t.Errorf("emulate output has a forged line %q\n%s", l, out)
		}
	})
	t.Run("check --verbose", func(t *testing.T) {
		code, out, errs := runBounded(t, "check", "--no-config", "--confirm", "--verbose", "--enable", "NGX2001",
			"--lua-nginx-module-version", "0.10.0", "--nginx-version", "1.9.7", conf)
		if !strings.Contains(out, "forged") {
			t.Fatalf("exit %d: the trace does not show the Lua log at all (fixture broken?)\n%s%s", code, out, errs)
		}
		if l := forgedLine(out); l != "" {
			t.Errorf("check --verbose output has a forged line %q\n%s", l, out)
		}
	})
	t.Run("file name", func(t *testing.T) {
		name := filepath.Join(dir, "a\n::warning file=x.conf::forged \x1b[2J.conf")
		writeTestFile(t, name, "http {\n    upstream u {\n        server 127.0.0.1;\n        keepalive 2;\n    }\n    server { listen 80; location / { proxy_pass http://u; } }\n}\nstray }\n")
		for _, tty := range []bool{false, true} {
			var out, errb strings.Builder
			c := &Command{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, IsTTY: &tty}
			c.Main([]string{"ngxlint", "check", "--no-config", name})
			if !strings.Contains(out.String(), "forged") {
				t.Fatalf("tty=%v: the file name is not printed at all\n%s%s", tty, out.String(), errb.String())
			}
			// On a terminal ngxlint colours its own words (SGR codes).
			if l := forgedLine(ownColour.ReplaceAllString(out.String(), "")); l != "" {
				t.Errorf("tty=%v: text output has a forged line %q\n%s", tty, l, out.String())
			}
		}
	})
}

var ownColour = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// --- --fix writes only what it should (issue 14, item 10) ---------------

// fixRun runs check --fix on conf with nginx 1.22.1 (NGX2002 has a fix).
func fixRun(t *testing.T, conf string, extra ...string) (int, string) {
	t.Helper()
	args := append([]string{"check", "--no-config", "--nginx-version", "1.22.1", "--fix"}, extra...)
	code, out, errs := runBounded(t, append(args, conf)...)
	return code, out + errs
}

func readString(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFixThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real", "nginx.conf")
	writeTestFile(t, real, fixableConf)
	link := filepath.Join(dir, "nginx.conf")
	if err := os.Symlink(filepath.Join("real", "nginx.conf"), link); err != nil {
		t.Skip("no symlinks here:", err)
	}
	code, out := fixRun(t, link)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the symlink was replaced by a regular file (exit %d)\n%s", code, out)
	}
	if !strings.Contains(readString(t, real), "proxy_http_version 1.1;") {
		t.Errorf("the symlink's target was not fixed (exit %d)\n%s", code, out)
	}
}

func TestFixNeverOutsideTree(t *testing.T) {
	repo := t.TempDir()
	other := t.TempDir()
	loc := filepath.Join(other, "loc.conf")
	const locText = "location / {\n    proxy_pass http://app;\n}\n"
	writeTestFile(t, loc, locText)
	conf := filepath.Join(repo, "nginx.conf")
	writeTestFile(t, conf, "http {\n    upstream app {\n        server 127.0.0.1:8080;\n        keepalive 16;\n    }\n    server {\n        listen 80;\n        include "+loc+";\n    }\n}\n")
	// Without --allow-path the file is not read at all (a note says it
	// is not in this checkout); with it, it is read but --fix must not
	// write it.
	code, out := fixRun(t, conf)
	if code == ExitUsage || !strings.Contains(out, "not in this checkout (outside the checked tree") {
		t.Errorf("include outside the tree: exit %d, want a note that it is not read\n%s", code, out)
	}
	code, out = fixRun(t, conf, "--allow-path", other)
	if got := readString(t, loc); got != locText {
		t.Errorf("--fix wrote a file outside the checked tree (exit %d)\n%s\n%s", code, got, out)
	}
	if code != ExitUsage || !strings.Contains(out, "outside the checked tree") {
		t.Errorf("--allow-path + --fix: exit %d, want 2 and the reason\n%s", code, out)
	}
}

func TestFixRefusesReadOnlyAndHardLinks(t *testing.T) {
	if os.Geteuid() == 0 {
		// Root writes a 0444 file anyway; ngxlint must still refuse, which
		// this test shows either way.
		t.Log("running as root")
	}
	dir := t.TempDir()
	ro := filepath.Join(dir, "ro", "nginx.conf")
	writeTestFile(t, ro, fixableConf)
	if err := os.Chmod(ro, 0o444); err != nil {
		t.Fatal(err)
	}
	code, out := fixRun(t, ro)
	if readString(t, ro) != fixableConf || code != ExitUsage || !strings.Contains(out, "read-only") {
		t.Errorf("read-only file: exit %d, want 2, file unchanged\n%s", code, out)
	}
	if fi, _ := os.Stat(ro); fi.Mode().Perm() != 0o444 {
		t.Errorf("mode changed to %v", fi.Mode())
	}

	hl := filepath.Join(dir, "hl", "nginx.conf")
	writeTestFile(t, hl, fixableConf)
	twin := filepath.Join(dir, "hl", "twin.conf")
	if err := os.Link(hl, twin); err != nil {
		t.Skip("no hard links here:", err)
	}
	code, out = fixRun(t, hl)
	if readString(t, hl) != fixableConf || code != ExitUsage || !strings.Contains(out, "hard links") {
		t.Errorf("hard-linked file: exit %d, want 2, file unchanged\n%s", code, out)
	}
	a, _ := os.Stat(hl)
	b, _ := os.Stat(twin)
	if !os.SameFile(a, b) {
		t.Errorf("the hard link was split")
	}
}

func TestFixKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a file's owner needs root (CI runs as root)")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	writeTestFile(t, conf, fixableConf)
	if err := os.Chown(conf, 4321, 4322); err != nil {
		t.Fatal(err)
	}
	code, out := fixRun(t, conf)
	if !strings.Contains(readString(t, conf), "proxy_http_version 1.1;") {
		t.Fatalf("not fixed (exit %d)\n%s", code, out)
	}
	fi, _ := os.Stat(conf)
	if uid, gid, ok := ownerOf(fi); ok && (uid != 4321 || gid != 4322) {
		t.Errorf("owner %d:%d after --fix, want 4321:4322", uid, gid)
	}
}

func TestFixKeepsCRLF(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	crlf := strings.ReplaceAll(fixableConf, "\n", "\r\n")
	writeTestFile(t, conf, crlf)
	code, out := fixRun(t, conf)
	got := readString(t, conf)
	if got == crlf {
		t.Fatalf("not fixed (exit %d)\n%s", code, out)
	}
	if bare := strings.Count(got, "\n") - strings.Count(got, "\r\n"); bare != 0 {
		t.Errorf("%d LF-only lines in a CRLF file after --fix:\n%q", bare, got)
	}
}

// TestConfigTargetsStayInTree: targets in a repository's .ngxlint.yaml name
// main configurations, which are read: they must not leave its tree.
func TestConfigTargetsStayInTree(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "creds.conf")
	writeTestFile(t, secret, "https://user:ghp_FAKE0123456789abcdef@github.com\n")
	for _, target := range []string{secret, "../" + filepath.Base(outside) + "/creds.conf", "link/creds.conf"} {
		parent := t.TempDir()
		repo := filepath.Join(parent, "repo")
		writeTestFile(t, filepath.Join(repo, ".ngxlint.yaml"), "targets: ["+target+"]\n")
		os.Symlink(outside, filepath.Join(repo, "link"))
		if strings.HasPrefix(target, "../") {
			// Make the relative target resolve to the secret.
			os.Symlink(outside, filepath.Join(parent, filepath.Base(outside)))
		}
		wd, _ := os.Getwd()
		if err := os.Chdir(repo); err != nil {
			t.Fatal(err)
		}
		code, out, errs := runBounded(t, "check")
		os.Chdir(wd)
		if strings.Contains(out+errs, "ghp_FAKE") || code != ExitUsage || !strings.Contains(errs, "outside the directory") {
			t.Errorf("target %q: exit %d, want 2 and the reason, no secret\n%s%s", target, code, out, errs)
		}
	}
}

// TestTotalBytesBudgetCLI: one file included many times is bounded by the
// total budget (issue 14 item 5: 500 x 6 MB peaked at 2.9 GB), with the
// error at the include that would cross it.
func TestTotalBytesBudgetCLI(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "big.conf"), strings.Repeat("# padding line of a big included file\n", 30_000)) // ~1.1 MB
	var main strings.Builder
	main.WriteString("events {}\nhttp {\n")
	for range 50 {
		main.WriteString("    include big.conf;\n")
	}
	main.WriteString("}\n")
	conf := filepath.Join(dir, "nginx.conf")
	writeTestFile(t, conf, main.String())
	code, out, errs := runBounded(t, "check", "--no-config", "--max-total-bytes", "8M", conf)
	if code != ExitUsage || !strings.Contains(out, "--max-total-bytes") || !strings.Contains(out, "nginx.conf:10:5: error: include") {
		t.Errorf("exit %d, want 2 with the budget error at the 8th include\n%.2000s%s", code, out, errs)
	}
	if code, out, _ := runBounded(t, "check", "--no-config", "--max-total-bytes", "100M", conf); code == ExitUsage {
		t.Errorf("a 55 MB total under a 100 MB budget was refused:\n%.2000s", out)
	}
}

// TestCredentialLinesNotEchoed: a file of the tree with an innocent name
// that holds credentials (a .git-credentials line, a .env line, a token
// alone) is included or loaded as Lua: no output format may print the
// token (issue 14 item 8: it fitted in the 64 bytes quoted from a line).
func TestCredentialLinesNotEchoed(t *testing.T) {
	const token = "ghp_FAKE0a1b2c3d4e5f6A7B8C9D0E1F2a3b4c5d6e"
	for name, content := range map[string]string{
		"git-credentials": "https://user:" + token + "@github.com\n",
		"dotenv":          "GITHUB_TOKEN=" + token + "\n",
		"bare token":      token + "\n",
		"lowercase hex":   "0123abcd" + strings.ToLower(token[4:]) + "\n",
	} {
		dir := t.TempDir()
		writeTestFile(t, filepath.Join(dir, "notes.txt"), content)
		writeTestFile(t, filepath.Join(dir, "nginx.conf"), "http {\n    include notes.txt;\n    upstream u { server 127.0.0.1; balancer_by_lua_file notes.txt; }\n"+
			"    server { listen 80; location / { proxy_pass http://u; } }\n}\n")
		secret := strings.TrimSpace(content)
		for _, format := range []string{"text", "json", "sarif", "github", "codequality"} {
			code, out, errs := runBounded(t, "check", "--no-config", "--format", format, filepath.Join(dir, "nginx.conf"))
			for _, piece := range []string{token, token[4:20], strings.ToLower(token[4:20])} {
				if strings.Contains(out+errs, piece) {
					t.Errorf("%s/%s: exit %d, output holds %q of the secret %q:\n%s%s", name, format, code, piece, secret, out, errs)
				}
			}
		}
	}
}

func TestRedactQuoted(t *testing.T) {
	for in, want := range map[string]string{
		"accessing undefined variable 'logger'":                                "accessing undefined variable 'logger'",
		"accessing undefined variable 'ngx_HTTP_FORBIDEN'":                     "accessing undefined variable 'ngx_HTTP_FORBIDEN'",
		"accessing undefined variable 'ghp_FAKE0a1b2c3d4e5f6A7B8C9D'":          "accessing undefined variable '(a name of 28 bytes, not quoted)'",
		"unused variable 'x' and 'abcdefghijklmnopqrstuvwxyzabcdefghijklmnop'": "unused variable 'x' and '(a name of 42 bytes, not quoted)'",
		"value 'Connection: close' kept":                                       "value 'Connection: close' kept",
		"it's unbalanced 'a1b2c3d4e5":                                          "it's unbalanced 'a1b2c3d4e5",
	} {
		if got := redactQuoted(in); got != want {
			t.Errorf("redactQuoted(%q) = %q, want %q", in, got, want)
		}
	}
}
