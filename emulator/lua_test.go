package emulator

import (
	"strings"
	"testing"
	"time"

	"github.com/ngxlint/ngxlint/versions"
)

// luaConfig is one upstream with `server 0.0.0.1` and a Lua balancer, no
// keepalive, default proxy_next_upstream, every backend with policy.
func luaConfig(p versions.Profile, code, policy string, n int) Config {
	pol, err := ParsePolicy(policy)
	if err != nil {
		panic(err)
	}
	c := Config{
		Profile:       p,
		Upstream:      Upstream{Name: "lua", Servers: []Server{{Addr: "0.0.0.1"}}, BalancerLua: code},
		DefaultPolicy: pol,
		Timeout:       5 * time.Second,
		LuaTimeout:    200 * time.Millisecond,
	}
	for i := 0; i < n; i++ {
		c.Requests = append(c.Requests, Request{Method: "GET", Path: "/x?y=1"})
	}
	return c
}

const (
	unguarded = `
local b = require "ngx.balancer"
assert(b.set_current_peer("10.0.0.5", 80))
b.set_more_tries(1)
`
	guarded = `
local b = require "ngx.balancer"
assert(b.set_current_peer("10.0.0.5", 80))
local ctx = ngx.ctx
ctx.n = (ctx.n or 0) + 1
if ctx.n <= 2 then
  local ok, err = b.set_more_tries(1)
  if err then ngx.log(ngx.WARN, "set_more_tries: ", err) end
end
local st, code = b.get_last_failure()
ngx.log(ngx.INFO, "last failure: ", tostring(st), " ", tostring(code))
`
	guardedOnce = `
local b = require "ngx.balancer"
assert(b.set_current_peer("10.0.0.5", 80))
if not ngx.ctx.once then
  ngx.ctx.once = true
  local ok, err = b.set_more_tries(1)
  if err then ngx.log(ngx.WARN, "set_more_tries: ", err) end
end
`
)

func attemptLogs(q RequestResult) string {
	var b strings.Builder
	for _, a := range q.Attempts {
		b.WriteString(strings.Join(a.Log, "\n"))
		b.WriteString("\n")
	}
	return b.String()
}

func TestSetMoreTries(t *testing.T) {
	withTries := func(c Config, n int) Config { c.Location.NextUpstreamTries = Some(n); return c }
	tests := []struct {
		name    string
		cfg     Config
		want    []want
		wantLog string
	}{
		{"unguarded, LNM 0.10.8: unbounded", luaConfig(prof(t, "", "", "1.11.2.3"), unguarded, "close", 1),
			[]want{{"timeout", 1000, 1000, true}}, ""},
		{"unguarded, LNM 0.10.23: unbounded", luaConfig(prof(t, "1.22.1", "0.10.23", ""), unguarded, "close", 1),
			[]want{{"timeout", 1000, 1000, true}}, ""},
		{"unguarded, OR 1.31.1.1: unbounded", luaConfig(prof(t, "", "", "1.31.1.1"), unguarded, "close", 1),
			[]want{{"timeout", 1000, 1000, true}}, ""},
		{"unguarded, LNM 0.10.7: zero-limit bug, no retry", luaConfig(prof(t, "", "", "1.11.2.2"), unguarded, "close", 1),
			[]want{{502, 1, 1, false}}, ""},
		{"unguarded with proxy_next_upstream_tries 5", withTries(luaConfig(prof(t, "1.22.1", "0.10.23", ""), unguarded, "close", 1), 5),
			[]want{{502, 5, 5, false}}, ""},
		{"guarded by ngx.ctx", luaConfig(prof(t, "1.22.1", "0.10.23", ""), guarded, "close", 2),
			[]want{{502, 3, 3, false}, {502, 3, 3, false}}, "last failure: failed 502"},
		{"guarded once, LNM 0.10.7: reduced tries due to limit", luaConfig(prof(t, "", "", "1.11.2.2"), guardedOnce, "close", 1),
			[]want{{502, 1, 1, false}}, "set_more_tries: reduced tries due to limit"},
		{"guarded once, LNM 0.10.8: one retry", luaConfig(prof(t, "", "", "1.11.2.3"), guardedOnce, "close", 1),
			[]want{{502, 2, 2, false}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCfg(t, tt.cfg)
			checkRequests(t, res, tt.want)
			if tt.wantLog != "" && !strings.Contains(attemptLogs(res.Requests[0]), tt.wantLog) {
				t.Errorf("attempt logs lack %q:\n%s", tt.wantLog, attemptLogs(res.Requests[0]))
			}
		})
	}
}

// TestMoreTriesWrap reproduces LNM-MORETRIES-WRAP: keepalive,
// set_more_tries(1) on every attempt, proxy_next_upstream_tries 3, and
// repeated cached-connection failures. Five peers each get one pooled
// connection (first-only: their first request succeeds); the sixth request
// walks the five stale connections. Without the notify patch the tries
// counter wraps and the request never ends; with it, 3 attempts and 502.
func TestMoreTriesWrap(t *testing.T) {
	const code = `
local b = require "ngx.balancer"
local peers = {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"}
local start = tonumber(ngx.var.uri:match("%d+")) or 0
ngx.ctx.n = (ngx.ctx.n or 0) + 1
assert(b.set_current_peer(peers[(start + ngx.ctx.n - 1) % #peers + 1], 80))
b.set_more_tries(1)
`
	mk := func(p versions.Profile) Config {
		c := luaConfig(p, code, "first-only", 0)
		c.Upstream.Keepalive = Some(8)
		c.Location.HTTPVersion, c.Location.ConnectionHeader = "1.1", strp("")
		c.Location.NextUpstreamTries = Some(3)
		for _, path := range []string{"/0", "/1", "/2", "/3", "/4", "/0"} {
			c.Requests = append(c.Requests, Request{Method: "GET", Path: path})
		}
		return c
	}
	ok := want{200, 1, 1, false}
	t.Run("OR 1.29.2.3: wraps, unbounded", func(t *testing.T) {
		res := runCfg(t, mk(prof(t, "", "", "1.29.2.3")))
		checkRequests(t, res, []want{ok, ok, ok, ok, ok, {"timeout", 1000, -1, true}})
		last := res.Requests[5].Attempts
		if tl := last[len(last)-1].TriesLeft; tl < 1<<32 {
			t.Errorf("tries left %d, want a wrapped counter", tl)
		}
	})
	t.Run("OR 1.29.2.4: notify keeps it bounded", func(t *testing.T) {
		checkRequests(t, runCfg(t, mk(prof(t, "", "", "1.29.2.4"))), []want{ok, ok, ok, ok, ok, {502, 3, 0, false}})
	})
}

func TestLuaBehaviour(t *testing.T) {
	p := prof(t, "1.22.1", "0.10.23", "")
	tests := []struct {
		name        string
		cfg         Config
		want        []want
		wantOutcome string
		wantLog     string
	}{
		{"ngx.exit(503) on stock nginx: 500", luaConfig(p, `ngx.exit(503)`, "ok", 1), []want{{500, 1, 0, false}}, OutcomeLuaExit, ""},
		{"ngx.exit(503) with balancer_status_code patch: 503", luaConfig(prof(t, "", "", "1.21.4.1"), `ngx.exit(503)`, "ok", 1), []want{{503, 1, 0, false}}, OutcomeLuaExit, ""},
		{"ngx.exit before LNM 0.10.3 with resty.core is rejected", func() Config {
			c := luaConfig(prof(t, "1.9.7", "0.10.2", ""), `ngx.exit(503)`, "ok", 1)
			c.RestyCoreLoaded = true
			return c
		}(), []want{{500, 1, 0, false}}, OutcomeLuaError, "API disabled"},
		{"no set_current_peer, LNM 0.10.27, no server line, placeholder shadowed: connect to 0.0.0.1:80", func() Config {
			c := luaConfig(prof(t, "", "", "1.27.1.1"), `local x = 1`, "ok", 1)
			c.Upstream.Servers = nil
			c.Upstream.PlaceholderShadowed = true
			return c
		}(), []want{{502, 1, 0, false}}, OutcomeConnectError, "connect() to 0.0.0.1:80 failed"},
		{"ngx.exit(ngx.DECLINED) every attempt: FT_ERROR without free, tries never drop", luaConfig(p, `ngx.exit(ngx.DECLINED)`, "ok", 1),
			[]want{{"timeout", 1000, 0, true}}, OutcomeLuaExit, ""},
		{"ngx.exit(-3) (NGX_BUSY): no live upstreams, 502", luaConfig(p, `ngx.exit(-3)`, "ok", 1), []want{{502, 1, 0, false}}, OutcomeNoLive, "ngx.exit(-3)"},
		{"Lua error: 500", luaConfig(p, `error("boom")`, "ok", 1), []want{{500, 1, 0, false}}, OutcomeLuaError, "boom"},
		{"infinite loop: bounded finding", luaConfig(p, `while true do end`, "ok", 1), []want{{500, 1, 0, false}}, OutcomeLuaTimeout, ""},
		{"recursion: stack overflow is a Lua error", luaConfig(p, `local function f() return 1 + f() end f()`, "ok", 1), []want{{500, 1, 0, false}}, OutcomeLuaError, ""},
		{"string.rep bomb refused", luaConfig(p, `local s = string.rep("x", 1e9)`, "ok", 1), []want{{500, 1, 0, false}}, OutcomeLuaError, "too large"},
		{"no set_current_peer, LNM 0.10.23: round robin over server 0.0.0.1", luaConfig(p, `local x = 1`, "ok", 1), []want{{200, 1, 1, false}}, OutcomeResponse, ""},
		{"no set_current_peer, LNM 0.10.27, no server line: no peer set", func() Config {
			c := luaConfig(prof(t, "", "", "1.27.1.1"), `local x = 1`, "ok", 1)
			c.Upstream.Servers = nil
			return c
		}(), []want{{500, 1, 0, false}}, OutcomeNoPeer, "no peer set"},
		{"set_current_peer with a host name", luaConfig(p, `local b = require "ngx.balancer"
local ok, err = b.set_current_peer("example.com", 80)
ngx.log(ngx.ERR, "err=", err)
error("stop")`, "ok", 1), []want{{500, 1, 0, false}}, OutcomeLuaError, "err=no host allowed"},
		{"set_timeouts missing before LNM 0.10.6", luaConfig(prof(t, "", "", "1.9.15.1"), `local b = require "ngx.balancer"
b.set_timeouts(1, 1, 1)`, "ok", 1), []want{{500, 1, 0, false}}, OutcomeLuaError, ""},
		{"set_timeouts present from LNM 0.10.6", luaConfig(prof(t, "", "", "1.11.2.1"), `local b = require "ngx.balancer"
assert(b.set_timeouts(1, 1, 1))
assert(b.set_current_peer("10.0.0.5", 80))`, "ok", 1), []want{{200, 1, 1, false}}, OutcomeResponse, ""},
		{"ngx.config and ngx.var", luaConfig(p, `
assert(ngx.config.nginx_version == 1022001, ngx.config.nginx_version)
assert(ngx.config.ngx_lua_version == 10023, ngx.config.ngx_lua_version)
assert(ngx.config.subsystem == "http")
assert(ngx.var.request_uri == "/x?y=1" and ngx.var.uri == "/x" and ngx.var.request_method == "GET")
assert(ngx.var.no_such_variable == nil)
local d = ngx.shared.counters
assert(d:incr("k", 1, 0) == 1)
assert(require("ngx.balancer").set_current_peer("10.0.0.5:8080"))`, "ok", 1), []want{{200, 1, 1, false}}, OutcomeResponse, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCfg(t, tt.cfg)
			checkRequests(t, res, tt.want)
			q := res.Requests[0]
			if got := q.Attempts[len(q.Attempts)-1].Outcome; got != tt.wantOutcome {
				t.Errorf("outcome %q, want %q", got, tt.wantOutcome)
			}
			if tt.wantLog != "" && !strings.Contains(attemptLogs(q), tt.wantLog) {
				t.Errorf("attempt logs lack %q:\n%s", tt.wantLog, attemptLogs(q))
			}
		})
	}
}

// TestSandbox: every escape attempt must fail inside the balancer; if one
// succeeded the assert raises and the request gets 500 instead of 200.
func TestSandbox(t *testing.T) {
	escapes := []string{
		`os.execute("true")`,
		`io.open("/etc/passwd")`,
		`load("return 1")`,
		`loadstring("return 1")`,
		`dofile("/etc/passwd")`,
		`loadfile("/etc/passwd")`,
		`require("os").execute("id")`,
		`require("io").popen("id")`,
		`require("ffi").C.system("id")`,
		`debug.getinfo(1, "f").func`,
		`string.dump(function() end)`,
		`setfenv(1, {})`,
		`getfenv(1)`,
		`package.loaded.os.exit()`,
		`string.format("%9999d", 1)`,
		`string.rep("ab", 2^30)`,
		`table.concat(setmetatable({}, {}), "", 1, 2^40)`,
		`coroutine.create(function() end)`,
	}
	for _, e := range escapes {
		t.Run(e, func(t *testing.T) {
			code := "local ok, res = pcall(function() return " + e + " end)\nassert(not ok or res == nil, 'escape worked')\n" +
				`assert(require("ngx.balancer").set_current_peer("10.0.0.5", 80))`
			res := runCfg(t, luaConfig(prof(t, "1.22.1", "0.10.23", ""), code, "ok", 1))
			checkRequests(t, res, []want{{200, 1, 1, false}})
		})
	}
}

func TestLuaMemoryBomb(t *testing.T) {
	c := luaConfig(prof(t, "1.22.1", "0.10.23", ""), `local s = string.rep("x", 1e6) while true do s = s .. s end`, "ok", 1)
	c.LuaTimeout = 5 * time.Second
	res := runCfg(t, c)
	checkRequests(t, res, []want{{500, 1, 0, false}})
	switch o := res.Requests[0].Attempts[0].Outcome; o {
	case OutcomeLuaMemory, OutcomeLuaError:
	default:
		t.Errorf("outcome %q, want lua-memory or lua-error", o)
	}
}
