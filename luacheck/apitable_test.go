package luacheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/luacheck/internal/apigen"
)

// TestAPITableUpToDate checks that the committed apitable_gen.go is what
// the generator produces from ../shared/data (run `go generate` if not).
func TestAPITableUpToDate(t *testing.T) {
	dir := "../../shared/data"
	api, err := os.ReadFile(filepath.Join(dir, "ngx_lua_api.json"))
	if err != nil {
		t.Skipf("shared data absent: %v", err)
	}
	rules, err := os.ReadFile(filepath.Join(dir, "ngx_lua_phase_rules.json"))
	if err != nil {
		t.Skipf("shared data absent: %v", err)
	}
	want, err := apigen.Generate(api, rules)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("apitable_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatal("apitable_gen.go is stale: run go generate ./luacheck")
	}
}

func TestAPIHelpers(t *testing.T) {
	cases := []struct {
		api, ctx string
		want     Allowance
	}{
		{"ngx.sleep", "balancer_by_lua_block", Disallowed},
		{"ngx.sleep", "content_by_lua", Allowed},
		{"ngx.say", "log_by_lua", Disallowed},
		{"ngx.location.capture", "header_filter_by_lua_block", Disallowed},
		{"ngx.socket.tcp", "init_by_lua", Disallowed},
		{"ngx.socket.tcp", "ngx.timer.*", Allowed},
		{"ngx.balancer.set_current_peer", "balancer_by_lua_file", Allowed},
		{"ngx.balancer.set_current_peer", "access_by_lua", Disallowed},
		{"ngx.sleep", "server_rewrite_by_lua_block", Allowed}, // YIELDABLE includes SERVER_REWRITE (ngx_http_lua_util.h)
		{"ngx.ssl.server_name", "content_by_lua", Allowed},
		{"no.such.api", "content_by_lua", AllowUnknown},
	}
	for _, c := range cases {
		if got := IsAllowed(c.api, c.ctx); got != c.want {
			t.Errorf("IsAllowed(%s, %s) = %v, want %v", c.api, c.ctx, got, c.want)
		}
	}
	if !VersionLess("0.10.8", "v0.10.9") || VersionLess("v0.10.9", "0.10.9") || !VersionLess("v0.5.0rc30", "v0.5.0") || !VersionLess("0.9.20", "0.10.0") {
		t.Error("VersionLess")
	}
	if a, ok := LookupAPI("ngx.balancer.enable_keepalive"); !ok || a.Since != "v0.1.29" || a.SinceComponent != "lua-resty-core" || !a.RequireOnly {
		t.Errorf("LookupAPI: %+v %v", a, ok)
	}
	if NormalizeContext("balancer_by_lua_block") != "balancer_by_lua*" || NormalizeContext("balancer_by_lua") != "balancer_by_lua*" {
		t.Error("NormalizeContext")
	}
	if CanYield("log_by_lua") || !CanYield("access_by_lua_block") {
		t.Error("CanYield")
	}
}

// TestIsAllowedAt checks the per-release verdicts read from phasefacts.json
// (the releases where a context was added or dropped) and the fallback to
// the documentation for APIs the extraction has no facts for.
func TestIsAllowedAt(t *testing.T) {
	cases := []struct {
		api, ctx, lnm string
		want          Allowance
	}{
		// ngx.var works with the timer's fake request once resty.core's
		// var_get is mandatory (v0.10.16), not with the C getter before.
		{"ngx.var.VARIABLE", "init_worker_by_lua_block", "0.10.15", Disallowed},
		{"ngx.var.VARIABLE", "init_worker_by_lua_block", "0.10.16", Allowed},
		{"ngx.var.VARIABLE", "init_worker_by_lua_block", "", Allowed},
		{"ngx.worker.pids", "init_by_lua_block", "0.10.23", Disallowed},
		{"ngx.worker.pids", "init_by_lua_block", "v0.10.26", Allowed},
		// The idioms: shared dicts in init_worker and init,
		// cosockets in timers but not in log_by_lua*.
		{"ngx.shared.DICT.get", "init_worker_by_lua_block", "0.10.23", Allowed},
		{"ngx.shared.DICT.incr", "init_by_lua_block", "0.10.23", Allowed},
		{"ngx.socket.tcp", "ngx.timer.*", "0.10.23", Allowed},
		{"ngx.socket.tcp", "log_by_lua_block", "0.10.23", Disallowed},
		// Before the API existed: LUA2002's finding, not a phase verdict.
		{"ngx.timer.every", "balancer_by_lua_block", "0.10.8", AllowUnknown},
		// Older than the first release read: that release's verdict.
		{"ngx.say", "log_by_lua", "0.9.20", Disallowed},
		// No facts: the documentation decides, and says nothing about
		// phases it never lists.
		{"tcpsock:getfd", "server_rewrite_by_lua_block", "", AllowUnknown},
	}
	for _, c := range cases {
		if got := IsAllowedAt(c.api, c.ctx, c.lnm); got != c.want {
			t.Errorf("IsAllowedAt(%s, %s, %q) = %v, want %v", c.api, c.ctx, c.lnm, got, c.want)
		}
	}
	if pf := phaseFactsIndex(); len(pf.apis) < 250 || len(pf.phases) == 0 {
		t.Fatalf("phasefacts.json index: %d APIs, %d phase sets", len(pf.apis), len(pf.phases))
	}
	refusals := []struct{ api, ctx, want string }{
		{"ngx.socket.tcp", "log_by_lua_block", "API disabled in the context of log_by_lua*"},
		{"ngx.say", "ngx.timer.*", "API disabled in the context of ngx.timer"},
		{"ngx.req.get_headers", "init_worker_by_lua_block", "API disabled in the current context"},
		{"ngx.req.get_headers", "init_by_lua_block", "no request found"},
		{"ngx.balancer.set_current_peer", "ngx.timer.*", "no upstream found"},
	}
	for _, c := range refusals {
		r, ok := RefusalAt(c.api, c.ctx, "0.10.23")
		if !ok || r.Message != c.want || len(r.Sources) == 0 || !strings.Contains(r.Sources[0], "@lua-") {
			t.Errorf("RefusalAt(%s, %s) = %+v, %v; want message %q with tagged sources", c.api, c.ctx, r, ok, c.want)
		}
	}
}
