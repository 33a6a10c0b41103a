package emulator

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// PolicyKind is how an emulated backend treats the requests it reads.
type PolicyKind int

// The backend policies. The zero value is PolicyOK, so a zero Policy is a
// well-behaved server.
const (
	// PolicyOK answers every request with 200, a small body with
	// Content-Length, and keeps the connection open (HTTP/1.1 keep-alive)
	// unless the request asked for Connection: close or was HTTP/1.0 without
	// keep-alive, as any conforming HTTP/1.1 server does.
	PolicyOK PolicyKind = iota
	// PolicyFirstOnly is the seed's server: the very first request this
	// backend reads gets 200 keep-alive; every later request, on any
	// connection, is read and then the connection is closed without a
	// response.
	PolicyFirstOnly
	// PolicyOnePerConn answers the first request on each connection with 200
	// keep-alive and closes the connection when a second request arrives on
	// it (after reading it).
	PolicyOnePerConn
	// PolicyClose reads each request, then closes without a response.
	PolicyClose
	// PolicyReset reads each request, then resets the connection (RST via
	// SO_LINGER 0).
	PolicyReset
	// PolicyHang reads each request and never answers; the connection stays
	// open until the client closes it or the backend is closed.
	PolicyHang
	// PolicyStatus answers every request with Policy.Status, keep-alive.
	PolicyStatus
	// PolicyOKClose answers 200 with "Connection: close" and closes: the
	// connection is never pooled (the proxy module clears u->keepalive).
	PolicyOKClose
	// PolicyInvalidHeader answers with a header line nginx's
	// ngx_http_parse_header_line rejects (it starts with ':'), so the
	// proxy module logs "upstream sent invalid header" (FT_INVALID_HEADER),
	// and closes.
	PolicyInvalidHeader
	// PolicyBigHeader answers 200 with a 16 KiB header field, more than
	// proxy_buffer_size (one page): "upstream sent too big header"
	// (FT_INVALID_HEADER).
	PolicyBigHeader
	// PolicyBigBody answers 200 keep-alive with a 256 KiB body, more than
	// the default proxy_buffers (8 pages), which nginx spills to a temporary
	// file; the connection can still be pooled.
	PolicyBigBody
	// PolicySlow waits Policy.Delay after reading each request, then
	// answers 200 keep-alive: a slow header, for proxy_read_timeout and
	// proxy_next_upstream_timeout.
	PolicySlow
	// PolicyRefused is nothing listening: the address was bound and
	// released, so a connect is refused (what a Lua set_current_peer to a
	// dead port gives).
	PolicyRefused
	// PolicyAcceptClose accepts each connection and closes it at once,
	// before reading anything: a listener whose service is wedged, or a
	// TCP load balancer in front of no healthy node.
	PolicyAcceptClose
	// PolicyEcho answers every request with 200 keep-alive, as PolicyOK,
	// and a body that is the request head it read (EchoHead: the request
	// line and the header lines, at most echoMaxBody bytes), so that a
	// client of the proxy can see what the proxy sent upstream
	// (proxy_set_header). Each request header named ReflectPrefix+NAME
	// (at most echoMaxReflect of them) comes back as a response header
	// NAME with the same value, so that a request can make the backend
	// send a header the proxy may hide (proxy_hide_header). A FastCGI
	// request (fastcgi_pass) gets 200 and a body listing the params it
	// carried (ParamsEcho), for fastcgi_param; so do uwsgi
	// and SCGI requests (uwsgi_param, scgi_param). There the client's
	// reflect headers arrive as ParamReflectPrefix params and come back
	// as response headers too (ReflectedParams), for *_hide_header.
	PolicyEcho
)

// Sizes of the big-header and big-body answers: past nginx's
// proxy_buffer_size (4 KiB on x86_64; the emulator's maxHeaderBytes is
// 8 KiB) and its proxy_buffers 8 x 4 KiB.
const (
	bigHeaderBytes = 16 << 10
	bigBodyBytes   = 256 << 10
)

// Policy is a backend behaviour, as written on the command line.
type Policy struct {
	Kind   PolicyKind
	Status int           // for PolicyStatus: 100..599
	Delay  time.Duration // for PolicySlow: 1ms..1m
}

// String returns the policy in ParsePolicy's syntax.
func (p Policy) String() string {
	switch p.Kind {
	case PolicyOK:
		return "ok"
	case PolicyFirstOnly:
		return "first-only"
	case PolicyOnePerConn:
		return "one-per-conn"
	case PolicyClose:
		return "close"
	case PolicyReset:
		return "reset"
	case PolicyHang:
		return "hang"
	case PolicyStatus:
		return "status:" + strconv.Itoa(p.Status)
	case PolicyOKClose:
		return "ok-close"
	case PolicyInvalidHeader:
		return "invalid-header"
	case PolicyBigHeader:
		return "big-header"
	case PolicyBigBody:
		return "big-body"
	case PolicySlow:
		return "slow:" + p.Delay.String()
	case PolicyRefused:
		return "refused"
	case PolicyAcceptClose:
		return "accept-close"
	case PolicyEcho:
		return "echo"
	}
	return fmt.Sprintf("policy(%d)", int(p.Kind))
}

// PolicyNames lists the accepted policy spellings, for help texts.
func PolicyNames() []string {
	return []string{"ok", "first-only", "one-per-conn", "close", "reset", "hang", "status:NNN",
		"ok-close", "invalid-header", "big-header", "big-body", "slow:DURATION", "refused", "accept-close", "echo"}
}

// ParsePolicy parses one of PolicyNames.
func ParsePolicy(s string) (Policy, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch t {
	case "ok":
		return Policy{Kind: PolicyOK}, nil
	case "first-only":
		return Policy{Kind: PolicyFirstOnly}, nil
	case "one-per-conn":
		return Policy{Kind: PolicyOnePerConn}, nil
	case "close":
		return Policy{Kind: PolicyClose}, nil
	case "reset":
		return Policy{Kind: PolicyReset}, nil
	case "hang":
		return Policy{Kind: PolicyHang}, nil
	case "ok-close":
		return Policy{Kind: PolicyOKClose}, nil
	case "invalid-header":
		return Policy{Kind: PolicyInvalidHeader}, nil
	case "big-header":
		return Policy{Kind: PolicyBigHeader}, nil
	case "big-body":
		return Policy{Kind: PolicyBigBody}, nil
	case "refused":
		return Policy{Kind: PolicyRefused}, nil
	case "accept-close":
		return Policy{Kind: PolicyAcceptClose}, nil
	case "echo":
		return Policy{Kind: PolicyEcho}, nil
	}
	if rest, ok := strings.CutPrefix(t, "slow:"); ok {
		d, err := time.ParseDuration(rest)
		if err != nil || d < time.Millisecond || d > time.Minute {
			return Policy{}, fmt.Errorf("backend policy %q: want slow:DURATION from 1ms to 1m, e.g. slow:300ms", s)
		}
		return Policy{Kind: PolicySlow, Delay: d}, nil
	}
	if rest, ok := strings.CutPrefix(t, "status:"); ok {
		n, err := strconv.Atoi(rest)
		if err != nil || n < 100 || n > 599 {
			return Policy{}, fmt.Errorf("backend policy %q: status must be a number from 100 to 599", s)
		}
		return Policy{Kind: PolicyStatus, Status: n}, nil
	}
	return Policy{}, fmt.Errorf("unknown backend policy %q (want one of %s)", s, strings.Join(PolicyNames(), ", "))
}

// BackendStats are a backend's counters: connections accepted and requests
// fully read (including the body).
type BackendStats struct {
	Address     string `json:"address"`
	Policy      string `json:"policy"`
	Connections int    `json:"connections"`
	Requests    int    `json:"requests"`
}

// PeerLog records, across the backends of one run, which backend read each
// request, in order: the sequence of peers an upstream request reached. It
// is safe for concurrent use.
type PeerLog struct {
	mu    sync.Mutex
	names []string
}

func (l *PeerLog) add(name string) {
	l.mu.Lock()
	l.names = append(l.names, name)
	l.mu.Unlock()
}

// Len is the number of requests recorded so far.
func (l *PeerLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.names)
}

// Since returns the names recorded after the first n.
func (l *PeerLog) Since(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n >= len(l.names) {
		return nil
	}
	return append([]string(nil), l.names[n:]...)
}

type peerLogEntry struct {
	log  *PeerLog
	name string
}

// Backend is a misbehaving HTTP/1.1 server on 127.0.0.1 (or on a fake
// 127.0.0.1 address of the in-memory transport) with its own counters;
// a connection that opens in another protocol (FastCGI, SCGI, uwsgi:
// protocolOf) is served in it under the same policy. It is safe for concurrent use.
type Backend struct {
	policy Policy
	ln     net.Listener
	label  string

	conns    atomic.Int64
	requests atomic.Int64
	peerLog  atomic.Pointer[peerLogEntry]

	// tlsConf is set for a TLS backend (StartTLSBackend): each
	// connection starts with a handshake under tlsLimits, recorded in
	// handshakes.
	tlsConf    *tls.Config
	tlsLimits  atomic.Pointer[TLSProbe]
	handshakes []TLSOutcome // guarded by mu
	shaking    atomic.Int64

	mu     sync.Mutex
	open   map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
	stop   chan struct{}
	once   sync.Once
}

// StartBackend listens on 127.0.0.1:0 (TCP, for a real nginx to reach) and
// serves p until Close is called or ctx is done.
func StartBackend(ctx context.Context, p Policy) (*Backend, error) {
	return startBackend(ctx, p, tcpNet{})
}

// startBackend serves p on a new listener of n; the options set up the
// backend before it accepts.
func startBackend(ctx context.Context, p Policy, n network, opts ...func(*Backend)) (*Backend, error) {
	if p.Kind == PolicyStatus && (p.Status < 100 || p.Status > 599) {
		return nil, fmt.Errorf("backend policy status:%d: status must be from 100 to 599", p.Status)
	}
	ln, err := n.listen(ctx)
	if err != nil {
		return nil, fmt.Errorf("start backend %s: %w", p, err)
	}
	b := &Backend{policy: p, ln: ln, open: map[net.Conn]struct{}{}, stop: make(chan struct{})}
	b.label = ln.Addr().String()
	for _, o := range opts {
		o(b)
	}
	if p.Kind == PolicyRefused {
		// Bound and released: connects to the address are refused. The
		// accept loop below ends at once.
		ln.Close()
	}
	b.wg.Add(2)
	go b.acceptLoop()
	go func() {
		defer b.wg.Done()
		select {
		case <-ctx.Done():
			b.shutdown()
		case <-b.stop:
		}
	}()
	return b, nil
}

// LogTo makes the backend record name in l for every request it reads.
func (b *Backend) LogTo(l *PeerLog, name string) {
	b.peerLog.Store(&peerLogEntry{log: l, name: name})
}

// Addr returns the host:port the backend listens on.
func (b *Backend) Addr() string { return b.ln.Addr().String() }

// Policy returns the backend's policy.
func (b *Backend) Policy() Policy { return b.policy }

// Stats returns the counters so far. Address is the listening address.
func (b *Backend) Stats() BackendStats {
	return BackendStats{
		Address:     b.label,
		Policy:      b.policy.String(),
		Connections: int(b.conns.Load()),
		Requests:    int(b.requests.Load()),
	}
}

// Close stops listening, closes every connection and waits for all of the
// backend's goroutines to end.
func (b *Backend) Close() error {
	b.shutdown()
	b.wg.Wait()
	return nil
}

func (b *Backend) shutdown() {
	b.once.Do(func() {
		close(b.stop)
		b.mu.Lock()
		b.closed = true
		for c := range b.open {
			c.Close()
		}
		b.mu.Unlock()
		b.ln.Close()
	})
}

func (b *Backend) acceptLoop() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			c.Close()
			return
		}
		b.open[c] = struct{}{}
		b.wg.Add(1)
		b.mu.Unlock()
		b.conns.Add(1)
		go b.serve(c)
	}
}

func (b *Backend) forget(c net.Conn) {
	b.mu.Lock()
	delete(b.open, c)
	b.mu.Unlock()
	c.Close()
}

// wireProto is the protocol a backend connection speaks.
type wireProto int

const (
	protoHTTP wireProto = iota
	protoFastCGI
	protoSCGI
	protoUwsgi
)

// protocolOf tells from the first byte a connection sends which
// protocol the proxying module speaks, so that one backend answers every
// *_pass and the engine need not know which of them reaches an address:
//   - 1 is FastCGI: a record's version (fcgi.go);
//   - '0' to '9' is SCGI: a netstring's length (cgi.go);
//   - a token character (RFC 9110 tchar: letters, digits, and
//     !#$%&'*+-.^_`|~) is HTTP/1.x, whose request line starts with a
//     method, and HTTP/2 with prior knowledge (grpc_pass), whose preface
//     "PRI * HTTP/2.0" the HTTP server recognises;
//   - any other byte is uwsgi, whose packet opens with uwsgi_modifier1:
//     0 by default (WSGI), and the other request plugins' modifiers
//     (5 PSGI, 6 Lua, 7 Rack...) are below 0x20 too.
//
// The classes are disjoint: 1 is no tchar, and digits are claimed by
// SCGI before tchar (no HTTP method starts with a digit). A
// uwsgi_modifier1 of 1, of a digit or of a tchar would be taken for
// another protocol.
func protocolOf(first byte) wireProto {
	switch {
	case first == 1:
		return protoFastCGI
	case first >= '0' && first <= '9':
		return protoSCGI
	case isToken(string([]byte{first})):
		return protoHTTP
	}
	return protoUwsgi
}

func (b *Backend) serve(c net.Conn) {
	defer b.wg.Done()
	defer b.forget(c)
	if b.policy.Kind == PolicyAcceptClose {
		return
	}
	if b.tlsConf != nil {
		if c = b.startTLS(c); c == nil {
			return
		}
	}
	br := bufio.NewReaderSize(c, 4096)
	first, err := br.Peek(1)
	if err != nil {
		return
	}
	switch protocolOf(first[0]) {
	case protoFastCGI:
		b.serveFastCGI(c, br)
		return
	case protoSCGI:
		b.serveSCGI(c, br)
		return
	case protoUwsgi:
		b.serveUwsgi(c, br)
		return
	}
	if first[0] == h2Preface[0] {
		// At least as many bytes as the shortest request line starting
		// with 'P' has ("P / HTTP/1.0\r\n"), so the peek does not wait
		// for bytes an HTTP/1 client would never send.
		if p, err := br.Peek(len(h2Preface)); err == nil && string(p) == h2Preface {
			b.serveH2C(c, br)
			return
		}
	}
	perConn := 0
	for {
		req, err := readHead(br, true)
		if err != nil {
			return
		}
		n, err := bodyLength(req, true)
		if err != nil {
			return
		}
		if _, err := readBody(br, n); err != nil {
			return
		}
		// Count before acting, so that whoever sees the reaction (a
		// response, EOF or RST) also sees the request counted.
		total := b.requests.Add(1)
		if e := b.peerLog.Load(); e != nil {
			e.log.add(e.name)
		}
		perConn++
		wantsClose := req.hasToken("Connection", "close") ||
			(req.Proto == "HTTP/1.0" && !req.hasToken("Connection", "keep-alive"))

		switch b.policy.Kind {
		case PolicyOK:
			if !b.respond(c, 200, wantsClose, total) || wantsClose {
				return
			}
		case PolicyEcho:
			if !b.respondEcho(c, req, wantsClose) || wantsClose {
				return
			}
		case PolicyStatus:
			if !b.respond(c, b.policy.Status, wantsClose, total) || wantsClose {
				return
			}
		case PolicyFirstOnly:
			if total != 1 {
				return
			}
			if !b.respond(c, 200, wantsClose, total) || wantsClose {
				return
			}
		case PolicyOnePerConn:
			if perConn > 1 {
				return
			}
			if !b.respond(c, 200, wantsClose, total) || wantsClose {
				return
			}
		case PolicyClose:
			return
		case PolicyReset:
			switch tc := c.(type) {
			case *net.TCPConn:
				_ = tc.SetLinger(0)
			case *tls.Conn:
				if t, ok := tc.NetConn().(*net.TCPConn); ok {
					_ = t.SetLinger(0)
				}
			case *memConn:
				tc.reset()
			}
			return
		case PolicyOKClose:
			b.respond(c, 200, true, total)
			return
		case PolicyInvalidHeader:
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n:no-name\r\n\r\n"))
			return
		case PolicyBigHeader:
			var sb strings.Builder
			sb.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Big: ")
			sb.WriteString(strings.Repeat("x", bigHeaderBytes))
			sb.WriteString("\r\n\r\n")
			c.Write([]byte(sb.String()))
			return
		case PolicyBigBody:
			hdr := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n", bigBodyBytes)
			if wantsClose {
				hdr += "Connection: close\r\n"
			}
			if _, err := c.Write([]byte(hdr + "\r\n" + strings.Repeat("b", bigBodyBytes))); err != nil || wantsClose {
				return
			}
		case PolicySlow:
			select {
			case <-b.stop:
				return
			case <-time.After(b.policy.Delay):
			}
			if !b.respond(c, 200, wantsClose, total) || wantsClose {
				return
			}
		case PolicyHang:
			// Never answer; wait for the peer to go away or for Close.
			buf := make([]byte, 512)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
			}
		default:
			return
		}
	}
}

var statusText = map[int]string{
	200: "OK", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests",
	500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
	504: "Gateway Time-out",
}

func reason(code int) string {
	if s, ok := statusText[code]; ok {
		return s
	}
	return "Status"
}

// respond sends the answer of a policy that is not echo to the backend's
// n-th request.
func (b *Backend) respond(c net.Conn, code int, closing bool, n int64) bool {
	return b.write(c, code, closing, b.defaultBody(n), nil)
}

// defaultBody is the body every protocol's answer carries when the policy
// is not echo: which backend answered which request.
func (b *Backend) defaultBody(n int64) string {
	return fmt.Sprintf("%s from %s, request %d\n", b.policy, b.label, n)
}

// respondEcho is PolicyEcho's answer to req: its head as the body, and the
// headers it asks for (Reflected).
func (b *Backend) respondEcho(c net.Conn, req *message, closing bool) bool {
	hs := make([]Header, len(req.Header))
	for i, h := range req.Header {
		hs[i] = Header{Name: h[0], Value: h[1]}
	}
	return b.write(c, 200, closing, EchoHead(req.Method+" "+req.Target+" "+req.Proto, hs), Reflected(hs))
}

// write sends an HTTP/1.1 answer: the status, Content-Type, Content-Length,
// extra, Connection: close when closing, then body.
func (b *Backend) write(c net.Conn, code int, closing bool, body string, extra []Header) bool {
	var sb strings.Builder
	fmt.Fprintf(&sb, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n", code, reason(code), len(body))
	for _, h := range extra {
		fmt.Fprintf(&sb, "%s: %s\r\n", h.Name, h.Value)
	}
	if closing {
		sb.WriteString("Connection: close\r\n")
	}
	sb.WriteString("\r\n")
	sb.WriteString(body)
	_, err := c.Write([]byte(sb.String()))
	return err == nil
}
