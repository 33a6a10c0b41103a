package main

import (
	"os"
	"path/filepath"
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
