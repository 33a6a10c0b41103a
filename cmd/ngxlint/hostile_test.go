package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ngxlint/ngxlint/format"
)

// This file is the hostile-input suite of issue 8, run through the CLI in
// process: configurations a pull request could carry, each with the exit
// code and error it must give. CI logs are public, so no case may echo file
// content beyond the offending line, and none may hang, panic or exit 3.

// runBounded is run with a generous deadline: a hang becomes a failure
// instead of a stuck test binary.
func runBounded(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	type result struct {
		code     int
		out, err string
	}
	done := make(chan result, 1)
	go func() {
		var out, errb bytes.Buffer
		c := &Command{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}
		code := c.Main(append([]string{"ngxlint"}, args...))
		done <- result{code, out.String(), errb.String()}
	}()
	select {
	case r := <-done:
		if r.code == ExitInternal || strings.Contains(r.err, "internal error") || strings.Contains(r.err, "panic") {
			t.Fatalf("ngxlint %v: exit %d (internal error)\nstdout:\n%.3000s\nstderr:\n%.3000s", args, r.code, r.out, r.err)
		}
		return r.code, r.out, r.err
	case <-time.After(3 * time.Minute):
		t.Fatalf("ngxlint %v did not return: hang", args)
		return 0, "", ""
	}
}

func writeTestFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// jsonErrors decodes `check --format json` and returns its load errors.
func jsonErrors(t *testing.T, out string) []format.Error {
	t.Helper()
	var r checkReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bad JSON: %v\n%.2000s", err, out)
	}
	return r.Errors
}

// TestHostileIncludesCLI: an include of each special file is a load error
// (exit 2) at the include's line, in text and JSON, and nothing is read.
func TestHostileIncludesCLI(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.conf")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sparse := filepath.Join(dir, "sparse.conf")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil { // 1 GB without writing a block
		t.Fatal(err)
	}
	f.Close()
	loop := filepath.Join(dir, "loop.conf")
	os.Symlink(loop, loop)
	globDir := filepath.Join(dir, "globs")
	writeTestFile(t, filepath.Join(globDir, "conf.d", "a.conf"), "include conf.d/*.conf;\n")

	for _, tc := range []struct{ include, want string }{
		{"/dev/zero", "is a device"},
		{"/dev/urandom", "is a device"},
		{"/proc/self/environ", "size changed while reading"},
		{fifo, "is a FIFO"},
		{dir, "is a directory"},
		{sparse, "file too large (1073741824 bytes"},
		{loop, "too many levels of symbolic links"},
	} {
		t.Run(filepath.Base(tc.include), func(t *testing.T) {
			conf := filepath.Join(t.TempDir(), "nginx.conf")
			writeTestFile(t, conf, "events {}\nhttp {\n    include "+tc.include+";\n}\n")
			wantLine := fmt.Sprintf("%s:3:5: error: include %q: ", conf, tc.include)
			// Outside the checked tree (docs/security.md): not even opened.
			// A pseudo file system (/dev, /proc) is a load error; another
			// absolute path is an install path not in this checkout, a note.
			code, out, errs := runBounded(t, "check", "--no-config", conf)
			pseudo := strings.HasPrefix(tc.include, "/dev/") || strings.HasPrefix(tc.include, "/proc/")
			switch {
			case pseudo && (code != ExitUsage || !strings.Contains(out, wantLine) || !strings.Contains(out, "is outside the checked tree")):
				t.Errorf("exit %d, want 2 with %q ... outside the checked tree:\n%s%s", code, wantLine, out, errs)
			case !pseudo && (code == ExitUsage || !strings.Contains(errs, fmt.Sprintf("include %q: not in this checkout (outside the checked tree", tc.include))):
				t.Errorf("exit %d, want a note that the file is not in this checkout, not read:\n%s%s", code, out, errs)
			}
			// Allowed by the user: the loader's own guards still hold.
			allow := []string{"--allow-path", filepath.Dir(tc.include)}
			code, out, errs = runBounded(t, append([]string{"check", "--no-config"}, append(allow, conf)...)...)
			if code != ExitUsage || !strings.Contains(out, wantLine) || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want 2 with %q ... %q:\n%s%s", code, wantLine, tc.want, out, errs)
			}
			code, out, _ = runBounded(t, append([]string{"check", "--no-config", "--format", "json"}, append(allow, conf)...)...)
			es := jsonErrors(t, out)
			if code != ExitUsage || len(es) != 1 || es[0].Line != 3 || es[0].Column != 5 || !strings.Contains(es[0].Message, tc.want) {
				t.Errorf("json: exit %d, errors %+v", code, es)
			}
		})
	}
	t.Run("glob cycle", func(t *testing.T) {
		conf := filepath.Join(globDir, "nginx.conf")
		writeTestFile(t, conf, "include conf.d/*.conf;\n")
		code, out, errs := runBounded(t, "check", "--no-config", conf)
		if code != ExitUsage || !strings.Contains(out, "a.conf:1:1: error: include cycle: ") {
			t.Errorf("exit %d:\n%s%s", code, out, errs)
		}
	})
}

// secretLines is an /etc/shadow-like file: every line holds a secret.
// Only the offending line may be quoted, and only its first 64 bytes (the
// loader's maxQuoted), which here hold no secret.
var secretLines = []string{
	"root:$6$rounds=656000$saltsaltsaltsalt$" + strings.Repeat("a", 30) + "SECRET-ONE-hash:19000:0:99999:7:::",
	"daemon:*:19000:0:99999:7:::SECRET-TWO",
	"alice:$6$SECRET-THREE$Zm9vYmFy:19000:0:99999:7:::",
	"-----BEGIN OPENSSH PRIVATE KEY-----",
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABSECRET-FOUR",
	"[[ SECRET-FIVE ]] = ; } {",
	"-----END OPENSSH PRIVATE KEY-----",
}

func secretsIn(s string) []string {
	var found []string
	for _, w := range []string{"SECRET-ONE", "SECRET-TWO", "SECRET-THREE", "SECRET-FOUR", "SECRET-FIVE"} {
		if strings.Contains(s, w) {
			found = append(found, w)
		}
	}
	return found
}

// TestSecretsNotEchoed includes a secret-bearing file in every way a
// configuration can name a file (include, as the main file, *_by_lua_file,
// inside a block) and checks every output format for its content.
func TestSecretsNotEchoed(t *testing.T) {
	dir := t.TempDir()
	shadow := filepath.Join(dir, "etc", "shadow")
	writeTestFile(t, shadow, strings.Join(secretLines, "\n")+"\n")
	mains := map[string]string{
		"include top":   "include " + shadow + ";\n",
		"include http":  "events {}\nhttp {\n    include " + shadow + ";\n}\n",
		"include block": "http { upstream u { server 127.0.0.1; include " + shadow + "; }\n server { location / { proxy_pass http://u; } } }\n",
		"lua file": "http { upstream u { server 127.0.0.1; balancer_by_lua_file " + shadow + "; }\n" +
			"server { location / { content_by_lua_file " + shadow + "; proxy_pass http://u; } } }\n",
		"main file": "",
	}
	for name, src := range mains {
		conf := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".conf")
		if src == "" {
			conf = shadow
		} else {
			writeTestFile(t, conf, src)
		}
		for _, format := range []string{"text", "json", "sarif", "github", "codequality"} {
			t.Run(name+"/"+format, func(t *testing.T) {
				code, out, errs := runBounded(t, "check", "--no-config", "--format", format, conf)
				if code != ExitUsage && code != ExitFindings {
					t.Errorf("exit %d, want 2 (load error) or 1 (findings)", code)
				}
				if s := secretsIn(out + errs); len(s) > 0 {
					t.Errorf("output echoes %v:\n%s\n%s", s, out, errs)
				}
			})
		}
		t.Run(name+"/tty", func(t *testing.T) {
			// On a terminal the text format prints the offending line
			// under each finding: that line only.
			yes := true
			var out, errb bytes.Buffer
			c := &Command{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, IsTTY: &yes}
			c.Main([]string{"ngxlint", "check", "--no-config", conf})
			found := secretsIn(out.String() + errb.String())
			if len(found) > 1 {
				t.Errorf("terminal output echoes %v:\n%s", found, out.String())
			}
		})
	}
	t.Run("parse", func(t *testing.T) {
		// `ngxlint parse` prints the tree: its purpose is to show the
		// content, so it is not run in CI on untrusted input; it must still
		// exit 2 on the load error.
		// It also shows the detector works: the tree holds the secrets.
		conf := filepath.Join(dir, "include_top.conf")
		code, out, _ := runBounded(t, "parse", conf)
		if code != ExitUsage {
			t.Errorf("parse: exit %d, want 2", code)
		}
		if len(secretsIn(out)) < 3 {
			t.Errorf("parse output shows %v: the secret detector or the fixture is broken", secretsIn(out))
		}
	})
}

// TestHostileContentCLI: pathological bytes in the main file.
func TestHostileContentCLI(t *testing.T) {
	dir := t.TempDir()
	nested := strings.Repeat("a {", 100_000) + strings.Repeat("}", 100_000)
	tests := []struct {
		name, src string
		code      int
		want      []string // in stdout, in order
		maxOut    int
	}{
		{"100000 nested blocks", nested, ExitUsage, []string{":1:3003: error: blocks nested more than 1000 levels deep"}, 2000},
		{"10 MB single line", strings.Repeat("x", 10<<20) + ";\n", ExitUsage, []string{":1:1: error: too long parameter (10485760 bytes)"}, 2000},
		{"10 MB single line, no end", strings.Repeat("y", 10<<20), ExitUsage, []string{`:1:10485761: error: unexpected end of file, expecting ";" or "}": directive (a word of 10485760 bytes, not quoted) is not terminated; add ";" here`}, 2000},
		{"NUL bytes", "events {}\nhttp {\n  a\x00b c;\n}\n", ExitUsage, []string{":0:0: error: binary file, not read"}, 2000},
		{"invalid UTF-8 name", "events {}\n\xff\xfe on;\n", ExitUsage, []string{`:2:1: error: directive name (a word of 2 bytes, not quoted) is not valid UTF-8`}, 2000},
		{"CRLF", "events {}\r\nhttp {\r\n  upstream u { server 127.0.0.1; }\r\n  z\r\n}\r\n", ExitUsage, []string{`:4:4: error: unexpected "}" at 5:1: directive "z" is not terminated by ";"; add ";" here`}, 2000},
		{"CR only", "events {}\rhttp {\r  z\r}\r", ExitUsage, []string{`:1:21: error: unexpected "}" at 1:22: directive "z" is not terminated by ";"; add ";" here`}, 2000},
		{"BOM", "\xef\xbb\xbfevents {}\n", ExitUsage, []string{":1:1: error: file starts with a UTF-8 byte order mark"}, 2000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conf := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".conf")
			writeTestFile(t, conf, tc.src)
			code, out, errs := runBounded(t, "check", "--no-config", conf)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, conf+w) {
					t.Errorf("output lacks %q:\n%.3000s", conf+w, out)
				}
			}
			if len(out)+len(errs) > tc.maxOut {
				t.Errorf("%d bytes of output:\n%.3000s", len(out)+len(errs), out)
			}
			code, out, _ = runBounded(t, "check", "--no-config", "--format", "json", conf)
			if es := jsonErrors(t, out); code != tc.code || len(es) == 0 {
				t.Errorf("json: exit %d, errors %v", code, es)
			}
		})
	}
	t.Run("invalid UTF-8 arguments", func(t *testing.T) {
		// nginx takes any bytes in arguments; the output formats must stay
		// valid (JSON and SARIF replace what is not UTF-8).
		conf := filepath.Join(dir, "utf8.conf")
		writeTestFile(t, conf, "http { upstream u\xff { server 127.0.0.1; keepalive 4; }\n server { location /\xc3\x28 { proxy_pass http://u\xff; } } }\n")
		for _, format := range []string{"json", "sarif", "codequality"} {
			code, out, _ := runBounded(t, "check", "--no-config", "--format", format, conf)
			var v any
			if err := json.Unmarshal([]byte(out), &v); err != nil || code == ExitUsage {
				t.Errorf("%s: exit %d, %v:\n%.2000s", format, code, err, out)
			}
		}
	})
}

// TestMillionDirectivesCLI checks a million directives end to end and
// reports the memory it took (measured, not asserted against time). The
// upstream is written twice: with "keepalive 0" (no finding) and without
// (one finding that names every location proxying to it).
func TestMillionDirectivesCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	for _, upstream := range []string{"upstream u { server 127.0.0.1; keepalive 0; }", "upstream u { server 127.0.0.1; }"} {
		var b strings.Builder
		b.WriteString("events {}\nhttp {\n  " + upstream + "\n  server {\n")
		for i := 0; i < 1_000_000; i++ {
			fmt.Fprintf(&b, "    location /l%d { proxy_pass http://u; }\n", i)
			if i%2 == 0 {
				i++
				fmt.Fprintf(&b, "    set $v%d %d;\n", i, i)
			}
		}
		b.WriteString("  }\n}\n")
		conf := filepath.Join(t.TempDir(), "nginx.conf")
		writeTestFile(t, conf, b.String())
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		peak := make(chan uint64)
		stop := make(chan struct{})
		go func() {
			var m runtime.MemStats
			var p uint64
			for {
				select {
				case <-stop:
					peak <- p
					return
				case <-time.After(20 * time.Millisecond):
					runtime.ReadMemStats(&m)
					p = max(p, m.HeapInuse)
				}
			}
		}()
		code, out, errs := runBounded(t, "check", "--no-config", "--format", "json", conf)
		close(stop)
		p := <-peak
		runtime.ReadMemStats(&after)
		if code != ExitClean && code != ExitFindings {
			t.Fatalf("exit %d:\n%.2000s\n%.2000s", code, out, errs)
		}
		t.Logf("%s: %d MB config, 1,000,000 directives (plus 500,000 proxy_pass in their blocks): exit %d, %d MB allocated, peak heap in use %d MB (sampled), %d bytes of output",
			upstream, b.Len()>>20, code, (after.TotalAlloc-before.TotalAlloc)>>20, p>>20, len(out))
		if p > 8<<30 {
			t.Errorf("peak heap %d MB", p>>20)
		}
	}
}

// limitFlagsWired reports whether check has the --max-* flags
// (registerLimitFlags in limits.go, wired by check's flag set).
func limitFlagsWired(t *testing.T) bool {
	var f checkFlags
	var errb bytes.Buffer
	c := &Command{Stdout: &errb, Stderr: &errb}
	return c.newCheckFlagSet(&f).Lookup("max-file-size") != nil
}

// TestLimitFlagsCLI: each loader limit set from the command line, with its
// error and exit 2.
func TestLimitFlagsCLI(t *testing.T) {
	if !limitFlagsWired(t) {
		t.Skip("check does not register the --max-* flags yet (call registerLimitFlags in newCheckFlagSet)")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	writeTestFile(t, conf, "include a.conf;\nhttp { server { location / { } } }\n")
	writeTestFile(t, filepath.Join(dir, "a.conf"), "include b.conf;\n")
	writeTestFile(t, filepath.Join(dir, "b.conf"), "x;\n")
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--max-file-size", "10"}, conf + ":0:0: error: file too large (51 bytes, limit 10)"},
		{[]string{"--max-include-depth", "1"}, `a.conf:1:1: error: include "b.conf": includes nested more than 1 deep`},
		{[]string{"--max-files", "2"}, `a.conf:1:1: error: include "b.conf": too many files: more than 2 read`},
		{[]string{"--max-nesting", "2"}, conf + `:2:28: error: blocks nested more than 2 levels deep`},
		{[]string{"--max-directives", "3"}, conf + `:2:17: error: more than 3 directives in the configuration`},
	} {
		code, out, errs := runBounded(t, append(append([]string{"check", "--no-config"}, tc.flags...), conf)...)
		if code != ExitUsage || !strings.Contains(out, tc.want) {
			t.Errorf("%v: exit %d, want 2 with %q:\n%s%s", tc.flags, code, tc.want, out, errs)
		}
	}
	if code, _, errs := runBounded(t, "check", "--no-config", "--max-files", "0", conf); code != ExitUsage || !strings.Contains(errs, "max-files") {
		t.Errorf("--max-files 0: exit %d: %s", code, errs)
	}
}
