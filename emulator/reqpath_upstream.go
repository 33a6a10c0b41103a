package emulator

import (
	"slices"
	"strings"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// What a proxying content handler sends upstream, computed (nothing is
// sent), and, with Site.EchoBackend, the echo backend's answer as the
// proxy passes it on: what SEC1002's requests show about proxy_set_header,
// *_param and proxy_hide_header.

// UpstreamRequest is the request head proxy_pass would send: the request
// line and the header lines in nginx's order.
type UpstreamRequest struct {
	Line    string
	Headers []Header
}

// proxyDefaultHeaders are the headers the proxy module sets unless the
// level's proxy_set_header list names them (ngx_http_proxy_headers, added
// after the user's list by ngx_http_proxy_init_headers). An empty value
// is not sent, but the name still keeps the client's header of that name
// from being passed.
var proxyDefaultHeaders = [][2]string{
	{"Host", "$proxy_host"},
	{"Connection", "close"},
	{"Content-Length", "$proxy_internal_body_length"},
	{"Transfer-Encoding", "$proxy_internal_chunked"},
	{"TE", ""},
	{"Keep-Alive", ""},
	{"Expect", ""},
	{"Upgrade", ""},
}

// xAccelHeaders are the upstream module's control headers, which every
// proxying module hides from the client by default.
var xAccelHeaders = []string{"X-Accel-Expires", "X-Accel-Redirect", "X-Accel-Limit-Rate", "X-Accel-Buffering", "X-Accel-Charset"}

// hiddenByDefault are, per module, the upstream response headers it never
// passes to the client unless MODULE_pass_header names them;
// MODULE_hide_header adds to them. One table per module, as nginx has
// (ngx_http_proxy_hide_headers, ngx_http_grpc_hide_headers: the proxy's
// but X-Pad, ngx_http_fastcgi_hide_headers and ngx_http_scgi_hide_headers:
// Status, which carries their status line, ngx_http_uwsgi_hide_headers:
// only X-Accel-*, uwsgi answers with a status line).
var hiddenByDefault = map[string][]string{
	"proxy":   append([]string{"Date", "Server", "X-Pad"}, xAccelHeaders...),
	"grpc":    append([]string{"Date", "Server"}, xAccelHeaders...),
	"fastcgi": append([]string{"Status"}, xAccelHeaders...),
	"uwsgi":   xAccelHeaders,
	"scgi":    append([]string{"Status"}, xAccelHeaders...),
}

// HidesByDefault reports whether module ("proxy", "grpc", "fastcgi",
// "uwsgi", "scgi") hides the upstream response header name whatever
// MODULE_hide_header says.
func HidesByDefault(module, name string) bool {
	return slices.ContainsFunc(hiddenByDefault[module], func(h string) bool { return strings.EqualFold(h, name) })
}

// proxyRequest computes the head proxy_pass sends to the upstream URL u:
// the level's effective proxy_set_header list (all-or-nothing
// inheritance), then the module's defaults it does not name, each
// evaluated for this request and left out when empty, then the client's
// headers that no entry names (proxy_pass_request_headers on).
func (st *reqState) proxyRequest(u string) *UpstreamRequest {
	scope := st.scopeOf()
	version := "1.0"
	if d := scope.Effective("proxy_http_version"); d != nil && d.Arg(0) == "1.1" {
		version = "1.1"
	}
	uri := "/"
	if _, rest, ok := strings.Cut(u, "://"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			uri = rest[i:]
		}
	}
	out := &UpstreamRequest{Line: st.x.Method + " " + uri + " HTTP/" + version}
	named := map[string]bool{}
	add := func(name, value string) {
		named[strings.ToLower(name)] = true
		if v := st.eval(value); v != "" {
			out.Headers = append(out.Headers, Header{Name: name, Value: v})
		}
	}
	for _, d := range scope.EffectiveAll("proxy_set_header") {
		if len(d.Args) == 2 && !named[strings.ToLower(d.Arg(0))] {
			add(d.Arg(0), d.Arg(1))
		}
	}
	for _, h := range proxyDefaultHeaders {
		if !named[strings.ToLower(h[0])] {
			add(h[0], h[1])
		}
	}
	if d := scope.Effective("proxy_pass_request_headers"); d == nil || d.Arg(0) != "off" {
		for _, h := range st.hdrs {
			// ignore_invalid_headers (on by default) drops names with
			// an underscore before any module sees them.
			if named[strings.ToLower(h.Name)] || strings.Contains(h.Name, "_") {
				continue
			}
			out.Headers = append(out.Headers, h)
		}
	}
	return out
}

// HiddenByDefault lists the upstream response headers module hides by
// default (HidesByDefault).
func HiddenByDefault(module string) []string {
	return slices.Clone(hiddenByDefault[module])
}

// upstreamPassed returns the upstream response headers hs that reach
// the client through module (a key of hiddenByDefault): those neither
// hidden by default nor by the level's effective MODULE_hide_header
// list, unless its MODULE_pass_header list names them
// (ngx_http_upstream_hide_headers_hash; both lists are inherited
// all-or-nothing).
func (st *reqState) upstreamPassed(module string, hs []Header) []Header {
	scope := st.scopeOf()
	hidden := map[string]bool{}
	for _, h := range hiddenByDefault[module] {
		hidden[strings.ToLower(h)] = true
	}
	for _, d := range scope.EffectiveAll(module + "_hide_header") {
		hidden[strings.ToLower(d.Arg(0))] = true
	}
	for _, d := range scope.EffectiveAll(module + "_pass_header") {
		delete(hidden, strings.ToLower(d.Arg(0)))
	}
	var out []Header
	for _, h := range hs {
		switch strings.ToLower(h.Name) {
		case "content-type", "content-length", "connection", "keep-alive", "transfer-encoding":
			// The proxy writes these itself.
			continue
		}
		if !hidden[strings.ToLower(h.Name)] {
			out = append(out, h)
		}
	}
	return out
}

// grpcDefaultHeaders are the headers the grpc module sets unless the
// level's grpc_set_header list names them (ngx_http_grpc_headers): the
// body's length and TE only when the client asked for trailers; the
// empty ones keep the client's header of that name from being passed
// (Host is carried by :authority, the others are HTTP/1 connection
// headers HTTP/2 forbids).
var grpcDefaultHeaders = [][2]string{
	{"Content-Length", "$content_length"},
	{"TE", "$grpc_internal_trailers"},
	{"Host", ""},
	{"Connection", ""},
	{"Transfer-Encoding", ""},
	{"Keep-Alive", ""},
	{"Expect", ""},
	{"Upgrade", ""},
}

// grpcRequest computes the head grpc_pass gp sends, as the h2c echo
// backend writes it back (EchoH2Headers): the method and :path (the
// request target as received, or the changed URI escaped with its
// arguments), :authority (grpc_pass's host[:port] as written, unless
// grpc_set_header names Host, which then stands for it:
// glcf->host_set), the level's effective grpc_set_header list, the
// module's defaults it does not name, each evaluated and left out when
// empty, then the client's headers that no entry names
// (ngx_http_grpc_create_request).
func (st *reqState) grpcRequest(gp *nginxconf.Directive) *UpstreamRequest {
	scope := st.scopeOf()
	target := gp.Arg(0)
	if strings.Contains(target, "$") {
		target = st.eval(target)
	}
	if _, rest, ok := strings.Cut(target, "://"); ok {
		target = rest
	}
	authority, _, _ := strings.Cut(target, "/")
	path := st.x.Target
	if st.uri != st.origURI() {
		path = escapeURIPath(st.uri)
		if st.hasArgs && st.args != "" {
			path += "?" + st.args
		}
	}
	var hs []Header
	named := map[string]bool{}
	hostSet := false
	add := func(name, value string) {
		named[strings.ToLower(name)] = true
		if v := st.eval(value); v != "" {
			hs = append(hs, Header{Name: name, Value: v})
			if strings.EqualFold(name, "host") {
				authority = v
			}
		}
	}
	for _, d := range scope.EffectiveAll("grpc_set_header") {
		if len(d.Args) == 2 && !named[strings.ToLower(d.Arg(0))] {
			hostSet = hostSet || strings.EqualFold(d.Arg(0), "host")
			add(d.Arg(0), d.Arg(1))
		}
	}
	if hostSet && !hasHeader(hs, "host") {
		// An empty Host set: nginx sends no :authority, and the
		// backend sees none.
		authority = ""
	}
	for _, h := range grpcDefaultHeaders {
		if !named[strings.ToLower(h[0])] {
			add(h[0], h[1])
		}
	}
	// The module has no grpc_pass_request_headers: it always sets
	// upstream.pass_request_headers (ngx_http_grpc_create_loc_conf).
	for _, h := range st.hdrs {
		if named[strings.ToLower(h.Name)] || strings.Contains(h.Name, "_") {
			continue
		}
		hs = append(hs, h)
	}
	return &UpstreamRequest{Line: echoH2Line(st.x.Method, path), Headers: EchoH2Headers(authority, hs)}
}

// paramsProtos names the protocol of each params handler in its echo.
var paramsProtos = map[string]ParamsProto{"fastcgi_pass": ProtoFastCGI, "uwsgi_pass": ProtoUwsgi, "scgi_pass": ProtoSCGI}

// upstreamParams computes the params a FastCGI, uwsgi or SCGI handler
// sends: the level's effective list of param (all-or-nothing: "if
// (conf->params_source == NULL) conf->params = prev->params"), entries
// from an include of a stock file the tree does not hold counted at the
// level of the include, in configuration order (the order
// ngx_http_fastcgi_init_params compiles them in), each evaluated; an
// empty value is sent unless the entry says if_not_empty. The client's
// headers, which the module adds as HTTP_* params, are left out
// (headerParams adds them).
func (st *reqState) upstreamParams(param string) []Header {
	for s := st.scopeOf(); s != nil; s = s.Parent {
		var es [][]string
		if s.Directive != nil {
			levelParams(s.Directive.Block, param, func(args []string) { es = append(es, args) })
		} else {
			for _, d := range s.Own(param) {
				es = append(es, []string{d.Arg(0), d.Arg(1), d.Arg(2)})
			}
		}
		if len(es) == 0 {
			continue
		}
		var out []Header
		for _, e := range es {
			e = append(e, "", "", "")
			v := st.eval(e[1])
			if v == "" && e[2] == "if_not_empty" {
				continue
			}
			out = append(out, Header{Name: e[0], Value: v})
		}
		return out
	}
	return nil
}

// levelParams calls fn with the arguments of each param directive of the
// level whose block is ds, in order: those written in it, those of a
// file included there (read or stock), without entering other blocks.
func levelParams(ds []*nginxconf.Directive, param string, fn func(args []string)) {
	for _, d := range ds {
		if d.Name == param && len(d.Args) > 0 {
			args := make([]string, len(d.Args))
			for i := range d.Args {
				args[i] = d.Arg(i)
			}
			fn(args)
		}
		if d.Name != "include" {
			continue
		}
		if d.Stock != nil {
			for _, sd := range d.Stock.Directives {
				if sd.Name == param && len(sd.Args) > 0 {
					fn(sd.Args)
				}
			}
		}
		for _, f := range d.Included {
			levelParams(f.Directives, param, fn)
		}
	}
}

// headerParams are the client's headers as the create_request of the
// handler pass (fastcgi_pass, uwsgi_pass, scgi_pass) sends them after the
// params (*_pass_request_headers on; the three modules do it alike): each
// as HTTP_ and its name upper-cased with '-' as '_', unless a param of ps
// named HTTP_ and that name stands for it. Names with an underscore never
// reach the module (ignore_invalid_headers).
func (st *reqState) headerParams(pass string, ps []Header) []Header {
	prefix := strings.TrimSuffix(pass, "pass")
	if d := st.scopeOf().Effective(prefix + "pass_request_headers"); d != nil && d.Arg(0) == "off" {
		return nil
	}
	norm := func(name string) string {
		return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	}
	hidden := map[string]bool{}
	for _, p := range ps {
		if rest, ok := strings.CutPrefix(p.Name, "HTTP_"); ok && rest != "" {
			hidden[norm(rest)] = true
		}
	}
	var out []Header
	for _, h := range st.hdrs {
		if strings.Contains(h.Name, "_") || hidden[norm(h.Name)] {
			continue
		}
		out = append(out, Header{Name: "HTTP_" + norm(h.Name), Value: h.Value})
	}
	return out
}
