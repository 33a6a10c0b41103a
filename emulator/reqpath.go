package emulator

import (
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// This file set (reqpath*.go) is nginx's request path for one http
// server{}, as far as the security rules need it to show a finding with
// one crafted request: normalising the URI, the rewrite module (set, if,
// return, rewrite, break) at server and location level, location
// selection, add_header, proxy_pass's upstream URI (computed, not sent)
// and root/alias path mapping against an in-memory file tree. What it does
// not model is listed in Exchange.Unmodelled for each request that met
// it, so a confirmation never claims more than was emulated.

// Site is one http server{} to send requests to: the parsed server (and
// the analysis that routes it) and the file tree its root and alias
// directives read, whose root is the file system's "/".
type Site struct {
	Server   *nginxconf.Server
	Analysis *reqmodel.Analysis
	Files    fs.FS
	// EchoBackend makes proxy_pass's backend the echo backend
	// (PolicyEcho): the response body is the computed upstream request
	// head, and the headers it asks for with ReflectPrefix come back
	// through the proxy's hide list; the backend of fastcgi_pass,
	// uwsgi_pass or scgi_pass answers with the params it was sent
	// (ParamsEcho: SCGI's CONTENT_LENGTH, the computed ones, then the
	// client's headers as HTTP_*). Without it the backend answers an
	// empty 200.
	EchoBackend bool
	// NginxVersion is the version nginx names in its Server header and
	// error pages under server_tokens on (the default): "1.22.1". Empty
	// when not declared; the emulator then writes "nginx/<version>".
	NginxVersion string
}

// Exchange is one request and the response a client reads.
type Exchange struct {
	Method, Target string
	Status         int
	// Head is the response head as written on the wire; Headers is what a
	// client reads from it (ParseHead), injected lines included.
	Head    string
	Headers []Header
	Body    string
	// Location is the location that served the request ("" for the
	// server level), as "modifier path".
	Location string
	// File is the path nginx opened for a static file (root/alias).
	File string
	// Upstream is the URL proxy_pass would request.
	Upstream string
	// UpstreamRequest is the head proxy_pass would send there (computed,
	// not sent); nil when the request was not proxied.
	UpstreamRequest *UpstreamRequest
	// UpstreamParams are the params fastcgi_pass, uwsgi_pass or
	// scgi_pass would send, in order (computed, not sent); nil when the
	// request was not passed to one of them, empty (not nil) when the
	// level has no param, so that being passed is told by != nil.
	UpstreamParams []Header
	// Resolved are the host names a real nginx asked to resolve for the
	// request (nginxengine's DNS stub); the emulator leaves it empty.
	Resolved []string
	// TLS is how a real nginx's handshake ended for a request with a
	// TLSProbe; the emulator leaves it nil.
	TLS *TLSOutcome
	// UpstreamTLS are the handshakes real nginx made with its TLS
	// backends for a request with Request.UpstreamTLS; the emulator
	// leaves it empty.
	UpstreamTLS []TLSOutcome
	// ErrorLog are the error.log lines (warn and above) a real nginx
	// wrote while serving the request; the emulator leaves it empty.
	ErrorLog []string
	// Access is what the access phase decided: "" when it did not run
	// (the request was answered before it), "declined" when no allow or
	// deny rule matched the client, else the rule that matched
	// ("allow 10.0.0.0/8", "deny all").
	Access string
	// If is the condition of the if block whose configuration served the
	// request ("" when none matched): of several that matched, the last.
	If string
	// TryFilesSkipped is set when the location has try_files but an if
	// block matched, whose configuration has none.
	TryFilesSkipped bool
	// Unmodelled names what the request met that the emulator does not
	// model (a Lua handler, try_files...): the outcome may differ.
	Unmodelled []string
	Trace      []string

	// st is the request's final state, for Eval; nil for an exchange
	// read from another engine.
	st *reqState
}

// Header returns the values a client reads for name (case-insensitive).
func (x *Exchange) Header(name string) []string {
	var out []string
	for _, h := range x.Headers {
		if strings.EqualFold(h.Name, name) {
			out = append(out, h.Value)
		}
	}
	return out
}

// maxCycles is nginx's bound on URI changes (NGX_HTTP_MAX_URI_CHANGES + 1
// = 11: "rewrite or internal redirection cycle" and a 500).
const maxCycles = 10

// addHeaderStatus are the codes add_header applies to without "always"
// (ngx_http_headers_filter).
var addHeaderStatus = map[int]bool{200: true, 201: true, 204: true, 206: true, 301: true, 302: true, 303: true, 304: true, 307: true, 308: true}

// AddHeaderApplies reports whether an add_header with or without "always"
// is sent on a response with this status (ngx_http_headers_filter).
func AddHeaderApplies(status int, always bool) bool { return always || addHeaderStatus[status] }

type reqState struct {
	site    Site
	rq      Request
	x       *Exchange
	uri     string
	args    string
	hasArgs bool
	caps    []string
	capRe   *reqmodel.Regex
	vars    map[string]string
	hdrs    []Header
	// outHdrs are response headers a handler sets besides Location
	// (auth_basic's WWW-Authenticate).
	outHdrs []Header
	// upstreamHdrs are the proxied response's headers the proxy passes
	// on, written after Connection as ngx_http_header_filter writes
	// r->headers_out.headers.
	upstreamHdrs []Header
	host         string
	loc          *nginxconf.Location
	ifBlock      *nginxconf.Directive
	// uriChanged is set by a rewrite without "break" (r->uri_changed).
	uriChanged bool
	// proxyFullURI is set by a rewrite ... break in a proxied location:
	// proxy_pass then sends the whole changed URI.
	proxyFullURI bool
	// cycles counts location searches and internal redirects
	// (r->uri_changes).
	cycles int
	// refererVal is $invalid_referer once computed (nginx caches it for
	// the request).
	refererVal *string
}

type outcome int

const (
	goOn outcome = iota
	stop
	restart
	answered
)

// Serve sends one request to the site and returns what a client would
// read. It never blocks and never leaves memory: regexes run on Go's RE2
// (linear time), URI changes are bounded as nginx bounds them.
func Serve(site Site, rq Request) *Exchange {
	method := rq.Method
	if method == "" {
		method = "GET"
	}
	target := rq.Path
	if target == "" {
		target = "/"
	}
	x := &Exchange{Method: method, Target: target}
	st := &reqState{site: site, rq: rq, x: x, vars: map[string]string{}, hdrs: rq.Headers}
	x.st = st
	if site.Analysis == nil {
		site.Analysis = reqmodel.NewAnalysis(nil)
		st.site = site
	}
	raw, args, has := reqmodel.SplitTarget(target)
	st.args, st.hasArgs = args, has
	st.host = "localhost"
	for _, h := range rq.Headers {
		if strings.EqualFold(h.Name, "host") {
			hv := strings.ToLower(h.Value)
			if i := strings.LastIndexByte(hv, ':'); i >= 0 && !strings.Contains(hv[i:], "]") {
				hv = hv[:i]
			}
			if strings.ContainsAny(hv, "/\\\x00") || strings.Contains(hv, "..") {
				st.finish(400, "", "")
				x.Trace = append(x.Trace, "invalid Host header: 400 (ngx_http_validate_host)")
				return x
			}
			st.host = hv
		}
	}
	uri, err := reqmodel.NormalizeURI(raw, true)
	if err != nil {
		st.finish(400, "", "")
		x.Trace = append(x.Trace, "URI does not normalise: 400")
		return x
	}
	st.uri = uri
	x.Trace = append(x.Trace, fmt.Sprintf("$uri = %q", uri))
	st.serve(nil)
	return x
}

// serve runs the phases from the server's rewrite directives (or, for a
// named location, from its own) to the content handler. An internal
// redirect (try_files' last URI) starts over here
// (ngx_http_internal_redirect: server_rewrite_index), a named location at
// its rewrite phase (ngx_http_named_location: location_rewrite_index).
func (st *reqState) serve(named *nginxconf.Location) {
	if named == nil {
		// The server's rewrite directives run before the first location
		// search only (NGX_HTTP_SERVER_REWRITE_PHASE).
		if st.run(st.site.Server.Directives) == answered {
			return
		}
		if !st.findLocation() {
			return
		}
	} else {
		st.loc, st.ifBlock, st.uriChanged, st.x.If = named, nil, false, ""
		st.x.Location = locName(named)
		st.x.Trace = append(st.x.Trace, "named location "+st.x.Location)
		r := st.run(named.Directives)
		if r == answered {
			return
		}
		if (r == restart || st.uriChanged) && !st.findLocation() {
			return
		}
	}
	// NGX_HTTP_ACCESS_PHASE runs after the location's rewrite
	// directives: a return there answers before allow and deny are read.
	if st.access() {
		return
	}
	if st.tryFiles() {
		return
	}
	st.content()
}

func locName(l *nginxconf.Location) string { return strings.TrimSpace(l.Modifier + " " + l.Path) }

// findLocation selects the location for the URI and runs its rewrite
// directives, again after each URI change; false when the request was
// answered. URI changes and internal redirects share nginx's bound
// (r->uri_changes).
func (st *reqState) findLocation() bool {
	x := st.x
	router := st.site.Analysis.Router(st.site.Server)
	for {
		st.cycles++
		if st.cycles > maxCycles+1 {
			st.finish(500, "", "")
			x.Trace = append(x.Trace, "rewrite or internal redirection cycle: 500")
			return false
		}
		m := router.Select(st.uri)
		if m.Unknown {
			x.Unmodelled = append(x.Unmodelled, "a regex location the emulator cannot evaluate (PCRE syntax)")
		}
		st.loc, st.ifBlock, st.uriChanged, st.x.If = m.Location, nil, false, ""
		if m.Location != nil {
			x.Location = locName(m.Location)
			x.Trace = append(x.Trace, "location "+x.Location)
		}
		if m.Redirect {
			st.finish(301, "http://"+st.host+st.uri+"/", "")
			return false
		}
		if m.Captures != nil {
			st.caps, st.capRe = m.Captures, m.Regex
		}
		if m.Location == nil {
			return true
		}
		r := st.run(m.Location.Directives)
		if r == answered {
			return false
		}
		if r == restart || st.uriChanged {
			continue
		}
		return true
	}
}

// run executes the rewrite module's directives of one level in order.
func (st *reqState) run(ds []*nginxconf.Directive) outcome {
	for _, d := range ds {
		switch d.Name {
		case "set":
			if len(d.Args) == 2 {
				st.vars[strings.ToLower(strings.TrimPrefix(d.Arg(0), "$"))] = st.eval(d.Arg(1))
			}
		case "break":
			return stop
		case "return":
			st.doReturn(d)
			return answered
		case "rewrite":
			if r := st.rewrite(d); r != goOn {
				return r
			}
		case "if":
			if !st.cond(d) {
				continue
			}
			st.ifBlock = d
			st.x.If = argsText(d)
			st.x.Trace = append(st.x.Trace, "if "+argsText(d)+": true")
			if r := st.run(reqmodel.Flatten(d.Block)); r != goOn {
				return r
			}
		case "rewrite_by_lua", "rewrite_by_lua_block", "rewrite_by_lua_file", "access_by_lua", "access_by_lua_block", "access_by_lua_file", "auth_request", "error_page":
			st.x.Unmodelled = append(st.x.Unmodelled, d.Name)
		}
	}
	return goOn
}

func argsText(d *nginxconf.Directive) string {
	var b []string
	for _, a := range d.Args {
		b = append(b, a.Value)
	}
	return strings.Join(b, " ")
}

func (st *reqState) doReturn(d *nginxconf.Directive) {
	code, text := 0, ""
	switch len(d.Args) {
	case 1:
		if n, err := strconv.Atoi(d.Arg(0)); err == nil {
			code = n
		} else {
			code, text = 302, d.Arg(0)
		}
	case 2:
		code, _ = strconv.Atoi(d.Arg(0))
		text = d.Arg(1)
	}
	val := st.eval(text)
	switch code {
	case 301, 302, 303, 307, 308:
		st.finish(code, val, "")
	default:
		st.finish(code, "", val)
	}
}

// rewrite runs one rewrite directive.
func (st *reqState) rewrite(d *nginxconf.Directive) outcome {
	if len(d.Args) < 2 {
		return goOn
	}
	re := reqmodel.Compile(d.Arg(0), false)
	if re.Err != nil {
		st.x.Unmodelled = append(st.x.Unmodelled, "rewrite regex "+d.Arg(0))
		return goOn
	}
	caps := re.Match(st.uri)
	if caps == nil {
		return goOn
	}
	st.caps, st.capRe = caps, re
	repl, flag := d.Arg(1), d.Arg(2)
	redirect := flag == "redirect" || flag == "permanent" || strings.HasPrefix(repl, "http://") || strings.HasPrefix(repl, "https://") || strings.HasPrefix(repl, "$scheme")
	// ngx_http_script_copy_capture_code escapes captures with
	// NGX_ESCAPE_ARGS in a redirect and in arguments when the request URI
	// had escapes (quoted_uri): a capture never brings a raw CR LF into
	// a Location header this way.
	quoted := strings.ContainsAny(st.x.Target, "%+")
	newPath, newArgs, hasQ := strings.Cut(repl, "?")
	val := st.evalCaps(newPath, redirect && quoted)
	st.x.Trace = append(st.x.Trace, fmt.Sprintf("rewrite %s -> %q", d.Arg(0), val))
	if hasQ {
		a := st.evalCaps(newArgs, quoted)
		if newArgs == "" {
			// A trailing '?' drops the original arguments.
		} else if st.hasArgs && st.args != "" {
			a += "&" + st.args
		}
		st.args, st.hasArgs = a, a != ""
	}
	if redirect {
		code := 302
		if flag == "permanent" {
			code = 301
		}
		loc := val
		if st.hasArgs && st.args != "" {
			loc += "?" + st.args
		}
		st.finish(code, loc, "")
		return answered
	}
	st.uri = val
	switch flag {
	case "last":
		return restart
	case "break":
		st.proxyFullURI = true
		return stop
	}
	st.uriChanged = true
	return goOn
}

// cond evaluates an if condition (ngx_http_rewrite_if_condition).
func (st *reqState) cond(d *nginxconf.Directive) bool {
	c := reqmodel.ParseCond(d)
	if c == nil {
		st.x.Unmodelled = append(st.x.Unmodelled, "if "+argsText(d))
		return false
	}
	switch c.Op {
	case "":
		v := st.eval(c.Var)
		return v != "" && v != "0"
	case "-f", "!-f", "-d", "!-d", "-e", "!-e", "-x", "!-x":
		p := st.eval(c.Var)
		info, err := st.stat(p)
		var r bool
		switch strings.TrimPrefix(c.Op, "!") {
		case "-f":
			r = err == nil && !info.IsDir()
		case "-d":
			r = err == nil && info.IsDir()
		default:
			r = err == nil
		}
		return r != strings.HasPrefix(c.Op, "!")
	case "=", "!=":
		return (st.eval(c.Var) == st.eval(c.Value)) == (c.Op == "=")
	}
	if c.Regex.Err != nil {
		st.x.Unmodelled = append(st.x.Unmodelled, "if regex "+c.Value)
		return false
	}
	caps := c.Regex.Match(st.eval(c.Var))
	if caps != nil {
		st.caps, st.capRe = caps, c.Regex
	}
	return (caps != nil) == !strings.HasPrefix(c.Op, "!")
}

func (st *reqState) stat(p string) (fs.FileInfo, error) {
	if st.site.Files == nil {
		return nil, fs.ErrNotExist
	}
	clean := strings.TrimPrefix(path.Clean("/"+p), "/")
	if clean == "" {
		clean = "."
	}
	return fs.Stat(st.site.Files, clean)
}
