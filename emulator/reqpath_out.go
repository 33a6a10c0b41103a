package emulator

import (
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// maxBody bounds the body of a static file the emulator returns.
const maxBody = 64 << 10

// content runs the content phase of the chosen configuration.
func (st *reqState) content() {
	x := st.x
	own := func(name string) *nginxconf.Directive {
		if st.ifBlock != nil {
			for _, d := range st.ifBlock.Block {
				if d.Name == name {
					return d
				}
			}
		}
		if st.loc != nil {
			if ds := st.loc.Own(name); len(ds) > 0 {
				return ds[len(ds)-1]
			}
		}
		return nil
	}
	if pp := own("proxy_pass"); pp != nil {
		x.Upstream = st.upstreamURL(pp)
		if host, ok := st.unresolvable(pp, x.Upstream); ok {
			x.Trace = append(x.Trace, "proxy_pass -> "+x.Upstream+": no resolver defined to resolve "+host+" (502)")
			st.finish(502, "", "")
			return
		}
		x.UpstreamRequest = st.proxyRequest(x.Upstream)
		if !st.site.EchoBackend {
			x.Trace = append(x.Trace, "proxy_pass -> "+x.Upstream+" (not sent: the emulated backend answers 200)")
			st.finish(200, "", "")
			return
		}
		// The echo backend answers with the head it read and reflects
		// the headers asked for (PolicyEcho); the proxy passes on those
		// it does not hide.
		ur := x.UpstreamRequest
		st.upstreamHdrs = st.upstreamPassed("proxy", Reflected(ur.Headers))
		x.Trace = append(x.Trace, "proxy_pass -> "+x.Upstream+" (not sent: the emulated echo backend answers 200 with the request head)")
		st.finish(200, "", EchoHead(ur.Line, ur.Headers))
		return
	}
	if gp := own("grpc_pass"); gp != nil && st.site.EchoBackend {
		// What grpc_pass sends is computed and the h2c echo backend's
		// answer modelled (h2c.go): the head it read, the headers it is
		// asked to reflect through the grpc module's hide list.
		ur := st.grpcRequest(gp)
		x.UpstreamRequest = ur
		st.upstreamHdrs = st.upstreamPassed("grpc", Reflected(ur.Headers))
		x.Trace = append(x.Trace, "grpc_pass (not sent: the emulated echo backend answers 200 with the request head)")
		st.finish(200, "", EchoHead(ur.Line, ur.Headers))
		return
	}
	if own("stub_status") != nil {
		st.stubStatus()
		return
	}
	for _, h := range []string{"vhost_traffic_status_display", "fastcgi_pass", "uwsgi_pass", "scgi_pass", "grpc_pass", "memcached_pass", "content_by_lua", "content_by_lua_block", "content_by_lua_file"} {
		if own(h) != nil {
			if proto, ok := paramsProtos[h]; ok {
				// What the backend is sent is computed; its answer is
				// not modelled, but for the echo backend's.
				x.UpstreamParams = st.upstreamParams(string(proto) + "_param")
				if x.UpstreamParams == nil {
					x.UpstreamParams = []Header{}
				}
				if st.site.EchoBackend {
					sent := append(slices.Clip(x.UpstreamParams), st.headerParams(h, x.UpstreamParams)...)
					if proto == ProtoSCGI {
						// ngx_http_scgi_create_request writes the body's
						// length first, whatever the params say; the
						// emulated client sends no body.
						sent = append([]Header{{Name: "CONTENT_LENGTH", Value: "0"}}, sent...)
					}
					// The echo answers the HTTP_X_NGXLINT_REFLECT_* params
					// with headers (ReflectedParams) after its own
					// (paramsHead), which the module filters through its
					// hide lists as proxy_pass does.
					body := ParamsEcho(proto, sent)
					_, hs := paramsHead(proto, 200, body, ReflectedParams(sent))
					st.upstreamHdrs = st.upstreamPassed(string(proto), hs)
					code := 200
					if proto != ProtoUwsgi && hasHeader(hs, "Location") && !hasHeader(hs, "Status") {
						// CGI semantics (ngx_http_fastcgi_process_header,
						// ngx_http_scgi_process_header): a Location
						// without a Status makes the answer 302, whether
						// or not the hide list then drops the header.
						code = 302
					}
					x.Trace = append(x.Trace, fmt.Sprintf("%s (not sent: the emulated echo backend answers %d with the params)", h, code))
					st.finish(code, "", body)
					return
				}
			}
			x.Unmodelled = append(x.Unmodelled, h)
			st.finish(200, "", "")
			return
		}
	}
	st.static()
}

// hasHeader reports whether hs has a header called name.
func hasHeader(hs []Header, name string) bool {
	_, ok := headerValue(hs, name)
	return ok
}

// headerValue is the value of hs's first header called name.
func headerValue(hs []Header, name string) (string, bool) {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value, true
		}
	}
	return "", false
}

// stubStatusBody is what ngx_http_stub_status_handler writes for one
// client connection that is sending this request, on a server that has
// accepted and handled just it: the counters are those of a fresh
// worker, the layout (the trailing spaces included) is the handler's.
const stubStatusBody = "Active connections: 1 \nserver accepts handled requests\n 1 1 1 \nReading: 0 Writing: 1 Waiting: 0 \n"

// stubStatus is the stub_status content handler
// (ngx_http_stub_status_handler): GET and HEAD get 200 text/plain with the
// counters, other methods 405. The counters' values are not modelled, only
// the page's shape: a client reads the same lines from real nginx.
func (st *reqState) stubStatus() {
	if m := st.x.Method; m != "GET" && m != "HEAD" {
		st.finish(405, "", "")
		return
	}
	st.x.Trace = append(st.x.Trace, "stub_status: 200 with the connection counters")
	st.finish(200, "", stubStatusBody)
}

// upstreamURL is the URL ngx_http_proxy_handler requests: with variables,
// the evaluated target (plus the request URI when it has no path); with a
// URI part, the location's prefix replaced by it (the whole changed URI
// after "rewrite ... break"); without one, the request URI as sent (or the
// changed URI, escaped).
func (st *reqState) upstreamURL(pp *nginxconf.Directive) string {
	t := pp.Arg(0)
	if strings.Contains(t, "$") {
		// With variables nginx evaluates the whole URL per request
		// (the scheme too: "proxy_pass $u" with set $u http://...),
		// then takes the client's URI when it has no path.
		v := st.eval(t)
		if _, r, ok := strings.Cut(v, "://"); ok && !strings.Contains(r, "/") {
			v += st.x.Target
		}
		return v
	}
	scheme, rest, ok := strings.Cut(t, "://")
	if !ok {
		return t
	}
	host, uriPart, hasURI := strings.Cut(rest, "/")
	base := scheme + "://" + host
	args := ""
	if st.hasArgs && st.args != "" {
		args = "?" + st.args
	}
	switch {
	case !hasURI:
		if st.uri == st.origURI() {
			return base + st.x.Target
		}
		return base + escapeURIPath(st.uri) + args
	case st.proxyFullURI || st.loc == nil || st.loc.Modifier == "~" || st.loc.Modifier == "~*" || st.loc.Modifier == "@":
		return base + escapeURIPath(st.uri) + args
	default:
		tail := strings.TrimPrefix(st.uri, st.loc.Path)
		return base + "/" + uriPart + escapeURIPath(tail) + args
	}
}

// unresolvable reports the host of a proxy_pass built from variables that
// nginx must resolve at run time, finds no upstream for, and has no
// resolver for (ngx_http_upstream_init_request: ngx_resolve_start on
// the dummy resolver gives NGX_NO_RESOLVER, and the request ends in 502).
func (st *reqState) unresolvable(pp *nginxconf.Directive, url string) (string, bool) {
	if !strings.Contains(pp.Arg(0), "$") {
		return "", false // resolved at start
	}
	host, port, noPort, ok := nginxconf.PassHostPort(url)
	if !ok || host == "" || net.ParseIP(strings.Trim(host, "[]")) != nil {
		return "", false
	}
	if st.site.Server.Context.FindsUpstream(host, port, noPort) || st.scopeOf().Effective("resolver") != nil {
		return "", false
	}
	return host, true
}

// origURI is $uri as first normalised (before any rewrite).
func (st *reqState) origURI() string {
	raw, _, _ := strings.Cut(st.x.Target, "?")
	if strings.ContainsAny(raw, "%") || strings.Contains(raw, "/.") || strings.Contains(raw, "//") {
		return "" // nginx then sends the escaped $uri, not the raw target
	}
	return raw
}

// escapeURI is ngx_escape_uri with NGX_ESCAPE_URI: controls, space, '#',
// '%', '?' and bytes >= 0x7f.
func escapeURIPath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte("#%?", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// static maps the URI to a file (ngx_http_map_uri_to_path) and serves it
// from Site.Files.
func (st *reqState) static() {
	x := st.x
	var alias, root *nginxconf.Directive
	var where *nginxconf.Location
	for s := st.scopeOf(); s != nil; s = s.Parent {
		if ds := s.Own("alias"); len(ds) > 0 && st.loc != nil {
			alias = ds[0]
			where = st.loc
			for l := st.loc; l != nil; l = l.Parent {
				if &l.Scope == s {
					where = l
				}
			}
			break
		}
		if ds := s.Own("root"); len(ds) > 0 {
			root = ds[0]
			break
		}
	}
	var p string
	switch {
	case alias != nil:
		a := st.eval(alias.Arg(0))
		if where.Modifier == "~" || where.Modifier == "~*" || strings.Contains(alias.Arg(0), "$") {
			p = a
		} else {
			p = a + strings.TrimPrefix(st.uri, where.Path)
		}
	default:
		r := "html"
		if root != nil {
			r = st.eval(root.Arg(0))
		}
		if !strings.HasPrefix(r, "/") {
			r = "/" + r
		}
		p = strings.TrimSuffix(r, "/") + st.uri
	}
	// The kernel resolves "..": the file opened is the cleaned path.
	x.File = path.Clean(p)
	x.Trace = append(x.Trace, fmt.Sprintf("path %q opens %s", p, x.File))
	if strings.HasSuffix(st.uri, "/") {
		if data, err := st.read(p + "index.html"); err == nil {
			x.File = path.Clean(p + "index.html")
			st.finish(200, "", data)
			return
		}
		if info, err := st.stat(p); err == nil && info.IsDir() {
			st.finish(403, "", "")
			return
		}
		st.finish(404, "", "")
		return
	}
	info, err := st.stat(p)
	switch {
	case err != nil:
		st.finish(404, "", "")
	case info.IsDir():
		st.finish(301, st.uri+"/", "")
	default:
		data, err := st.read(p)
		if err != nil {
			st.finish(403, "", "")
			return
		}
		st.finish(200, "", data)
	}
}

func (st *reqState) read(p string) (string, error) {
	if st.site.Files == nil {
		return "", fs.ErrNotExist
	}
	clean := strings.TrimPrefix(path.Clean("/"+p), "/")
	f, err := st.site.Files.Open(clean)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || info.IsDir() {
		return "", fs.ErrInvalid
	}
	buf := make([]byte, maxBody)
	n, _ := f.Read(buf)
	return string(buf[:n]), nil
}

func (st *reqState) scopeOf() *nginxconf.Scope {
	if st.loc != nil {
		return &st.loc.Scope
	}
	return &st.site.Server.Scope
}

// serverToken is what nginx writes in the Server header and on its error
// pages (ngx_http_header_filter_module, ngx_http_special_response.c):
// "nginx" with server_tokens off, "nginx/<version>" with on (the default)
// or build (the build name is empty unless nginx was configured with
// --build, as Debian's is not).
func (st *reqState) serverToken() string {
	if d := st.scopeOf().Effective("server_tokens"); d != nil && d.Arg(0) == "off" {
		return "nginx"
	}
	v := st.site.NginxVersion
	if v == "" {
		v = "<version>"
	}
	return "nginx/" + v
}

// finish writes the response head as ngx_http_header_filter does (status
// line, Server, Content-Type, Content-Length, Location, Connection, then
// the add_header lines) and reads it back as a client would.
func (st *reqState) finish(code int, location, body string) {
	x := st.x
	x.Status = code
	server := st.serverToken()
	if code >= 300 && body == "" && code != 304 {
		text := http.StatusText(code)
		body = fmt.Sprintf("<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n<hr><center>%s</center>\r\n</body>\r\n</html>\r\n", code, text, code, text, server)
	}
	x.Body = body
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", code, http.StatusText(code))
	if !hasHeader(st.upstreamHdrs, "server") {
		// A Server the backend sent and proxy_pass_header passes
		// replaces nginx's own (r->headers_out.server is set).
		b.WriteString("Server: " + server + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Type: text/plain\r\nContent-Length: %d\r\n", len(body))
	if location != "" {
		// absolute_redirect on (the default): a relative Location gets
		// the scheme and the host.
		if strings.HasPrefix(location, "/") {
			location = "http://" + st.host + location
		}
		fmt.Fprintf(&b, "Location: %s\r\n", location)
	}
	for _, h := range st.outHdrs {
		fmt.Fprintf(&b, "%s: %s\r\n", h.Name, h.Value)
	}
	b.WriteString("Connection: close\r\n")
	for _, h := range st.upstreamHdrs {
		fmt.Fprintf(&b, "%s: %s\r\n", h.Name, h.Value)
	}
	for _, d := range st.addHeaders() {
		always := len(d.Args) >= 3 && d.Arg(2) == "always"
		if !AddHeaderApplies(code, always) {
			continue
		}
		v := st.eval(d.Arg(1))
		if v == "" {
			continue // ngx_http_add_header: an empty value adds nothing
		}
		fmt.Fprintf(&b, "%s: %s\r\n", d.Arg(0), v)
	}
	b.WriteString("\r\n")
	x.Head = b.String()
	_, x.Headers = ParseHead(x.Head)
}

// addHeaders is the add_header list that applies: an if block's own, or
// the location's effective list (all-or-nothing inheritance).
func (st *reqState) addHeaders() []*nginxconf.Directive {
	if st.ifBlock != nil {
		var own []*nginxconf.Directive
		for _, d := range st.ifBlock.Block {
			if d.Name == "add_header" {
				own = append(own, d)
			}
		}
		if len(own) > 0 {
			return own
		}
	}
	return st.scopeOf().EffectiveAll("add_header")
}

// ParseHead reads a response head the way a lenient client (a browser)
// does: lines end at LF, a CR before it is dropped, and every line up to
// the first empty one is a header. Both engines' responses go through it,
// so an injected header is observed the same way on either.
func ParseHead(raw string) (status int, hs []Header) {
	lines := strings.Split(raw, "\n")
	if len(lines) == 0 {
		return 0, nil
	}
	first := strings.Fields(strings.TrimSuffix(lines[0], "\r"))
	if len(first) >= 2 {
		status, _ = strconv.Atoi(first[1])
	}
	for _, l := range lines[1:] {
		l = strings.TrimSuffix(l, "\r")
		if l == "" {
			break
		}
		name, val, _ := strings.Cut(l, ":")
		hs = append(hs, Header{Name: strings.TrimSpace(name), Value: strings.TrimSpace(val)})
	}
	return status, hs
}
