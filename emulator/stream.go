package emulator

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// Stream holds what only a stream{} server has. The run's Upstream and its
// balancer machinery (round robin, hash, random, least_conn, the Lua
// balancer) are the http ones: ngx_stream_upstream_round_robin.c is the
// same algorithm as ngx_http_upstream_round_robin.c at every release this
// emulator models (nginx release-1.22.1), peers->single and the tries
// counting included.
//
// What differs is ngx_stream_proxy_module (release-1.22.1, unchanged in
// this respect up to 1.29): ngx_stream_proxy_next_upstream is called only
// when connecting fails (connect() refused or unreachable, the
// proxy_connect_timeout timer, a failed TLS handshake with the upstream,
// a balancer returning NGX_DECLINED); once connected, whatever the
// upstream does (close at once, reset, never answer) ends the session
// with status 200 and is never retried. proxy_next_upstream is a flag
// (on|off), and a balancer returning NGX_BUSY ends the session with 502
// ("no live upstreams") without going through next_upstream.
type Stream struct {
	// ProxyTimeout is proxy_timeout, the idle time between two reads or
	// writes once connected (unset: nginxconf.StreamDefaultTimeout).
	ProxyTimeout Opt[time.Duration]
	// TriesPatch says the nginx build carries OpenResty's
	// stream_proxy_get_next_upstream_tries patch (an OpenResty profile
	// implies it: versions.Profile.StreamTriesPatch): only then does
	// stream-lua's set_more_tries know proxy_next_upstream_tries and
	// reduce the count to it (HAS_NGX_STREAM_PROXY_GET_NEXT_UPSTREAM_TRIES_PATCH
	// in stream-lua-nginx-module src/ngx_stream_lua_balancer.c, v0.0.2
	// to v0.0.17R4). Without it the limit is applied once, when the session
	// starts, and every set_more_tries adds to it unchecked.
	TriesPatch bool
}

// Stream session statuses (ngx_stream.h).
const (
	streamOK          = 200
	streamServerError = 500
	streamBadGateway  = 502
)

// streamClientPayload is what the emulated stream client sends: an HTTP
// request, so that the emulated backends (HTTP servers) count it and
// answer it, and a real nginx's stream proxy relays it unchanged.
func streamClientPayload(q Request) string {
	method := strings.ToUpper(q.Method)
	if method == "" {
		method = "GET"
	}
	path := q.Path
	if path == "" {
		path = "/"
	}
	return fmt.Sprintf("%s %s HTTP/1.1\r\nHost: emulated.test\r\nConnection: close\r\n\r\n", method, path)
}

// streamClient is the emulated TCP client: one connection, one request,
// then it reads until the proxy closes or Config.Timeout passes (when it
// gives up and closes, as a client with a deadline does).
func (r *run) streamClient(q Request, out chan<- clientResult) {
	c, err := r.dial(r.ctx, r.timeout, r.front.Addr().String())
	if err != nil {
		out <- clientResult{status: Status{Timeout: true}, errText: "client: " + err.Error()}
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(r.timeout))
	// A failed write means the proxy already closed: what it read back
	// says so.
	_, _ = io.WriteString(c, streamClientPayload(q))
	out <- readStreamAnswer(c, r.timeout)
}

// readStreamAnswer reads what a stream client gets back: an HTTP response
// relayed from a backend, nothing (the proxy closed), or no end before
// the deadline. The real nginx engine's stream client reads the same way.
func readStreamAnswer(c net.Conn, timeout time.Duration) clientResult {
	br := bufio.NewReader(c)
	if _, err := br.Peek(1); err != nil {
		if isTimeout(err) {
			return clientResult{status: Status{Timeout: true}, errText: fmt.Sprintf("client: nothing received within %s; it closed the connection", timeout)}
		}
		return clientResult{status: Status{Closed: true}}
	}
	m, err := readHead(br, false)
	if err != nil {
		return clientResult{status: Status{Closed: true}, errText: "client: the connection ended inside a response header"}
	}
	if n, err := bodyLength(m, false); err == nil {
		readBody(br, n)
	}
	return clientResult{status: Status{Code: m.Status}}
}

// streamAddrCheck refuses a stream upstream server without a port: nginx
// rejects it at load time ("no port in upstream", ngx_stream_upstream_server).
func streamAddrCheck(up Upstream) error {
	for _, s := range up.Servers {
		a := strings.TrimSpace(s.Addr)
		if strings.HasPrefix(a, "unix:") {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("upstream %q: no port in upstream %q (a stream server needs host:port)", up.Name, a)
		}
	}
	return nil
}

// isZeroNet reports whether a normalised peer address is in 0.0.0.0/8,
// which Linux refuses to connect to (EINVAL): the placeholder
// `server 0.0.0.1:PORT` that Lua-balanced upstreams carry.
func isZeroNet(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host).To4()
	return ip != nil && ip[0] == 0
}

// serveStream is one stream session (ngx_stream_proxy_handler and what
// follows it) for the client connection conn.
func (r *run) serveStream(u *ureq, conn net.Conn) {
	defer conn.Close()
	u.ctx = r.ctx
	loc := r.cfg.Location
	u.connectTimeout = loc.ConnectTimeout.Or(nginxconf.StreamDefaultConnectTimeout)
	u.rr = &rrData{peers: r.rr, tried: make([]bool, len(r.rr.peers))}
	r.initMethodPeer(u)
	u.tries = r.initTries(r.rr)
	u.start = r.now()
	// ngx_stream_proxy_handler caps tries at proxy_next_upstream_tries
	// right after peer.init, as http's init_request does.
	if n := loc.NextUpstreamTries.V; n > 0 && u.tries > uint64(n) {
		u.tries = uint64(n)
	}
	if st, done := r.streamPreread(u); done {
		u.session = st
		return
	}
	u.session = r.streamUpstream(u, conn)
}

// streamPreread runs the server's preread_by_lua* code before the proxy
// connects (stream-lua's preread handler, ngx_stream_lua_prereadby.c): a
// Lua error, ngx.exit(ngx.ERROR) or ngx.exit with a status ends the
// session with that status (500 for the first two); ngx.exit(ngx.OK) and
// the end of the code go on to the proxy. done is false when it goes on.
// (In real nginx the upstream is initialised only in the content phase,
// after preread; the tries computed above are not used before then.)
func (r *run) streamPreread(u *ureq) (int, bool) {
	if r.lua == nil {
		return 0, false
	}
	for _, p := range r.lua.preread {
		answer, status, err := r.lua.runPhase(u, phPreread, p)
		switch {
		case err != nil:
			msg := cleanLuaError(err.Error())
			u.luaErr = phPreread + ": " + firstLine(msg)
			u.log = append(u.log, "[error] failed to run "+phPreread+": "+msg)
			u.why = "preread_by_lua* failed: finalize 500"
			return streamServerError, true
		case answer != "":
			u.answeredBy = phPreread + " " + answer
			if status <= 0 {
				status = streamServerError
			}
			u.why = fmt.Sprintf("ended by %s with %d: the upstream is not reached", u.answeredBy, status)
			return status, true
		}
	}
	return 0, false
}

// streamUpstream is ngx_stream_proxy_connect and
// ngx_stream_proxy_next_upstream until the session ends; it returns the
// session status.
func (r *run) streamUpstream(u *ureq, conn net.Conn) int {
	for {
		if len(u.attempts) >= r.maxAtt {
			u.capped = true
			u.cur = nil
			u.why = fmt.Sprintf("stopped after %d attempts (max attempts): nginx would go on connecting", r.maxAtt)
			return 0
		}
		a := &Attempt{}
		u.attempts = append(u.attempts, a)
		u.cur = a
		u.states = append(u.states, 0)

		rc := r.get(u)
		a.Peer = u.pc.sockaddr
		switch {
		case rc == ngxError || rc >= 300:
			// ngx_stream_proxy_connect: NGX_ERROR finalizes with 500. A
			// status code from ngx.exit is not a stream return code.
			if a.Outcome == "" {
				a.Outcome = OutcomeLuaError
			}
			a.TriesLeft = u.tries
			return r.streamFinalize(u, streamServerError, "peer.get returned NGX_ERROR: finalize 500")
		case rc == ngxBusy:
			// Unlike http, no next_upstream: the session ends here. The
			// round robin names the attempt after the upstream
			// (pc->name = peers->name), which $upstream_addr shows.
			a.Peer = r.cfg.Upstream.Name
			a.Outcome = OutcomeNoLive
			a.Log = append(a.Log, "[error] no live upstreams")
			a.TriesLeft = u.tries
			return r.streamFinalize(u, streamBadGateway, "no live upstreams: finalize 502")
		case rc == ngxDeclined:
			a.Outcome = OutcomeLuaExit
			if st, done := r.streamNext(u, a); done {
				return st
			}
			continue
		}
		nc, outcome := r.streamConnect(u, a)
		if nc == nil {
			a.Outcome = outcome
			if st, done := r.streamNext(u, a); done {
				return st
			}
			continue
		}
		a.Outcome = OutcomeProxied
		r.streamProxy(u, a, conn, nc)
		a.TriesLeft = u.tries
		return r.streamFinalize(u, streamOK, "session proxied: finalize 200")
	}
}

// streamConnect is ngx_event_connect_peer plus the connect handler's
// checks: it returns the upstream connection, or nil and the outcome.
func (r *run) streamConnect(u *ureq, a *Attempt) (net.Conn, string) {
	addr := u.pc.sockaddr
	if strings.HasPrefix(addr, "unix:") || strings.HasSuffix(addr, ":0") {
		a.Log = append(a.Log, "[crit] connect() failed")
		return nil, OutcomeConnectError
	}
	if _, named := r.namedBackend(addr); isZeroNet(addr) && !named {
		a.Log = append(a.Log, "[crit] connect() to "+addr+" failed (22: Invalid argument)")
		return nil, OutcomeConnectError
	}
	b, err := r.backendFor(addr)
	if err != nil {
		a.Log = append(a.Log, "[crit] connect() failed: "+err.Error())
		return nil, OutcomeConnectError
	}
	nc, err := r.dial(u.ctx, u.connectTimeout, b.Addr())
	if err != nil {
		if isTimeout(err) {
			a.Log = append(a.Log, "[error] upstream timed out (110: Connection timed out) while connecting to upstream")
			return nil, OutcomeTimeout
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			a.Log = append(a.Log, "[error] connect() failed (111: Connection refused) while connecting to upstream")
		} else {
			a.Log = append(a.Log, "[crit] connect() failed: "+err.Error())
		}
		return nil, OutcomeConnectError
	}
	u.dials++
	return nc, ""
}

// namedBackend reports whether Config.Backends names addr.
func (r *run) namedBackend(addr string) (Policy, bool) {
	for k, p := range r.cfg.Backends {
		if NormAddr(k, 80) == addr || k == addr {
			return p, true
		}
	}
	return Policy{}, false
}

// streamProxy relays bytes both ways until one side ends the session
// (ngx_stream_proxy_process and ngx_stream_proxy_test_finalize without
// proxy_half_close: the first end of stream, reset or error on either
// side finalizes with 200) or until proxy_timeout passes with nothing to
// relay ("connection timed out", also 200).
func (r *run) streamProxy(u *ureq, a *Attempt, client, up net.Conn) {
	defer up.Close()
	idle := r.cfg.Stream.ProxyTimeout.Or(nginxconf.StreamDefaultTimeout)
	if u.proxyTimeout > 0 {
		idle = u.proxyTimeout
	}
	done := make(chan string, 2)
	// stopped ends a relay that is between two reads when the other one
	// ended the session: its next SetReadDeadline would otherwise undo
	// the past deadline that stops it.
	var stopped atomic.Bool
	relay := func(dst, src net.Conn, from string) {
		buf := make([]byte, 16<<10)
		for {
			src.SetReadDeadline(time.Now().Add(idle))
			if stopped.Load() {
				done <- "stopped"
				return
			}
			n, err := src.Read(buf)
			if n > 0 {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					done <- "writing to the " + map[string]string{"upstream": "client", "client": "upstream"}[from] + " failed"
					return
				}
			}
			if err != nil {
				switch {
				case isTimeout(err):
					done <- "connection timed out (proxy_timeout)"
				case errors.Is(err, syscall.ECONNRESET):
					done <- "recv() failed (104: Connection reset by peer) from the " + from
				default:
					done <- from + " disconnected"
				}
				return
			}
		}
	}
	go relay(up, client, "client")
	go relay(client, up, "upstream")
	why := <-done
	// The session is over: stop the other direction at once.
	stopped.Store(true)
	client.SetDeadline(time.Unix(1, 0))
	up.SetDeadline(time.Unix(1, 0))
	<-done
	a.Log = append(a.Log, why)
}

// streamNext is ngx_stream_proxy_next_upstream: it returns done=true with
// the session status when nginx gives up.
func (r *run) streamNext(u *ureq, a *Attempt) (int, bool) {
	a.FT = "error"
	if a.Outcome == OutcomeTimeout {
		a.FT = "timeout"
	}
	if u.pc.sockaddr != "" {
		r.free(u, peerFailed)
		u.pc.sockaddr = ""
	}
	a.TriesLeft = u.tries
	timeout := r.cfg.Location.NextUpstreamTimeout.V
	var why string
	switch {
	case u.tries == 0:
		why = "tries == 0"
	case r.mask == ftOff:
		why = "proxy_next_upstream off"
	case timeout > 0 && r.now().Sub(u.start) >= timeout:
		why = "proxy_next_upstream_timeout elapsed"
	}
	if why != "" {
		return r.streamFinalize(u, streamBadGateway, "finalize 502: "+why), true
	}
	return 0, false
}

// streamFinalize is ngx_stream_proxy_finalize: the peer is freed with
// state 0 if it is still held.
func (r *run) streamFinalize(u *ureq, status int, why string) int {
	if u.pc.sockaddr != "" {
		r.free(u, 0)
		u.pc.sockaddr = ""
	}
	u.cur = nil
	u.why = why
	return status
}

// StreamSession is the emulated stream client as a function, for engines
// that run a real nginx: it connects to addr (a 127.0.0.1 listener of the
// caller's nginx; any other address is refused), sends q as the emulator's
// client does and returns what it read back.
func StreamSession(addr string, q Request, timeout time.Duration) (Status, error) {
	if !isLoopbackAddr(addr) {
		return Status{}, fmt.Errorf("stream client: refusing to dial %s: only 127.0.0.1 listeners", addr)
	}
	c, err := net.DialTimeout("tcp4", addr, timeout)
	if err != nil {
		return Status{}, fmt.Errorf("stream client: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	_, _ = io.WriteString(c, streamClientPayload(q))
	return readStreamAnswer(c, timeout).status, nil
}

// buildStreamBalancer is ngx.balancer as lua-resty-core gives it to the
// stream subsystem (lib/ngx/balancer.lua, its stream branch, over
// stream-lua's FFI functions): set_current_peer refuses a host argument,
// enable_keepalive raises (d981e1b; recreate_request and set_upstream_tls
// do not exist), and set_timeouts needs OpenResty's
// stream_proxy_timeout_fields nginx patch (without it stream-lua answers
// "required Nginx patch not present, API disabled"); with it the connect
// timeout and proxy_timeout (the larger of send and read) are set.
func (e *luaEngine) buildStreamBalancer() *lua.LTable {
	L := e.L
	m := L.NewTable()
	m.RawSetString("set_current_peer", L.NewFunction(func(L *lua.LState) int {
		if L.Get(3) != lua.LNil {
			L.RaiseError("bad argument #3 to 'set_current_peer' ('host' not yet implemented in stream subsystem)")
		}
		return e.setCurrentPeer(L)
	}))
	m.RawSetString("set_more_tries", L.NewFunction(e.setMoreTries))
	m.RawSetString("get_last_failure", L.NewFunction(e.getLastFailure))
	m.RawSetString("enable_keepalive", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("'enable_keepalive' not yet implemented in stream subsystem")
		return 0
	}))
	m.RawSetString("set_timeouts", L.NewFunction(func(L *lua.LState) int {
		if e.u == nil {
			L.RaiseError("no request found")
		}
		if !e.r.prof.StreamTriesPatch() {
			// The bundles that apply stream_proxy_get_next_upstream_tries
			// apply stream_proxy_timeout_fields too (util/mirror-tarballs).
			L.Push(lua.LNil)
			L.Push(lua.LString("required Nginx patch not present, API disabled"))
			return 2
		}
		e.u.sendTimeout, e.u.readTimeout = 0, 0
		n := e.setTimeouts(L)
		if d := max(e.u.sendTimeout, e.u.readTimeout); d > 0 {
			e.u.proxyTimeout = d
		}
		return n
	}))
	return m
}
