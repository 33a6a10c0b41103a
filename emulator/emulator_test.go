package emulator

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ngxlint/ngxlint/versions"
)

const seedLua = `
local balancer = require "ngx.balancer"
local host = "127.0.0.1"
local port = 8080
local ok, err = balancer.set_current_peer(host, port)
`

func prof(t testing.TB, nginx, lnm, or string) versions.Profile {
	t.Helper()
	p, err := versions.Resolve(nginx, lnm, or)
	if err != nil {
		t.Fatalf("profile: %v", err)
	}
	return p
}

func strp(s string) *string { return &s }

// seedConfig is the seed's configuration: a Lua balancer choosing
// 127.0.0.1:8080, keepalive after the balancer, HTTP/1.1 upstream requests
// with the Connection header cleared and proxy_next_upstream off.
func seedConfig(p versions.Profile, policy string) Config {
	pol, err := ParsePolicy(policy)
	if err != nil {
		panic(err)
	}
	return Config{
		Profile: p,
		Upstream: Upstream{
			Name:         "backend",
			Servers:      []Server{{Addr: "0.0.0.1"}},
			BalancerLua:  seedLua,
			BalancerName: "nginx.conf:3",
			Keepalive:    Some(1),
		},
		Location: Location{
			NextUpstream:     []string{"off"},
			HTTPVersion:      "1.1",
			ConnectionHeader: strp(""),
		},
		DefaultPolicy: pol,
		Requests:      []Request{{Method: "GET", Path: "/1"}, {Method: "GET", Path: "/2"}},
		Timeout:       5 * time.Second,
	}
}

// want describes one client request's expected observation.
type want struct {
	status    any // int or "timeout"
	attempts  int // -1: don't check
	conns     int // -1: don't check
	unbounded bool
}

func checkRequests(t *testing.T, res *Result, wants []want) {
	t.Helper()
	if len(res.Requests) != len(wants) {
		t.Fatalf("got %d request results, want %d", len(res.Requests), len(wants))
	}
	for i, w := range wants {
		q := res.Requests[i]
		switch ws := w.status.(type) {
		case int:
			if q.Status.Timeout || q.Status.Code != ws {
				t.Errorf("request %d: status %s, want %d", i+1, q.Status, ws)
			}
		case string:
			if q.Status.String() != ws {
				t.Errorf("request %d: status %s, want %s", i+1, q.Status, ws)
			}
		}
		if w.attempts >= 0 && len(q.Attempts) != w.attempts {
			t.Errorf("request %d: %d attempts, want %d", i+1, len(q.Attempts), w.attempts)
		}
		if w.conns >= 0 && q.UpstreamConnections != w.conns {
			t.Errorf("request %d: %d upstream connections, want %d", i+1, q.UpstreamConnections, w.conns)
		}
		if q.Unbounded != w.unbounded {
			t.Errorf("request %d: unbounded %v, want %v", i+1, q.Unbounded, w.unbounded)
		}
	}
	if t.Failed() {
		var b bytes.Buffer
		res.WriteText(&b)
		t.Logf("trace:\n%s", b.String())
	}
}

// runCfg runs cfg on both transports (runBoth) and returns the Result.
func runCfg(t *testing.T, cfg Config) *Result {
	t.Helper()
	res, err := runBoth(t, context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// truthConfig is the seed's upstream with the default proxy_next_upstream
// (error timeout), the setup of the knowledge file's truth table.
func truthConfig(p versions.Profile, policy string) Config {
	c := seedConfig(p, policy)
	c.Location.NextUpstream = nil
	return c
}

// TestSeedTruthTable is the knowledge file's truth table: a cached
// connection fails with FT_ERROR, one server, no set_more_tries.
func TestSeedTruthTable(t *testing.T) {
	rrKeepalive := func(p versions.Profile) Config {
		c := truthConfig(p, "first-only")
		c.Upstream.BalancerLua = ""
		c.Upstream.Servers = []Server{{Addr: "127.0.0.1:8080"}}
		return c
	}
	noDirective := func(p versions.Profile) Config {
		c := truthConfig(p, "first-only")
		c.Upstream.Keepalive = Opt[int]{}
		c.Location.HTTPVersion, c.Location.ConnectionHeader = "", nil
		return c
	}
	keepalive0 := func(p versions.Profile) Config {
		c := noDirective(p)
		c.Upstream.Keepalive = Some(0)
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		want []want
	}{
		{"RR+keepalive nginx 1.9.7", rrKeepalive(prof(t, "1.9.7", "", "")),
			[]want{{200, 1, 1, false}, {502, 2, 1, false}}},
		{"RR+keepalive nginx 1.22.1", rrKeepalive(prof(t, "1.22.1", "", "")),
			[]want{{200, 1, 1, false}, {502, 2, 1, false}}},
		{"LNM 0.10.0 + nginx 1.9.7: unbounded", truthConfig(prof(t, "1.9.7", "0.10.0", ""), "first-only"),
			[]want{{200, 1, 1, false}, {"timeout", 1000, 999, true}}},
		{"OR 1.9.7.3 (LNM 0.10.0): unbounded", truthConfig(prof(t, "", "", "1.9.7.3"), "first-only"),
			[]want{{200, 1, 1, false}, {"timeout", 1000, 999, true}}},
		{"LNM 0.10.1 + nginx 1.9.7: 2 attempts", truthConfig(prof(t, "1.9.7", "0.10.1", ""), "first-only"),
			[]want{{200, 1, 1, false}, {502, 2, 1, false}}},
		{"OR 1.9.7.4 (LNM 0.10.2): 2 attempts", truthConfig(prof(t, "", "", "1.9.7.4"), "first-only"),
			[]want{{200, 1, 1, false}, {502, 2, 1, false}}},
		{"LNM 0.10.23 + nginx 1.22.1: 2 attempts", truthConfig(prof(t, "1.22.1", "0.10.23", ""), "first-only"),
			[]want{{200, 1, 1, false}, {502, 2, 1, false}}},
		{"OR 1.29.2.3 (no notify patch): 2 attempts", truthConfig(prof(t, "", "", "1.29.2.3"), "first-only"),
			[]want{{200, 1, 1, false}, {502, 2, 1, false}}},
		{"OR 1.29.2.4 (notify patch): 1 attempt -> 502", truthConfig(prof(t, "", "", "1.29.2.4"), "first-only"),
			[]want{{200, 1, 1, false}, {502, 1, 0, false}}},
		{"OR 1.31.1.1, no keepalive directive: 1 attempt -> 502", noDirective(prof(t, "", "", "1.31.1.1")),
			[]want{{200, 1, 1, false}, {502, 1, 0, false}}},
		{"OR 1.31.1.1, keepalive 0: fresh connection", keepalive0(prof(t, "", "", "1.31.1.1")),
			[]want{{200, 1, 1, false}, {502, 1, 1, false}}},
		{"OR 1.29.2.4 + RR keepalive: 2 attempts", rrKeepalive(prof(t, "", "", "1.29.2.4")),
			[]want{{200, 1, 1, false}, {502, 2, 1, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCfg(t, tt.cfg)
			checkRequests(t, res, tt.want)
		})
	}
}

// TestSeedConfigExact runs the seed's configuration as written
// (proxy_next_upstream off). Up to nginx 1.9.12 the cached branch ignores
// the mask, so LNM 0.10.0 loops and 0.10.1 retries once; from 1.9.13 the
// mask applies and "off" ends the request at the first failure.
func TestSeedConfigExact(t *testing.T) {
	tests := []struct {
		name string
		p    versions.Profile
		want []want
	}{
		{"nginx 1.9.7 + LNM 0.10.0", prof(t, "1.9.7", "0.10.0", ""), []want{{200, 1, 1, false}, {"timeout", 1000, 999, true}}},
		{"nginx 1.9.7 + LNM 0.10.1", prof(t, "1.9.7", "0.10.1", ""), []want{{200, 1, 1, false}, {502, 2, 1, false}}},
		{"nginx 1.22.1 + LNM 0.10.23", prof(t, "1.22.1", "0.10.23", ""), []want{{200, 1, 1, false}, {502, 1, 0, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRequests(t, runCfg(t, seedConfig(tt.p, "first-only")), tt.want)
		})
	}
}

// TestStalePooledConnection uses one-per-conn backends: a pooled
// connection fails once, a fresh one works. This separates a transparent
// retry (200) from OR-NOTIFY-STALE-502.
func TestStalePooledConnection(t *testing.T) {
	noDirective := func(p versions.Profile) Config {
		c := truthConfig(p, "one-per-conn")
		c.Upstream.Keepalive = Opt[int]{}
		c.Location.HTTPVersion, c.Location.ConnectionHeader = "", nil
		return c
	}
	keepalive0 := func(p versions.Profile) Config {
		c := noDirective(p)
		c.Upstream.Keepalive = Some(0)
		return c
	}
	moreTries := func(p versions.Profile) Config {
		c := noDirective(p)
		c.Upstream.BalancerLua = seedLua + "\nif not ngx.ctx.more then ngx.ctx.more = true balancer.set_more_tries(1) end\n"
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		want []want
	}{
		{"LNM 0.10.0 + nginx 1.9.7: retried", truthConfig(prof(t, "1.9.7", "0.10.0", ""), "one-per-conn"),
			[]want{{200, 1, 1, false}, {200, 2, 1, false}, {200, 2, 1, false}}},
		{"OR 1.29.2.3: retried", truthConfig(prof(t, "", "", "1.29.2.3"), "one-per-conn"),
			[]want{{200, 1, 1, false}, {200, 2, 1, false}, {200, 2, 1, false}}},
		{"OR 1.29.2.4: stale 502", truthConfig(prof(t, "", "", "1.29.2.4"), "one-per-conn"),
			[]want{{200, 1, 1, false}, {502, 1, 0, false}, {200, 1, 1, false}}},
		{"OR 1.31.1.1 no keepalive directive: stale 502", noDirective(prof(t, "", "", "1.31.1.1")),
			[]want{{200, 1, 1, false}, {502, 1, 0, false}, {200, 1, 1, false}}},
		{"OR 1.31.1.1 keepalive 0: 200", keepalive0(prof(t, "", "", "1.31.1.1")),
			[]want{{200, 1, 1, false}, {200, 1, 1, false}, {200, 1, 1, false}}},
		{"OR 1.31.1.1 set_more_tries(1): 200", moreTries(prof(t, "", "", "1.31.1.1")),
			[]want{{200, 1, 1, false}, {200, 2, 1, false}, {200, 2, 1, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Requests = []Request{{Method: "GET", Path: "/1"}, {Method: "GET", Path: "/2"}, {Method: "GET", Path: "/3"}}
			checkRequests(t, runCfg(t, tt.cfg), tt.want)
		})
	}
}

// TestPOSTNonIdempotent: a POST on a stale pooled connection. nginx 1.9.7
// retries any cached error; from 1.9.13 (4618c03f4) a POST needs
// non_idempotent in proxy_next_upstream.
func TestPOSTNonIdempotent(t *testing.T) {
	rr := func(p versions.Profile, mask []string) Config {
		c := truthConfig(p, "one-per-conn")
		c.Upstream.BalancerLua = ""
		c.Upstream.Servers = []Server{{Addr: "10.0.0.1:80"}}
		c.Location.NextUpstream = mask
		c.Requests = []Request{{Method: "GET", Path: "/a"}, {Method: "POST", Path: "/b"}}
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		want []want
	}{
		{"nginx 1.9.7 default mask: retried", rr(prof(t, "1.9.7", "", ""), nil), []want{{200, 1, 1, false}, {200, 2, 1, false}}},
		{"nginx 1.22.1 default mask: 502", rr(prof(t, "1.22.1", "", ""), nil), []want{{200, 1, 1, false}, {502, 1, 0, false}}},
		{"nginx 1.22.1 non_idempotent: retried", rr(prof(t, "1.22.1", "", ""), []string{"error", "timeout", "non_idempotent"}),
			[]want{{200, 1, 1, false}, {200, 2, 1, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRequests(t, runCfg(t, tt.cfg), tt.want)
		})
	}
}

func rrConfig(p versions.Profile, servers []Server, pol map[string]string, n int) Config {
	c := Config{Profile: p, Upstream: Upstream{Name: "app", Servers: servers}, Backends: map[string]Policy{}, Timeout: 5 * time.Second}
	for k, v := range pol {
		pp, err := ParsePolicy(v)
		if err != nil {
			panic(err)
		}
		c.Backends[k] = pp
	}
	for i := 0; i < n; i++ {
		c.Requests = append(c.Requests, Request{Method: "GET", Path: "/"})
	}
	return c
}

func backendRequests(res *Result) map[string]int {
	m := map[string]int{}
	for _, b := range res.Backends {
		m[b.Address] = b.Requests
	}
	return m
}

func TestRoundRobin(t *testing.T) {
	p122 := prof(t, "1.22.1", "", "")
	p197 := prof(t, "1.9.7", "", "")
	tests := []struct {
		name      string
		cfg       Config
		want      []want
		wantReads map[string]int
	}{
		{"two servers, one failing: max_fails takes it out",
			rrConfig(p122, []Server{{Addr: "10.0.0.1"}, {Addr: "10.0.0.2"}}, map[string]string{"10.0.0.2": "close"}, 4),
			[]want{{200, 1, 1, false}, {200, 2, 2, false}, {200, 1, 1, false}, {200, 1, 1, false}},
			map[string]int{"10.0.0.1:80": 4, "10.0.0.2:80": 1}},
		{"two servers, max_fails=0: the failing one keeps being tried",
			rrConfig(p122, []Server{{Addr: "10.0.0.1"}, {Addr: "10.0.0.2", MaxFails: Some(0)}}, map[string]string{"10.0.0.2": "close"}, 4),
			[]want{{200, 1, 1, false}, {200, 2, 2, false}, {200, 1, 1, false}, {200, 2, 2, false}},
			map[string]int{"10.0.0.1:80": 4, "10.0.0.2:80": 2}},
		{"weights 3:1",
			rrConfig(p122, []Server{{Addr: "10.0.0.1", Weight: 3}, {Addr: "10.0.0.2"}}, nil, 8),
			[]want{{200, 1, 1, false}, {200, 1, 1, false}, {200, 1, 1, false}, {200, 1, 1, false}, {200, 1, 1, false}, {200, 1, 1, false}, {200, 1, 1, false}, {200, 1, 1, false}},
			map[string]int{"10.0.0.1:80": 6, "10.0.0.2:80": 2}},
		{"backup used when the primary fails",
			rrConfig(p122, []Server{{Addr: "10.0.0.1"}, {Addr: "10.0.0.9", Backup: true}}, map[string]string{"10.0.0.1": "reset"}, 2),
			[]want{{200, 2, 2, false}, {200, 1, 1, false}},
			map[string]int{"10.0.0.1:80": 1, "10.0.0.9:80": 2}},
		{"down counted in tries before 1.19.6: no live upstreams 502",
			func() Config {
				c := rrConfig(p197, []Server{{Addr: "10.0.0.1", Down: true}, {Addr: "10.0.0.2"}}, map[string]string{"10.0.0.2": "status:503"}, 1)
				c.Location.NextUpstream = []string{"error", "timeout", "http_503"}
				return c
			}(),
			[]want{{502, 2, 1, false}}, nil},
		{"down not counted from 1.19.6 (cfa669151): the 503 passes",
			func() Config {
				c := rrConfig(p122, []Server{{Addr: "10.0.0.1", Down: true}, {Addr: "10.0.0.2"}}, map[string]string{"10.0.0.2": "status:503"}, 1)
				c.Location.NextUpstream = []string{"error", "timeout", "http_503"}
				return c
			}(),
			[]want{{503, 1, 1, false}}, nil},
		{"quick recovery up to 1.11.4",
			rrConfig(p197, []Server{{Addr: "10.0.0.1"}, {Addr: "10.0.0.2"}}, map[string]string{"10.0.0.1": "close", "10.0.0.2": "close"}, 3),
			[]want{{502, 2, 2, false}, {502, 1, 0, false}, {502, 2, 2, false}}, nil},
		{"no quick recovery from 1.11.5 (fd9e74f65)",
			rrConfig(p122, []Server{{Addr: "10.0.0.1"}, {Addr: "10.0.0.2"}}, map[string]string{"10.0.0.1": "close", "10.0.0.2": "close"}, 3),
			[]want{{502, 2, 2, false}, {502, 1, 0, false}, {502, 1, 0, false}}, nil},
		{"status:502 with http_502 in the mask: next server",
			func() Config {
				c := rrConfig(p122, []Server{{Addr: "10.0.0.1"}, {Addr: "10.0.0.2"}}, map[string]string{"10.0.0.1": "status:502"}, 1)
				c.Location.NextUpstream = []string{"error", "timeout", "http_502"}
				return c
			}(),
			[]want{{200, 2, 2, false}}, nil},
		{"status:502 without http_502: passed through",
			rrConfig(p122, []Server{{Addr: "10.0.0.1"}, {Addr: "10.0.0.2"}}, map[string]string{"10.0.0.1": "status:502"}, 1),
			[]want{{502, 1, 1, false}}, nil},
		{"hang: 504 after proxy_read_timeout",
			func() Config {
				c := rrConfig(p122, []Server{{Addr: "10.0.0.1"}}, map[string]string{"10.0.0.1": "hang"}, 1)
				c.Location.ReadTimeout = Some(50 * time.Millisecond)
				return c
			}(),
			[]want{{504, 1, 1, false}}, nil},
		{"hang longer than the client: timeout, 499",
			func() Config {
				c := rrConfig(p122, []Server{{Addr: "10.0.0.1"}}, map[string]string{"10.0.0.1": "hang"}, 1)
				c.Timeout = 100 * time.Millisecond
				return c
			}(),
			[]want{{"timeout", 1, 1, true}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCfg(t, tt.cfg)
			checkRequests(t, res, tt.want)
			got := backendRequests(res)
			for k, v := range tt.wantReads {
				if got[k] != v {
					t.Errorf("backend %s read %d requests, want %d (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}
