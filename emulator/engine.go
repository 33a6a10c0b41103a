package emulator

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/ngxlint/ngxlint/versions"
)

const (
	defaultMaxAttempts = 1000
	defaultTimeout     = 10 * time.Second
	defaultLuaTimeout  = time.Second
	maxBackends        = 64
	settleWait         = 2 * time.Second
	// placeholderAddr is the server LNM >= 0.10.27 adds to an upstream
	// with a balancer and no server line
	// (ngx_http_lua_balancer_default_server_sockaddr).
	placeholderAddr = "0.0.0.1:80"
	// luaHostInlineLen is NGX_BALANCER_DEF_HOST_LEN, the host bytes a Lua
	// pool entry holds inline (LNM >= 0.10.27).
	luaHostInlineLen = 32
	postBody         = "hello=world"
	// kaNoLimit marks a keepalive time limit the emulated version does
	// not have (keepalive_timeout and keepalive_time before 1.15.3 and
	// 1.19.10).
	kaNoLimit time.Duration = -1
)

// Keepalive module placement.
const (
	kaNone     = iota
	kaAll      // wraps the whole balancer (directive after the method, or nginx >= 1.29.7)
	kaFallback // LNM >= 0.10.27 wrapped a `keepalive` written before the balancer: used only when Lua sets no peer
)

// run is the state of one Run: one nginx worker with one upstream.
type run struct {
	cfg        Config
	prof       versions.Profile
	ctx        context.Context
	mask       uint32
	maxAtt     int
	timeout    time.Duration
	luaTimeout time.Duration

	backends map[string]*Backend
	peerLog  PeerLog
	notes    []string

	rr  *rrPeers
	bal *balancing
	// skew is the idle time skipped so far (see now).
	skew    time.Duration
	kaMode  int
	ka      *kaCache
	luaPool *kaCache
	// kaRequests (-1: no limit), kaTimeout and kaTime (kaNoLimit: none)
	// are the keepalive module's limits for this version and config.
	kaRequests int
	kaTimeout  time.Duration
	kaTime     time.Duration
	lua        *luaEngine
	// luaBalancer: the upstream picks peers in balancer_by_lua*. The Lua
	// worker (lua) also exists without it, for a location's
	// rewrite/access Lua or the http block's init code.
	luaBalancer bool
	// stream: the run is a stream{} server (Config.Stream); triesPatch:
	// its nginx has OpenResty's stream_proxy_get_next_upstream_tries patch.
	stream      bool
	triesPatch  bool
	placeholder bool
	// placeholderListens: Config.Backends names 0.0.0.1:80, so a connect
	// to the placeholder reaches an emulated backend.
	placeholderListens bool
	notify             bool

	httpVersion string
	connHeader  string
	noBuffering bool

	// net is the transport's network (Config.Transport): every listener
	// and connection of the run is on it.
	net       network
	front     net.Listener
	stopFront func() bool
}

// now is the emulated clock: the wall clock plus the requests' idle times
// (Request.After), which the emulator skips instead of sleeping through.
// Everything nginx decides by time (fail_timeout, keepalive_timeout,
// keepalive_time, proxy_next_upstream_timeout) reads it; socket deadlines
// stay on the wall clock, as no idle time passes inside a request.
func (r *run) now() time.Time { return time.Now().Add(r.skew) }

// dial is the only place the emulator opens a connection. addr is always
// one of the listeners it started on 127.0.0.1 (the front end or a
// Backend; fake addresses of the same form with TransportMemory): peer addresses from the configuration or the balancer code are
// only keys of r.backends and are never dialled. The check is a second
// line of defence so that no future code path can reach an address from
// the configuration under test (ngxlint runs on pull requests in CI).
func (r *run) dial(ctx context.Context, timeout time.Duration, addr string) (net.Conn, error) {
	if !isLoopbackAddr(addr) {
		return nil, fmt.Errorf("emulator: refusing to dial %s: only its own 127.0.0.1 listeners may be dialled", addr)
	}
	if r.cfg.observeDial != nil {
		r.cfg.observeDial(addr)
	}
	return r.net.dial(ctx, timeout, addr)
}

// isLoopbackAddr reports whether addr is "ip:port" with an IPv4 loopback
// IP literal (no name, which would need resolving).
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.To4() != nil && ip.IsLoopback()
}

// upConn is an upstream connection (ngx_connection_t to a backend).
type upConn struct {
	c        net.Conn
	br       *bufio.Reader
	addr     string
	requests int
	start    time.Time
	broken   bool
}

func (c *upConn) close() {
	if c != nil && c.c != nil {
		c.c.Close()
	}
}

// ureq is the per-client-request upstream state (ngx_http_upstream_t and
// ngx_peer_connection_t).
type ureq struct {
	seq          int
	method, path string
	remote       string
	tries        uint64
	start        time.Time
	pc           struct {
		sockaddr, name string
		cached         bool
		conn           *upConn
	}
	rr     *rrData
	bp     luaPeer
	luaEnv *lua.LTable
	luaCtx *lua.LTable
	// headers are the request headers as the emulated nginx read them;
	// vars the variables Lua code wrote (nil value: set to nil).
	headers [][2]string
	vars    map[string]*string
	// luaErr is the first Lua error of this request (phase and message
	// with its position); answeredBy says which Lua phase answered it.
	luaErr     string
	answeredBy string
	states     []int

	requestSent, requestBodySent bool
	// bodyNoBuffering is r->request_body_no_buffering: proxy_request_buffering
	// off, unless the whole body was read before the upstream was contacted
	// (see serve).
	bodyNoBuffering bool
	keepalive       bool
	keepaliveWhy    string

	connectTimeout, sendTimeout, readTimeout time.Duration
	// session is a stream session's status ($status); proxyTimeout, when
	// set, is the balancer's set_timeouts over proxy_timeout.
	session      int
	proxyTimeout time.Duration

	attempts []*Attempt
	cur      *Attempt
	log      []string
	why      string
	capped   bool

	ctx     context.Context
	aborted atomic.Bool
	mu      sync.Mutex
	curNet  net.Conn
	dials   int
	writes  int
}

// remoteAddr is the client address nginx sees.
func (u *ureq) remoteAddr() string {
	if u.remote == "" {
		return "127.0.0.1"
	}
	return u.remote
}

func (u *ureq) note(s string) {
	if u.cur != nil {
		u.cur.Log = append(u.cur.Log, s)
	} else {
		u.log = append(u.log, s)
	}
}

func (u *ureq) setCur(c net.Conn) {
	u.mu.Lock()
	u.curNet = c
	u.mu.Unlock()
	if c != nil && u.aborted.Load() {
		c.SetDeadline(time.Unix(1, 0))
	}
}

// Run emulates cfg and returns what the emulated backends and client
// observed. It returns an error only for an unusable configuration or when
// ctx ends; everything nginx would do at run time (500, 502, loops) is a
// Result. Every listener, connection and goroutine it starts has ended when
// it returns.
func Run(ctx context.Context, cfg Config) (res *Result, err error) {
	r, err := newRun(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer r.shutdown()

	res = &Result{Engine: "emulator", Notes: r.notes}
	res.Profile = ResultProfile{Nginx: verString(r.prof.Nginx), OpenResty: verString(r.prof.OpenResty)}
	switch {
	case r.stream && r.lua != nil:
		res.Profile.StreamLuaNginxModule = "latest"
		if v, ok := r.prof.StreamLua(); ok {
			res.Profile.StreamLuaNginxModule = v.String()
		}
	case r.cfg.Upstream.hasBalancer() || !cfg.Profile.LNM.IsZero():
		res.Profile.LuaNginxModule = verString(r.prof.LNM)
	}
	if r.lua != nil {
		w, err := r.lua.startWorker(ctx)
		if err != nil {
			return nil, err
		}
		res.Worker = w
	}
	if res.Worker == nil || res.Worker.StartError == "" {
		for i, q := range cfg.Requests {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("emulation cancelled: %w", err)
			}
			res.Requests = append(res.Requests, r.doRequest(i, q))
		}
	}
	if r.lua != nil {
		res.Worker.TimersPending = len(r.lua.timers)
		res.ExternalDeps = r.lua.external
		res.MissingModules = r.lua.missingMods
		res.finishLua()
	}
	for addr, b := range r.backends {
		s := b.Stats()
		s.Address = addr
		res.Backends = append(res.Backends, s)
	}
	sort.Slice(res.Backends, func(i, j int) bool { return res.Backends[i].Address < res.Backends[j].Address })
	return res, nil
}

func verString(v versions.Version) string {
	if v.IsZero() {
		return ""
	}
	return v.String()
}

func newRun(ctx context.Context, cfg Config) (*run, error) {
	r := &run{cfg: cfg, ctx: ctx, backends: map[string]*Backend{}}
	r.prof = cfg.Profile.Concrete()
	p := r.prof
	up := cfg.Upstream
	hasLua := up.hasBalancer()
	for _, a := range r.prof.Assumed {
		// Without a Lua balancer the module version does not matter;
		// in stream it is stream-lua's, not lua-nginx-module's.
		if hasLua && cfg.Stream == nil || !strings.HasPrefix(a, "lua-nginx-module") {
			r.notes = append(r.notes, a)
		}
	}

	if len(cfg.Requests) == 0 {
		return nil, errors.New("no client requests to send")
	}
	r.stream = cfg.Stream != nil
	var mask uint32
	var err error
	if r.stream {
		// Stream's proxy_next_upstream is a flag (on by default); the
		// mask only says whether it is off.
		mask = ftError | ftTimeout
		for _, v := range cfg.Location.NextUpstream {
			switch v {
			case "off":
				mask = ftOff
			case "on":
			default:
				return nil, fmt.Errorf("proxy_next_upstream in stream: invalid value %q (want on or off)", v)
			}
		}
		if err := streamAddrCheck(up); err != nil {
			return nil, err
		}
		// Every OpenResty bundle that ships stream-lua applies the patch
		// (versions.Profile.StreamTriesPatch).
		r.triesPatch = cfg.Stream.TriesPatch || r.prof.StreamTriesPatch()
	} else if mask, err = parseNextUpstream(cfg.Location.NextUpstream); err != nil {
		return nil, err
	}
	r.mask = mask
	r.maxAtt = cfg.MaxAttempts
	if r.maxAtt <= 0 {
		r.maxAtt = defaultMaxAttempts
	}
	r.timeout = cfg.Timeout
	if r.timeout <= 0 {
		r.timeout = defaultTimeout
	}
	r.luaTimeout = cfg.LuaTimeout
	if r.luaTimeout <= 0 {
		r.luaTimeout = defaultLuaTimeout
	}
	if hasLua && p.LNM.Less("0.10.0") {
		// balancer_by_lua arrived with 8c53a0d2 (v0.10.0rc0).
		return nil, fmt.Errorf("balancer_by_lua* needs lua-nginx-module 0.10.0 or later, profile has %s", p.LNM)
	}
	servers := up.Servers
	if len(servers) == 0 {
		// stream-lua-nginx-module has no placeholder server (its
		// balancer_by_lua keeps ngx_stream_upstream_init_round_robin).
		if !hasLua || p.LNM.Less("0.10.27") || r.stream {
			return nil, fmt.Errorf("upstream %q: no servers are inside upstream", up.Name)
		}
		// LNM >= 0.10.27 adds a placeholder server 0.0.0.1:80.
		r.placeholder = true
		servers = []Server{{Addr: "0.0.0.1"}}
	}
	primaries := 0
	for _, s := range servers {
		if !s.Backup {
			primaries++
		}
	}
	if primaries == 0 {
		return nil, fmt.Errorf("upstream %q: no servers in upstream (all are backup)", up.Name)
	}
	r.rr = newRRPeers(servers)
	if r.bal, err = parseMethod(up, r.rr, cfg.RandomSeed); err != nil {
		return nil, fmt.Errorf("upstream %q: %w", up.Name, err)
	}
	if hasLua && up.Method != "" {
		r.notes = append(r.notes, fmt.Sprintf("load-balancing method %q is used only where the Lua balancer falls back to the original balancer", up.Method))
	}

	// Keepalive module placement and defaults.
	kaN := 0
	switch {
	case r.stream:
		// Stock nginx has no keepalive for stream upstreams.
	case versions.KeepaliveOnByDefault(p.Nginx):
		// Since 1.29.7 (4fbe4b627) keepalive is on by default for explicit
		// upstreams (32 connections) and init_main_conf wraps peer.init
		// last, so the directive order no longer matters.
		kaN = up.Keepalive.Or(versions.DefaultKeepaliveConnections)
		if kaN > 0 {
			r.kaMode = kaAll
		}
	case up.Keepalive.Set && up.Keepalive.V > 0:
		kaN = up.Keepalive.V
		r.kaMode = kaAll
		if up.KeepaliveBeforeBalancer && (hasLua || up.Method != "") {
			if hasLua && p.LNM.AtLeast("0.10.27") {
				// LNM >= 0.10.27 keeps the earlier init_upstream as its
				// original balancer, but its get/free skip it whenever Lua
				// sets the peer (LNM-KEEPALIVE-ORDER).
				r.kaMode = kaFallback
				r.notes = append(r.notes, "keepalive written before balancer_by_lua*: used only when Lua sets no peer")
			} else {
				// The later method directive replaces init_upstream; nginx
				// only warns "load balancing method redefined".
				r.kaMode = kaNone
				r.notes = append(r.notes, "keepalive written before the balancing method is lost (\"load balancing method redefined\")")
			}
		}
	}
	if r.kaMode != kaNone {
		r.ka = &kaCache{max: kaN}
	}
	// The limits a cached connection is checked against
	// (ngx_http_upstream_free_keepalive_peer): an explicit value, 0
	// included, replaces the version's default; a version without the
	// directive has no limit (kaNoLimit).
	kd := versions.UpstreamKeepalive(p.Nginx)
	r.kaRequests, r.kaTimeout, r.kaTime = -1, kaNoLimit, kaNoLimit
	if kd.HasRequests {
		r.kaRequests = up.KeepaliveRequests.Or(kd.Requests)
	}
	if kd.HasTimeout {
		r.kaTimeout = up.KeepaliveTimeout.Or(kd.Timeout)
	}
	if kd.HasTime {
		r.kaTime = up.KeepaliveTime.Or(kd.Time)
	}

	// proxy_http_version 1.1 and no "Connection: close" by default since
	// 1.29.7 (6bb27a631); before, HTTP/1.0 with Connection: close.
	loc := cfg.Location
	r.httpVersion = loc.HTTPVersion
	if r.httpVersion == "" {
		r.httpVersion = "1.0"
		if versions.KeepaliveOnByDefault(p.Nginx) {
			r.httpVersion = "1.1"
		}
	}
	if r.httpVersion != "1.0" && r.httpVersion != "1.1" {
		return nil, fmt.Errorf("proxy_http_version %q: want 1.0 or 1.1", r.httpVersion)
	}
	switch {
	case loc.ConnectionHeader != nil:
		r.connHeader = *loc.ConnectionHeader
	case versions.KeepaliveOnByDefault(p.Nginx) && r.httpVersion == "1.1":
		r.connHeader = ""
	default:
		r.connHeader = "close"
	}
	r.noBuffering = loc.RequestBuffering != nil && !*loc.RequestBuffering

	// A location's rewrite/access Lua (an auth check) and the http
	// block's init code run whether or not the upstream has a Lua
	// balancer: such a location answers before proxying when the check
	// fails, which the scenario must see.
	needWorker := hasLua || len(cfg.Lua.Rewrite)+len(cfg.Lua.Access)+len(cfg.Lua.Init)+len(cfg.Lua.InitWorker)+len(cfg.Lua.Preread) > 0
	if needWorker {
		var proto *lua.FunctionProto
		if hasLua {
			proto, err = compileSource(up.balancerSource(), "balancer_by_lua")
			if err != nil {
				return nil, err
			}
		}
		r.luaBalancer = hasLua
		r.lua = newLuaEngine(r, proto)
		for _, ph := range []struct {
			srcs []LuaSource
			dst  *[]*lua.FunctionProto
			name string
		}{{cfg.Lua.Rewrite, &r.lua.rewrite, "rewrite_by_lua"}, {cfg.Lua.Access, &r.lua.access, "access_by_lua"}, {cfg.Lua.Preread, &r.lua.preread, "preread_by_lua"}} {
			for _, src := range ph.srcs {
				p, err := compileSource(src, ph.name)
				if err != nil {
					r.lua.close()
					return nil, err
				}
				*ph.dst = append(*ph.dst, p)
			}
		}
	}
	if hasLua {
		// The notify hook (LNM >= 0.10.27) only exists with OpenResty's
		// balancer_pool_max_retry nginx patch, applied from OR 1.29.2.4
		// (5363dfe).
		r.notify = p.NotifyPatch && p.LNM.AtLeast("0.10.27") && !r.stream
		if p.LNM.AtLeast("0.10.27") && !r.stream {
			n := up.BalancerKeepalive
			if n <= 0 {
				n = 32
			}
			r.luaPool = &kaCache{max: n}
		}
	}

	r.net, err = newNetwork(cfg.Transport)
	if err != nil {
		r.shutdown()
		return nil, err
	}
	r.front, err = r.net.listen(ctx)
	if err != nil {
		r.shutdown()
		return nil, fmt.Errorf("emulator listener: %w", err)
	}
	// A cancelled ctx must not leave doRequest waiting in Accept.
	front := r.front
	r.stopFront = context.AfterFunc(ctx, func() { front.Close() })
	// Backends for every configured address up front; Lua-chosen peers are
	// added when first used.
	for _, s := range servers {
		a := NormAddr(s.Addr, 80)
		if r.placeholder && a == placeholderAddr {
			continue
		}
		if _, named := r.namedBackend(a); r.stream && isZeroNet(a) && !named {
			continue // nothing can answer there (streamConnect)
		}
		if _, err := r.backendFor(a); err != nil {
			r.shutdown()
			return nil, err
		}
	}
	for k := range cfg.Backends {
		if NormAddr(k, 80) == placeholderAddr {
			r.placeholderListens = true
		}
		if _, err := r.backendFor(NormAddr(k, 80)); err != nil {
			r.shutdown()
			return nil, err
		}
	}
	return r, nil
}

func (r *run) shutdown() {
	if r.ka != nil {
		r.ka.closeAll()
	}
	if r.luaPool != nil {
		r.luaPool.closeAll()
	}
	if r.stopFront != nil {
		r.stopFront()
	}
	if r.front != nil {
		r.front.Close()
	}
	for _, b := range r.backends {
		b.Close()
	}
	if r.lua != nil {
		r.lua.close()
	}
}

// backendFor returns the emulated backend standing in for peer address a.
func (r *run) backendFor(a string) (*Backend, error) {
	if b, ok := r.backends[a]; ok {
		return b, nil
	}
	if len(r.backends) >= maxBackends {
		return nil, fmt.Errorf("more than %d distinct peer addresses", maxBackends)
	}
	b, err := startBackend(r.ctx, r.cfg.policyFor(a), r.net)
	if err != nil {
		return nil, err
	}
	b.LogTo(&r.peerLog, a)
	r.backends[a] = b
	return b, nil
}

func (r *run) totals() (conns, reqs int) {
	for _, b := range r.backends {
		s := b.Stats()
		conns += s.Connections
		reqs += s.Requests
	}
	return
}

// ---- balancer layering ----

func (r *run) get(u *ureq) int {
	if r.kaMode == kaAll {
		return r.kaGet(u, r.baseGet)
	}
	return r.baseGet(u)
}

func (r *run) free(u *ureq, state int) {
	if r.kaMode == kaAll {
		r.kaFree(u, state, r.baseFree)
		return
	}
	r.baseFree(u, state)
}

func (r *run) baseGet(u *ureq) int {
	if r.luaBalancer {
		return r.luaGet(u)
	}
	return r.methodGet(u)
}

func (r *run) baseFree(u *ureq, state int) {
	if r.luaBalancer {
		r.luaFree(u, state)
		return
	}
	r.rrFree(u, state)
}

// origGet / origFree are what the Lua balancer falls back to (LNM >=
// 0.10.27 keeps the upstream's earlier init_upstream: round robin, or a
// method written before balancer_by_lua*).
func (r *run) origGet(u *ureq) int {
	if r.kaMode == kaFallback {
		return r.kaGet(u, r.methodGet)
	}
	return r.methodGet(u)
}

func (r *run) origFree(u *ureq, state int) {
	if r.kaMode == kaFallback {
		r.kaFree(u, state, r.rrFree)
		return
	}
	r.rrFree(u, state)
}

// luaGet is ngx_http_lua_balancer_get_peer.
func (r *run) luaGet(u *ureq) int {
	a := u.cur
	bp := &u.bp
	bp.sockaddr, bp.name, bp.host, bp.portZero = "", "", "", false
	bp.moreTries, bp.keepalive = 0, false
	bp.totalTries++
	res := r.lua.run(u.ctx, u, a)
	if res.err != nil {
		a.Outcome = res.outcome
		if u.aborted.Load() {
			a.Outcome = OutcomeClientAbort
		}
		msg := cleanLuaError(res.err.Error())
		a.Log = append(a.Log, "[error] failed to run balancer_by_lua*: "+msg)
		if u.luaErr == "" {
			u.luaErr = "balancer_by_lua*: " + firstLine(msg)
		}
		return ngxError
	}
	if res.exited && res.exitRC != ngxOK {
		rc := res.exitRC
		a.Outcome = OutcomeLuaExit
		a.Log = append(a.Log, fmt.Sprintf("ngx.exit(%d) in the balancer", rc))
		switch {
		case rc == ngxError || rc == ngxBusy || rc == ngxDeclined:
			return rc
		case rc >= 300 && r.prof.StatusCodePatch:
			// OpenResty's balancer_status_code patch (OR 3b74625, from OR
			// 1.11.2.5) lets the status through.
			return rc
		case rc > 0:
			// Stock nginx: any other positive code is NGX_ERROR -> 500.
			return ngxError
		}
	}
	if bp.sockaddr != "" {
		u.pc.sockaddr, u.pc.name = bp.sockaddr, bp.sockaddr
		if r.stream || r.prof.LNM.AtLeast("0.10.1") {
			// stream-lua does this at every release. 60ebb5c (v0.10.1): a Lua-chosen peer starts with no cached
			// connection. v0.10.0 lacks this, so a cached flag set by the
			// keepalive module on an earlier attempt stays 1
			// (LNM-CACHED-HOTLOOP).
			u.pc.cached = false
			u.pc.conn = nil
		}
		if r.stream || r.prof.LNM.Less("0.10.27") {
			// stream-lua's get_peer does it too. v0.10.x get_peer sets rrp.peers->single = 0, mutating the
			// shared upstream configuration.
			u.rr.peers.single = false
		}
		if bp.moreTries != 0 {
			u.tries += bp.moreTries
		}
		if bp.keepalive && r.luaPool != nil {
			if c := r.kaTake(r.luaPool, bp.sockaddr, bp.host, true, u.seq); c != nil {
				u.pc.cached = true
				u.pc.conn = c
				return ngxDone
			}
		}
		return ngxOK
	}
	if !r.stream && r.prof.LNM.AtLeast("0.10.27") {
		rc := r.origGet(u)
		if rc == ngxError {
			return rc
		}
		if r.placeholder && u.pc.sockaddr == placeholderAddr && r.cfg.Upstream.PlaceholderShadowed {
			// The static placeholder pointer belongs to a later server-less
			// upstream, so this one's placeholder passes the check and is
			// connected to (LNM-NO-PEER-SET-GLOBAL).
			a.Log = append(a.Log, "balancer code set no peer; the \"no peer set\" check only knows the last server-less upstream's placeholder: connecting to "+placeholderAddr)
			return rc
		}
		if r.placeholder && u.pc.sockaddr == placeholderAddr {
			a.Outcome = OutcomeNoPeer
			a.Log = append(a.Log, "[error] lua balancer: no peer set")
			return ngxError
		}
		return rc
	}
	// Up to v0.10.26: round robin over the server lines.
	u.note("balancer code set no peer: round robin over the server lines")
	return r.rrGet(u)
}

// luaFree is ngx_http_lua_balancer_free_peer.
func (r *run) luaFree(u *ureq, state int) {
	bp := &u.bp
	if bp.sockaddr == "" {
		r.origFree(u, state)
		return
	}
	bp.lastState = state
	if u.tries > 0 {
		u.tries--
	}
	if !bp.keepalive || r.luaPool == nil {
		return
	}
	c := u.pc.conn
	why := ""
	switch {
	case state&peerFailed != 0:
		why = "failed"
	case c == nil || c.broken:
		why = "connection error"
	case bp.kaMaxReq > 0 && c.requests >= bp.kaMaxReq:
		why = "max_requests reached"
	case !u.keepalive:
		why = u.keepaliveWhy
	case !u.requestBodySent:
		why = "request body not sent"
	}
	if why != "" {
		if c != nil {
			u.note("lua keepalive: not saved (" + why + ")")
		}
		return
	}
	if bp.kaIdle == 0 {
		// ngx_add_timer(c->read, 0) closes it at once (LNM-KA-TIMEOUT-0).
		u.note("lua keepalive: idle timeout 0 closes the connection at once")
		return
	}
	key := bp.host
	if len(bp.host) > luaHostInlineLen && r.prof.LNM.AtLeast("0.10.27") && r.prof.LNM.Less("0.10.29") {
		// 0.10.27-0.10.28 copy a host longer than NGX_BALANCER_DEF_HOST_LEN
		// (32) from the peer's addr_text instead of the host, so the saved
		// entry never matches a lookup by host and is never reused
		// (LNM-KA-HOST-GT32, fixed by 18ce5fbd in v0.10.29).
		key = bp.sockaddr
		u.note("lua keepalive: host longer than 32 bytes saved under the address text (never reused)")
	}
	r.luaPool.put(&kaItem{addr: bp.sockaddr, host: key, conn: c, savedAt: r.now(), reqSeq: u.seq, idle: bp.kaIdle})
	u.pc.conn = nil
	u.note("lua keepalive: connection saved to the Lua pool")
}

// ---- the request path ----

type clientResult struct {
	status  Status
	errText string
}

func (r *run) doRequest(seq int, q Request) RequestResult {
	method := strings.ToUpper(q.Method)
	if method == "" {
		method = "GET"
	}
	path := q.Path
	if path == "" {
		path = "/"
	}
	out := RequestResult{Method: method, Path: path}
	r.skew += q.After
	c0, q0 := r.totals()
	p0 := r.peerLog.Len()

	cres := make(chan clientResult, 1)
	if r.stream {
		go r.streamClient(q, cres)
	} else {
		go r.client(method, path, q.Headers, cres)
	}

	u := &ureq{seq: seq, method: method, path: path, remote: q.RemoteAddr}
	// *net.TCPListener and *memListener.
	if tl, ok := r.front.(interface{ SetDeadline(time.Time) error }); ok {
		tl.SetDeadline(time.Now().Add(r.timeout))
	}
	conn, err := r.front.Accept()
	if err != nil {
		cr := <-cres
		out.Status = Status{Timeout: true}
		out.Why = "client connection not accepted: " + err.Error() + " " + cr.errText
		return out
	}
	if r.stream {
		r.serveStream(u, conn)
	} else {
		r.serve(u, conn)
	}
	cr := <-cres
	out.Status = cr.status
	if cr.errText != "" {
		u.log = append(u.log, cr.errText)
	}
	if u.capped || cr.status.Timeout {
		out.Unbounded = true
	}

	// Wait until the backends have counted every connection made and every
	// request written, so the per-request counts are exact.
	deadline := time.Now().Add(settleWait)
	for {
		c, q := r.totals()
		if (c-c0 >= u.dials && q-q0 >= u.writes) || time.Now().After(deadline) {
			out.UpstreamConnections, out.UpstreamRequests = c-c0, q-q0
			out.Peers = r.peerLog.Since(p0)
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	out.Attempts = make([]Attempt, len(u.attempts))
	for i, a := range u.attempts {
		out.Attempts[i] = *a
	}
	out.Why, out.Log = u.why, u.log
	out.LuaError, out.AnsweredBy = u.luaErr, u.answeredBy
	out.Session = u.session
	return out
}

// client is the emulated HTTP client: one connection, one request, and a
// read deadline of Config.Timeout; when it expires the client closes the
// connection, as curl --max-time does.
func (r *run) client(method, path string, headers []Header, out chan<- clientResult) {
	c, err := r.dial(r.ctx, r.timeout, r.front.Addr().String())
	if err != nil {
		out <- clientResult{status: Status{Timeout: true}, errText: "client: " + err.Error()}
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(r.timeout))
	var b strings.Builder
	host := "emulated.test"
	for _, h := range headers {
		if strings.EqualFold(h.Name, "Host") {
			host = h.Value
		}
	}
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, path, host)
	for _, h := range headers {
		if !strings.EqualFold(h.Name, "Host") && !strings.EqualFold(h.Name, "Connection") {
			fmt.Fprintf(&b, "%s: %s\r\n", h.Name, h.Value)
		}
	}
	if hasBody(method) {
		fmt.Fprintf(&b, "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s", len(postBody), postBody)
	} else {
		b.WriteString("\r\n")
	}
	if _, err := io.WriteString(c, b.String()); err != nil {
		out <- clientResult{status: Status{Timeout: true}, errText: "client: " + err.Error()}
		return
	}
	br := bufio.NewReader(c)
	m, err := readHead(br, false)
	if err != nil {
		why := "client: no response (the emulator stopped the request)"
		if isTimeout(err) {
			why = fmt.Sprintf("client: no response within %s; it closed the connection (nginx logs 499)", r.timeout)
		}
		out <- clientResult{status: Status{Timeout: true}, errText: why}
		return
	}
	if n, err := bodyLength(m, false); err == nil {
		readBody(br, n)
	}
	out <- clientResult{status: Status{Code: m.Status}}
}

func hasBody(method string) bool {
	return method == "POST" || method == "PUT" || method == "PATCH"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// serve is the proxy side of one client request.
func (r *run) serve(u *ureq, conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(r.timeout + time.Second))
	br := bufio.NewReader(conn)
	m, err := readHead(br, true)
	if err != nil {
		u.why = "could not read the client request: " + err.Error()
		return
	}
	n, lerr := bodyLength(m, true)
	// ngx_http_read_client_request_body clears r->request_body_no_buffering
	// when the request has no body (content_length_n < 0 and not chunked),
	// when the whole body was pre-read with the header (rb->rest == 0 &&
	// rb->last_saved), or when it was read to its end at once (rc ==
	// NGX_OK at done:), so such a request is retried as with buffering on
	// (release-1.22.1 src/http/ngx_http_request_body.c; the same since
	// unbuffered reading came in 1.7.11, 2743bb68e). The emulated client
	// writes the header and its small body at once.
	preread := lerr != nil || n == 0 || n > 0 && br.Buffered() >= n
	if lerr == nil {
		readBody(br, n)
	}
	u.bodyNoBuffering = r.noBuffering && !preread
	conn.SetDeadline(time.Time{})
	u.headers = m.Header

	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	u.ctx = ctx
	// Watch the client connection: EOF means the client went away, which
	// nginx sees through ngx_http_upstream_check_broken_connection and
	// finalizes with 499.
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		buf := make([]byte, 64)
		for {
			if _, err := conn.Read(buf); err != nil {
				u.aborted.Store(true)
				cancel()
				return
			}
		}
	}()
	stopAfter := context.AfterFunc(ctx, func() {
		u.mu.Lock()
		if u.curNet != nil {
			u.curNet.SetDeadline(time.Unix(1, 0))
		}
		u.mu.Unlock()
	})
	status, answered := r.luaPhases(u)
	if !answered {
		status = r.upstream(u)
	}
	stopAfter()
	if status.send {
		writeClientResponse(conn, status.code)
	}
	// Closing ends the watcher.
	conn.Close()
	<-watchDone
}

type finalStatus struct {
	code int
	send bool
}

func writeClientResponse(c net.Conn, code int) {
	body := fmt.Sprintf("<html><head><title>%d %s</title></head><body><center><h1>%d %s</h1></center><hr><center>nginx (emulated)</center></body></html>\n",
		code, reason(code), code, reason(code))
	fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, reason(code), len(body), body)
}

// upstream runs ngx_http_upstream_init_request, then connect / send / read
// and ngx_http_upstream_next until the request is finalized.
func (r *run) upstream(u *ureq) finalStatus {
	loc := r.cfg.Location
	u.connectTimeout = loc.ConnectTimeout.Or(versions.DefaultProxyTimeout)
	u.sendTimeout = loc.SendTimeout.Or(versions.DefaultProxyTimeout)
	u.readTimeout = loc.ReadTimeout.Or(versions.DefaultProxyTimeout)
	u.rr = &rrData{peers: r.rr, tried: make([]bool, len(r.rr.peers))}
	r.initMethodPeer(u)
	u.tries = r.initTries(r.rr)
	u.start = r.now()
	// init_request caps tries at proxy_next_upstream_tries: the only place
	// the limit is applied.
	if n := loc.NextUpstreamTries.V; n > 0 && u.tries > uint64(n) {
		u.tries = uint64(n)
	}
	for {
		if u.aborted.Load() {
			return r.finalize(u, 499, "client closed the connection: finalize 499")
		}
		if len(u.attempts) >= r.maxAtt {
			u.capped = true
			u.cur = nil
			if u.pc.conn != nil {
				u.pc.conn.close()
				u.pc.conn = nil
			}
			u.why = fmt.Sprintf("stopped after %d attempts (max attempts): nginx would go on until the client gives up (499)", r.maxAtt)
			return finalStatus{}
		}
		a := &Attempt{}
		u.attempts = append(u.attempts, a)
		u.cur = a
		u.states = append(u.states, 0)
		// ngx_http_upstream_connect resets these for every attempt.
		u.requestSent, u.requestBodySent, u.keepalive, u.keepaliveWhy = false, false, false, ""

		rc := r.get(u)
		a.Peer = u.pc.sockaddr
		switch {
		case rc >= 300:
			return r.finalize(u, rc, fmt.Sprintf("balancer exited with %d (balancer_status_code patch)", rc))
		case rc == ngxError:
			if a.Outcome == "" {
				a.Outcome = OutcomeLuaError
			}
			a.TriesLeft = u.tries
			return r.finalize(u, 500, "peer.get returned NGX_ERROR: finalize 500")
		case rc == ngxBusy:
			a.Outcome = OutcomeNoLive
			a.Log = append(a.Log, "[error] no live upstreams")
			if st, done := r.next(u, a, ftNoLive); done {
				return st
			}
			continue
		case rc == ngxDeclined:
			a.Outcome = OutcomeLuaExit
			if st, done := r.next(u, a, ftError); done {
				return st
			}
			continue
		}
		if rc == ngxOK && u.pc.cached {
			a.Log = append(a.Log, "pc->cached is still 1 from an earlier cached connection although this connection is fresh")
		}
		a.Cached = rc == ngxDone
		ft, outcome := r.attempt(u, a, rc == ngxDone)
		a.Outcome = outcome
		if ft == 0 {
			a.TriesLeft = u.tries
			return r.finalize(u, a.Status, "response passed to the client")
		}
		if st, done := r.next(u, a, ft); done {
			return st
		}
	}
}

// attempt connects (or reuses), sends and reads. It returns 0 when a
// response is to be passed to the client, or the ft_type of the failure.
func (r *run) attempt(u *ureq, a *Attempt, cached bool) (uint32, string) {
	c := u.pc.conn
	if !cached {
		if strings.HasPrefix(u.pc.sockaddr, "unix:") || strings.HasSuffix(u.pc.sockaddr, ":0") {
			a.Log = append(a.Log, "[crit] connect() failed")
			return ftError, OutcomeConnectError
		}
		if r.placeholder && u.pc.sockaddr == placeholderAddr && !r.placeholderListens {
			// The automatic placeholder: Linux refuses a connect to
			// 0.0.0.0/8 (lua-nginx-module t/138-balancer.t expects
			// "[crit] connect() to 0.0.0.1:80 failed" and 502). Config.Backends
			// can give it a policy when something does answer there.
			a.Log = append(a.Log, "[crit] connect() to "+placeholderAddr+" failed (22: Invalid argument)")
			return ftError, OutcomeConnectError
		}
		b, err := r.backendFor(u.pc.sockaddr)
		if err != nil {
			a.Log = append(a.Log, "[crit] connect() failed: "+err.Error())
			return ftError, OutcomeConnectError
		}
		nc, err := r.dial(u.ctx, u.connectTimeout, b.Addr())
		if err != nil {
			if isTimeout(err) && !u.aborted.Load() {
				return ftTimeout, OutcomeTimeout
			}
			if errors.Is(err, syscall.ECONNREFUSED) {
				// As nginx words it (ngx_event_connect_peer), without the
				// listener's address, which differs between transports.
				a.Log = append(a.Log, "[error] connect() failed (111: Connection refused) while connecting to upstream")
			} else {
				a.Log = append(a.Log, "[crit] connect() failed: "+err.Error())
			}
			return ftError, OutcomeConnectError
		}
		u.dials++
		c = &upConn{c: nc, br: bufio.NewReaderSize(nc, maxHeaderBytes), addr: u.pc.sockaddr, start: r.now()}
		u.pc.conn = c
	}
	u.setCur(c.c)
	defer u.setCur(nil)
	c.requests++ // since 1.15.3; harmless before

	// Send.
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/%s\r\nHost: %s\r\n", u.method, u.path, r.httpVersion, r.hostHeader())
	if r.connHeader != "" {
		fmt.Fprintf(&b, "Connection: %s\r\n", r.connHeader)
	}
	for _, h := range u.headers {
		// proxy_pass sends the client's headers but those it sets itself
		// (Host, Connection) and the body framing it recomputes.
		switch strings.ToLower(h[0]) {
		case "host", "connection", "content-length", "content-type", "transfer-encoding", "keep-alive", "te", "upgrade":
			continue
		}
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	if hasBody(u.method) {
		fmt.Fprintf(&b, "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s", len(postBody), postBody)
	} else {
		b.WriteString("\r\n")
	}
	u.requestSent = true
	c.c.SetWriteDeadline(time.Now().Add(u.sendTimeout))
	if _, err := io.WriteString(c.c, b.String()); err != nil {
		c.broken = true
		return classifyIOErr(u, a, err, "while sending request to upstream")
	}
	u.writes++
	u.requestBodySent = true

	// Read the response header.
	c.c.SetReadDeadline(time.Now().Add(u.readTimeout))
	m, err := readHead(c.br, false)
	if err != nil {
		c.broken = true
		switch {
		case errors.Is(err, errTooBig):
			a.Log = append(a.Log, "[error] upstream sent too big header")
			return ftInvalidHeader, OutcomeInvalid
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			a.Log = append(a.Log, "[error] upstream prematurely closed connection while reading response header from upstream")
			return ftError, OutcomeClosed
		case strings.HasPrefix(err.Error(), "malformed"):
			a.Log = append(a.Log, "[error] upstream sent invalid header: "+err.Error())
			return ftInvalidHeader, OutcomeInvalid
		}
		return classifyIOErr(u, a, err, "while reading response header from upstream")
	}
	a.Status = m.Status
	u.states[len(u.states)-1] = m.Status
	if ft := r.testNext(u, m.Status); ft != 0 {
		c.broken = true
		return ft, OutcomeNextStatus
	}
	// Read the body; u->keepalive is set only for an HTTP/1.1 response
	// without Connection: close whose body was read to its end.
	n, lerr := bodyLength(m, false)
	switch {
	case lerr != nil:
		c.broken = true
		u.keepaliveWhy = "bad response length"
	default:
		if _, err := readBody(c.br, n); err != nil {
			c.broken = true
			u.keepaliveWhy = "response body not fully read"
			a.Log = append(a.Log, "[error] upstream prematurely closed connection while reading upstream")
			break
		}
		switch {
		case m.Proto != "HTTP/1.1":
			u.keepaliveWhy = "HTTP/1.0 response"
		case m.hasToken("Connection", "close"):
			u.keepaliveWhy = "response has Connection: close"
		case n == -2:
			u.keepaliveWhy = "response without length"
		case m.Status == 101:
			u.keepaliveWhy = "101 response"
		default:
			u.keepalive = true
		}
	}
	return 0, OutcomeResponse
}

func (r *run) hostHeader() string {
	if r.cfg.Upstream.Name != "" {
		return r.cfg.Upstream.Name
	}
	return "backend"
}

func classifyIOErr(u *ureq, a *Attempt, err error, where string) (uint32, string) {
	if u.aborted.Load() {
		return ftError, OutcomeClientAbort
	}
	if isTimeout(err) {
		a.Log = append(a.Log, "[error] upstream timed out "+where)
		return ftTimeout, OutcomeTimeout
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		a.Log = append(a.Log, "[error] connection reset by peer "+where)
		return ftError, OutcomeReset
	}
	a.Log = append(a.Log, "[error] "+err.Error()+" "+where)
	return ftError, OutcomeClosed
}

// nextErrors is ngx_http_upstream_next_errors: the statuses test_next can
// turn into a retry.
func (r *run) nextErrorMask(status int) uint32 {
	switch status {
	case 500:
		return ftHTTP500
	case 502:
		return ftHTTP502
	case 503:
		return ftHTTP503
	case 504:
		return ftHTTP504
	case 403:
		return ftHTTP403
	case 404:
		return ftHTTP404
	case 429:
		// http_429 exists since 1.11.13 (ca1a5057e).
		if r.prof.Nginx.AtLeast("1.11.13") {
			return ftHTTP429
		}
	}
	return 0
}

// testNext is ngx_http_upstream_test_next for the status part.
func (r *run) testNext(u *ureq, status int) uint32 {
	un := r.nextErrorMask(status)
	if un == 0 {
		return 0
	}
	timeout := r.cfg.Location.NextUpstreamTimeout.V
	elapsed := timeout > 0 && r.now().Sub(u.start) >= timeout
	if r.prof.Nginx.AtLeast("1.13.11") {
		// d90a75b7c: the same checks next() applies, so that the
		// upstream's own response passes through when no retry is possible.
		mask := un
		if u.requestSent && nonIdempotent(u.method) {
			mask |= ftNonIdempotent
		}
		if u.tries > 1 && r.mask&mask == mask && !(u.requestSent && u.bodyNoBuffering) && !elapsed {
			return un
		}
		return 0
	}
	if u.tries > 1 && r.mask&un != 0 {
		return un
	}
	return 0
}

func nonIdempotent(m string) bool { return m == "POST" || m == "LOCK" || m == "PATCH" }

// mapStatus is the ft_type -> status switch of ngx_http_upstream_next.
func (r *run) mapStatus(ft uint32) int {
	n := r.prof.Nginx
	switch ft {
	case ftTimeout:
		return 504
	case ftHTTP504:
		// 503/504 map to themselves since 1.13.7 (f1be23bc8).
		if n.AtLeast("1.13.7") {
			return 504
		}
	case ftHTTP500:
		return 500
	case ftHTTP503:
		if n.AtLeast("1.13.7") {
			return 503
		}
	case ftHTTP403:
		return 403
	case ftHTTP404:
		return 404
	case ftHTTP429:
		return 429
	}
	return 502
}

// next is ngx_http_upstream_next. It returns done=true with the final
// status when nginx gives up.
func (r *run) next(u *ureq, a *Attempt, ft uint32) (finalStatus, bool) {
	a.FT = ftName(ft)
	if u.pc.sockaddr != "" {
		state := peerFailed
		if ft == ftHTTP403 || ft == ftHTTP404 {
			state = peerNext
		}
		r.free(u, state)
		u.pc.sockaddr = ""
	}
	if ft == ftTimeout {
		a.Log = append(a.Log, "[error] upstream timed out")
	}
	var status int
	if r.prof.Nginx.Less("1.9.13") {
		// Up to 1.9.12 an error on a cached connection sets status 0 and
		// tries++, and the checks on tries, mask and timeout below are
		// skipped: the retry is unconditional (NGX-CACHED-BYPASS; changed
		// by 5a76856dc in 1.9.13).
		if u.pc.cached && ft == ftError && (!u.requestSent || !u.bodyNoBuffering) {
			u.tries++
			a.Log = append(a.Log, "cached connection error: tries++ and retry unconditionally (nginx < 1.9.13)")
		} else {
			status = r.mapStatus(ft)
		}
	} else {
		if u.pc.cached && ft == ftError {
			// "TODO: inform balancer instead"
			u.tries++
			a.Log = append(a.Log, "cached connection error: tries++")
			if r.notify {
				// OpenResty's balancer_pool_max_retry patch: notify
				// decrements tries whichever pool the connection came from
				// (OR-NOTIFY-STALE-502).
				u.tries--
				a.Log = append(a.Log, "notify(CACHED_CONNECTION_ERROR): tries--")
			}
		}
		status = r.mapStatus(ft)
	}
	a.TriesLeft = u.tries
	if u.aborted.Load() {
		return r.finalize(u, 499, "client closed the connection: finalize 499"), true
	}
	if status != 0 {
		u.states[len(u.states)-1] = status
		timeout := r.cfg.Location.NextUpstreamTimeout.V
		elapsed := timeout > 0 && r.now().Sub(u.start) >= timeout
		var why string
		if r.prof.Nginx.AtLeast("1.9.13") {
			if u.requestSent && nonIdempotent(u.method) {
				// 4618c03f4 (1.9.13): POST/LOCK/PATCH need non_idempotent.
				ft |= ftNonIdempotent
			}
			switch {
			case u.tries == 0:
				why = "tries == 0"
			case r.mask&ft != ft:
				why = fmt.Sprintf("proxy_next_upstream does not allow %s", ftName(ft&^r.mask))
			}
		} else {
			switch {
			case u.tries == 0:
				why = "tries == 0"
			case r.mask&ft == 0:
				why = fmt.Sprintf("proxy_next_upstream does not allow %s", ftName(ft))
			}
		}
		switch {
		case why != "":
		case u.requestSent && u.bodyNoBuffering:
			why = "unbuffered request body already sent"
		case elapsed:
			why = "proxy_next_upstream_timeout elapsed"
		}
		if why != "" {
			return r.finalize(u, status, fmt.Sprintf("finalize %d: %s", status, why)), true
		}
	}
	if u.pc.conn != nil {
		u.pc.conn.close()
		u.pc.conn = nil
	}
	return finalStatus{}, false
}

// finalize is ngx_http_upstream_finalize_request.
func (r *run) finalize(u *ureq, status int, why string) finalStatus {
	if u.pc.sockaddr != "" {
		r.free(u, 0)
		u.pc.sockaddr = ""
	}
	if u.pc.conn != nil {
		u.pc.conn.close()
		u.pc.conn = nil
	}
	u.cur = nil
	u.why = why
	if status == 499 {
		return finalStatus{code: 499}
	}
	return finalStatus{code: status, send: true}
}
