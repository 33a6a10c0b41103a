package emulator

import "strings"

// The echo backend (PolicyEcho, and the request path's backend when
// Site.EchoBackend is set) makes what a proxy sends upstream visible to
// its client: the response body is the request head the backend read, and
// headers the request asks for come back as response headers. Both
// engines' backends write the same format, so one check reads either.

// ReflectPrefix starts the name of a request header that the echo backend
// sends back as a response header named by the rest of the name, with the
// same value: "X-Ngxlint-Reflect-X-Powered-By: v" makes it answer with
// "X-Powered-By: v".
const ReflectPrefix = "X-Ngxlint-Reflect-"

// Bounds of an echo answer: the body (the request head, which the backend
// reads up to maxHeaderBytes anyway) and the number of reflected headers.
const (
	echoMaxBody    = 8 << 10
	echoMaxReflect = 16
)

// EchoHead is the echo backend's body for a request: the request line and
// the header lines, each ended by CRLF, then an empty line, cut at
// echoMaxBody bytes.
func EchoHead(line string, hs []Header) string {
	var b strings.Builder
	b.WriteString(line + "\r\n")
	for _, h := range hs {
		b.WriteString(h.Name + ": " + h.Value + "\r\n")
	}
	b.WriteString("\r\n")
	s := b.String()
	if len(s) > echoMaxBody {
		s = s[:echoMaxBody]
	}
	return s
}

// ParseEcho reads an echo backend's body back into the request line and
// headers the backend received; ok is false when body is not one (a
// response from elsewhere: nginx's own error page, a return).
func ParseEcho(body string) (line string, hs []Header, ok bool) {
	head, _, complete := strings.Cut(body, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	f := strings.Fields(lines[0])
	if !complete || len(f) != 3 || !strings.HasPrefix(f[2], "HTTP/1.") {
		return "", nil, false
	}
	for _, l := range lines[1:] {
		n, v, found := strings.Cut(l, ":")
		if !found {
			return "", nil, false
		}
		hs = append(hs, Header{Name: n, Value: strings.TrimSpace(v)})
	}
	return lines[0], hs, true
}

// Reflected returns the response headers the echo backend adds for a
// request with headers hs: one per ReflectPrefix header whose remaining
// name is a token and whose value has no control byte, at most
// echoMaxReflect.
func Reflected(hs []Header) []Header {
	var out []Header
	for _, h := range hs {
		if len(out) == echoMaxReflect {
			break
		}
		if len(h.Name) <= len(ReflectPrefix) || !strings.EqualFold(h.Name[:len(ReflectPrefix)], ReflectPrefix) {
			continue
		}
		name := h.Name[len(ReflectPrefix):]
		if !isToken(name) || strings.IndexFunc(h.Value, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			continue
		}
		out = append(out, Header{Name: name, Value: h.Value})
	}
	return out
}
