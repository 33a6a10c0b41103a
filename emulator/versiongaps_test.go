package emulator

import (
	"fmt"
	"strings"
	"testing"
)

// kaHostConfig is a Lua balancer that pools its connections with
// enable_keepalive under the given host; three GETs to one keep-alive peer.
func kaHostConfig(t *testing.T, or, lnm, host string) Config {
	c := seedConfig(prof(t, "", lnm, or), "ok")
	c.Upstream.Keepalive = Opt[int]{}
	c.Upstream.BalancerLua = fmt.Sprintf(`local b = require "ngx.balancer"
assert(b.set_current_peer("10.0.0.5", 8080, %q))
assert(b.enable_keepalive())`, host)
	c.Requests = []Request{{Method: "GET", Path: "/1"}, {Method: "GET", Path: "/2"}, {Method: "GET", Path: "/3"}}
	return c
}

// TestLuaPoolLongHost is LNM-KA-HOST-GT32: on 0.10.27-0.10.28 a host longer
// than 32 bytes is saved under the address text, so nothing is reused; a
// short host, and 0.10.29 (18ce5fbd), reuse the first connection.
func TestLuaPoolLongHost(t *testing.T) {
	long := "orders-service.internal.example.com" // 35 bytes
	short := "orders.example.com"
	exactly32 := "orders-svc1.internal.example.com" // 32 bytes
	cases := []struct {
		name, or, lnm, host string
		conns               []int
	}{
		{"0.10.27 long host", "1.27.1.1", "", long, []int{1, 1, 1}},
		{"0.10.28 long host", "1.27.1.2", "", long, []int{1, 1, 1}},
		{"0.10.27 32-byte host", "1.27.1.1", "", exactly32, []int{1, 0, 0}},
		{"0.10.27 short host", "1.27.1.1", "", short, []int{1, 0, 0}},
		{"0.10.29 long host", "1.29.2.1", "", long, []int{1, 0, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := runCfg(t, kaHostConfig(t, tc.or, tc.lnm, tc.host))
			var wants []want
			for _, n := range tc.conns {
				wants = append(wants, want{status: 200, attempts: 1, conns: n})
			}
			checkRequests(t, res, wants)
		})
	}
}

// TestExitRestyCore is LNM-EXIT-FFI: before 0.10.3 only the FFI ngx.exit
// that resty.core installs lacked the balancer context (22566ed9); the C
// ngx.exit of 0.10.0-0.10.2 accepted it.
func TestExitRestyCore(t *testing.T) {
	cases := []struct {
		name, lnm, code string
		loaded          bool
		want            string
	}{
		{"0.10.2 C exit", "0.10.2", `ngx.exit(503)`, false, OutcomeLuaExit},
		{"0.10.0 C exit", "0.10.0", `ngx.exit(503)`, false, OutcomeLuaExit},
		{"0.10.2 resty.core from init", "0.10.2", `ngx.exit(503)`, true, OutcomeLuaError},
		{"0.10.2 resty.core required by the balancer", "0.10.2", `require "resty.core" ngx.exit(503)`, false, OutcomeLuaError},
		{"0.10.2 resty.core.base only", "0.10.2", `require "resty.core.base" ngx.exit(503)`, false, OutcomeLuaExit},
		{"0.10.3 resty.core", "0.10.3", `ngx.exit(503)`, true, OutcomeLuaExit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := seedConfig(prof(t, "1.9.7", tc.lnm, ""), "ok")
			c.Upstream.BalancerLua = tc.code
			c.RestyCoreLoaded = tc.loaded
			c.Requests = c.Requests[:1]
			res := runCfg(t, c)
			a := res.Requests[0].Attempts[0]
			if a.Outcome != tc.want {
				t.Fatalf("outcome %q, want %q; log %q", a.Outcome, tc.want, a.Log)
			}
			if res.Requests[0].Status.Code != 500 {
				t.Errorf("status %s, want 500 (stock nginx turns a positive exit code into NGX_ERROR)", res.Requests[0].Status)
			}
			if tc.want == OutcomeLuaError && !strings.Contains(strings.Join(a.Log, "\n"), "API disabled in the context of balancer_by_lua*") {
				t.Errorf("log %q lacks the API disabled error", a.Log)
			}
		})
	}
}

// TestExitRestyCoreDefault: lua-nginx-module >= 0.10.16 always loads
// resty.core, so its ngx.exit is the FFI one (accepted in the balancer
// since 0.10.3).
func TestExitRestyCoreDefault(t *testing.T) {
	c := seedConfig(prof(t, "", "", "1.19.9.1"), "ok")
	c.Upstream.BalancerLua = `ngx.exit(503)`
	c.Requests = c.Requests[:1]
	res := runCfg(t, c)
	if o := res.Requests[0].Attempts[0].Outcome; o != OutcomeLuaExit {
		t.Errorf("outcome %q, want %q", o, OutcomeLuaExit)
	}
}

// TestPlaceholderShadowed is LNM-NO-PEER-SET-GLOBAL: a server-less balancer
// upstream that is not the last one parsed connects to its placeholder
// 0.0.0.1:80 when the Lua code sets no peer, instead of answering 500.
func TestPlaceholderShadowed(t *testing.T) {
	c := luaConfig(prof(t, "", "", "1.27.1.1"), `local x = 1`, "ok", 1)
	c.Upstream.Servers = nil
	c.Upstream.PlaceholderShadowed = true
	c.Backends = map[string]Policy{"0.0.0.1": {Kind: PolicyOK}}
	res := runCfg(t, c)
	checkRequests(t, res, []want{{200, 1, 1, false}})
	if a := res.Requests[0].Attempts[0]; a.Peer != "0.0.0.1:80" || a.Outcome != OutcomeResponse {
		t.Errorf("attempt peer %q outcome %q, want 0.0.0.1:80 %q", a.Peer, a.Outcome, OutcomeResponse)
	}

	// With a server line there is no placeholder: round robin as before.
	c = luaConfig(prof(t, "", "", "1.27.1.1"), `local x = 1`, "ok", 1)
	c.Upstream.PlaceholderShadowed = true
	checkRequests(t, runCfg(t, c), []want{{200, 1, 1, false}})
}
