package nginxengine

import (
	"fmt"
	"io/fs"
	"net"
	"path"
	"strings"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// Uncontained is one directive of the rewritten configuration that would
// make nginx open a socket off loopback, or that the check cannot prove
// stays on loopback.
type Uncontained struct {
	// Pos is the directive's position in the user's file (a path in the
	// configuration tree, or an absolute path for a file nginx reads
	// from outside it); line and column are those of the original file.
	Pos nginxconf.Pos
	// Directive is the directive's name and first argument as written.
	Directive string
	// Reason says why it is refused.
	Reason string
}

func (u Uncontained) String() string { return fmt.Sprintf("%s: %s: %s", u.Pos, u.Directive, u.Reason) }

// UncontainedError is returned by Run when the configuration, once
// rewritten, could make nginx listen on, connect to or send to an address
// off loopback. nginx is not started (not even `nginx -t`, which binds the
// listeners and runs init_by_lua).
type UncontainedError struct {
	Problems []Uncontained
}

func (e *UncontainedError) Error() string {
	var b strings.Builder
	b.WriteString("refusing to start nginx: after rewriting, the configuration could open sockets off loopback:")
	const show = 20
	for i, p := range e.Problems {
		if i == show {
			fmt.Fprintf(&b, "\n  ... and %d more", len(e.Problems)-show)
			break
		}
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// checkContained loads the configuration exactly as nginx will read it
// (fsys is the file system nginx sees with "/" at its root, mainAbs the
// absolute path of the -c file, prefix the -p directory) and returns the
// directives that could make nginx open a socket to or from an address
// off loopback. private is the run's own directory, the only place a
// unix-domain socket may live. The configuration must load without any
// error: a file the parser could not read completely could hold anything.
//
// Which directives open sockets comes from the modules nginx 1.22 and
// lua-nginx-module build (ngx_http_core_module listen, ngx_http_upstream
// server, the *_pass handlers, ngx_resolver, ngx_syslog, OCSP stapling in
// ngx_event_openssl_stapling.c, the mail auth_http module). Directives of
// third-party modules are covered by name where their convention is
// clear: every "*_pass" directive is checked as a pass target, and every
// "server" or "*_server" directive inside an upstream{} as an upstream
// address. Subrequests (mirror, auth_request, post_action, SSI) open no
// socket of their own: the location they reach is checked like any other.
// Lua code (ngx.socket.tcp, os.execute) is not and cannot be checked here;
// see the package documentation.
//
// requestHosts accepts a proxy_pass whose host is one request variable,
// under the conditions of requestHostVar.
func checkContained(fsys fs.FS, mainAbs, prefix, private string, requestHosts bool) ([]Uncontained, []*nginxconf.Error) {
	cfg := nginxconf.Load(fsys, strings.TrimPrefix(mainAbs, "/"), nginxconf.Options{Prefix: prefix})
	if len(cfg.Errors) > 0 || cfg.Main == nil {
		return nil, cfg.Errors
	}
	// The loader only notes what it did not read without failing (an
	// include missing from the tree, a stock file it knows): here every
	// file nginx will read must have been checked, so a note refuses too.
	if len(cfg.Notes) > 0 {
		return nil, cfg.Notes
	}
	c := &containCheck{private: path.Clean(private) + "/", upstreams: map[string]bool{}, confDir: path.Dir("/" + strings.TrimPrefix(mainAbs, "/"))}
	if requestHosts {
		c.hosts = scanRequestHosts(cfg)
	}
	// Upstream names first: a pass naming one is checked through its
	// servers. ngx_http_upstream_add and ngx_stream_upstream_add match a
	// name within one protocol, hence the top-level block in the key.
	cfg.Walk(func(d *nginxconf.Directive, parents []*nginxconf.Directive) bool {
		if d.Name == "upstream" && d.HasBlock && len(d.Args) > 0 && len(parents) > 0 {
			c.upstreams[parents[0].Name+" "+d.Args[0].Value] = true
		}
		return true
	})
	cfg.Walk(c.visit)
	return c.problems, nil
}

type containCheck struct {
	private string
	// confDir is nginx's conf prefix, the -c file's directory: relative
	// TLS file paths resolve there (ngx_conf_full_name with conf_prefix).
	confDir   string
	upstreams map[string]bool
	problems  []Uncontained
	// hosts, when set, is what requestHostVar needs to accept a
	// proxy_pass host taken from the request.
	hosts *requestHostFacts
}

func (c *containCheck) refuse(d *nginxconf.Directive, reason string) {
	what := d.Name
	if len(d.Args) > 0 {
		what += " " + shortArg(d.Args[0].Value)
	}
	c.problems = append(c.problems, Uncontained{Pos: d.Pos, Directive: what, Reason: reason})
}

// shortArg bounds what an error quotes of an argument: refusals end up in
// CI logs.
func shortArg(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func (c *containCheck) visit(d *nginxconf.Directive, parents []*nginxconf.Directive) bool {
	top, inner := "", ""
	if len(parents) > 0 {
		top, inner = parents[0].Name, parents[len(parents)-1].Name
	}
	switch {
	case d.Name == "listen":
		if len(d.Args) > 0 {
			if why := c.listenAddr(d.Args[0].Value); why != "" {
				c.refuse(d, why)
			}
		}
	case d.Name == "server" && d.HasBlock && top == "http" && inner == "http":
		// ngx_http_core_merge_srv_conf gives a server without listen
		// *:80 (root) or *:8000.
		has := false
		for _, ch := range d.Block {
			if ch.Name == "listen" {
				has = true
			}
		}
		if !has {
			c.refuse(d, "a server{} without listen listens on *:80 or *:8000")
		}
	case inner == "upstream" && !d.HasBlock && (d.Name == "server" || strings.HasSuffix(d.Name, "_server")):
		if len(d.Args) > 0 {
			if why := c.peerAddr(d.Args[0].Value); why != "" {
				c.refuse(d, why)
			}
		}
	case strings.HasSuffix(d.Name, "_pass") || (d.Name == "pass" && top == "stream"):
		if len(d.Args) > 0 {
			why := c.passTarget(top, d.Args[0].Value)
			if why == errVariableHost && c.hosts != nil {
				why = c.requestHostVar(d, parents)
			}
			if why != "" {
				c.refuse(d, why)
			}
		}
	case d.Name == "resolver":
		// ngx_resolver_create: address[:port] arguments, then name=value
		// parameters (valid=, ipv4=, ipv6=, status_zone=).
		for _, a := range d.Args {
			if strings.Contains(a.Value, "=") {
				continue
			}
			if why := c.hostPort(a.Value); why != "" {
				c.refuse(d, "resolver "+a.Value+": "+why)
			}
		}
	case d.Name == "error_log" || d.Name == "access_log":
		// ngx_syslog_process_conf: "syslog:server=ADDR,..." sends UDP to
		// ADDR (a unix: path or host[:port]).
		if len(d.Args) > 0 && strings.HasPrefix(d.Args[0].Value, "syslog:") {
			for _, p := range strings.Split(strings.TrimPrefix(d.Args[0].Value, "syslog:"), ",") {
				if addr, ok := strings.CutPrefix(p, "server="); ok {
					if why := c.peerAddr(addr); why != "" {
						c.refuse(d, "syslog server: "+why)
					}
				}
			}
		}
	case d.Name == "ssl_stapling_responder" || d.Name == "ssl_ocsp_responder" || d.Name == "auth_http":
		if len(d.Args) > 0 {
			if why := c.urlHost(d.Args[0].Value); why != "" {
				c.refuse(d, why)
			}
		}
	case tlsFileDirective(d.Name) != "" && len(d.Args) > 0:
		// Not a socket, but the same guarantee: the engine rewrites every
		// TLS file it sees to its own (tls.go), so a path still outside
		// the run is one it did not see (an include read from the
		// system) and would read a key or certificate of the machine.
		if why := c.tlsFile(d.Args[0].Value); why != "" {
			c.refuse(d, why)
		}
	case d.Name == "ssl_engine":
		c.refuse(d, "an OpenSSL engine is a shared library nginx would load")
	case strings.HasSuffix(d.Name, "ssl_conf_command") && len(d.Args) > 0:
		// SSL_CONF_cmd in file mode (ngx_ssl_conf_commands): these
		// commands read files or directories.
		switch strings.ToLower(d.Args[0].Value) {
		case "certificate", "privatekey", "serverinfofile", "dhparameters",
			"chaincapath", "chaincafile", "chaincastore", "verifycapath", "verifycafile", "verifycastore",
			"requestcafile", "requestcapath", "clientcafile", "clientcapath":
			c.refuse(d, "this OpenSSL command reads a file outside the run")
		}
	case (d.Name == "ssl_stapling" || d.Name == "ssl_ocsp") && d.Arg(0) != "off" && len(d.Args) > 0:
		// Without a responder of its own, OCSP is fetched from the URL in
		// the certificate (ngx_ssl_stapling_issuer, ngx_ssl_ocsp_responder).
		if !hasSibling(d, parents, d.Name+"_responder") {
			c.refuse(d, "OCSP requests go to the responder named in the certificate; set "+d.Name+"_responder to a loopback URL")
		}
	}
	return true
}

// tlsFile accepts a TLS file inside the run's private directory (the
// copied tree is there) and in-memory "data:" values.
func (c *containCheck) tlsFile(v string) string {
	switch {
	case strings.HasPrefix(v, "data:"):
		return ""
	case strings.HasPrefix(v, "engine:"):
		return "a key from an OpenSSL engine, a shared library nginx would load"
	case strings.Contains(v, "$"):
		return "a variable in a TLS file path cannot be proven to stay in the run's directory"
	}
	p := v
	if !path.IsAbs(p) {
		p = path.Join(c.confDir, p)
	}
	if !strings.HasPrefix(path.Clean(p)+"/", c.private) {
		return "a TLS file outside the run's directory (the engine reads no key or certificate of the machine)"
	}
	return ""
}

// hasSibling reports whether a directive named name appears in d's block
// or in an enclosing one, where nginx's inheritance would give it to d.
func hasSibling(d *nginxconf.Directive, parents []*nginxconf.Directive, name string) bool {
	levels := [][]*nginxconf.Directive{d.File.Directives}
	if len(parents) > 0 {
		levels = nil
		for _, p := range parents {
			levels = append(levels, p.Block)
		}
	}
	for _, l := range levels {
		for _, x := range l {
			if x.Name == name {
				return true
			}
		}
	}
	return false
}

// listenAddr checks a listen address (ngx_parse_url with listen = 1): a
// bare port or "*" means every address.
func (c *containCheck) listenAddr(a string) string {
	if strings.HasPrefix(a, "unix:") {
		return c.unixPath(strings.TrimPrefix(a, "unix:"))
	}
	if isDigits(a) {
		return "a bare port listens on every address"
	}
	return c.hostPort(a)
}

// peerAddr checks an address nginx connects to: "unix:PATH" or
// host[:port].
func (c *containCheck) peerAddr(a string) string {
	if strings.HasPrefix(a, "unix:") {
		return c.unixPath(strings.TrimPrefix(a, "unix:"))
	}
	return c.hostPort(a)
}

// passTarget checks the first argument of a *_pass directive in the
// top-level block top ("http" or "stream"): [scheme://]target[/uri],
// where target is an upstream{} name, host[:port] or unix:PATH[:].
//
// With variables, ngx_http_proxy_eval (and its grpc/fastcgi/... twins)
// parses the evaluated URL per request and uses an upstream{} whose name
// matches, else the address, resolving a name with `resolver`. So a
// variable is harmless only where it cannot reach the host: after a
// literal "/" (the URI) or a literal "host:" (the port, which
// ngx_parse_inet_url must read as digits), or as $request_uri right after
// the host ($request_uri is the request line's URI, which
// ngx_http_parse_request_line starts at the '/').
func (c *containCheck) passTarget(top, v string) string {
	rest := v
	if i := strings.Index(rest, "://"); i >= 0 {
		if strings.Contains(rest[:i], "$") {
			return "a variable in the scheme can hide the address"
		}
		rest = rest[i+3:]
	}
	if p, ok := strings.CutPrefix(rest, "unix:"); ok {
		// unix:/path:/uri — the socket path ends at the next ':'.
		if j := strings.IndexByte(p, ':'); j >= 0 {
			p = p[:j]
		}
		if strings.Contains(p, "$") {
			return "a variable in a unix socket path cannot be proven to stay in the private directory"
		}
		return c.unixPath(p)
	}
	lit, varPart, hasVar := strings.Cut(rest, "$")
	var host string
	portVar := false
	switch {
	case strings.Contains(lit, "/"):
		host = lit[:strings.IndexByte(lit, '/')]
	case !hasVar:
		host = lit
	case hostEndsAtPort(lit):
		portVar = true
		if strings.HasPrefix(lit, "[") {
			host = lit[:strings.IndexByte(lit, ']')+1]
		} else {
			host = lit[:strings.IndexByte(lit, ':')]
		}
	case isVarRef(varPart, "request_uri"):
		host = lit
	default:
		return errVariableHost
	}
	if host == "" {
		return "no address"
	}
	// A name with a port never selects an upstream{}: the per-request
	// lookup in ngx_http_upstream_init_request matches the port too, and
	// an upstream{} has none, so "name:$port" is resolved as a host name.
	if !portVar && c.upstreams[top+" "+host] {
		return "" // its servers are checked where they are written
	}
	return c.hostPort(host)
}

// errVariableHost is passTarget's refusal of a host built from variables.
const errVariableHost = "the address contains a variable, which cannot be proven to be loopback (use an upstream{} of loopback servers)"

// hostEndsAtPort reports whether the literal text before a variable
// already holds the whole host followed by the port separator.
func hostEndsAtPort(lit string) bool {
	if strings.HasPrefix(lit, "[") {
		i := strings.IndexByte(lit, ']')
		return i > 0 && strings.HasPrefix(lit[i+1:], ":")
	}
	return strings.Contains(lit, ":")
}

// isVarRef reports whether s (the text after a '$') starts with the
// variable name, as $name or ${name}.
func isVarRef(s, name string) bool {
	if strings.HasPrefix(s, "{"+name+"}") {
		return true
	}
	if !strings.HasPrefix(s, name) {
		return false
	}
	rest := s[len(name):]
	if rest == "" {
		return true
	}
	ch := rest[0]
	return !(ch == '_' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9')
}

// urlHost checks the host of an http:// URL (ssl_stapling_responder,
// auth_http).
func (c *containCheck) urlHost(v string) string {
	rest := v
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if strings.Contains(rest, "$") {
		return "the address contains a variable"
	}
	if p, ok := strings.CutPrefix(rest, "unix:"); ok {
		if j := strings.IndexByte(p, ':'); j >= 0 {
			p = p[:j]
		}
		return c.unixPath(p)
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	return c.hostPort(rest)
}

// hostPort checks host[:port], [v6][:port] or a bare host: only a
// loopback address (127.0.0.0/8, ::1) or the name localhost is accepted.
// Go's parser is stricter than getaddrinfo (no "127.1", no octal), so an
// address it does not read as loopback is refused, never guessed at.
func (c *containCheck) hostPort(a string) string {
	if strings.Contains(a, "$") {
		return "the address contains a variable"
	}
	host := a
	if h, _, err := net.SplitHostPort(a); err == nil {
		host = h
	} else if strings.HasPrefix(a, "[") && strings.HasSuffix(a, "]") {
		host = a[1 : len(a)-1]
	}
	if strings.EqualFold(host, "localhost") {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return ""
	}
	if host == "*" || host == "" {
		return "a wildcard address is not a loopback address"
	}
	return "not a loopback address"
}

// unixPath accepts a socket path only inside the run's private directory.
func (c *containCheck) unixPath(p string) string {
	if !path.IsAbs(p) || !strings.HasPrefix(path.Clean(p)+"/", c.private) || path.Clean(p)+"/" == c.private {
		return "a unix socket outside the run's private directory"
	}
	return ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
