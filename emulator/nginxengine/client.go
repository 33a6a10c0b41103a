package nginxengine

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
)

// postBody is the small body sent with POST, PUT and PATCH requests, like
// the emulator's client.
const postBody = "ngxlint=1\n"

// errClientTimeout marks a request the client gave up on.
var errClientTimeout = errors.New("client timeout")

// maxCapture bounds the response bytes kept for the rules' confirmations.
const maxCapture = 64 << 10

// response is what the client read: the status, the raw head and the body
// (both cut at maxCapture).
type response struct {
	status     int
	head, body string
	// tls is how the handshake ended, on a TLS connection.
	tls *emulator.TLSOutcome
}

// recorder keeps the first maxCapture bytes read through it.
type recorder struct {
	r   io.Reader
	buf []byte
}

// userAgent is the User-Agent the client sends: request bytes nginx can
// read, so requestHostBlocker checks it too.
const userAgent = "ngxlint-engine"

// requestHost is the Host the client sends for rq: the request's own
// (the last, as the client writes it), else def.
func requestHost(rq emulator.Request, def string) string {
	host := def
	for _, h := range rq.Headers {
		if strings.EqualFold(h.Name, "host") {
			host = h.Value
		}
	}
	return host
}

func (rc *recorder) Read(p []byte) (int, error) {
	n, err := rc.r.Read(p)
	if room := maxCapture - len(rc.buf); room > 0 {
		rc.buf = append(rc.buf, p[:min(n, room)]...)
	}
	return n, err
}

// exchange sends one request on a new connection to addr and returns the
// response: its status, head and body. It reads the whole response so that
// nginx has finalized the request (and written its error.log lines) when it
// returns. A head
// that net/http refuses (an injected line without a colon) is still
// returned: the client then reads on until the connection closes.
//
// With tc set the connection is TLS: the handshake's outcome is returned
// with the response, and a failed handshake ends the exchange with the
// outcome and an error. With handshakeOnly (a stream server, whose
// protocol the engine does not know) the exchange ends after the
// handshake: its outcome is the whole answer.
func exchange(ctx context.Context, addr, host string, from clientFrom, rq emulator.Request, timeout time.Duration, tc *tls.Config, handshakeOnly bool) (res response, err error) {
	method, p := rq.Method, rq.Path
	if method == "" {
		method = "GET"
	}
	if p == "" {
		p = "/"
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	d := net.Dialer{Deadline: deadline}
	if from.local != "" {
		// Any 127.0.0.0/8 address is the loopback interface's: the
		// connection really comes from it.
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from.local)}
	}
	c, err := d.DialContext(ctx, "tcp4", addr)
	if err != nil {
		return response{}, fmt.Errorf("connect to nginx at %s: %w", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(deadline)
	// Closing the connection when ctx ends unblocks the read.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if tc != nil {
		tlsc := tls.Client(c, tc)
		herr := tlsc.HandshakeContext(ctx)
		outcome := tlsOutcome(tlsc.ConnectionState(), herr)
		if herr != nil {
			return response{tls: outcome}, fmt.Errorf("TLS handshake: %w", classify(ctx, herr))
		}
		if handshakeOnly {
			return response{tls: outcome}, nil
		}
		defer func() { res.tls = outcome }()
		c = tlsc
	}

	// The request's own headers go out as the emulator sends them: a Host
	// header replaces the server's name (it picks the server block, as
	// in the emulator); Connection and Content-Length stay the client's.
	var extra strings.Builder
	for _, h := range rq.Headers {
		if strings.ContainsAny(h.Name+h.Value, "\r\n") {
			continue
		}
		switch strings.ToLower(h.Name) {
		case "host":
			host = h.Value
		case "connection", "content-length", "transfer-encoding":
		default:
			fmt.Fprintf(&extra, "%s: %s\r\n", h.Name, h.Value)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nConnection: close\r\n%s", method, p, host, userAgent, extra.String())
	if from.header != "" {
		fmt.Fprintf(&b, "%s: %s\r\n", clientAddrHeader, from.header)
	}
	switch method {
	case "POST", "PUT", "PATCH":
		fmt.Fprintf(&b, "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(postBody), postBody)
	default:
		b.WriteString("\r\n")
	}
	if _, err := io.WriteString(c, b.String()); err != nil {
		return response{}, classify(ctx, err)
	}
	rec := &recorder{r: c}
	br := bufio.NewReader(rec)
	split := func(out *response) {
		raw := string(rec.buf)
		if i := strings.Index(raw, "\r\n\r\n"); i >= 0 {
			out.head, out.body = raw[:i+4], raw[i+4:]
		} else {
			out.head = raw
		}
	}
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		// A malformed head: read what follows and report the status
		// line's code, as a lenient client would.
		_, _ = io.Copy(io.Discard, br)
		var out response
		split(&out)
		if out.status, _ = emulator.ParseHead(out.head); out.status != 0 {
			return out, nil
		}
		return out, classify(ctx, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	out := response{status: resp.StatusCode}
	split(&out)
	if err != nil {
		return out, classify(ctx, err)
	}
	return out, nil
}

func classify(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errClientTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errClientTimeout
	}
	return err
}
