package emulator

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scgiRequest encodes an SCGI request as nginx's scgi module writes it:
// the netstring of NUL-terminated pairs, then the body.
func scgiRequest(ps []Header, body string) []byte {
	var h []byte
	for _, p := range ps {
		h = append(append(append(append(h, p.Name...), 0), p.Value...), 0)
	}
	return append(append(append([]byte(strconv.Itoa(len(h))+":"), h...), ','), body...)
}

// uwsgiRequest encodes a uwsgi request with modifier1 m1: the 4-byte
// header, the vars, then the body.
func uwsgiRequest(m1 byte, ps []Header, body string) []byte {
	var vars []byte
	for _, p := range ps {
		vars = binary.LittleEndian.AppendUint16(vars, uint16(len(p.Name)))
		vars = append(vars, p.Name...)
		vars = binary.LittleEndian.AppendUint16(vars, uint16(len(p.Value)))
		vars = append(vars, p.Value...)
	}
	h := []byte{m1, 0, 0, 0}
	binary.LittleEndian.PutUint16(h[1:3], uint16(len(vars)))
	return append(append(h, vars...), body...)
}

// TestParamsEchoBackends: one echo backend answers SCGI (a connection
// opening with a digit) with a CGI response and uwsgi (opening with
// modifier1, 0 or another control byte) with an HTTP response, each
// listing the params in the order received, the body read past; a
// malformed request gets no answer.
func TestParamsEchoBackends(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := StartBackend(ctx, Policy{Kind: PolicyEcho})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	long := strings.Repeat("v", 300)
	ps := []Header{{"CONTENT_LENGTH", "4"}, {"SCGI", "1"}, {"LONG", long}, {"EMPTY", ""}, {"NL", "a\nb"}, {"SCGI", "dup"},
		{ParamReflectPrefix + "X_POWERED_BY", "php"}}
	echo := ParamsEcho("", ps)
	_, rest, _ := strings.Cut(echo, "\n")
	tests := []struct {
		name     string
		req      []byte
		wantHead string
		wantBody string
	}{
		{"scgi", scgiRequest(ps, "body"), "Status: 200 OK\r\nContent-Type: text/plain\r\n", "# scgi params, in received order\n" + rest},
		{"uwsgi", uwsgiRequest(0, ps, "body"), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n", "# uwsgi params, in received order\n" + rest},
		{"uwsgi modifier1 5 (PSGI)", uwsgiRequest(5, ps[1:2], ""), "HTTP/1.1 200 OK\r\n", "# uwsgi params, in received order\nSCGI=1\n"},
		{"scgi without CONTENT_LENGTH first", scgiRequest(ps[1:], ""), "", ""},
		{"scgi bad netstring", []byte("12x:"), "", ""},
		{"uwsgi short vars", []byte{0, 3, 0, 0, 9, 0, 'a'}, "", ""},
	}
	for _, tt := range tests {
		c, err := net.Dial("tcp", b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(tt.req); err != nil {
			t.Fatal(err)
		}
		if tc, ok := c.(*net.TCPConn); ok && tt.wantHead == "" {
			// A malformed request waits for more bytes otherwise.
			tc.CloseWrite()
		}
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		head, body, _ := strings.Cut(string(got), "\r\n\r\n")
		if tt.wantHead == "" {
			if len(got) != 0 {
				t.Errorf("%s: answered %q, want nothing", tt.name, got)
			}
			continue
		}
		// The reflect param comes back as a header where it was sent.
		if reflects := len(tt.wantBody) > 60; reflects != strings.Contains(head+"\r\n", "\r\nX-Powered-By: php\r\n") {
			t.Errorf("%s: head %q: X-Powered-By: php there is %v, want %v", tt.name, head, !reflects, reflects)
		}
		if !strings.HasPrefix(head+"\r\n", tt.wantHead) || body != tt.wantBody {
			t.Errorf("%s: got %q\nwant head %q, body %q", tt.name, got, tt.wantHead, tt.wantBody)
		}
		if proto, got, ok := ParseParamsEcho(body); !ok || string(proto) != strings.Fields(tt.name)[0] || (tt.name == "scgi" && (len(got) != len(ps) || got[2].Value != long || got[4].Value != "a\nb")) {
			t.Errorf("%s: ParseParamsEcho: %s %v %v", tt.name, proto, got, ok)
		}
	}
}

// TestProtocolOf: the first byte of a backend connection picks the
// protocol, and the classes do not overlap: every HTTP method's first
// letter is HTTP, FastCGI's version 1 is FastCGI, a digit SCGI, and
// uwsgi's modifier1 bytes of the request plugins are uwsgi.
func TestProtocolOf(t *testing.T) {
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "PROPFIND", "TRACE", "CONNECT", "PRI", "M-SEARCH", "get"} {
		if p := protocolOf(m[0]); p != protoHTTP {
			t.Errorf("%s: %d, want HTTP", m, p)
		}
	}
	if p := protocolOf(1); p != protoFastCGI {
		t.Errorf("1: %d, want FastCGI", p)
	}
	for c := byte('0'); c <= '9'; c++ {
		if p := protocolOf(c); p != protoSCGI {
			t.Errorf("%q: %d, want SCGI", c, p)
		}
	}
	for _, m1 := range []byte{0, 5, 6, 7, 9, 14, 30, 0x7f, 0xff} {
		if p := protocolOf(m1); p != protoUwsgi {
			t.Errorf("modifier1 %d: %d, want uwsgi", m1, p)
		}
	}
}
