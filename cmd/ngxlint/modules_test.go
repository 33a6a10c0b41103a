package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigModules: modules: in .ngxlint.yaml is validated against the
// directive table with a position, and reaches the NGX3xxx rules: a
// declared custom directive is known, a known module left out of
// modules.load is absent.
func TestConfigModules(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"modules: {load: [ngx_http_nope_module]}\n", `"ngx_http_nope_module" is not a module ngxlint knows`},
		{"modules: {directives: [{name: x, contexts: [locaton]}]}\n", `context "locaton" is not one of`},
		{"modules: {directives: [{name: x, args: \"3-1\"}]}\n", `args "3-1"`},
		{"modules: {lod: [x]}\n", `unknown key modules.lod`},
		{"modules: [x]\n", `modules must be a mapping`},
	} {
		dir := t.TempDir()
		cfg := filepath.Join(dir, ".ngxlint.yaml")
		writeTestFile(t, cfg, c.yaml)
		writeTestFile(t, filepath.Join(dir, "nginx.conf"), "events {}\nhttp {}\n")
		code, _, errs := runBounded(t, "check", "--config", cfg, filepath.Join(dir, "nginx.conf"))
		if code != ExitUsage || !strings.Contains(errs, c.want) || !strings.Contains(errs, ".ngxlint.yaml:1:") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q at line 1", c.yaml, code, errs, c.want)
		}
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, ".ngxlint.yaml")
	writeTestFile(t, cfg, "modules:\n  load: [headers-more-nginx-module]\n  directives:\n    - {name: company_auth, contexts: [location], args: \"1\"}\n")
	conf := filepath.Join(dir, "nginx.conf")
	writeTestFile(t, conf, "events {}\nhttp {\n    server {\n        listen 80;\n        location / {\n            company_auth on;\n            more_set_headers \"A: b\";\n            echo hi;\n        }\n    }\n}\n")
	code, out, errs := runBounded(t, "check", "--config", cfg, "--enable", "NGX3*", conf)
	if code != ExitFindings || !strings.Contains(out, `unknown directive "echo": ngx_http_echo_module is not in the declared build`) ||
		strings.Contains(out, "company_auth") || strings.Contains(out, "more_set_headers") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
}
