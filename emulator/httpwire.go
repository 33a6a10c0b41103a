package emulator

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// This file holds the small HTTP/1.x reader both sides of the emulator share:
// the emulated backends read requests with it and the emulated proxy reads
// upstream responses with it. It is deliberately strict and bounded: a
// header block larger than maxHeaderBytes is an error, the way nginx answers
// "upstream sent too big header" (FT_INVALID_HEADER) when the header does not
// fit proxy_buffer_size.

const (
	// maxHeaderBytes is the bound on a request or response header block;
	// nginx's proxy_buffer_size defaults to one memory page (4k or 8k).
	maxHeaderBytes = 8192
	// maxBodyBytes bounds bodies; the emulator only ever sends and serves
	// small bodies, anything larger is treated as malformed.
	maxBodyBytes = 1 << 20
)

var errTooBig = errors.New("header too big")

// message is a parsed request or response head.
type message struct {
	// Request line fields (requests) or status line fields (responses).
	Method, Target string
	Status         int
	Proto          string // "HTTP/1.0" or "HTTP/1.1"
	Header         [][2]string
}

func (m *message) get(name string) string {
	for _, h := range m.Header {
		if strings.EqualFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}

// hasToken reports whether a comma-separated header (Connection) contains tok.
func (m *message) hasToken(name, tok string) bool {
	for _, h := range m.Header {
		if !strings.EqualFold(h[0], name) {
			continue
		}
		for _, t := range strings.Split(h[1], ",") {
			if strings.EqualFold(strings.TrimSpace(t), tok) {
				return true
			}
		}
	}
	return false
}

// readHead reads a start line and header fields. request selects which kind
// of start line is expected. It returns io.EOF when the stream ends before
// the first byte, and io.ErrUnexpectedEOF when it ends in the middle.
func readHead(br *bufio.Reader, request bool) (*message, error) {
	var m message
	total := 0
	first := true
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return nil, errTooBig
			}
			if errors.Is(err, io.EOF) {
				if first && len(line) == 0 {
					return nil, io.EOF
				}
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		total += len(line)
		if total > maxHeaderBytes {
			return nil, errTooBig
		}
		s := strings.TrimRight(string(line), "\r\n")
		if first {
			first = false
			if err := parseStartLine(&m, s, request); err != nil {
				return nil, err
			}
			continue
		}
		if s == "" {
			return &m, nil
		}
		k, v, ok := strings.Cut(s, ":")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("malformed header line %q", s)
		}
		m.Header = append(m.Header, [2]string{k, strings.TrimSpace(v)})
	}
}

func parseStartLine(m *message, s string, request bool) error {
	f := strings.SplitN(s, " ", 3)
	if request {
		if len(f) != 3 || f[0] == "" || f[1] == "" || !strings.HasPrefix(f[2], "HTTP/1.") {
			return fmt.Errorf("malformed request line %q", s)
		}
		m.Method, m.Target, m.Proto = f[0], f[1], f[2]
		return nil
	}
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.") || len(f[1]) != 3 {
		return fmt.Errorf("malformed status line %q", s)
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 100 {
		return fmt.Errorf("malformed status line %q", s)
	}
	m.Proto, m.Status = f[0], n
	return nil
}

// bodyLength returns the declared body length: -1 for chunked, -2 for "read
// until close" (responses without a length), otherwise the Content-Length.
func bodyLength(m *message, request bool) (int, error) {
	if m.hasToken("Transfer-Encoding", "chunked") {
		return -1, nil
	}
	if cl := m.get("Content-Length"); cl != "" {
		n, err := strconv.Atoi(cl)
		if err != nil || n < 0 || n > maxBodyBytes {
			return 0, fmt.Errorf("bad Content-Length %q", cl)
		}
		return n, nil
	}
	if request {
		return 0, nil
	}
	// RFC 9112 6.3: no body for 1xx, 204 and 304.
	if m.Status == 204 || m.Status == 304 || m.Status < 200 {
		return 0, nil
	}
	return -2, nil
}

// readBody reads and discards a body of the given bodyLength kind, and
// reports how many bytes it read.
func readBody(br *bufio.Reader, n int) (int, error) {
	switch {
	case n >= 0:
		got, err := io.CopyN(io.Discard, br, int64(n))
		return int(got), err
	case n == -2:
		got, err := io.Copy(io.Discard, io.LimitReader(br, maxBodyBytes+1))
		if got > maxBodyBytes {
			return int(got), errors.New("body too large")
		}
		return int(got), err
	}
	total := 0
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return total, err
		}
		sz, _, _ := strings.Cut(strings.TrimSpace(string(line)), ";")
		k, err := strconv.ParseInt(sz, 16, 32)
		if err != nil || k < 0 || int(k)+total > maxBodyBytes {
			return total, fmt.Errorf("bad chunk size %q", sz)
		}
		if k == 0 {
			// Trailer section up to the empty line.
			for {
				l, err := br.ReadSlice('\n')
				if err != nil {
					return total, err
				}
				if strings.TrimSpace(string(l)) == "" {
					return total, nil
				}
			}
		}
		if _, err := io.CopyN(io.Discard, br, k); err != nil {
			return total, err
		}
		total += int(k)
		if _, err := br.Discard(2); err != nil {
			return total, err
		}
	}
}
