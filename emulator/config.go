package emulator

import (
	"fmt"
	"io/fs"
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
	// Stream, when set, makes the run a stream{} server proxying TCP to
	// the upstream (ngx_stream_proxy_module) instead of an http location.
	// Location then carries the stream server's proxy_next_upstream
	// (nil = on, ["off"]), proxy_next_upstream_tries,
	// proxy_next_upstream_timeout and proxy_connect_timeout.
	Stream *Stream

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

	// Lua is the worker's Lua side beyond the balancer: init code, modules,
	// shared dicts, the location's variables and rewrite/access code.
	Lua LuaWorker
	// Fixtures stand in for what the worker would get from outside
	// (.ngxlint.yaml emulate:, or flags).
	Fixtures Fixtures

	// RandomSeed seeds the draws of the random balancing method, which
	// nginx takes from ngx_random() (not reproducible): the same seed gives
	// the same peers.
	RandomSeed uint64

	// LuaTimeout bounds one run of the balancer code (default 1s). nginx has
	// no such limit: the worker would spin; the emulator reports
	// "lua-timeout" instead of hanging.
	LuaTimeout time.Duration

	// Transport connects the emulated client, nginx and backends: in
	// memory (the zero value) or over loopback TCP. The Result is the same
	// either way.
	Transport Transport

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
	// Method is the load-balancing method directive: "" (round robin),
	// "hash", "ip_hash", "least_conn" or "random" (other names are an
	// error). MethodArgs are its arguments as written: the hash key (with
	// "consistent"), "two" [least_conn] for random.
	Method     string
	MethodArgs []string

	// Keepalive is `keepalive N`; set with 0 is `keepalive 0` (from nginx
	// 1.29.7 the way to turn the default pool off).
	Keepalive Opt[int]
	// KeepaliveBeforeBalancer is true when `keepalive` is written before
	// balancer_by_lua_* or another method directive in the block.
	KeepaliveBeforeBalancer bool
	// KeepaliveRequests, KeepaliveTimeout and KeepaliveTime are the
	// keepalive module's limits; unset means the version's default
	// (versions.UpstreamKeepalive). An explicit 0 is a limit nginx
	// applies: keepalive_requests 0 and keepalive_timeout 0 never let a
	// connection be reused (ngx_http_upstream_free_keepalive_peer compares
	// c->requests >= 0; a 0 ms idle timer fires before the next request),
	// keepalive_time 0 keeps a connection only if it was opened in the
	// same millisecond.
	KeepaliveRequests Opt[int]
	KeepaliveTimeout  Opt[time.Duration]
	KeepaliveTime     Opt[time.Duration]

	// Balancer is the balancer_by_lua_* code with its place in the user's
	// file; when its Code is empty, BalancerLua / BalancerName (the older
	// form, still accepted) are used: BalancerLua is the code ("" = none),
	// BalancerName names it in messages (e.g. "nginx.conf:12").
	Balancer     LuaSource
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

// balancerSource is the balancer code in its LuaSource form.
func (u *Upstream) balancerSource() LuaSource {
	if u.Balancer.Code != "" {
		src := u.Balancer
		if src.Name == "" {
			src.Name = "balancer_by_lua"
		}
		return src
	}
	return LuaSource{Code: u.BalancerLua, Name: u.BalancerName}
}

// hasBalancer reports whether the upstream has balancer_by_lua* code.
func (u *Upstream) hasBalancer() bool { return u.Balancer.Code != "" || u.BalancerLua != "" }

// LuaSource is one chunk of Lua: a *_by_lua_block body, a *_by_lua_file
// file or a module file.
type LuaSource struct {
	Code string
	// File, Line and Column place Code's first byte in the user's file
	// (1-based; 0 means 1), so that a Lua error reads "file:line: ..."
	// with the line of the user's file, as in an inline block's line
	// in nginx.conf. With File empty the chunk is named by Name alone.
	File         string
	Line, Column int
	// Name is the directive ("init_by_lua_block") or, for a module, the
	// module name.
	Name string
}

// LuaWorker is what one nginx worker's Lua VM gets besides the balancer.
type LuaWorker struct {
	// Init and InitWorker are the http block's init_by_lua* and
	// init_worker_by_lua* chunks, run in order before the first request.
	Init, InitWorker []LuaSource
	// Rewrite and Access are the target location's rewrite_by_lua* and
	// access_by_lua* chunks (the effective ones: nginx runs one of each),
	// run before the balancer for every request.
	Rewrite, Access []LuaSource
	// Preread is a stream server's preread_by_lua* chunk (its own, else
	// the stream block's), run before the balancer for every session.
	Preread []LuaSource
	// Modules are the modules of the checked tree `require` finds, by
	// module name; MissingModules names those that were looked for and not
	// found, with why (the paths tried).
	Modules        map[string]LuaSource
	MissingModules map[string]string
	// PackagePath is lua_package_path as written (for messages).
	PackagePath string
	// SharedDicts are the lua_shared_dict zones: name -> size in bytes.
	SharedDicts map[string]int64
	// Vars are the location's `set $name value;` with literal values
	// (name without '$').
	Vars map[string]string
	// Upstreams are the http block's upstream blocks, for ngx.upstream.
	Upstreams []Upstream
	// Files is the checked tree, read-only, for io.open / io.lines, its
	// root standing for "/" (nil makes every open fail as a missing
	// file). Prefix is nginx's prefix as a directory of Files, used with
	// the default ngx.config.prefix() when PrefixPath is empty.
	// PrefixPath is the prefix the configuration was written for, as
	// ngx.config.prefix() returns it ("" = /usr/local/openresty/nginx/).
	// PathMap maps absolute deployment path prefixes onto the tree for
	// io.open (the longest From wins), as nginxconf.Options.PathMap does
	// for the loader.
	Files      fs.FS
	Prefix     string
	PrefixPath string
	PathMap    []PathMapping
	// SearchPath are the module search templates of lua_package_path,
	// expanded as the loader expands them (nginxconf.Config.LuaPath:
	// absolute, "?" for the module name with "." as "/"). A module the
	// loader did not follow (require with a computed name, as plugin
	// loaders do) is looked up on them in Files at run time.
	SearchPath []string
}

// PathMapping maps an absolute path prefix From to To, a directory of
// Config.Lua.Files (relative to its root).
type PathMapping struct{ From, To string }

// Fixtures replace what a worker would get from outside the
// configuration.
type Fixtures struct {
	// SharedDicts fills ngx.shared.NAME before init_by_lua* runs (values
	// that parse as numbers are stored as numbers).
	SharedDicts map[string]map[string]string
	// Env is what os.getenv sees (nothing else of the real environment).
	Env map[string]string
	// Modules replace or add modules by name (stubs).
	Modules map[string]LuaSource
	// Vars set ngx.var values on every request (over the location's own).
	Vars map[string]string
}

// Server is one `server` line.
type Server struct {
	Addr   string // as written: "0.0.0.1", "127.0.0.1:8080", "unix:/x"
	Weight int    // 0 = 1 (nginx rejects weight=0)
	// MaxFails is max_fails (unset: 1); max_fails=0 disables the
	// accounting. FailTimeout is fail_timeout (unset: 10s); fail_timeout=0
	// keeps a failed peer out only for the rest of the current second
	// (ngx_http_upstream_get_peer compares now - checked <= fail_timeout in
	// seconds).
	MaxFails    Opt[int]
	FailTimeout Opt[time.Duration]
	Backup      bool
	Down        bool
}

// Location is the location{} proxying to the upstream.
type Location struct {
	// NextUpstream is proxy_next_upstream (nil = default "error timeout").
	NextUpstream []string
	// NextUpstreamTries and NextUpstreamTimeout are proxy_next_upstream_tries
	// and proxy_next_upstream_timeout; unset and 0 both mean unlimited
	// (ngx_http_upstream_init_request and ngx_http_upstream_next test them
	// for non-zero).
	NextUpstreamTries   Opt[int]
	NextUpstreamTimeout Opt[time.Duration]
	// HTTPVersion is proxy_http_version ("" = the version's default).
	HTTPVersion string
	// ConnectionHeader is proxy_set_header Connection (nil = not set).
	ConnectionHeader *string
	// RequestBuffering is proxy_request_buffering (nil = on).
	RequestBuffering *bool
	// Unset means nginx's default of 60s (versions.DefaultProxyTimeout);
	// an explicit 0 arms a timer that fires at once.
	ConnectTimeout, SendTimeout, ReadTimeout Opt[time.Duration]
}

// Opt is a directive value that may be unset. nginx tells "not written"
// (the version's default applies) from an explicit value, and for several
// directives an explicit 0 is not the default: keepalive_requests 0 never
// reuses a connection, max_fails=0 turns the failure accounting off.
type Opt[T any] struct {
	V   T
	Set bool
}

// Some returns a set Opt.
func Some[T any](v T) Opt[T] { return Opt[T]{V: v, Set: true} }

// Or returns the value if set, else def.
func (o Opt[T]) Or(def T) T {
	if o.Set {
		return o.V
	}
	return def
}

// Request is one client request.
type Request struct {
	// After is the idle time between the end of the previous request and
	// this one (the first request's is counted from the worker's start).
	// The emulator does not sleep: it moves its clock forward, so
	// keepalive_timeout, keepalive_time and fail_timeout see the time
	// pass; a real nginx engine waits.
	After  time.Duration
	Method string // GET if empty
	Path   string // "/" if empty; may carry a query string ("/api?x=1")
	// RemoteAddr is the client's address as nginx sees it ($remote_addr,
	// what ip_hash hashes); "" is 127.0.0.1.
	RemoteAddr string
	// Headers are sent by the emulated client after its own Host and
	// Connection lines; a Host header here replaces the default
	// "emulated.test". ngx.var.http_*, ngx.var.cookie_* and
	// ngx.req.get_headers see them.
	Headers []Header
	// TLS, when set, has a real-nginx engine open the connection with
	// this handshake, on the target server's ssl listener, before it
	// sends the request; the emulator ignores it (TLSProbe).
	TLS *TLSProbe
	// UpstreamTLS, when set, has a real-nginx engine serve the backends
	// that nginx reaches over TLS (proxy_pass https://, grpc_pass
	// grpcs://) with TLS, accepting only these versions and suites while
	// this request is served, and report the handshakes they saw
	// (RequestResult.UpstreamTLS): what nginx as a TLS client offered. The
	// emulator ignores it.
	UpstreamTLS *TLSProbe
}

// Header is one request header line.
type Header struct {
	Name, Value string
}

// ParseRequests parses a comma-separated list of requests, each
// "[+IDLE] METHOD /path?query Name:value Name:value", where the method, the
// path or the headers may be left out: "GET /r1, +300ms /r2 X-Token:abc,
// POST". +IDLE (a Go duration: 300ms, 2s, 1m) is the idle time before the
// request (Request.After). A header value runs to the next blank; it
// cannot hold a comma or a blank.
func ParseRequests(s string) ([]Request, error) {
	var out []Request
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		f := strings.Fields(part)
		q := Request{Method: "GET", Path: "/"}
		if rest, ok := strings.CutPrefix(f[0], "+"); ok {
			d, err := time.ParseDuration(rest)
			if err != nil || d < 0 || d > MaxIdle {
				return nil, fmt.Errorf("request %q: idle time %q: want a duration from 0 to %s, e.g. +300ms", part, f[0], MaxIdle)
			}
			q.After = d
			if f = f[1:]; len(f) == 0 {
				out = append(out, q)
				continue
			}
		}
		i := 0
		if !strings.HasPrefix(f[0], "/") && !strings.Contains(f[0], ":") {
			if !isToken(f[0]) {
				return nil, fmt.Errorf("request %q: method %q is not an HTTP token", part, f[0])
			}
			q.Method = strings.ToUpper(f[0])
			i++
		}
		if i < len(f) && !strings.Contains(f[i], ":") || i < len(f) && strings.HasPrefix(f[i], "/") {
			if !strings.HasPrefix(f[i], "/") {
				return nil, fmt.Errorf("request %q: path must start with /", part)
			}
			if strings.ContainsAny(f[i], "\x00\r\n") {
				return nil, fmt.Errorf("request %q: control character in the path", part)
			}
			q.Path = f[i]
			i++
		}
		for ; i < len(f); i++ {
			name, value, ok := strings.Cut(f[i], ":")
			if !ok || !isToken(name) {
				return nil, fmt.Errorf("request %q: %q is not a header (want Name:value, e.g. Host:api.example.com)", part, f[i])
			}
			q.Headers = append(q.Headers, Header{Name: name, Value: value})
		}
		out = append(out, q)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no requests in %q", s)
	}
	return out, nil
}

// MaxIdle bounds one request's idle time: an emulated clock makes any gap
// free, but a real nginx engine sleeps through it.
const MaxIdle = time.Hour

// WithGap gives every request after the first that has no idle time of its
// own the idle time gap (`emulate --gap`).
func WithGap(rs []Request, gap time.Duration) []Request {
	out := append([]Request(nil), rs...)
	for i := 1; i < len(out); i++ {
		if out[i].After == 0 {
			out[i].After = gap
		}
	}
	return out
}

// isToken reports whether s is an RFC 9110 token (a method or a header
// name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
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
