package emulator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// fcgiPair encodes one name-value pair of a params stream.
func fcgiPair(name, value string) []byte {
	var b []byte
	for _, n := range []int{len(name), len(value)} {
		if n < 128 {
			b = append(b, byte(n))
			continue
		}
		b = binary.BigEndian.AppendUint32(b, uint32(n)|1<<31)
	}
	return append(append(b, name...), value...)
}

// TestFastCGIEchoBackend: a backend answers a connection that opens with
// a FastCGI record as a responder, the echo policy with the params in
// the order sent, whatever they are (no REQUEST_METHOD, a value longer
// than 127 bytes, params split across records, a request body), and
// keeps the connection for a second request only under FCGI_KEEP_CONN.
func TestFastCGIEchoBackend(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := StartBackend(ctx, Policy{Kind: PolicyEcho})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	long := strings.Repeat("v", 300)
	params := []Header{{"SCRIPT_FILENAME", "/srv/a.php"}, {"LONG", long}, {"EMPTY", ""}, {"NL", "a\nb"}, {"SCRIPT_FILENAME", "dup"},
		{ParamReflectPrefix + "X_RUNTIME", "9"}}
	send := func(id uint16, keep bool) {
		var w bytes.Buffer
		flags := byte(0)
		if keep {
			flags = fcgiKeepConn
		}
		writeFCGIRecord(&w, fcgiBeginRequest, id, []byte{0, 1, flags, 0, 0, 0, 0, 0})
		var stream []byte
		for _, p := range params {
			stream = append(stream, fcgiPair(p.Name, p.Value)...)
		}
		// Split mid-pair: the stream is one byte sequence.
		writeFCGIRecord(&w, fcgiParams, id, stream[:5])
		writeFCGIRecord(&w, fcgiParams, id, stream[5:])
		writeFCGIRecord(&w, fcgiParams, id, nil)
		writeFCGIRecord(&w, fcgiStdin, id, []byte("body"))
		writeFCGIRecord(&w, fcgiStdin, id, nil)
		if _, err := c.Write(w.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	br := bufio.NewReader(c)
	read := func(id uint16) string {
		var out []byte
		for {
			typ, rid, content, err := readFCGIRecord(br)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if rid != id {
				t.Fatalf("record for request %d, want %d", rid, id)
			}
			switch typ {
			case fcgiStdout:
				out = append(out, content...)
			case fcgiEndRequest:
				return string(out)
			default:
				t.Fatalf("record type %d", typ)
			}
		}
	}
	want := "Content-Type: text/plain\r\n"
	send(1, true)
	got := read(1)
	head, body, _ := strings.Cut(got, "\r\n\r\n")
	if !strings.HasPrefix(head, want) || !strings.HasSuffix(head, "\r\nX-Runtime: 9") {
		t.Errorf("head %q, want %q first and the reflected X-Runtime: 9 last", head, want)
	}
	wantBody := "# fastcgi params, in received order\nSCRIPT_FILENAME=/srv/a.php\nLONG=" + long + "\nEMPTY=\nNL=a\\x0ab\nSCRIPT_FILENAME=dup\n" +
		ParamReflectPrefix + "X_RUNTIME=9\n"
	if body != wantBody {
		t.Errorf("body %q, want %q", body, wantBody)
	}
	if proto, ps, ok := ParseParamsEcho(body); !ok || proto != ProtoFastCGI || len(ps) != len(params) || ps[1].Value != long || ps[3].Value != "a\nb" {
		t.Errorf("ParseParamsEcho: %v %v", ps, ok)
	}
	send(2, false)
	if got := read(2); !strings.Contains(got, "LONG=") {
		t.Errorf("second request on the kept connection: %q", got)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after a request without FCGI_KEEP_CONN: %v, want EOF", err)
	}
	if st := b.Stats(); st.Requests != 2 || st.Connections != 1 {
		t.Errorf("stats %+v, want 2 requests on 1 connection", st)
	}
}
