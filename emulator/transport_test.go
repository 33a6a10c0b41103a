package emulator

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// traceOf is everything a Result shows: its JSON and its text trace.
func traceOf(t testing.TB, res *Result) string {
	t.Helper()
	j, err := res.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	res.WriteText(&b)
	return string(j) + "\n" + b.String()
}

// runBoth runs cfg on the in-memory transport and over loopback TCP and
// fails t unless both give the same Result (or the same error). It returns
// the in-memory Result.
func runBoth(t testing.TB, ctx context.Context, cfg Config) (*Result, error) {
	t.Helper()
	mem, tcp := cfg, cfg
	mem.Transport, tcp.Transport = TransportMemory, TransportTCP
	mres, merr := Run(ctx, mem)
	tres, terr := Run(ctx, tcp)
	switch {
	case (merr == nil) != (terr == nil):
		t.Fatalf("memory transport: %v; tcp transport: %v", merr, terr)
	case merr != nil:
		if merr.Error() != terr.Error() {
			t.Fatalf("errors differ: memory %q, tcp %q", merr, terr)
		}
		return nil, merr
	}
	if m, tc := traceOf(t, mres), traceOf(t, tres); m != tc {
		t.Fatalf("the transports disagree\n--- memory:\n%s\n--- tcp:\n%s", m, tc)
	}
	return mres, nil
}

func TestParseTransport(t *testing.T) {
	for _, s := range TransportNames() {
		tr, err := ParseTransport(s)
		if err != nil || tr.String() != s {
			t.Errorf("ParseTransport(%q) = %v, %v", s, tr, err)
		}
	}
	if _, err := ParseTransport("udp"); err == nil {
		t.Error("ParseTransport(udp): no error")
	}
	var c Config
	if c.Transport != TransportMemory {
		t.Error("the zero Config is not on the in-memory transport")
	}
}

// pair returns both ends of an in-memory connection.
func pair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	n := newMemNet()
	ln, err := n.listen(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	client, err = n.dial(context.Background(), time.Second, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return client, server
}

// TestMemConnTCPSemantics: the behaviours of a loopback TCP connection the
// emulator observes, on the in-memory one.
func TestMemConnTCPSemantics(t *testing.T) {
	t.Run("buffered, then EOF after close", func(t *testing.T) {
		c, s := pair(t)
		if _, err := s.Write([]byte("response")); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if peekAlive(c) {
			t.Error("a connection closed by the peer peeks alive")
		}
		b, err := io.ReadAll(c)
		if err != nil || string(b) != "response" {
			t.Errorf("read %q, %v", b, err)
		}
		// The first write to a closed peer is accepted (the peer's
		// kernel answers RST), the next one fails with EPIPE.
		if _, err := c.Write([]byte("x")); err != nil {
			t.Errorf("first write after the peer closed: %v", err)
		}
		if _, err := c.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
			t.Errorf("second write after the peer closed: %v, want EPIPE", err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		c, s := pair(t)
		s.(*memConn).reset()
		if _, err := c.Read(make([]byte, 8)); !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("read after reset: %v, want ECONNRESET", err)
		}
		if peekAlive(c) {
			t.Error("a reset connection peeks alive")
		}
	})
	t.Run("close with unread data resets", func(t *testing.T) {
		c, s := pair(t)
		c.Write([]byte("unread"))
		s.Close()
		if _, err := c.Read(make([]byte, 8)); !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("read: %v, want ECONNRESET", err)
		}
	})
	t.Run("idle peeks alive, data does not", func(t *testing.T) {
		c, s := pair(t)
		if !peekAlive(c) {
			t.Error("an idle open connection peeks dead")
		}
		s.Write([]byte("x"))
		if peekAlive(c) {
			t.Error("a connection with unread data peeks alive")
		}
	})
	t.Run("deadlines", func(t *testing.T) {
		c, s := pair(t)
		s.Write([]byte("x"))
		// An expired deadline fails a read even with data buffered, as
		// net.Conn does.
		c.SetReadDeadline(time.Unix(1, 0))
		if _, err := c.Read(make([]byte, 1)); !isTimeout(err) {
			t.Errorf("read past the deadline: %v", err)
		}
		c.SetReadDeadline(time.Time{})
		if n, err := c.Read(make([]byte, 1)); n != 1 || err != nil {
			t.Errorf("read after clearing the deadline: %d, %v", n, err)
		}
		// A blocked read wakes when the deadline is moved into the past.
		done := make(chan error, 1)
		go func() {
			_, err := c.Read(make([]byte, 1))
			done <- err
		}()
		c.SetDeadline(time.Unix(1, 0))
		if err := <-done; !isTimeout(err) {
			t.Errorf("blocked read: %v, want a timeout", err)
		}
		c.Close()
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("read on a closed end: %v", err)
		}
	})
	t.Run("refused, and the queue reset on close", func(t *testing.T) {
		n := newMemNet()
		if _, err := n.dial(context.Background(), time.Second, "127.0.0.1:1"); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial nowhere: %v", err)
		}
		ln, _ := n.listen(context.Background())
		c, err := n.dial(context.Background(), time.Second, ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		ln.Close()
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("read on a never-accepted connection: %v", err)
		}
		if _, err := n.dial(context.Background(), time.Second, ln.Addr().String()); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial a closed listener: %v", err)
		}
	})
}
