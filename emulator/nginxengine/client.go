package nginxengine

import (
	"bufio"
	"context"
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

// sendRequest sends one request on a new connection to addr and returns the
// response status. It reads the whole response so that nginx has finalized
// the request (and written its error.log lines) when it returns.
func sendRequest(ctx context.Context, addr, host string, rq emulator.Request, timeout time.Duration) (int, error) {
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
	c, err := d.DialContext(ctx, "tcp4", addr)
	if err != nil {
		return 0, fmt.Errorf("connect to nginx at %s: %w", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(deadline)
	// Closing the connection when ctx ends unblocks the read.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

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
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ngxlint-engine\r\nConnection: close\r\n%s", method, p, host, extra.String())
	switch method {
	case "POST", "PUT", "PATCH":
		fmt.Fprintf(&b, "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(postBody), postBody)
	default:
		b.WriteString("\r\n")
	}
	if _, err := io.WriteString(c, b.String()); err != nil {
		return 0, classify(ctx, err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return 0, classify(ctx, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return resp.StatusCode, classify(ctx, err)
	}
	return resp.StatusCode, nil
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
