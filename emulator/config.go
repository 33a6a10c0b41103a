package emulator

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint/versions"
)

// Config describes one emulation: one upstream, one location proxying to
// it, the backend policies and the client requests. The caller builds it
// from a parsed configuration; the emulator keeps no other state.
type Config struct {
	// Profile selects the emulated nginx / lua-nginx-module / OpenResty
	// behaviour. Unknown versions are filled by Profile.Concrete().
	Profile  versions.Profile
	Upstream Upstream
	Location Location

	// Backends maps a peer address as written in the config or passed to
	// set_current_peer ("10.0.0.1", "10.0.0.1:8080") to its policy; any other
	// peer gets DefaultPolicy. Addresses are compared after normalisation
	// (default port 80).
	Backends      map[string]Policy
	DefaultPolicy Policy

	// Requests are sent in order, each on its own client connection.
	Requests []Request

	// MaxAttempts bounds the upstream attempts per client request (default
	// 1000); Timeout bounds each client request (default 10s). Hitting either
	// marks the request "unbounded".
	MaxAttempts int
	Timeout     time.Duration

	// RestyCoreLoaded says lua-resty-core is loaded in the worker's Lua VM
	// (an init_by_lua* chunk or the balancer code requires "resty.core"),
	// which replaces ngx.exit with the FFI version. It matters before
	// lua-nginx-module 0.10.3, whose FFI exit lacked the balancer context
	// (22566ed9, LNM-EXIT-FFI). From 0.10.16 lua-nginx-module requires
	// resty.core and always loads it, so it counts as loaded there whatever
	// this says; a require "resty.core" run by the balancer code loads it
	// too.
	RestyCoreLoaded bool

	// LuaTimeout bounds one run of the balancer code (default 1s). nginx has
	// no such limit: the worker would spin; the emulator reports
	// "lua-timeout" instead of hanging.
	LuaTimeout time.Duration

	// observeDial, when set (by tests), is called with every address the
	// emulator dials, after the loopback check.
	observeDial func(addr string)

	// luaVMMemory, when positive (tests), replaces luaVMMemoryLimit.
	luaVMMemory int64
}

// Upstream is the upstream{} block.
type Upstream struct {
	Name    string
	Servers []Server
	// Method is the load-balancing method directive ("" = round robin). Only
	// round robin is modelled; other methods run as round robin and the
	// trace says so.
	Method string

	// Keepalive is `keepalive N` (0 with KeepaliveSet means `keepalive 0`).
	Keepalive    int
	KeepaliveSet bool
	// KeepaliveBeforeBalancer is true when `keepalive` is written before
	// balancer_by_lua_* or another method directive in the block.
	KeepaliveBeforeBalancer bool
	// Zero values mean the version's default.
	KeepaliveRequests int
	KeepaliveTimeout  time.Duration
	KeepaliveTime     time.Duration

	// BalancerLua is the balancer_by_lua_* code ("" = none); BalancerName
	// names it in messages (e.g. "nginx.conf:12").
	BalancerLua  string
	BalancerName string
	// BalancerKeepalive is `balancer_keepalive N` (LNM >= 0.10.27 Lua pool;
	// 0 = default 32).
	BalancerKeepalive int
	// PlaceholderShadowed is true when this upstream has balancer_by_lua*
	// and no server line but is not the last such upstream of the
	// configuration. LNM >= 0.10.27 gives each one a placeholder server
	// 0.0.0.1:80 and remembers it in one static pointer
	// (ngx_http_lua_balancer_default_server_sockaddr) that the last parsed
	// one overwrites, so only that one answers "no peer set" (500) when the
	// Lua code sets no peer; here nginx connects to 0.0.0.1:80
	// (LNM-NO-PEER-SET-GLOBAL). The zero value is the single-upstream case.
	PlaceholderShadowed bool
}

// Server is one `server` line.
type Server struct {
	Addr   string // as written: "0.0.0.1", "127.0.0.1:8080", "unix:/x"
	Weight int    // 0 = 1
	// MaxFails is max_fails; without MaxFailsSet the default 1 applies, and
	// max_fails=0 (MaxFailsSet with 0) disables the accounting.
	MaxFails    int
	MaxFailsSet bool
	FailTimeout time.Duration // 0 = 10s
	Backup      bool
	Down        bool
}

// Location is the location{} proxying to the upstream.
type Location struct {
	// NextUpstream is proxy_next_upstream (nil = default "error timeout").
	NextUpstream        []string
	NextUpstreamTries   int
	NextUpstreamTimeout time.Duration
	// HTTPVersion is proxy_http_version ("" = the version's default).
	HTTPVersion string
	// ConnectionHeader is proxy_set_header Connection (nil = not set).
	ConnectionHeader *string
	// RequestBuffering is proxy_request_buffering (nil = on).
	RequestBuffering *bool
	// Zero means nginx's default of 60s.
	ConnectTimeout, SendTimeout, ReadTimeout time.Duration
}

// Request is one client request.
type Request struct {
	Method string // GET if empty
	Path   string // "/" if empty
}

// ParseRequests parses "GET /r1,GET /r2,POST /r3".
func ParseRequests(s string) ([]Request, error) {
	var out []Request
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		f := strings.Fields(part)
		switch len(f) {
		case 1:
			if strings.HasPrefix(f[0], "/") {
				out = append(out, Request{Method: "GET", Path: f[0]})
				continue
			}
			out = append(out, Request{Method: strings.ToUpper(f[0]), Path: "/"})
		case 2:
			if !strings.HasPrefix(f[1], "/") {
				return nil, fmt.Errorf("request %q: path must start with /", part)
			}
			out = append(out, Request{Method: strings.ToUpper(f[0]), Path: f[1]})
		default:
			return nil, fmt.Errorf("request %q: want \"METHOD /path\"", part)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no requests in %q", s)
	}
	return out, nil
}

// Next-upstream bits, as ngx_http_upstream.h defines them (the values are
// ours; only the set semantics matter).
const (
	ftError uint32 = 1 << iota
	ftTimeout
	ftInvalidHeader
	ftHTTP500
	ftHTTP502
	ftHTTP503
	ftHTTP504
	ftHTTP403
	ftHTTP404
	ftHTTP429
	ftUpdating
	ftBusyLock
	ftMaxWaiting
	ftNonIdempotent
	ftNoLive
	ftOff
)

var ftNames = []struct {
	bit  uint32
	name string
}{
	{ftError, "error"}, {ftTimeout, "timeout"}, {ftInvalidHeader, "invalid_header"},
	{ftHTTP500, "http_500"}, {ftHTTP502, "http_502"}, {ftHTTP503, "http_503"},
	{ftHTTP504, "http_504"}, {ftHTTP403, "http_403"}, {ftHTTP404, "http_404"},
	{ftHTTP429, "http_429"}, {ftUpdating, "updating"}, {ftNonIdempotent, "non_idempotent"},
	{ftNoLive, "nolive"}, {ftOff, "off"},
}

func ftName(ft uint32) string {
	var parts []string
	for _, n := range ftNames {
		if ft&n.bit != 0 {
			parts = append(parts, n.name)
		}
	}
	return strings.Join(parts, "|")
}

// parseNextUpstream turns proxy_next_upstream values into a mask. "off" is
// stored as FT_OFF alone, which no ft_type ever matches (nginx stores
// NGX_CONF_BITMASK_SET|FT_OFF).
func parseNextUpstream(vals []string) (uint32, error) {
	if vals == nil {
		return ftError | ftTimeout, nil
	}
	var m uint32
	for _, v := range vals {
		found := false
		for _, n := range ftNames {
			if n.name == v && n.bit != ftNoLive {
				m |= n.bit
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("proxy_next_upstream: invalid value %q", v)
		}
	}
	if m&ftOff != 0 {
		return ftOff, nil
	}
	return m, nil
}

// NormAddr is the key under which a peer address maps to an emulated
// backend: "ip:port" with defPort when none is written, IPv6 in brackets,
// "unix:" paths and host names kept as written (never resolved). The real
// nginx engine keys its backends the same way, so both engines agree on
// which config address is which backend.
func NormAddr(a string, defPort int) string {
	a = strings.TrimSpace(a)
	if strings.HasPrefix(a, "unix:") {
		return a
	}
	if ip := net.ParseIP(strings.Trim(a, "[]")); ip != nil {
		return net.JoinHostPort(ip.String(), strconv.Itoa(defPort))
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return net.JoinHostPort(a, strconv.Itoa(defPort))
	}
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	}
	return net.JoinHostPort(host, port)
}

func (c *Config) policyFor(addr string) Policy {
	for k, p := range c.Backends {
		if NormAddr(k, 80) == addr || k == addr {
			return p
		}
	}
	return c.DefaultPolicy
}
