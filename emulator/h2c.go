package emulator

import (
	"bufio"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// grpc_pass speaks HTTP/2 with prior knowledge (h2c): the connection
// opens with the client preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
// (RFC 9113 section 3.4). Such a connection is handed to net/http's
// server, whose unencrypted HTTP/2 (http.Protocols.SetUnencryptedHTTP2)
// recognises the preface, so the backend's own HTTP/1 reader never sees
// it. nginx's grpc module passes any valid HTTP/2 response on as an
// ordinary one (ngx_http_grpc_process_header needs a :status, not a gRPC
// content type or grpc-status trailers), so the echo answers as over
// HTTP/1.

// h2Preface is the part of the HTTP/2 client preface that tells it from
// an HTTP/1 request line starting with 'P' (net/http peeks the same).
const h2Preface = "PRI * HTTP/2.0"

// echoH2Line is the request line of the echo answer for an HTTP/2
// request: the method and :path, then "HTTP/2.0".
func echoH2Line(method, path string) string { return method + " " + path + " HTTP/2.0" }

// EchoH2Headers is the header list of the echo answer for an HTTP/2
// request: ":authority: A" first, then the regular fields sorted by their
// canonical name (net/http's server hands them over as a map, so the
// order received is lost), the values of one name in received order.
func EchoH2Headers(authority string, hs []Header) []Header {
	out := []Header{{Name: ":authority", Value: authority}}
	sorted := make([]Header, len(hs))
	for i, h := range hs {
		sorted[i] = Header{Name: http.CanonicalHeaderKey(h.Name), Value: h.Value}
	}
	slices.SortStableFunc(sorted, func(a, b Header) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return append(out, sorted...)
}

// h2Serves reports whether an HTTP/2 request is answered under policy
// k; under the others (faults of HTTP/1 framing or of the connection) the
// stream is reset (http.ErrAbortHandler), which nginx takes as an
// upstream error as it does a closed connection.
func h2Serves(k PolicyKind) bool {
	switch k {
	case PolicyOK, PolicyEcho, PolicyStatus, PolicyOKClose, PolicySlow:
		return true
	}
	return false
}

// serveH2C serves an h2c connection c, read through br (which holds the
// peeked preface), until it ends.
func (b *Backend) serveH2C(c net.Conn, br *bufio.Reader) {
	done := make(chan struct{})
	pc := &h2Conn{Conn: c, r: br, done: done}
	srv := &http.Server{Handler: http.HandlerFunc(b.serveH2Request), Protocols: new(http.Protocols),
		// The request head is bounded as the HTTP/1 reader bounds it.
		MaxHeaderBytes: maxHeaderBytes, ReadHeaderTimeout: time.Minute}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(&oneConnListener{c: pc, done: done})
	}()
	select {
	case <-done:
	case <-b.stop:
	}
	srv.Close()
	<-served
}

// serveH2Request answers one HTTP/2 request under the backend's policy.
func (b *Backend) serveH2Request(w http.ResponseWriter, r *http.Request) {
	total := b.requests.Add(1)
	if e := b.peerLog.Load(); e != nil {
		e.log.add(e.name)
	}
	code, body := 200, ""
	switch k := b.policy.Kind; {
	case !h2Serves(k):
		panic(http.ErrAbortHandler)
	case k == PolicySlow:
		select {
		case <-b.stop:
			panic(http.ErrAbortHandler)
		case <-time.After(b.policy.Delay):
		}
	case k == PolicyStatus:
		code = b.policy.Status
	case k == PolicyEcho:
		var hs []Header
		for name, vs := range r.Header {
			for _, v := range vs {
				hs = append(hs, Header{Name: name, Value: v})
			}
		}
		hs = EchoH2Headers(r.Host, hs)
		body = EchoHead(echoH2Line(r.Method, r.RequestURI), hs)
		for _, h := range Reflected(hs) {
			w.Header().Add(h.Name, h.Value)
		}
	}
	if body == "" {
		body = b.defaultBody(total)
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

// h2Conn is a backend connection read through the bufio.Reader that
// peeked at it; its Close tells serveH2C the connection is over.
type h2Conn struct {
	net.Conn
	r    *bufio.Reader
	done chan struct{}
	once sync.Once
}

func (c *h2Conn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *h2Conn) Close() error {
	c.once.Do(func() { close(c.done) })
	return c.Conn.Close()
}

// oneConnListener hands one connection to http.Server.Serve, then
// blocks until the connection is over, so that Serve does not return
// early; the server's goroutines end with it.
type oneConnListener struct {
	c    net.Conn
	done chan struct{}
	once sync.Once
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	var c net.Conn
	l.once.Do(func() { c = l.c })
	if c != nil {
		return c, nil
	}
	<-l.done
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error   { return nil }
func (l *oneConnListener) Addr() net.Addr { return l.c.LocalAddr() }
