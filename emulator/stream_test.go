package emulator

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ngxlint/ngxlint/versions"
)

// TestStream runs stream{} sessions through the emulator on both
// transports: retries happen on connect failures only, never after the
// upstream accepted the connection (ngx_stream_proxy_next_upstream).
func TestStream(t *testing.T) {
	three := []Server{{Addr: "10.0.0.1:5000"}, {Addr: "10.0.0.2:5000"}, {Addr: "10.0.0.3:5000"}}
	refused := Policy{Kind: PolicyRefused}
	tests := []struct {
		name     string
		servers  []Server
		backends map[string]Policy
		def      Policy
		loc      Location
		lua      string
		triesP   bool
		sessions int
		// per session
		wantAttempts []int
		wantSession  []int
		wantStatus   []string
		wantConns    []int
		wantUnbound  bool
	}{
		{name: "first refused, second answers", servers: three,
			backends: map[string]Policy{"10.0.0.1:5000": refused}, sessions: 1,
			wantAttempts: []int{2}, wantSession: []int{200}, wantStatus: []string{"200"}, wantConns: []int{1}},
		{name: "all refused: 3 tries then 502", servers: three, def: refused, sessions: 1,
			wantAttempts: []int{3}, wantSession: []int{502}, wantStatus: []string{"closed"}, wantConns: []int{0}},
		{name: "off: no retry", servers: three, backends: map[string]Policy{"10.0.0.1:5000": refused},
			loc: Location{NextUpstream: []string{"off"}}, sessions: 1,
			wantAttempts: []int{1}, wantSession: []int{502}, wantStatus: []string{"closed"}, wantConns: []int{0}},
		{name: "tries 2 caps", servers: three, def: refused, loc: Location{NextUpstreamTries: Some(2)}, sessions: 1,
			wantAttempts: []int{2}, wantSession: []int{502}, wantStatus: []string{"closed"}},
		{name: "close after the request is not retried", servers: three, def: Policy{Kind: PolicyClose}, sessions: 1,
			wantAttempts: []int{1}, wantSession: []int{200}, wantStatus: []string{"closed"}, wantConns: []int{1}},
		{name: "reset is not retried", servers: three, def: Policy{Kind: PolicyReset}, sessions: 1,
			wantAttempts: []int{1}, wantSession: []int{200}, wantStatus: []string{"closed"}, wantConns: []int{1}},
		{name: "accept-close is not retried", servers: three, def: Policy{Kind: PolicyAcceptClose}, sessions: 1,
			wantAttempts: []int{1}, wantSession: []int{200}, wantStatus: []string{"closed"}, wantConns: []int{1}},
		{name: "hang: the client gives up, no retry", servers: three, def: Policy{Kind: PolicyHang}, sessions: 1,
			wantAttempts: []int{1}, wantSession: []int{200}, wantStatus: []string{"timeout"}, wantConns: []int{1}},
		{name: "single server refused: tries 1", servers: three[:1], def: refused,
			loc: Location{NextUpstreamTries: Some(5)}, sessions: 1,
			wantAttempts: []int{1}, wantSession: []int{502}, wantStatus: []string{"closed"}},
		{name: "max_fails: second session skips the failed peer",
			servers:  []Server{{Addr: "10.0.0.1:5000"}, {Addr: "10.0.0.2:5000"}},
			backends: map[string]Policy{"10.0.0.1:5000": refused}, sessions: 2,
			wantAttempts: []int{2, 1}, wantSession: []int{200, 200}, wantStatus: []string{"200", "200"}, wantConns: []int{1, 1}},
		{name: "lua set_more_tries unguarded: unbounded", servers: []Server{{Addr: "0.0.0.1:1"}}, def: refused,
			lua: `local b = require "ngx.balancer"
b.set_more_tries(1)
assert(b.set_current_peer("127.0.0.2", 6000))`, sessions: 1, wantUnbound: true},
		{name: "lua set_more_tries with tries and no patch: still unbounded", servers: []Server{{Addr: "0.0.0.1:1"}}, def: refused,
			loc: Location{NextUpstreamTries: Some(3)},
			lua: `local b = require "ngx.balancer"
b.set_more_tries(1)
assert(b.set_current_peer("127.0.0.2", 6000))`, sessions: 1, wantUnbound: true},
		{name: "lua set_more_tries with tries and the patch: 3 attempts", servers: []Server{{Addr: "0.0.0.1:1"}}, def: refused,
			loc: Location{NextUpstreamTries: Some(3)}, triesP: true,
			lua: `local b = require "ngx.balancer"
b.set_more_tries(1)
assert(b.set_current_peer("127.0.0.2", 6000))`, sessions: 1,
			wantAttempts: []int{3}, wantSession: []int{502}, wantStatus: []string{"closed"}},
		{name: "lua sets no peer: round robin to the placeholder fails", servers: []Server{{Addr: "0.0.0.1:1"}},
			lua: `local x = 1`, sessions: 1,
			wantAttempts: []int{1}, wantSession: []int{502}, wantStatus: []string{"closed"}, wantConns: []int{0}},
		{name: "lua error: 500", servers: []Server{{Addr: "0.0.0.1:1"}},
			lua: `error("boom")`, sessions: 1,
			wantAttempts: []int{1}, wantSession: []int{500}, wantStatus: []string{"closed"}},
	}
	for _, tr := range []Transport{TransportMemory, TransportTCP} {
		for _, tc := range tests {
			t.Run(tr.String()+"/"+tc.name, func(t *testing.T) {
				cfg := Config{
					Upstream:      Upstream{Name: "tcp", Servers: tc.servers, BalancerLua: tc.lua},
					Location:      tc.loc,
					Stream:        &Stream{TriesPatch: tc.triesP},
					Backends:      tc.backends,
					DefaultPolicy: tc.def,
					MaxAttempts:   50,
					Timeout:       300 * time.Millisecond,
					Transport:     tr,
				}
				for range tc.sessions {
					cfg.Requests = append(cfg.Requests, Request{})
				}
				res, err := Run(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				for i, q := range res.Requests {
					if tc.wantUnbound {
						if !q.Unbounded || len(q.Attempts) != 50 {
							t.Errorf("session %d: want unbounded at the 50-attempt cap, got %d attempts (%s)", i+1, len(q.Attempts), q.Why)
						}
						continue
					}
					if len(q.Attempts) != tc.wantAttempts[i] || q.Session != tc.wantSession[i] || q.Status.String() != tc.wantStatus[i] {
						var outs []string
						for _, a := range q.Attempts {
							outs = append(outs, a.Peer+" "+a.Outcome+" "+strings.Join(a.Log, "; "))
						}
						t.Errorf("session %d: got %d attempts, session %d, client %s (%s) [%s]; want %d, %d, %s",
							i+1, len(q.Attempts), q.Session, q.Status, q.Why, strings.Join(outs, " | "), tc.wantAttempts[i], tc.wantSession[i], tc.wantStatus[i])
					}
					if tc.wantConns != nil && q.UpstreamConnections != tc.wantConns[i] {
						t.Errorf("session %d: %d upstream connections, want %d", i+1, q.UpstreamConnections, tc.wantConns[i])
					}
				}
			})
		}
	}
}

// TestStreamConfigErrors: what nginx refuses at load time is an error.
func TestStreamConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		up   Upstream
		loc  Location
		want string
	}{
		{Upstream{Name: "u", Servers: []Server{{Addr: "10.0.0.1"}}}, Location{}, "no port in upstream"},
		{Upstream{Name: "u", BalancerLua: "local x"}, Location{}, "no servers are inside upstream"},
		{Upstream{Name: "u", Servers: []Server{{Addr: "10.0.0.1:1"}}}, Location{NextUpstream: []string{"error"}}, "want on or off"},
	} {
		_, err := Run(context.Background(), Config{Upstream: tc.up, Location: tc.loc, Stream: &Stream{}, Requests: []Request{{}}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.up, err, tc.want)
		}
	}
}

// TestStreamPreread: preread_by_lua* runs before the balancer of every
// session; what it leaves in ngx.ctx and ngx.var the balancer reads, and
// an error or ngx.exit in it ends the session before any upstream attempt.
func TestStreamPreread(t *testing.T) {
	balancer := `local b = require "ngx.balancer"
local port = ngx.ctx.port
if not port then return ngx.exit(ngx.ERROR) end
assert(b.set_current_peer(ngx.var.target, port))`
	for _, tc := range []struct {
		name, preread string
		wantSession   int
		wantAttempts  int
		wantStatus    string
		wantLuaError  string
	}{
		{"sets the peer", `ngx.ctx.port = 7000; ngx.var.target = "127.0.0.3"`, 200, 1, "200", ""},
		{"ngx.exit(ngx.OK) goes on", `ngx.ctx.port = 7000; ngx.var.target = "127.0.0.3"; return ngx.exit(ngx.OK)`, 200, 1, "200", ""},
		{"error ends the session", `error("no route")`, 500, 0, "closed", "preread_by_lua*"},
		{"ngx.exit(ngx.ERROR) ends the session", `return ngx.exit(ngx.ERROR)`, 500, 0, "closed", ""},
		{"nothing set: the balancer exits", `local x = 1`, 500, 1, "closed", ""},
		{"undeclared variable", `ngx.var.nope = "x"`, 500, 0, "closed", "not found for writing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{
				Upstream: Upstream{Name: "tcp", Servers: []Server{{Addr: "0.0.0.1:1"}}, BalancerLua: balancer},
				Stream:   &Stream{},
				Lua: LuaWorker{
					Preread: []LuaSource{{Code: tc.preread, Name: "preread_by_lua_block"}},
					Vars:    map[string]string{"target": ""},
				},
				Requests: []Request{{}},
				Timeout:  time.Second,
			}
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			q := res.Requests[0]
			if q.Session != tc.wantSession || len(q.Attempts) != tc.wantAttempts || q.Status.String() != tc.wantStatus || !strings.Contains(q.LuaError, tc.wantLuaError) {
				t.Errorf("session %d, %d attempts, client %s, lua error %q (%s); want %d, %d, %s, %q",
					q.Session, len(q.Attempts), q.Status, q.LuaError, q.Why, tc.wantSession, tc.wantAttempts, tc.wantStatus, tc.wantLuaError)
			}
			if tc.wantAttempts == 1 && tc.wantSession == 200 && (len(q.Peers) != 1 || q.Peers[0] != "127.0.0.3:7000") {
				t.Errorf("peers %v, want the preread-chosen 127.0.0.3:7000", q.Peers)
			}
		})
	}
}

// TestStreamBalancerAPI: ngx.balancer as the stream subsystem has it.
func TestStreamBalancerAPI(t *testing.T) {
	for _, tc := range []struct {
		name, code string
		openresty  string
		want       string // in the Lua error, or "" for a proxied session
		idle       time.Duration
	}{
		{name: "host argument", code: `assert(b.set_current_peer("127.0.0.3", 7000, "db"))`, want: "'host' not yet implemented in stream subsystem"},
		{name: "enable_keepalive", code: `assert(b.set_current_peer("127.0.0.3", 7000)); b.enable_keepalive()`, want: "'enable_keepalive' not yet implemented in stream subsystem"},
		{name: "recreate_request is nil", code: `assert(b.set_current_peer("127.0.0.3", 7000)); b.recreate_request()`, want: "attempt to call"},
		{name: "set_timeouts without the patch", code: `assert(b.set_timeouts(1, 2, 3)); assert(b.set_current_peer("127.0.0.3", 7000))`, want: "required Nginx patch not present"},
		{name: "set_timeouts with OpenResty sets proxy_timeout", openresty: "1.21.4.1",
			code: `assert(b.set_timeouts(1, 0.2, 0.1)); assert(b.set_current_peer("127.0.0.3", 7000))`, idle: 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{
				Upstream:      Upstream{Name: "tcp", Servers: []Server{{Addr: "0.0.0.1:1"}}, BalancerLua: "local b = require \"ngx.balancer\"\n" + tc.code},
				Stream:        &Stream{},
				DefaultPolicy: Policy{Kind: PolicyHang},
				Requests:      []Request{{}},
				Timeout:       2 * time.Second,
			}
			if tc.openresty != "" {
				p, err := versions.Resolve("", "", tc.openresty)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Profile = p
			}
			start := time.Now()
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			q := res.Requests[0]
			if tc.want != "" {
				if !strings.Contains(q.LuaError, tc.want) || q.Session != 500 {
					t.Errorf("lua error %q, session %d; want %q and 500", q.LuaError, q.Session, tc.want)
				}
				return
			}
			// The hanging backend is cut by the balancer's proxy_timeout
			// (max of send and read), long before the client's 2s.
			if q.Session != 200 || q.Status.String() != "closed" || time.Since(start) > time.Second {
				t.Errorf("session %d, client %s after %s (%s); want 200, closed by the 200ms proxy_timeout", q.Session, q.Status, time.Since(start), q.Why)
			}
		})
	}
}
