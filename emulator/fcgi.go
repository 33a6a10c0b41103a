package emulator

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
)

// A backend answers FastCGI as well as HTTP/1.1: nginx's fastcgi_pass
// opens the connection with a FastCGI record, whose first byte is the
// protocol version 1, which no HTTP request line starts with, so each
// connection is served in the protocol its first byte shows and the
// engine need not know which *_pass reaches an address. The responder
// is written here from the FastCGI 1.0 specification rather than taken
// from net/http/fcgi, for two reasons: net/http/cgi's RequestFromMap
// refuses a request without REQUEST_METHOD or SERVER_PROTOCOL (500
// before any handler runs), which is exactly what a level that drops
// "include fastcgi_params;" sends, and the package hands its handler the
// params as a map, losing the order nginx sent them in.

// FastCGI record types (FastCGI 1.0, section 8) that a web server sends
// to a responder, and those the responder answers with.
const (
	fcgiBeginRequest = 1
	fcgiAbortRequest = 2
	fcgiEndRequest   = 3
	fcgiParams       = 4
	fcgiStdin        = 5
	fcgiStdout       = 6
	fcgiGetValues    = 9
	fcgiUnknownType  = 11

	// fcgiKeepConn is BEGIN_REQUEST's flag for "keep the connection
	// after this request" (nginx sets it under fastcgi_keep_conn on).
	fcgiKeepConn = 1
)

// Bounds of one FastCGI request read: the params stream (nginx's own
// fastcgi_params and the client's HTTP_* headers are a few KiB) and the
// request body, which is read and dropped.
const (
	fcgiMaxParams = 64 << 10
	fcgiMaxStdin  = 1 << 20
)

// fcgiRequest is what a FastCGI request carried that a policy needs.
type fcgiRequest struct {
	id       uint16
	keepConn bool
	params   []Header
}

var errFCGIAbort = errors.New("fastcgi: request aborted")

// readFCGIRecord reads one record: its type, request id and content
// (the padding is read and dropped).
func readFCGIRecord(br *bufio.Reader) (typ uint8, id uint16, content []byte, err error) {
	var h [8]byte
	if _, err = io.ReadFull(br, h[:]); err != nil {
		return 0, 0, nil, err
	}
	if h[0] != 1 {
		return 0, 0, nil, fmt.Errorf("fastcgi: version %d", h[0])
	}
	n := int(binary.BigEndian.Uint16(h[4:6]))
	content = make([]byte, n+int(h[6]))
	if _, err = io.ReadFull(br, content); err != nil {
		return 0, 0, nil, err
	}
	return h[1], binary.BigEndian.Uint16(h[2:4]), content[:n], nil
}

// writeFCGIRecord writes one record of type typ, splitting content into
// records of at most 65535 bytes; an empty content writes one empty
// record (a stream's end).
func writeFCGIRecord(w io.Writer, typ uint8, id uint16, content []byte) error {
	for {
		n := min(len(content), 0xffff)
		h := [8]byte{1, typ}
		binary.BigEndian.PutUint16(h[2:4], id)
		binary.BigEndian.PutUint16(h[4:6], uint16(n))
		if _, err := w.Write(append(h[:], content[:n]...)); err != nil {
			return err
		}
		content = content[n:]
		if len(content) == 0 {
			return nil
		}
	}
}

// readFCGIRequest reads records up to the end of a request's stdin: its
// BEGIN_REQUEST, the params stream and the body (dropped). Management
// records (request id 0) get the answers a responder owes them.
func readFCGIRequest(br *bufio.Reader, w io.Writer) (*fcgiRequest, error) {
	var req *fcgiRequest
	var params []byte
	paramsDone, stdin := false, 0
	for {
		typ, id, content, err := readFCGIRecord(br)
		if err != nil {
			return nil, err
		}
		if id == 0 {
			// A management record: GET_VALUES gets an empty answer (no
			// limits announced), anything else UNKNOWN_TYPE.
			if typ == fcgiGetValues {
				err = writeFCGIRecord(w, fcgiGetValues+1, 0, nil)
			} else {
				err = writeFCGIRecord(w, fcgiUnknownType, 0, []byte{typ, 0, 0, 0, 0, 0, 0, 0})
			}
			if err != nil {
				return nil, err
			}
			continue
		}
		switch {
		case typ == fcgiBeginRequest && req == nil && len(content) >= 3:
			req = &fcgiRequest{id: id, keepConn: content[2]&fcgiKeepConn != 0}
		case req == nil || id != req.id:
			return nil, fmt.Errorf("fastcgi: record type %d for request %d outside a request", typ, id)
		case typ == fcgiAbortRequest:
			return nil, errFCGIAbort
		case typ == fcgiParams && !paramsDone:
			if len(content) == 0 {
				paramsDone = true
				if req.params, err = parseFCGIPairs(params); err != nil {
					return nil, err
				}
				continue
			}
			if params = append(params, content...); len(params) > fcgiMaxParams {
				return nil, fmt.Errorf("fastcgi: params larger than %d bytes", fcgiMaxParams)
			}
		case typ == fcgiStdin && paramsDone:
			if len(content) == 0 {
				return req, nil
			}
			if stdin += len(content); stdin > fcgiMaxStdin {
				return nil, fmt.Errorf("fastcgi: request body larger than %d bytes", fcgiMaxStdin)
			}
		default:
			return nil, fmt.Errorf("fastcgi: unexpected record type %d", typ)
		}
	}
}

// parseFCGIPairs decodes a params stream: name-value pairs, each length
// one byte below 128, else four bytes with the high bit set.
func parseFCGIPairs(b []byte) ([]Header, error) {
	length := func() (int, bool) {
		if len(b) == 0 {
			return 0, false
		}
		if b[0]&0x80 == 0 {
			n := int(b[0])
			b = b[1:]
			return n, true
		}
		if len(b) < 4 {
			return 0, false
		}
		n := int(binary.BigEndian.Uint32(b[:4]) & 0x7fffffff)
		b = b[4:]
		return n, true
	}
	var out []Header
	for len(b) > 0 {
		nl, ok1 := length()
		vl, ok2 := length()
		if !ok1 || !ok2 || nl > len(b) || vl > len(b)-nl {
			return nil, errors.New("fastcgi: malformed params")
		}
		out = append(out, Header{Name: string(b[:nl]), Value: string(b[nl : nl+vl])})
		b = b[nl+vl:]
	}
	return out, nil
}

// serveFastCGI serves FastCGI requests on c, read through br, under the
// backend's policy: the answer is a CGI response on stdout (a Status
// line for other codes than 200), then END_REQUEST; the connection stays
// open only when nginx asked for it (fastcgi_keep_conn).
func (b *Backend) serveFastCGI(c net.Conn, br *bufio.Reader) {
	for {
		req, err := readFCGIRequest(br, c)
		if err != nil {
			return
		}
		code, body, extra, ok := b.paramsAnswer(c, ProtoFastCGI, req.params)
		if !ok {
			return
		}
		var head bytes.Buffer
		line, hs := paramsHead(ProtoFastCGI, code, body, extra)
		_ = writeParamsHead(&head, line, hs)
		w := bufio.NewWriter(c)
		_ = writeFCGIRecord(w, fcgiStdout, req.id, append(head.Bytes(), body...))
		_ = writeFCGIRecord(w, fcgiStdout, req.id, nil)
		// END_REQUEST: application status 0, FCGI_REQUEST_COMPLETE.
		_ = writeFCGIRecord(w, fcgiEndRequest, req.id, make([]byte, 8))
		if w.Flush() != nil || !req.keepConn || b.policy.Kind == PolicyOKClose {
			return
		}
	}
}
