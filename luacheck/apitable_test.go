package luacheck

import (
	"os"
	"path/filepath"
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
