package emulator

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Transport is how the emulated client, the emulated nginx and the
// emulated backends are connected.
type Transport int

const (
	// TransportMemory (the default) connects them with in-process
	// connections: no socket, no bind(), no port. The connections model the
	// loopback TCP behaviour the emulator observes (buffered full-duplex
	// streams, EOF after a close, ECONNRESET after a reset or a close with
	// unread data, deadlines), so a Result is the same as with
	// TransportTCP. It also runs where no socket can be opened (js/wasm).
	TransportMemory Transport = iota
	// TransportTCP uses real listeners on 127.0.0.1, as a real nginx
	// would need (the differential tests against nginx, `emulate
	// --transport tcp`).
	TransportTCP
)

// String returns the transport in ParseTransport's syntax.
func (t Transport) String() string {
	switch t {
	case TransportMemory:
		return "memory"
	case TransportTCP:
		return "tcp"
	}
	return "transport(" + strconv.Itoa(int(t)) + ")"
}

// TransportNames lists the accepted transport spellings, for help texts.
func TransportNames() []string { return []string{"memory", "tcp"} }

// ParseTransport parses "memory" or "tcp".
func ParseTransport(s string) (Transport, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "memory":
		return TransportMemory, nil
	case "tcp":
		return TransportTCP, nil
	}
	return 0, fmt.Errorf("unknown emulator transport %q (want one of %s)", s, strings.Join(TransportNames(), ", "))
}

// network is what a run listens and dials on. Callers check addresses
// (run.dial's loopback guard) before dialling.
type network interface {
	listen(ctx context.Context) (net.Listener, error)
	dial(ctx context.Context, timeout time.Duration, addr string) (net.Conn, error)
}

func newNetwork(t Transport) (network, error) {
	switch t {
	case TransportMemory:
		return newMemNet(), nil
	case TransportTCP:
		return tcpNet{}, nil
	}
	return nil, fmt.Errorf("unknown emulator transport %d", int(t))
}

// tcpNet is loopback TCP.
type tcpNet struct{}

func (tcpNet) listen(ctx context.Context) (net.Listener, error) {
	var lc net.ListenConfig
	return lc.Listen(ctx, "tcp4", "127.0.0.1:0")
}

func (tcpNet) dial(ctx context.Context, timeout time.Duration, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	return d.DialContext(ctx, "tcp4", addr)
}

// memFirstPort is the first fake port a memNet hands out: the start of
// Linux's ephemeral range (net.ipv4.ip_local_port_range), so the
// addresses look like the loopback ones TCP would give. They are allocated
// in order, so one run's addresses are the same every time.
const memFirstPort = 32768

// memBufSize bounds the bytes in flight in one direction of a memConn, as
// the socket buffers do; a writer blocks (with its deadline) when full.
const memBufSize = 256 << 10

// memNet is one run's in-memory network: listeners by their fake
// 127.0.0.1:port address.
type memNet struct {
	mu   sync.Mutex
	next int
	lns  map[string]*memListener
}

func newMemNet() *memNet { return &memNet{next: memFirstPort, lns: map[string]*memListener{}} }

func (n *memNet) addr() memAddr {
	a := memAddr("127.0.0.1:" + strconv.Itoa(n.next))
	n.next++
	return a
}

func (n *memNet) listen(ctx context.Context) (net.Listener, error) {
	if err := ctx.Err(); err != nil {
		return nil, &net.OpError{Op: "listen", Net: "tcp4", Err: err}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	l := &memListener{n: n, addr: n.addr()}
	n.lns[string(l.addr)] = l
	return l, nil
}

func (n *memNet) dial(ctx context.Context, _ time.Duration, addr string) (net.Conn, error) {
	// A loopback connect completes at once or is refused: the connect
	// timeout never runs out on 127.0.0.1, so only ctx is checked, as
	// net.Dialer does before it starts.
	if err := ctx.Err(); err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp4", Addr: memAddr(addr), Err: mapCtxErr(err)}
	}
	n.mu.Lock()
	l := n.lns[addr]
	local := n.addr()
	n.mu.Unlock()
	refused := &net.OpError{Op: "dial", Net: "tcp4", Addr: memAddr(addr), Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	if l == nil {
		return nil, refused
	}
	lk := &memLink{}
	client := &memConn{l: lk, side: 0, local: local, remote: l.addr}
	server := &memConn{l: lk, side: 1, local: l.addr, remote: local}
	// The handshake completes in the kernel before accept(): the dialer
	// does not wait for the server to accept, and a connection queued when
	// the listener closes is reset.
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, refused
	}
	l.queue = append(l.queue, server)
	l.wake.signal()
	l.mu.Unlock()
	return client, nil
}

// mapCtxErr is what net.Dialer reports for an ended context.
func mapCtxErr(err error) error {
	if err == context.DeadlineExceeded {
		return os.ErrDeadlineExceeded
	}
	return errCanceled
}

var errCanceled = canceledError{}

type canceledError struct{}

func (canceledError) Error() string { return "operation was canceled" }

// memAddr is a fake "127.0.0.1:port" address.
type memAddr string

func (memAddr) Network() string  { return "tcp" }
func (a memAddr) String() string { return string(a) }

// broadcast wakes every goroutine waiting on it; used under the owner's
// mutex.
type broadcast struct{ ch chan struct{} }

func (b *broadcast) wait() <-chan struct{} {
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

func (b *broadcast) signal() {
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}

// block releases mu, waits for a signal on ch or for deadline, and takes
// mu again; the caller checks the deadline itself.
func block(mu *sync.Mutex, ch <-chan struct{}, deadline time.Time) {
	mu.Unlock()
	defer mu.Lock()
	if deadline.IsZero() {
		<-ch
		return
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	}
}

func expired(deadline time.Time) bool { return !deadline.IsZero() && !time.Now().Before(deadline) }

// memListener is a listening fake address.
type memListener struct {
	n    *memNet
	addr memAddr

	mu       sync.Mutex
	wake     broadcast
	queue    []*memConn
	closed   bool
	deadline time.Time
}

func (l *memListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		switch {
		case l.closed:
			return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
		case expired(l.deadline):
			return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: os.ErrDeadlineExceeded}
		case len(l.queue) > 0:
			c := l.queue[0]
			l.queue = l.queue[1:]
			return c, nil
		}
		block(&l.mu, l.wake.wait(), l.deadline)
	}
}

// Close stops accepting; connections not yet accepted are reset, as the
// kernel does with a listening socket's queue.
func (l *memListener) Close() error {
	l.n.mu.Lock()
	if l.n.lns[string(l.addr)] == l {
		delete(l.n.lns, string(l.addr))
	}
	l.n.mu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return &net.OpError{Op: "close", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
	}
	l.closed = true
	q := l.queue
	l.queue = nil
	l.wake.signal()
	l.mu.Unlock()
	for _, c := range q {
		c.reset()
	}
	return nil
}

func (l *memListener) Addr() net.Addr { return l.addr }

// SetDeadline is (*net.TCPListener).SetDeadline.
func (l *memListener) SetDeadline(t time.Time) error {
	l.mu.Lock()
	l.deadline = t
	l.wake.signal()
	l.mu.Unlock()
	return nil
}

// memHalf is one direction of a connection: what the other side wrote and
// this side has not read yet.
type memHalf struct {
	buf []byte
	eof bool // the writer closed: FIN
	rst bool // the writer reset, or closed with unread data: RST
	// rstSent: the writer's peer had closed when data arrived for it, so
	// its kernel answered with RST; the next write fails with EPIPE.
	rstSent bool
}

// memLink is the shared state of one connection's two ends.
type memLink struct {
	mu     sync.Mutex
	wake   broadcast
	to     [2]memHalf // to[i]: bytes flowing to end i
	closed [2]bool
	rdl    [2]time.Time
	wdl    [2]time.Time
}

// memConn is one end of an in-memory connection, with the TCP behaviour
// the emulator relies on. Go's net.Pipe is unbuffered and has neither
// half-close nor reset, so a backend's close after its response, or a
// reset, would not look as it does over loopback.
type memConn struct {
	l             *memLink
	side          int
	local, remote memAddr
}

func (c *memConn) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.local, Addr: c.remote, Err: err}
}

// Read follows the order net.conn.Read checks things in: a closed
// descriptor, then an expired deadline (even with data buffered), then
// data, then the end of the stream.
func (c *memConn) Read(b []byte) (int, error) {
	l := c.l
	l.mu.Lock()
	defer l.mu.Unlock()
	h := &l.to[c.side]
	for {
		switch {
		case l.closed[c.side]:
			return 0, c.opErr("read", net.ErrClosed)
		case expired(l.rdl[c.side]):
			return 0, c.opErr("read", os.ErrDeadlineExceeded)
		case len(b) == 0:
			return 0, nil
		case len(h.buf) > 0:
			n := copy(b, h.buf)
			h.buf = h.buf[n:]
			if len(h.buf) == 0 {
				h.buf = nil
			}
			l.wake.signal()
			return n, nil
		case h.rst:
			return 0, c.opErr("read", os.NewSyscallError("read", syscall.ECONNRESET))
		case h.eof:
			return 0, io.EOF
		}
		block(&l.mu, l.wake.wait(), l.rdl[c.side])
	}
}

func (c *memConn) Write(b []byte) (int, error) {
	l := c.l
	l.mu.Lock()
	defer l.mu.Unlock()
	peer := 1 - c.side
	out := &l.to[peer]
	in := &l.to[c.side]
	n := 0
	for {
		switch {
		case l.closed[c.side]:
			return n, c.opErr("write", net.ErrClosed)
		case expired(l.wdl[c.side]):
			return n, c.opErr("write", os.ErrDeadlineExceeded)
		case in.rst:
			return n, c.opErr("write", os.NewSyscallError("write", syscall.ECONNRESET))
		case l.closed[peer]:
			// The peer's socket is gone: the first write still succeeds
			// (the data leaves; the peer's kernel answers RST), later
			// ones fail with EPIPE (Linux tcp_reset sets EPIPE on a
			// socket in CLOSE_WAIT). Reads still see the FIN first: EOF.
			if in.rstSent {
				return n, c.opErr("write", os.NewSyscallError("write", syscall.EPIPE))
			}
			in.rstSent = true
			return len(b), nil
		case len(b) == n:
			return n, nil
		}
		if space := memBufSize - len(out.buf); space > 0 {
			k := min(space, len(b)-n)
			out.buf = append(out.buf, b[n:n+k]...)
			n += k
			l.wake.signal()
			continue
		}
		block(&l.mu, l.wake.wait(), l.wdl[c.side])
	}
}

// Close is close(2): the peer reads what was sent and then EOF, or
// ECONNRESET when this end still had unread data (Linux tcp_close sends
// RST instead of FIN then, RFC 2525 section 2.17).
func (c *memConn) Close() error {
	l := c.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed[c.side] {
		return c.opErr("close", net.ErrClosed)
	}
	l.closed[c.side] = true
	peer := &l.to[1-c.side]
	if len(l.to[c.side].buf) > 0 {
		peer.rst = true
	} else {
		peer.eof = true
	}
	l.to[c.side].buf = nil
	l.wake.signal()
	return nil
}

// reset is close with SO_LINGER 0: the peer gets RST and loses nothing it
// has already buffered.
func (c *memConn) reset() {
	l := c.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed[c.side] {
		return
	}
	l.closed[c.side] = true
	l.to[1-c.side].rst = true
	l.to[c.side].buf = nil
	l.wake.signal()
}

// peekAlive is the recv(MSG_PEEK) of peek_unix.go on this end: only an
// open, idle connection with nothing to read (no data, EOF or reset) is
// alive.
func (c *memConn) peekAlive() bool {
	l := c.l
	l.mu.Lock()
	defer l.mu.Unlock()
	h := &l.to[c.side]
	return !l.closed[c.side] && len(h.buf) == 0 && !h.eof && !h.rst
}

func (c *memConn) LocalAddr() net.Addr  { return c.local }
func (c *memConn) RemoteAddr() net.Addr { return c.remote }

func (c *memConn) SetDeadline(t time.Time) error {
	c.l.mu.Lock()
	c.l.rdl[c.side], c.l.wdl[c.side] = t, t
	c.l.wake.signal()
	c.l.mu.Unlock()
	return nil
}

func (c *memConn) SetReadDeadline(t time.Time) error {
	c.l.mu.Lock()
	c.l.rdl[c.side] = t
	c.l.wake.signal()
	c.l.mu.Unlock()
	return nil
}

func (c *memConn) SetWriteDeadline(t time.Time) error {
	c.l.mu.Lock()
	c.l.wdl[c.side] = t
	c.l.wake.signal()
	c.l.mu.Unlock()
	return nil
}

// peekAlive reports whether an idle pooled connection is still usable
// (see peekSocket).
func peekAlive(c net.Conn) bool {
	if m, ok := c.(*memConn); ok {
		return m.peekAlive()
	}
	return peekSocket(c)
}
