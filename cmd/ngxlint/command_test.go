package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := &Command{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}
	code = c.Main(append([]string{"ngxlint"}, args...))
	return code, out.String(), errb.String()
}

const seed = "../../examples/seed/nginx.conf"

func decodeCheck(t *testing.T, s string) checkReport {
	t.Helper()
	var r checkReport
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, s)
	}
	return r
}

func TestCheckSeedText(t *testing.T) {
	code, out, errs := run(t, "check", "--lua-nginx-module-version", "0.10.0", seed)
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1; stderr %s", code, errs)
	}
	want := seed + ":13:9: error: keepalive with balancer_by_lua on lua-nginx-module 0.10.0"
	if !strings.Contains(out, want) || !strings.Contains(out, "[NGX2001 lua-balancer-keepalive-loop]") {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour codes written to a non-terminal")
	}
}

func TestCheckSeedJSON(t *testing.T) {
	code, out, _ := run(t, "check", "--format", "json", "--lua-nginx-module-version", "0.10.0", seed)
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1", code)
	}
	r := decodeCheck(t, out)
	var found bool
	for _, f := range r.Findings {
		if f.Slug != "lua-balancer-keepalive-loop" {
			continue
		}
		found = true
		if f.Rule != "NGX2001" || f.Line != 13 || f.Column != 9 || f.EndLine != 13 || f.EndColumn != 21 || f.Severity != "error" {
			t.Errorf("finding %+v", f)
		}
		if len(f.Related) == 0 || f.Related[0].Line != 5 {
			t.Errorf("related %+v, want the balancer block at line 5", f.Related)
		}
		if f.Confirmation.Status != "not-run" {
			t.Errorf("confirmation %+v, want not-run", f.Confirmation)
		}
	}
	if !found {
		t.Fatalf("no lua-balancer-keepalive-loop finding:\n%s", out)
	}
	// The raw document has exactly the documented top-level keys.
	var raw map[string]json.RawMessage
	json.Unmarshal([]byte(out), &raw)
	for _, k := range []string{"findings", "errors", "profile"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
}

func TestCheckSeedFixedVersion(t *testing.T) {
	_, out, _ := run(t, "check", "--format", "json", "--openresty-version", "1.21.4.1", seed)
	for _, f := range decodeCheck(t, out).Findings {
		if f.Rule == "NGX2001" {
			t.Errorf("NGX2001 fired on OpenResty 1.21.4.1: %+v", f)
		}
	}
}

func TestCheckConfirm(t *testing.T) {
	code, out, errs := run(t, "check", "--confirm", "--format", "json", "--enable", "NGX2001", "--lua-nginx-module-version", "0.10.0", seed)
	if code != ExitFindings {
		t.Fatalf("exit %d: %s", code, errs)
	}
	r := decodeCheck(t, out)
	if len(r.Findings) != 1 {
		t.Fatalf("want 1 finding, got %d", len(r.Findings))
	}
	cf := r.Findings[0].Confirmation
	if cf.Status != "confirmed" || cf.Observed["unbounded"] != true || !strings.Contains(cf.Summary, "unbounded") {
		t.Errorf("confirmation %+v", cf)
	}
	_, text, _ := run(t, "check", "--confirm", "--enable", "NGX2001", "--lua-nginx-module-version", "0.10.0", seed)
	if !strings.Contains(text, "    confirmed: request 2 of 2 opened") {
		t.Errorf("text output lacks the confirmation summary:\n%s", text)
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	clean := write("clean/nginx.conf", "events {}\nhttp { server { listen 80; } }\n")
	broken := write("broken.conf", "http {\n  server {\n    listen 80;\n")
	missingInc := write("inc.conf", "http {\n  include nope.conf;\n}\n")
	cases := []struct {
		name string
		args []string
		code int
		out  string // substring of stdout+stderr
	}{
		{"clean", []string{"check", clean}, ExitClean, ""},
		{"directory means its nginx.conf", []string{"check", filepath.Dir(clean)}, ExitClean, ""},
		{"broken config", []string{"check", broken}, ExitUsage, "broken.conf:"},
		{"missing include", []string{"check", missingInc}, ExitUsage, "inc.conf:2:"},
		{"no such file", []string{"check", filepath.Join(dir, "nope.conf")}, ExitUsage, "nope.conf"},
		{"no args", []string{"check"}, ExitUsage, "PATH"},
		{"bad flag", []string{"check", "--nope", clean}, ExitUsage, "nope"},
		{"bad format", []string{"check", "--format", "xml", clean}, ExitUsage, "format"},
		{"bad version", []string{"check", "--nginx-version", "x.y", clean}, ExitUsage, "version"},
		{"conflicting versions", []string{"check", "--nginx-version", "1.22.1", "--openresty-version", "1.21.4.1", clean}, ExitUsage, "bundles nginx 1.21.4"},
		{"unknown rule", []string{"check", "--enable", "NGX9999", clean}, ExitUsage, "no rule matches"},
		{"unknown command", []string{"frobnicate"}, ExitUsage, "unknown command"},
		{"info below fail-on", []string{"check", "--enable", "NGX2001", seed}, ExitClean, "if on lua-nginx-module 0.10.0"},
		{"info at fail-on info", []string{"check", "--fail-on", "info", "--enable", "NGX2001", seed}, ExitFindings, "NGX2001"},
		{"fail-on error ignores warnings", []string{"check", "--fail-on", "error", "--enable", "LUA3001", seed}, ExitClean, "LUA3001"},
		{"flags after path", []string{"check", seed, "--enable", "LUA3001"}, ExitFindings, "LUA3001"},
		{"help", []string{"check", "-h"}, ExitClean, "Usage: ngxlint check"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := run(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errs)
			}
			if !strings.Contains(out+errs, tc.out) {
				t.Errorf("output lacks %q\nstdout: %s\nstderr: %s", tc.out, out, errs)
			}
		})
	}
}

func TestBrokenConfigJSONErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "nginx.conf")
	os.WriteFile(p, []byte("http {\n  server {\n    listen 80;\n  }\n}\n}\n"), 0o644)
	code, out, _ := run(t, "check", "--format", "json", p)
	if code != ExitUsage {
		t.Fatalf("exit %d, want 2", code)
	}
	r := decodeCheck(t, out)
	if len(r.Errors) == 0 || r.Errors[0].Line != 6 || r.Errors[0].Column != 1 {
		t.Errorf("errors %+v, want the stray } at 6:1", r.Errors)
	}
}

func TestRulesAndExplain(t *testing.T) {
	code, out, _ := run(t, "rules")
	if code != 0 || !strings.Contains(out, "NGX2001") || !strings.Contains(out, "lua-balancer-keepalive-loop") {
		t.Errorf("rules: %d\n%s", code, out)
	}
	for _, name := range []string{"NGX2001", "lua-balancer-keepalive-loop", "ngx2001"} {
		code, out, _ = run(t, "explain", name)
		if code != 0 || !strings.Contains(out, "60ebb5c") || !strings.Contains(out, "Bad:") {
			t.Errorf("explain %s: %d\n%s", name, code, out)
		}
	}
	if code, _, _ = run(t, "explain", "NOPE"); code != ExitUsage {
		t.Errorf("explain NOPE: exit %d", code)
	}
}

func TestParseJSON(t *testing.T) {
	code, out, errs := run(t, "parse", seed)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc struct {
		Status string `json:"status"`
		Config []struct {
			File   string            `json:"file"`
			Parsed []json.RawMessage `json:"parsed"`
		} `json:"config"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Status != "ok" || len(doc.Config) != 1 || len(doc.Config[0].Parsed) != 1 {
		t.Errorf("parse output %+v", doc)
	}
	if !strings.Contains(out, `local balancer = require \"ngx.balancer\"`) {
		t.Errorf("lua code missing from parse output")
	}
}

func TestEmulateSeed(t *testing.T) {
	code, out, errs := run(t, "emulate", "--format", "json", "--lua-nginx-module-version", "0.10.0", "--backend", "first-only", "--max-attempts", "200", seed)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res struct {
		Profile  map[string]string `json:"profile"`
		Requests []struct {
			Status              any  `json:"status"`
			UpstreamConnections int  `json:"upstream_connections"`
			Unbounded           bool `json:"unbounded"`
		} `json:"requests"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Requests) != 2 || res.Requests[0].Status != float64(200) || !res.Requests[1].Unbounded {
		t.Errorf("emulate: %s", out)
	}
	code, out, _ = run(t, "emulate", "--format", "json", "--openresty-version", "1.9.7.4", "--backend", "first-only", seed)
	if code != 0 || !strings.Contains(out, `"status": 502`) {
		t.Errorf("fixed version should end in 502:\n%s", out)
	}
	if code, _, _ = run(t, "emulate", "--backend", "bogus", seed); code != ExitUsage {
		t.Errorf("bad backend policy: exit %d", code)
	}
}

func TestExplainRetries(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "nginx.conf")
	os.WriteFile(p, []byte(`http {
    upstream five { server 10.0.0.1:8080; server 10.0.0.2:8080; server 10.0.0.3:8080; server 10.0.0.4:8080 backup; }
    upstream pay { server 10.0.0.1:9000; server 10.0.0.2:9000; }
    server {
        listen 80;
        location / { proxy_pass http://five; }
        location /pay { proxy_pass http://pay; proxy_next_upstream error timeout non_idempotent; }
        location /capped { proxy_pass http://five; proxy_next_upstream_tries 2; }
    }
}
`), 0o644)
	code, out, errs := run(t, "explain-retries", "--format", "json", "--nginx-version", "1.22.1", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc struct {
		Locations []struct {
			Location string `json:"location"`
			Attempts string `json:"worst_case_attempts"`
			Resend   bool   `json:"post_can_be_sent_twice"`
		} `json:"locations"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, l := range doc.Locations {
		got += fmt.Sprintf("%s=%s/%v ", l.Location, l.Attempts, l.Resend)
	}
	if want := "/=4/false /pay=2/true /capped=2/false "; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	code, out, _ = run(t, "explain-retries", "--nginx-version", "1.22.1", p)
	if code != 0 || !strings.Contains(out, "WORST CASE ATTEMPTS") {
		t.Errorf("text table: %d\n%s", code, out)
	}
}

// TestEngineFlags covers --engine on check and emulate; the runs on the
// real binary skip when Debian's nginx with the Lua module is absent
// (outside CI).
func TestEngineFlags(t *testing.T) {
	for _, args := range [][]string{
		{"check", "--confirm", "--engine", "nginx", seed},
		{"check", "--confirm", "--engine", "bogus", seed},
		{"emulate", "--engine", "both", seed},
	} {
		if code, _, _ := run(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	bin := "/usr/sbin/nginx"
	if _, err := os.Stat("/usr/share/nginx/modules/ngx_http_lua_module.so"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs nginx with the Lua module: %v", err)
		}
		t.Skip("nginx with the Lua module not installed")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	os.WriteFile(conf, []byte("http {\n  upstream app { server 10.0.0.1:8080; keepalive 4; }\n  server { listen 80; location /app { proxy_pass http://app; } }\n}\n"), 0o644)
	code, out, errs := run(t, "emulate", "--engine", "both", "--nginx-binary", bin, "--backend", "ok", "--requests", "GET /app,GET /app", conf)
	if code != 0 || !strings.Contains(out, "nginx and the emulator agree") {
		t.Errorf("emulate --engine both: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = run(t, "check", "--confirm", "--engine", "nginx", "--nginx-binary", bin, "--format", "json", "--enable", "NGX2002", conf)
	if code != ExitFindings {
		t.Fatalf("check --engine nginx: exit %d\n%s\n%s", code, out, errs)
	}
	r := decodeCheck(t, out)
	if len(r.Findings) != 1 || r.Findings[0].Confirmation.Status != "confirmed" || r.Findings[0].Confirmation.Engine != "nginx" {
		t.Errorf("confirmation on real nginx: %+v", r.Findings)
	}
}

func TestUpgradeTo(t *testing.T) {
	code, out, errs := run(t, "check", "--openresty-version", "1.9.7.3", "--upgrade-to", "1.9.7.4", seed)
	if code != 0 || !strings.Contains(out, "disappears NGX2001 lua-balancer-keepalive-loop [confirmed]") {
		t.Errorf("seed upgrade: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = run(t, "check", "--format", "json", "--openresty-version", "1.29.2.3", "--upgrade-to", "1.29.2.4", "../../testdata/upgrade/balancer-keepalive.conf")
	if code != ExitFindings || !strings.Contains(out, `"kind": "appears"`) || !strings.Contains(out, "or-notify-stale-502") {
		t.Errorf("notify upgrade: exit %d\n%s\n%s", code, out, errs)
	}
	if code, _, _ = run(t, "check", "--upgrade-to", "1.9.7.4", seed); code != ExitUsage {
		t.Errorf("--upgrade-to with no current version: exit %d, want 2", code)
	}
}

// A --confirm-timeout that runs out is reported as a budget on stderr,
// and the finding is not-run with that reason, not a failed confirmation.
func TestConfirmTimeoutRunsOut(t *testing.T) {
	code, out, errs := run(t, "check", "--no-config", "--format", "json", "--confirm", "--confirm-timeout", "1ns",
		"--lua-nginx-module-version", "0.10.0", seed)
	if code != ExitFindings {
		t.Fatalf("exit %d, want %d; stderr %s", code, ExitFindings, errs)
	}
	if !strings.Contains(errs, "--confirm-timeout 1ns ran out") || !strings.Contains(errs, "confirmations did not finish") {
		t.Errorf("stderr does not report the budget:\n%s", errs)
	}
	r := decodeCheck(t, out)
	found := false
	for _, d := range r.Findings {
		if d.Confirmation.Status == "" || d.Confirmation.Status == "not-confirmable" { // static: no scenario to run
			continue
		}
		found = true
		if d.Confirmation.Status == "confirmed" || !strings.HasPrefix(d.Confirmation.Reason, "the time limit for confirmation ran out") {
			t.Errorf("%s: %s %q", d.Rule, d.Confirmation.Status, d.Confirmation.Reason)
		}
	}
	if !found {
		t.Fatal("no finding carries a confirmation")
	}
}
