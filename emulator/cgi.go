package emulator

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// uwsgi and SCGI responders, written from the protocols' specifications
// (uWSGI's "The uwsgi protocol" and Neil Schemenauer's SCGI 1.0) and from
// what ngx_http_uwsgi_create_request and ngx_http_scgi_create_request
// send: neither is in Go's standard library. Both carry one request per
// connection (neither module keeps its upstream connection alive), so the
// backend answers and closes.

// Bounds of one uwsgi or SCGI request read: the params (a uwsgi packet's
// size is 16 bits anyway) and the body, which is read and dropped.
const (
	cgiMaxParams = 64 << 10
	cgiMaxBody   = 1 << 20
)

// paramsServes reports whether a params connection (FastCGI, uwsgi,
// SCGI) is served by policy k; under the others (their faults are HTTP
// framing: invalid or big headers, one request per connection...) it is
// closed after the request is read, as PolicyClose does.
func paramsServes(k PolicyKind) bool {
	switch k {
	case PolicyOK, PolicyEcho, PolicyStatus, PolicyOKClose, PolicySlow, PolicyClose, PolicyReset, PolicyHang:
		return true
	}
	return false
}

// paramsHead is the head of a params backend's answer of code with body
// for protocol proto, then extra (the echo's ReflectedParams): the
// response line for uwsgi, whose applications answer in HTTP, a Status
// header for SCGI (as the SCGI specification's example has) and for
// FastCGI when code is not 200, Content-Type, Content-Length, Connection:
// close for uwsgi. The emulator filters the same headers through the
// module's hide lists, so a Status the backend writes is not forgotten.
func paramsHead(proto ParamsProto, code int, body string, extra []Header) (line string, hs []Header) {
	status := strconv.Itoa(code) + " " + reason(code)
	if proto == ProtoUwsgi {
		line = "HTTP/1.1 " + status
	} else if proto == ProtoSCGI || code != 200 {
		hs = append(hs, Header{Name: "Status", Value: status})
	}
	hs = append(hs, Header{Name: "Content-Type", Value: "text/plain"}, Header{Name: "Content-Length", Value: strconv.Itoa(len(body))})
	if proto == ProtoUwsgi {
		hs = append(hs, Header{Name: "Connection", Value: "close"})
	}
	return line, append(hs, extra...)
}

// writeParamsHead writes line (if any) and hs, each ended by CRLF, then
// the empty line.
func writeParamsHead(w io.Writer, line string, hs []Header) error {
	var b bytes.Buffer
	if line != "" {
		b.WriteString(line + "\r\n")
	}
	for _, h := range hs {
		b.WriteString(h.Name + ": " + h.Value + "\r\n")
	}
	b.WriteString("\r\n")
	_, err := w.Write(b.Bytes())
	return err
}

// paramsAnswer counts a params request read on c and acts on it under
// the backend's policy: the status and body to answer with and the
// headers to add (the echo's ReflectedParams), or ok false when the
// connection is to be closed without an answer (close, reset, hang until
// the peer leaves).
func (b *Backend) paramsAnswer(c net.Conn, proto ParamsProto, ps []Header) (code int, body string, extra []Header, ok bool) {
	total := b.requests.Add(1)
	if e := b.peerLog.Load(); e != nil {
		e.log.add(e.name)
	}
	code = 200
	switch k := b.policy.Kind; {
	case !paramsServes(k) || k == PolicyClose:
		return 0, "", nil, false
	case k == PolicyReset:
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		return 0, "", nil, false
	case k == PolicyHang:
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				return 0, "", nil, false
			}
		}
	case k == PolicySlow:
		select {
		case <-b.stop:
			return 0, "", nil, false
		case <-time.After(b.policy.Delay):
		}
	case k == PolicyEcho:
		body = ParamsEcho(proto, ps)
		extra = ReflectedParams(ps)
	case k == PolicyStatus:
		code = b.policy.Status
	}
	if body == "" {
		body = b.defaultBody(total)
	}
	return code, body, extra, true
}

// cgiBodyLength is the CONTENT_LENGTH among ps, which says how many body
// bytes follow the params in both protocols; 0 when absent (a level
// that dropped "include uwsgi_params;" does not send it: nginx then
// sends a body the backend does not read, and the connection is closed
// after the answer anyway).
func cgiBodyLength(ps []Header) (int, error) {
	for _, p := range ps {
		if p.Name == "CONTENT_LENGTH" && p.Value != "" {
			n, err := strconv.Atoi(p.Value)
			if err != nil || n < 0 || n > cgiMaxBody {
				return 0, fmt.Errorf("CONTENT_LENGTH %q: not a length up to %d", p.Value, cgiMaxBody)
			}
			return n, nil
		}
	}
	return 0, nil
}

// readSCGIRequest reads an SCGI request: a netstring ("LEN:" then LEN
// bytes then ",") of NUL-terminated names and values, CONTENT_LENGTH
// first, then that many body bytes (dropped).
func readSCGIRequest(br *bufio.Reader) ([]Header, error) {
	n := 0
	for digits := 0; ; digits++ {
		c, err := br.ReadByte()
		if err != nil {
			return nil, err
		}
		if c == ':' && digits > 0 {
			break
		}
		if c < '0' || c > '9' || digits == 6 {
			return nil, errors.New("scgi: malformed netstring length")
		}
		n = n*10 + int(c-'0')
	}
	if n > cgiMaxParams {
		return nil, fmt.Errorf("scgi: headers larger than %d bytes", cgiMaxParams)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(br, buf); err != nil {
		return nil, err
	}
	if buf[n] != ',' {
		return nil, errors.New("scgi: netstring not ended by ','")
	}
	fields := bytes.Split(buf[:n], []byte{0})
	// Each name and value ends with NUL, so the split leaves an empty
	// last field after an even number of strings.
	if len(fields)%2 != 1 || len(fields[len(fields)-1]) != 0 {
		return nil, errors.New("scgi: headers are not NUL-terminated pairs")
	}
	var ps []Header
	for i := 0; i+1 < len(fields); i += 2 {
		ps = append(ps, Header{Name: string(fields[i]), Value: string(fields[i+1])})
	}
	if len(ps) == 0 || ps[0].Name != "CONTENT_LENGTH" {
		return nil, errors.New("scgi: CONTENT_LENGTH is not the first header")
	}
	body, err := cgiBodyLength(ps)
	if err != nil {
		return nil, fmt.Errorf("scgi: %w", err)
	}
	if _, err := io.CopyN(io.Discard, br, int64(body)); err != nil {
		return nil, err
	}
	return ps, nil
}

// readUwsgiRequest reads a uwsgi request: a 4-byte header (modifier1,
// the packet's size as 16-bit little-endian, modifier2), then the
// packet's vars, each a 16-bit little-endian length and the name, then
// the same for the value, then the body that CONTENT_LENGTH announces
// (dropped). The modifiers say which uWSGI plugin is meant; the echo
// answers any.
func readUwsgiRequest(br *bufio.Reader) ([]Header, error) {
	var h [4]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.LittleEndian.Uint16(h[1:3]))
	if _, err := io.ReadFull(br, b); err != nil {
		return nil, err
	}
	str := func() (string, bool) {
		if len(b) < 2 {
			return "", false
		}
		n := int(binary.LittleEndian.Uint16(b))
		if n > len(b)-2 {
			return "", false
		}
		s := string(b[2 : 2+n])
		b = b[2+n:]
		return s, true
	}
	var ps []Header
	for len(b) > 0 {
		name, ok1 := str()
		value, ok2 := str()
		if !ok1 || !ok2 {
			return nil, errors.New("uwsgi: malformed vars")
		}
		ps = append(ps, Header{Name: name, Value: value})
	}
	body, err := cgiBodyLength(ps)
	if err != nil {
		return nil, fmt.Errorf("uwsgi: %w", err)
	}
	if _, err := io.CopyN(io.Discard, br, int64(body)); err != nil {
		return nil, err
	}
	return ps, nil
}

// serveSCGI serves one SCGI request on c, read through br: the answer is
// a CGI response (a Status line, as the SCGI specification's example
// has), then the connection is closed, which ends the response.
func (b *Backend) serveSCGI(c net.Conn, br *bufio.Reader) {
	ps, err := readSCGIRequest(br)
	if err != nil {
		return
	}
	code, body, extra, ok := b.paramsAnswer(c, ProtoSCGI, ps)
	if !ok {
		return
	}
	line, hs := paramsHead(ProtoSCGI, code, body, extra)
	if writeParamsHead(c, line, hs) == nil {
		_, _ = io.WriteString(c, body)
	}
}

// serveUwsgi serves one uwsgi request on c, read through br: a uWSGI
// application answers with a raw HTTP response, which nginx's uwsgi
// module parses as such; the connection is then closed.
func (b *Backend) serveUwsgi(c net.Conn, br *bufio.Reader) {
	ps, err := readUwsgiRequest(br)
	if err != nil {
		return
	}
	code, body, extra, ok := b.paramsAnswer(c, ProtoUwsgi, ps)
	if !ok {
		return
	}
	line, hs := paramsHead(ProtoUwsgi, code, body, extra)
	if writeParamsHead(c, line, hs) == nil {
		_, _ = io.WriteString(c, body)
	}
}
