package emulator

import (
	"strings"

	"github.com/ngxlint/ngxlint/reqmodel"
)

// eval expands a complex value ("$scheme://$host$uri") with the request's
// variables.
func (st *reqState) eval(v string) string { return st.evalCaps(v, false) }

// evalCaps expands v; escapeCaps escapes the captures as
// ngx_http_script_copy_capture_code does in a rewrite's redirect or
// arguments (NGX_ESCAPE_ARGS).
func (st *reqState) evalCaps(v string, escapeCaps bool) string {
	refs := reqmodel.Refs(v)
	if len(refs) == 0 {
		return v
	}
	var b strings.Builder
	last := 0
	for _, r := range refs {
		b.WriteString(v[last:r.Start])
		val := st.variable(r.Name)
		if escapeCaps && r.Name != "" && r.Name[0] >= '0' && r.Name[0] <= '9' {
			val = escapeArgs(val)
		}
		b.WriteString(val)
		last = r.End
	}
	b.WriteString(v[last:])
	return b.String()
}

// escapeArgs is ngx_escape_uri with NGX_ESCAPE_ARGS: control bytes, space,
// '#', '%', '&', '+', '?' and bytes >= 0x7f become %XX.
func escapeArgs(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte("#%&+?", c) >= 0 {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// variable returns one variable's value for this request.
func (st *reqState) variable(name string) string {
	lname := strings.ToLower(name)
	if name != "" && name[0] >= '0' && name[0] <= '9' {
		n := int(name[0] - '0')
		if n < len(st.caps) {
			return st.caps[n]
		}
		return ""
	}
	if st.capRe != nil {
		if n, ok := st.capRe.Names[name]; ok && n < len(st.caps) {
			return st.caps[n]
		}
	}
	if v, ok := st.vars[lname]; ok {
		return v
	}
	if v, ok := st.mapped(lname); ok {
		return v
	}
	switch lname {
	case "uri", "document_uri":
		return st.uri
	case "request_uri":
		return st.x.Target
	case "args", "query_string":
		return st.args
	case "is_args":
		if st.hasArgs && st.args != "" {
			return "?"
		}
		return ""
	case "host":
		return st.host
	case "scheme":
		return "http"
	case "request_method":
		return st.x.Method
	case "server_name":
		if len(st.site.Server.ServerNames) > 0 {
			return st.site.Server.ServerNames[0]
		}
		return ""
	case "remote_addr":
		return st.accessAddr()
	case "proxy_host", "proxy_port":
		h, p := proxyHostPort(st.x.Upstream)
		if lname == "proxy_port" {
			return p
		}
		return h
	case "proxy_add_x_forwarded_for":
		if v, ok := headerValue(st.hdrs, "x-forwarded-for"); ok {
			return v + ", " + st.accessAddr()
		}
		return st.accessAddr()
	case "invalid_referer":
		return st.invalidReferer()
	case "server_protocol":
		// Both engines' clients send HTTP/1.1 request lines.
		return "HTTP/1.1"
	case "nginx_version":
		return st.site.NginxVersion
	case "document_root":
		v, _ := st.documentRoot()
		return v
	case "fastcgi_script_name":
		v, _ := st.fastcgiScriptName()
		return v
	case "content_length":
		// The client's Content-Length (ngx_http_variable_content_length;
		// the emulated client sends no chunked body).
		return st.variable("http_content_length")
	case "grpc_internal_trailers":
		// "trailers" when the client's TE asks for them, else not found
		// (ngx_http_grpc_internal_trailers_variable).
		if te := st.variable("http_te"); strings.Contains(strings.ToLower(te), "trailers") {
			return "trailers"
		}
		return ""
	case "request_id":
		// 16 random bytes in hex in nginx (ngx_http_variable_request_id);
		// a fixed value here, of the same length, non-empty as there.
		return "00000000000000000000000000000000"
	}
	switch {
	case strings.HasPrefix(lname, "http_"):
		want := strings.ReplaceAll(lname[5:], "_", "-")
		if v, ok := headerValue(st.hdrs, want); ok {
			return v
		}
		if want == "host" {
			return st.host
		}
	case strings.HasPrefix(lname, "arg_"):
		// $arg_* is the raw argument value, not decoded
		// (ngx_http_arg).
		for _, kv := range strings.Split(st.args, "&") {
			k, v, _ := strings.Cut(kv, "=")
			if strings.EqualFold(k, lname[4:]) {
				return v
			}
		}
	case strings.HasPrefix(lname, "cookie_"):
		for _, h := range st.hdrs {
			if !strings.EqualFold(h.Name, "cookie") {
				continue
			}
			for _, kv := range strings.Split(h.Value, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
				if strings.EqualFold(k, lname[7:]) {
					return v
				}
			}
		}
	}
	return ""
}

// mapped evaluates a map whose result is name: exact keys first, then
// the regex keys in order, then the default (ngx_http_map_find; the
// hostnames masks are not modelled).
func (st *reqState) mapped(name string) (string, bool) {
	m := st.site.Analysis.Model
	if m == nil || m.HTTP == nil {
		return "", false
	}
	for _, d := range m.HTTP.Own("map") {
		if len(d.Args) != 2 || strings.ToLower(strings.TrimPrefix(d.Arg(1), "$")) != name {
			continue
		}
		src := st.eval(d.Arg(0))
		def := ""
		entries := reqmodel.Flatten(d.Block)
		for _, e := range entries {
			if e.Name == "default" && len(e.Args) == 1 {
				def = e.Arg(0)
			}
			if !strings.HasPrefix(e.Name, "~") && e.Name != "default" && len(e.Args) == 1 && e.Name == src {
				return st.eval(e.Arg(0)), true
			}
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name, "~") || len(e.Args) != 1 {
				continue
			}
			re := reqmodel.Compile(strings.TrimPrefix(strings.TrimPrefix(e.Name, "~"), "*"), strings.HasPrefix(e.Name, "~*"))
			if caps := re.Match(src); caps != nil {
				saved, savedRe := st.caps, st.capRe
				st.caps, st.capRe = caps, re
				v := st.eval(e.Arg(0))
				st.caps, st.capRe = saved, savedRe
				return v, true
			}
		}
		return st.eval(def), true
	}
	return "", false
}

// proxyHostPort returns $proxy_host and $proxy_port for a proxied URL:
// the host as written, with the port when it is not the scheme's default
// (ngx_http_proxy_set_vars), and the port.
func proxyHostPort(u string) (host, port string) {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return "", ""
	}
	hp, _, _ := strings.Cut(rest, "/")
	def := "80"
	if scheme == "https" {
		def = "443"
	}
	if i := strings.LastIndexByte(hp, ':'); i >= 0 && !strings.Contains(hp[i:], "]") {
		if hp[i+1:] == def {
			return hp[:i], def
		}
		return hp, hp[i+1:]
	}
	return hp, def
}

// unstableVars are variables the request path gives a value that another
// run or engine does not reproduce: random ($request_id), or naming the
// upstream address, which the real engine moves to loopback.
var unstableVars = map[string]bool{"request_id": true, "proxy_host": true, "proxy_port": true}

// modelledVars are the variables variable() computes by name, besides
// captures, set and map results and the http_, arg_ and cookie_ families.
var modelledVars = map[string]bool{"uri": true, "document_uri": true, "request_uri": true, "args": true,
	"query_string": true, "is_args": true, "host": true, "scheme": true, "request_method": true,
	"server_name": true, "remote_addr": true, "proxy_add_x_forwarded_for": true, "invalid_referer": true,
	"proxy_internal_body_length": true, "proxy_internal_chunked": true, "server_protocol": true,
	"content_length": true, "grpc_internal_trailers": true}

// Eval expands a value with the request's variables as they stood when
// its content handler ran (what a proxy_set_header with that value would
// have sent). exact is false when the result may differ from what nginx
// computes: a variable the request path does not model (it reads as
// empty here), a random one, one that names the upstream address, or an
// exchange that did not come from Serve.
func (x *Exchange) Eval(v string) (val string, exact bool) {
	st := x.st
	if st == nil {
		return "", false
	}
	exact = true
	for _, r := range reqmodel.Refs(v) {
		exact = exact && st.exactVar(r.Name)
	}
	return st.eval(v), exact
}

// exactVar reports whether variable() computes name as nginx does,
// reproducibly.
func (st *reqState) exactVar(name string) bool {
	lname := strings.ToLower(name)
	if name != "" && name[0] >= '0' && name[0] <= '9' {
		return true
	}
	if st.capRe != nil {
		if _, ok := st.capRe.Names[name]; ok {
			return true
		}
	}
	if _, ok := st.vars[lname]; ok {
		return true
	}
	if _, ok := st.mapped(lname); ok {
		return true
	}
	if unstableVars[lname] {
		return false
	}
	switch lname {
	case "nginx_version":
		return st.site.NginxVersion != ""
	case "document_root":
		_, exact := st.documentRoot()
		return exact
	case "fastcgi_script_name":
		_, exact := st.fastcgiScriptName()
		return exact
	}
	return modelledVars[lname] || strings.HasPrefix(lname, "http_") || strings.HasPrefix(lname, "arg_") || strings.HasPrefix(lname, "cookie_")
}

// documentRoot is $document_root (ngx_http_variable_document_root): the
// root of the innermost level that has one, without a trailing slash
// (ngx_http_core_root drops it). exact is false where nginx's value is
// not reproduced here: a root with variables or relative to the prefix
// (the real engine's prefix is a temporary directory), the default root
// "html", and alias, whose value the variable does not give as written.
func (st *reqState) documentRoot() (string, bool) {
	for s := st.scopeOf(); s != nil; s = s.Parent {
		if len(s.Own("alias")) > 0 && st.loc != nil {
			return "", false
		}
		if ds := s.Own("root"); len(ds) > 0 {
			v := ds[0].Arg(0)
			if len(v) > 1 {
				v = strings.TrimSuffix(v, "/")
			}
			return v, !strings.Contains(v, "$") && strings.HasPrefix(v, "/")
		}
	}
	return "", false
}

// fastcgiScriptName is $fastcgi_script_name
// (ngx_http_fastcgi_script_name_variable): $uri, with fastcgi_index
// appended when it ends in '/'. fastcgi_split_path_info, which cuts it
// by a regex, is not modelled: exact is then false.
func (st *reqState) fastcgiScriptName() (string, bool) {
	scope := st.scopeOf()
	if scope.Effective("fastcgi_split_path_info") != nil {
		return st.uri, false
	}
	if strings.HasSuffix(st.uri, "/") {
		if d := scope.Effective("fastcgi_index"); d != nil {
			return st.uri + d.Arg(0), true
		}
	}
	return st.uri, true
}
