package emulator

import (
	"fmt"
	"strconv"
	"strings"
)

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

// ParamReflectPrefix is ReflectPrefix as fastcgi_pass, uwsgi_pass and
// scgi_pass pass the client's header on (*_pass_request_headers is on by
// default): "HTTP_", then the name upper-cased with '-' as '_'
// (ngx_http_fastcgi_create_request and its uwsgi and SCGI twins). The
// params echo answers each param ParamReflectPrefix+REST with a response
// header named by REST with every '_' turned into '-' and each word
// title-cased, so HTTP_X_NGXLINT_REFLECT_X_POWERED_BY: v gives
// "X-Powered-By: v". The client's dashes and underscores are one to
// nginx here (a header with '_' never reaches the module under
// ignore_invalid_headers anyway), so a name is always read back with
// dashes; header names are case-insensitive, so the casing is cosmetic.
const ParamReflectPrefix = "HTTP_X_NGXLINT_REFLECT_"

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
// headers the backend received (over HTTP/1 or HTTP/2); ok is false when body is not one (a
// response from elsewhere: nginx's own error page, a return).
func ParseEcho(body string) (line string, hs []Header, ok bool) {
	head, _, complete := strings.Cut(body, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	f := strings.Fields(lines[0])
	if !complete || len(f) != 3 || (!strings.HasPrefix(f[2], "HTTP/1.") && f[2] != "HTTP/2.0") {
		return "", nil, false
	}
	for _, l := range lines[1:] {
		// An HTTP/2 echo names :authority (EchoH2Headers): the name
		// runs to the second colon.
		pseudo := strings.HasPrefix(l, ":")
		n, v, found := strings.Cut(strings.TrimPrefix(l, ":"), ":")
		if pseudo {
			n = ":" + n
		}
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

// ReflectedParams returns the response headers the params echo (FastCGI,
// uwsgi, SCGI) adds for a request that carried params ps: one per
// ParamReflectPrefix param, named as ParamReflectPrefix says, under the
// same bounds as Reflected. Content-Type and Content-Length are left
// out: the echo writes its own, and a second Content-Length is a framing
// error rather than a header to hide.
func ReflectedParams(ps []Header) []Header {
	var hs []Header
	for _, p := range ps {
		rest, ok := strings.CutPrefix(p.Name, ParamReflectPrefix)
		if !ok || rest == "" {
			continue
		}
		words := strings.Split(strings.ToLower(rest), "_")
		for i, w := range words {
			if w != "" {
				words[i] = strings.ToUpper(w[:1]) + w[1:]
			}
		}
		name := strings.Join(words, "-")
		if strings.EqualFold(name, "Content-Type") || strings.EqualFold(name, "Content-Length") {
			continue
		}
		hs = append(hs, Header{Name: ReflectPrefix + name, Value: p.Value})
	}
	return Reflected(hs)
}

// The params protocols (FastCGI, uwsgi, SCGI) carry name/value pairs
// instead of a request head; their echo answer lists them, one format
// for the three, so that one check reads any of them on either engine.

// ParamsProto names a params protocol in its echo answer's first line.
type ParamsProto string

// The params protocols a backend answers, by the name their echo gives.
const (
	ProtoFastCGI ParamsProto = "fastcgi"
	ProtoUwsgi   ParamsProto = "uwsgi"
	ProtoSCGI    ParamsProto = "scgi"
)

// paramsEchoSuffix ends the first line of a params echo, after the
// protocol's name: it tells the body from any other (nginx's error page)
// and says the order.
const paramsEchoSuffix = " params, in received order\n"

// ParamsEcho is the echo backend's body for a request of protocol proto
// with params ps: "# PROTO params, in received order", then one
// "NAME=value" line per param in the order received, duplicates kept,
// cut at echoMaxBody bytes. A byte below 0x20, 0x7f or a backslash in a
// name or value is written as \xNN, so a line is always one param; both
// engines write it so.
func ParamsEcho(proto ParamsProto, ps []Header) string {
	var b strings.Builder
	b.WriteString("# " + string(proto) + paramsEchoSuffix)
	for _, p := range ps {
		b.WriteString(echoEscape(p.Name) + "=" + echoEscape(p.Value) + "\n")
	}
	s := b.String()
	if len(s) > echoMaxBody {
		s = s[:echoMaxBody]
	}
	return s
}

func echoEscape(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '\\' {
			fmt.Fprintf(&b, `\x%02x`, c)
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ParseParamsEcho reads a params echo body back into its protocol and
// the params, their escapes undone; ok is false when body is not one. A
// line cut by the bound is left out.
func ParseParamsEcho(body string) (proto ParamsProto, ps []Header, ok bool) {
	first, rest, found := strings.Cut(body, "\n")
	name, hasMark := strings.CutPrefix(first+"\n", "# ")
	name, hasSuffix := strings.CutSuffix(name, paramsEchoSuffix)
	if !found || !hasMark || !hasSuffix {
		return "", nil, false
	}
	switch p := ParamsProto(name); p {
	case ProtoFastCGI, ProtoUwsgi, ProtoSCGI:
		proto = p
	default:
		return "", nil, false
	}
	for rest != "" {
		line, after, complete := strings.Cut(rest, "\n")
		if !complete {
			break
		}
		rest = after
		n, v, _ := strings.Cut(line, "=")
		ps = append(ps, Header{Name: echoUnescape(n), Value: echoUnescape(v)})
	}
	return proto, ps, true
}

// echoUnescape undoes echoEscape.
func echoUnescape(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if n, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
