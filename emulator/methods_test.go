package emulator

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// peersOf is the peers each request reached, "-" for none, one request per
// element.
func peersOf(res *Result) []string {
	var out []string
	for _, q := range res.Requests {
		if len(q.Peers) == 0 {
			out = append(out, "-")
			continue
		}
		out = append(out, strings.Join(q.Peers, ","))
	}
	return out
}

func withPaths(c Config, paths ...string) Config {
	c.Requests = nil
	for _, p := range paths {
		c.Requests = append(c.Requests, Request{Method: "GET", Path: p})
	}
	return c
}

// Three loopback-style servers whose order is what hash, ip_hash and
// random index; their addresses do not enter the choice.
var three = []Server{{Addr: "127.0.0.1:8081"}, {Addr: "127.0.0.1:8082"}, {Addr: "127.0.0.1:8083"}}

const (
	s1 = "127.0.0.1:8081"
	s2 = "127.0.0.1:8082"
	s3 = "127.0.0.1:8083"
)

// TestBalancingMethods: the peer each method picks, on both transports.
// The hash and ip_hash sequences are what Debian's nginx 1.22.1 did on the
// same upstreams (testdata/diff/i20-hash-keepalive, i20-hash-rehash,
// i20-iphash-keepalive in emulator/nginxengine, which compare the two
// engines on them whenever nginx is installed); the IPv4/IPv6 cases are
// worked by hand from ngx_http_upstream_get_ip_hash_peer.
func TestBalancingMethods(t *testing.T) {
	p := prof(t, "1.22.1", "", "")
	mk := func(method string, args []string, servers []Server, pol map[string]string, paths ...string) Config {
		c := withPaths(rrConfig(p, servers, pol, 0), paths...)
		c.Upstream.Method, c.Upstream.MethodArgs = method, args
		return c
	}
	ipReq := func(c Config, addrs ...string) Config {
		c.Requests = nil
		for _, a := range addrs {
			c.Requests = append(c.Requests, Request{Method: "GET", Path: "/", RemoteAddr: a})
		}
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"hash $request_uri: crc32 of the key, modulo the weights",
			mk("hash", []string{"$request_uri"}, three, nil, "/a", "/b", "/a", "/c", "/d"),
			[]string{s2, s3, s2, s2, s1}},
		{"hash rehash: crc32 of \"1/a\", \"2/a\"... past the closing servers",
			mk("hash", []string{"$request_uri"},
				[]Server{{Addr: s1, MaxFails: Some(0)}, {Addr: s2, MaxFails: Some(0)}, {Addr: s3}},
				map[string]string{s1: "close", s2: "close"}, "/a", "/b", "/c", "/d"),
			[]string{s2 + "," + s1 + "," + s3, s3, s2 + "," + s1 + "," + s3, s1 + "," + s2 + "," + s3}},
		{"hash with an empty key is round robin",
			mk("hash", []string{"$arg_none"}, three, nil, "/1", "/2", "/3", "/4"),
			[]string{s1, s2, s3, s1}},
		{"ip_hash: 127.0.0 hashes to the third of three",
			mk("ip_hash", nil, three, nil, "/1", "/2"),
			[]string{s3, s3}},
		{"ip_hash: only the first three octets of IPv4 count (10.1.2.x -> the second)",
			ipReq(mk("ip_hash", nil, three, nil), "10.1.2.3", "10.1.2.200", "10.1.3.3"),
			// 10.1.2: 89 -> 3796 -> 2521 -> 2680, 2680 % 3 = 1; 10.1.3:
			// 2521*113+3 = 284876 % 6271 = 2681, 2681 % 3 = 2.
			[]string{s2, s2, s3}},
		{"ip_hash: all sixteen bytes of IPv6 count",
			ipReq(mk("ip_hash", nil, three, nil), "2001:db8::1", "2001:db8::2", "2001:db8::3"),
			ipv6Want("2001:db8::1", "2001:db8::2", "2001:db8::3")},
		{"least_conn, weights 2:1, one request at a time: ties by smooth round robin",
			mk("least_conn", nil, []Server{{Addr: s1, Weight: 2}, {Addr: s2}}, nil, "/1", "/2", "/3", "/4", "/5", "/6"),
			[]string{s1, s2, s1, s1, s2, s1}},
		{"least_conn: failing primaries, then the backup",
			mk("least_conn", nil, []Server{{Addr: s1}, {Addr: s2}, {Addr: s3, Backup: true}},
				map[string]string{s1: "close", s2: "close"}, "/a", "/b"),
			[]string{s1 + "," + s2 + "," + s3, s3}},
		{"random with one live server",
			mk("random", nil, []Server{{Addr: s1, Down: true}, {Addr: s2}, {Addr: s3, Down: true}}, nil, "/1", "/2", "/3"),
			[]string{s2, s2, s2}},
		{"random two with one live server",
			mk("random", []string{"two"}, []Server{{Addr: s1, Down: true}, {Addr: s2}}, nil, "/1", "/2"),
			[]string{s2, s2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCfg(t, tt.cfg)
			if got := peersOf(res); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("peers %v, want %v", got, tt.want)
			}
		})
	}
}

// ipv6Want works ngx_http_upstream_get_ip_hash_peer out for IPv6 clients
// and three servers of weight 1: hash = (hash*113 + byte) % 6271 over the
// 16 address bytes, from 89.
func ipv6Want(addrs ...string) []string {
	out := []string{}
	for _, a := range addrs {
		h := uint64(89)
		for _, b := range clientAddrBytes(a) {
			h = (h*113 + uint64(b)) % 6271
		}
		out = append(out, []string{s1, s2, s3}[h%3])
	}
	return out
}

// TestIPHashAddressBytes: what ip_hash hashes.
func TestIPHashAddressBytes(t *testing.T) {
	for addr, want := range map[string]string{
		"10.1.2.3":    "[10 1 2]",
		"2001:db8::1": "[32 1 13 184 0 0 0 0 0 0 0 0 0 0 0 1]",
		"unix:":       "[0 0 0]",
	} {
		if got := fmt.Sprint(clientAddrBytes(addr)); got != want {
			t.Errorf("%s: %s, want %s", addr, got, want)
		}
	}
}

// TestConsistentHash: hash ... consistent maps a key to the server of the
// first point at or after crc32(key) and, when that server fails, walks on
// to the next point's server; removing a server moves only its own keys.
// nginx hashes the servers as written, which the real-nginx engine
// rewrites to ephemeral ports, so there is no differential scenario: these
// are the properties ngx_http_upstream_init_chash / _get_chash_peer give.
func TestConsistentHash(t *testing.T) {
	p := prof(t, "1.22.1", "", "")
	paths := []string{}
	for i := 0; i < 40; i++ {
		paths = append(paths, fmt.Sprintf("/k%d", i))
	}
	run := func(servers []Server, pol map[string]string) []string {
		c := withPaths(rrConfig(p, servers, pol, 0), paths...)
		c.Upstream.Method, c.Upstream.MethodArgs = "hash", []string{"$request_uri", "consistent"}
		return peersOf(runCfg(t, c))
	}
	all := run(three, nil)
	again := run(three, nil)
	if strings.Join(all, " ") != strings.Join(again, " ") {
		t.Fatalf("not deterministic: %v vs %v", all, again)
	}
	used := map[string]int{}
	for _, p := range all {
		used[p]++
	}
	if len(used) != 3 {
		t.Errorf("40 keys reach %d of 3 servers: %v", len(used), used)
	}
	// Without the third server, keys that were on the first two stay.
	two := run(three[:2], nil)
	for i := range all {
		if all[i] != s3 && two[i] != all[i] {
			t.Errorf("key %s moved from %s to %s when %s was removed", paths[i], all[i], two[i], s3)
		}
	}
	// A failing server: its keys go on to another server in the same
	// request, the others are untouched.
	failing := run([]Server{{Addr: s1}, {Addr: s2, MaxFails: Some(0)}, {Addr: s3}}, map[string]string{s2: "close"})
	for i := range all {
		switch {
		case all[i] != s2 && failing[i] != all[i]:
			t.Errorf("key %s: %s, want %s", paths[i], failing[i], all[i])
		case all[i] == s2 && (!strings.HasPrefix(failing[i], s2+",") || strings.Count(failing[i], ",") != 1):
			t.Errorf("key %s: %s, want %s then another server", paths[i], failing[i], s2)
		}
	}
}

// TestPolicies: the backend policies issue 20 added, on both transports.
func TestPolicies(t *testing.T) {
	p := prof(t, "1.22.1", "", "")
	ka := func(c Config) Config {
		c.Upstream.Keepalive = Some(4)
		c.Location.HTTPVersion, c.Location.ConnectionHeader = "1.1", strp("")
		return c
	}
	two := []Server{{Addr: s1}, {Addr: s2}}
	tests := []struct {
		name  string
		cfg   Config
		want  []want
		peers []string
	}{
		{"ok-close is never pooled", ka(rrConfig(p, three[:1], map[string]string{s1: "ok-close"}, 3)),
			[]want{{200, 1, 1, false}, {200, 1, 1, false}, {200, 1, 1, false}}, []string{s1, s1, s1}},
		{"big-body leaves a reusable connection", ka(rrConfig(p, three[:1], map[string]string{s1: "big-body"}, 2)),
			[]want{{200, 1, 1, false}, {200, 1, 0, false}}, []string{s1, s1}},
		{"refused: FT_ERROR, the next server answers, the refused one reached nobody",
			rrConfig(p, two, map[string]string{s1: "refused"}, 2),
			[]want{{200, 2, 1, false}, {200, 1, 1, false}}, []string{s2, s2}},
		{"refused, single server: 502", rrConfig(p, three[:1], map[string]string{s1: "refused"}, 1),
			[]want{{502, 1, 0, false}}, []string{"-"}},
		{"invalid-header without invalid_header: 502", rrConfig(p, two, map[string]string{s1: "invalid-header"}, 1),
			[]want{{502, 1, 1, false}}, []string{s1}},
		{"invalid-header with invalid_header: retried", func() Config {
			c := rrConfig(p, two, map[string]string{s1: "invalid-header"}, 2)
			c.Location.NextUpstream = []string{"error", "invalid_header"}
			return c
		}(), []want{{200, 2, 2, false}, {200, 1, 1, false}}, []string{s1 + "," + s2, s2}},
		{"big-header is too big: invalid_header", func() Config {
			c := rrConfig(p, two, map[string]string{s1: "big-header"}, 1)
			c.Location.NextUpstream = []string{"invalid_header"}
			return c
		}(), []want{{200, 2, 2, false}}, []string{s1 + "," + s2}},
		{"slow header past proxy_read_timeout, then proxy_next_upstream_timeout elapsed: 504", func() Config {
			c := rrConfig(p, two, map[string]string{s1: "slow:300ms", s2: "slow:300ms"}, 1)
			c.Location.ReadTimeout = Some(100 * time.Millisecond)
			c.Location.NextUpstreamTimeout = Some(50 * time.Millisecond)
			return c
		}(), []want{{504, 1, 1, false}}, []string{s1}},
		{"slow header past proxy_read_timeout, no next-upstream timeout: both tried", func() Config {
			c := rrConfig(p, two, map[string]string{s1: "slow:300ms", s2: "slow:300ms"}, 1)
			c.Location.ReadTimeout = Some(100 * time.Millisecond)
			return c
		}(), []want{{504, 2, 2, false}}, []string{s1 + "," + s2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCfg(t, tt.cfg)
			checkRequests(t, res, tt.want)
			if got := peersOf(res); strings.Join(got, " ") != strings.Join(tt.peers, " ") {
				t.Errorf("peers %v, want %v", got, tt.peers)
			}
		})
	}
	for _, s := range PolicyNames() {
		s = strings.Replace(s, "NNN", "503", 1)
		s = strings.Replace(s, "DURATION", "250ms", 1)
		pol, err := ParsePolicy(s)
		if err != nil || pol.String() != s {
			t.Errorf("ParsePolicy(%q) = %v, %v", s, pol, err)
		}
	}
	for _, bad := range []string{"slow:", "slow:0s", "slow:2m", "slow:x"} {
		if _, err := ParsePolicy(bad); err == nil {
			t.Errorf("ParsePolicy(%q): no error", bad)
		}
	}
}

// TestExplicitZero: an explicit 0 is not the default (issue 20 item 1).
func TestExplicitZero(t *testing.T) {
	p122, p197 := prof(t, "1.22.1", "", ""), prof(t, "1.9.7", "", "")
	ka := func(p Config) Config {
		p.Upstream.Keepalive = Some(4)
		p.Location.HTTPVersion, p.Location.ConnectionHeader = "1.1", strp("")
		return p
	}
	conns := func(res *Result) string {
		var n []string
		for _, q := range res.Requests {
			n = append(n, fmt.Sprint(q.UpstreamConnections))
		}
		return strings.Join(n, " ")
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"keepalive_requests unset (1000)", ka(rrConfig(p122, three[:1], nil, 3)), "1 0 0"},
		{"keepalive_requests 0", func() Config {
			c := ka(rrConfig(p122, three[:1], nil, 3))
			c.Upstream.KeepaliveRequests = Some(0)
			return c
		}(), "1 1 1"},
		{"keepalive_requests 2", func() Config {
			c := ka(rrConfig(p122, three[:1], nil, 4))
			c.Upstream.KeepaliveRequests = Some(2)
			return c
		}(), "1 0 1 0"},
		{"keepalive_timeout 0", func() Config {
			c := ka(rrConfig(p122, three[:1], nil, 3))
			c.Upstream.KeepaliveTimeout = Some(time.Duration(0))
			return c
		}(), "1 1 1"},
		{"keepalive_timeout 0 means nothing before 1.15.3 (no such directive, no timer)", func() Config {
			c := ka(rrConfig(p197, three[:1], nil, 3))
			c.Upstream.KeepaliveTimeout = Some(time.Duration(0))
			c.Upstream.KeepaliveRequests = Some(0)
			return c
		}(), "1 0 0"},
		{"keepalive 0 from 1.29.7 turns the default pool off", func() Config {
			c := rrConfig(prof(t, "1.29.7", "", ""), three[:1], nil, 2)
			c.Upstream.Keepalive = Some(0)
			return c
		}(), "1 1"},
		{"no keepalive directive from 1.29.7: the default pool", rrConfig(prof(t, "1.29.7", "", ""), three[:1], nil, 2), "1 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := conns(runCfg(t, tt.cfg)); got != tt.want {
				t.Errorf("upstream connections per request %s, want %s", got, tt.want)
			}
		})
	}
}

// TestIdleTime: Request.After moves the emulated clock, so
// keepalive_timeout, keepalive_time and fail_timeout see time pass without
// the test sleeping through it.
func TestIdleTime(t *testing.T) {
	p := prof(t, "1.22.1", "", "")
	ka := func(c Config) Config {
		c.Upstream.Keepalive = Some(4)
		c.Location.HTTPVersion, c.Location.ConnectionHeader = "1.1", strp("")
		return c
	}
	gap := func(c Config, gaps ...time.Duration) Config {
		for i, g := range gaps {
			c.Requests[i].After = g
		}
		return c
	}
	t.Run("keepalive_timeout", func(t *testing.T) {
		c := ka(rrConfig(p, three[:1], nil, 3))
		c.Upstream.KeepaliveTimeout = Some(time.Minute)
		res := runCfg(t, gap(c, 0, 30*time.Second, 2*time.Minute))
		checkRequests(t, res, []want{{200, 1, 1, false}, {200, 1, 0, false}, {200, 1, 1, false}})
	})
	t.Run("keepalive_time", func(t *testing.T) {
		c := ka(rrConfig(p, three[:1], nil, 4))
		c.Upstream.KeepaliveTime = Some(time.Minute)
		c.Upstream.KeepaliveTimeout = Some(10 * time.Minute)
		// The connection opened at 0 serves 0 and 50s; at 110s it is used
		// once more and then not cached (older than keepalive_time).
		res := runCfg(t, gap(c, 0, 50*time.Second, time.Minute, 0))
		checkRequests(t, res, []want{{200, 1, 1, false}, {200, 1, 0, false}, {200, 1, 0, false}, {200, 1, 1, false}})
	})
	t.Run("fail_timeout recovery", func(t *testing.T) {
		// With a backup, the failed primary's window shows alone: within
		// it the backup answers without a try of the primary.
		c := rrConfig(p, []Server{{Addr: s1, FailTimeout: Some(30 * time.Second)}, {Addr: s2, Backup: true}}, map[string]string{s1: "close"}, 3)
		start := time.Now()
		res := runCfg(t, gap(c, 0, 0, 31*time.Second))
		if got := peersOf(res); strings.Join(got, " ") != s1+","+s2+" "+s2+" "+s1+","+s2 {
			t.Errorf("peers %v", got)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("the run took %s: idle time was slept through", d)
		}
	})
}

// TestUnbufferedRetry: proxy_request_buffering off does not stop a retry of
// a request whose body was read with its header (issue 20 item 2).
func TestUnbufferedRetry(t *testing.T) {
	p := prof(t, "1.22.1", "", "")
	off := false
	for _, method := range []string{"GET", "POST"} {
		c := rrConfig(p, []Server{{Addr: s1}, {Addr: s2}}, map[string]string{s1: "close"}, 0)
		c.Requests = []Request{{Method: method, Path: "/"}}
		c.Location.RequestBuffering = &off
		c.Location.NextUpstream = []string{"error", "non_idempotent"}
		res := runCfg(t, c)
		checkRequests(t, res, []want{{200, 2, 2, false}})
	}
}

func TestParseRequestsIdle(t *testing.T) {
	rs, err := ParseRequests("GET /a, +300ms GET /b, +2s, /c")
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintln(rs[0].After, rs[1].After, rs[1].Path, rs[2].After, rs[2].Path, rs[3].After)
	if got != "0s 300ms /b 2s / 0s\n" {
		t.Errorf("got %s", got)
	}
	rs = WithGap(rs, time.Second)
	if got := fmt.Sprint(rs[0].After, rs[1].After, rs[2].After, rs[3].After); got != "0s 300ms 2s 1s" {
		t.Errorf("WithGap: %s", got)
	}
	for _, bad := range []string{"+x GET /", "+-1s /", "+2h /"} {
		if _, err := ParseRequests(bad); err == nil {
			t.Errorf("ParseRequests(%q): no error", bad)
		}
	}
}
