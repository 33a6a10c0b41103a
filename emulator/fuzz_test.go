package emulator

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ngxlint/ngxlint/versions"
)

// fuzzProfiles are the version profiles FuzzScenario picks from.
var fuzzProfiles = [][3]string{
	{"1.22.1", "0.10.23", ""},
	{"1.9.7", "0.10.0", ""},
	{"1.12.2", "0.10.7", ""},
	{"1.29.7", "0.10.27", ""},
	{"", "", "1.27.1.2"},
	{"", "", ""},
}

var fuzzHTTPVersions = []string{"", "1.1", "1.0", "2"}

// fuzzConfig builds an emulator Config from fuzzed strings the way a
// caller builds one from a configuration: comma-separated server addresses
// (a "backup " or "down " prefix marks the flag), comma-separated backend
// policies given to the servers in order (the last is the default),
// requests in ParseRequests syntax, proxy_next_upstream values and balancer
// Lua. Bounds are tiny so that one execution is fast.
func fuzzConfig(t testing.TB, servers, policies, requests, next, luaSrc string, tries, keepalive, pick uint8) Config {
	pv := fuzzProfiles[int(pick)%len(fuzzProfiles)]
	p, err := versions.Resolve(pv[0], pv[1], pv[2])
	if err != nil {
		t.Fatalf("profile %v: %v", pv, err)
	}
	c := Config{
		Profile:     p,
		Upstream:    Upstream{Name: "fuzz", BalancerLua: luaSrc, BalancerName: "fuzz.conf:1"},
		MaxAttempts: 4,
		Timeout:     300 * time.Millisecond,
		LuaTimeout:  30 * time.Millisecond,
		Location: Location{
			NextUpstreamTries: Some(int(tries % 8)),
			HTTPVersion:       fuzzHTTPVersions[int(pick/8)%len(fuzzHTTPVersions)],
			ConnectTimeout:    Some(100 * time.Millisecond),
			SendTimeout:       Some(100 * time.Millisecond),
			ReadTimeout:       Some(100 * time.Millisecond),
		},
		Backends: map[string]Policy{},
	}
	if keepalive&0x80 != 0 {
		c.Upstream.Keepalive = Some(int(keepalive & 7))
		c.Upstream.KeepaliveBeforeBalancer = keepalive&0x40 != 0
	}
	if keepalive&0x20 != 0 {
		h := "close"
		if keepalive&0x10 != 0 {
			h = ""
		}
		c.Location.ConnectionHeader = &h
	}
	if next != "" {
		c.Location.NextUpstream = strings.Fields(next)
	}
	var addrs []string
	for i, s := range strings.Split(servers, ",") {
		if i >= 8 || s == "" {
			continue
		}
		srv := Server{Weight: i % 3}
		if rest, ok := strings.CutPrefix(s, "backup "); ok {
			srv.Backup, s = true, rest
		}
		if rest, ok := strings.CutPrefix(s, "down "); ok {
			srv.Down, s = true, rest
		}
		srv.Addr = s
		if i%4 == 0 {
			srv.MaxFails = Some(i % 2)
		}
		c.Upstream.Servers = append(c.Upstream.Servers, srv)
		addrs = append(addrs, s)
	}
	if len(addrs) == 0 {
		// Without a server line most runs would stop at "no servers";
		// keep them going into the engine.
		c.Upstream.Servers = []Server{{Addr: "10.0.0.1"}}
		addrs = []string{"10.0.0.1"}
	}
	pols := strings.Split(policies, ",")
	for i, ps := range pols {
		pol, err := ParsePolicy(ps)
		if err != nil {
			continue
		}
		if i < len(addrs) {
			c.Backends[addrs[i]] = pol
		}
		c.DefaultPolicy = pol
	}
	if qs, err := ParseRequests(requests); err == nil {
		if len(qs) > 3 {
			qs = qs[:3]
		}
		c.Requests = qs
	} else {
		c.Requests = []Request{{Method: "GET", Path: "/"}}
	}
	return c
}

// FuzzScenario runs the emulator on configurations built from fuzzed
// inputs, including arbitrary balancer Lua: it must never panic or hang,
// never dial anything but its own loopback listeners, and end every
// goroutine it starts.
func FuzzScenario(f *testing.F) {
	f.Add("10.0.0.1,8.8.8.8:53,backup 192.168.1.1", "ok,close,hang", "GET /,POST /x", "error timeout", "", uint8(0), uint8(0), uint8(0))
	f.Add("10.0.0.1", "status:502", "GET /", "http_502 non_idempotent", guarded, uint8(3), uint8(0x84), uint8(1))
	f.Add("0.0.0.1", "first-only", "POST /", "error http_502 off", unguarded, uint8(0), uint8(0xc2), uint8(3))
	f.Add("[2001:db8::1]:443,example.com", "reset,one-per-conn", "GET /a,GET /b", "", guardedOnce, uint8(2), uint8(0x30), uint8(4))
	f.Add("unix:/tmp/x.sock,down 10.0.0.2", "ok", "GET /", "timeout", "local b = require 'ngx.balancer' b.set_current_peer('8.8.8.8', 53) b.set_more_tries(3)", uint8(5), uint8(0xa1), uint8(2))
	f.Add("10.0.0.1", "ok", "GET /", "", "while true do end", uint8(0), uint8(0), uint8(0))
	f.Add("10.0.0.1", "ok", "GET /", "", "local s = string.rep('x', 1e6) while true do s = s .. s end", uint8(0), uint8(0), uint8(0))
	// Inputs that once exhausted the process (see luasafe.go): an
	// infinite tail call, a wide concatenation, unpack of a huge range,
	// a gsub whose replacements grow without bound.
	f.Add("10.0.0.1", "ok", "GET /", "", "local function f() return f() end f()", uint8(0), uint8(0), uint8(0))
	f.Add("10.0.0.1", "ok", "GET /", "", "local s = string.rep('x', 4e6) local u = s..s..s..s..s..s..s..s..s..s..s..s", uint8(0), uint8(0), uint8(0))
	f.Add("10.0.0.1", "ok", "GET /", "", "local x = unpack({}, 1, 1e8)", uint8(0), uint8(0), uint8(0))
	f.Add("10.0.0.1", "ok", "GET /", "", "local b = string.rep('y', 4e6) string.gsub(string.rep('x', 1e5), 'x', function() return b end)", uint8(0), uint8(0), uint8(0))
	// Issue 14: gfind (gmatch's old name) and back-references ran past
	// every deadline in gopher-lua's matcher; a VM kept growing across
	// runs under the per-run memory watch.
	f.Add("10.0.0.1", "ok", "GET /,GET /", "", "for w in string.gfind(string.rep('a', 5000), '.-.-.-.-b') do end", uint8(0), uint8(0), uint8(0))
	f.Add("10.0.0.1", "ok", "GET /", "", "for w in ('a'):rep(5000):gfind('(.-)%1b') do end", uint8(0), uint8(0), uint8(0))
	f.Add("10.0.0.1", "ok", "GET /", "", "local x = string.find(string.rep('a', 5000), '(.-)%1b')", uint8(0), uint8(0), uint8(0))
	f.Add("10.0.0.1", "ok", "GET /", "", "local x = ('ab'):rep(3000):gsub('%f[%a](a-)(b-)%2%1$', '%2')", uint8(0), uint8(0), uint8(0))
	f.Add("10.0.0.1", "ok", "GET /,GET /,GET /", "", "local t = _G.keep or {} _G.keep = t t[#t + 1] = string.rep('x', 4e6) .. #t", uint8(0), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, servers, policies, requests, next, luaSrc string, tries, keepalive, pick uint8) {
		before := runtime.NumGoroutine()
		cfg := fuzzConfig(t, servers, policies, requests, next, luaSrc, tries, keepalive, pick)
		var mu sync.Mutex
		var dialled []string
		cfg.observeDial = func(a string) {
			mu.Lock()
			dialled = append(dialled, a)
			mu.Unlock()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done := make(chan struct{})
		var res *Result
		var err error
		go func() {
			defer close(done)
			res, err = Run(ctx, cfg)
		}()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Fatalf("Run did not return (hang) on %+v", cfg)
		}
		if err == nil {
			if len(res.Requests) != len(cfg.Requests) {
				t.Fatalf("%d results for %d requests", len(res.Requests), len(cfg.Requests))
			}
			for _, q := range res.Requests {
				if len(q.Attempts) > cfg.MaxAttempts+1 {
					t.Fatalf("%d attempts with MaxAttempts %d", len(q.Attempts), cfg.MaxAttempts)
				}
			}
			if _, jerr := res.JSON(); jerr != nil {
				t.Fatal(jerr)
			}
			// The same scenario over loopback TCP gives the same Result,
			// unless a wall-clock Lua bound (LuaTimeout, the memory watch)
			// decided a request: where that falls differs from run to run
			// on one transport as well.
			tcp := cfg
			tcp.Transport = TransportTCP
			tres, terr := Run(ctx, tcp)
			if terr != nil {
				t.Fatalf("memory transport ran, tcp transport: %v", terr)
			}
			if m, tc := traceOf(t, res), traceOf(t, tres); m != tc && !luaBoundHit(res) && !luaBoundHit(tres) {
				t.Fatalf("the transports disagree\n--- memory:\n%s\n--- tcp:\n%s", m, tc)
			}
		}
		for _, a := range dialled {
			if !isLoopbackAddr(a) {
				t.Fatalf("dialled %s", a)
			}
		}
		checkGoroutines(t, before)
	})
}

// luaBoundHit reports whether LuaTimeout or the Lua memory bound ended
// some attempt of res.
func luaBoundHit(res *Result) bool {
	for _, q := range res.Requests {
		for _, a := range q.Attempts {
			if a.Outcome == OutcomeLuaTimeout || a.Outcome == OutcomeLuaMemory {
				return true
			}
		}
	}
	return res.Worker != nil && res.Worker.StartError != ""
}
