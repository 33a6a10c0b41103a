package nginxconf

import (
	"net"
	"strconv"
	"strings"
)

// upstreamPasses are the directives whose URL, written without variables,
// adds an upstream to the http context at start (ngx_http_upstream_add):
// an upstream{} block's name or an implicit upstream for host:port.
var upstreamPasses = []string{"proxy_pass", "fastcgi_pass", "uwsgi_pass", "scgi_pass", "grpc_pass", "memcached_pass"}

// FindsUpstream reports whether nginx, building a proxy_pass URL from
// variables at run time, finds host among the context's upstreams rather
// than resolving it (ngx_http_upstream_init_request): an upstream{} block
// of that name when the URL names no port, or one that a *_pass directive
// without variables created for the same host and port. port is the URL's
// port, the scheme's default when noPort. Without such a match the host
// is resolved with the location's resolver, and with none the request
// fails with 502 ("no resolver defined to resolve").
func (c *Context) FindsUpstream(host string, port int, noPort bool) bool {
	if c == nil {
		return false
	}
	if _, ok := c.UpstreamByName[host]; ok && noPort {
		return true // the common case, without building the keys
	}
	host = strings.ToLower(host)
	m := c.implicit.Load()
	if m == nil {
		built := c.upstreamKeys()
		m = &built
		c.implicit.Store(m)
	}
	if noPort && (*m)[upstreamKey{host, 0}] {
		return true
	}
	return (*m)[upstreamKey{host, port}]
}

// upstreamKey is an upstream{} block's name (port 0, as nginx keeps it)
// or an implicit upstream's host and port, the host lowercased.
type upstreamKey struct {
	host string
	port int
}

// upstreamKeys lists every upstream{} block and the host and port of
// every *_pass directive without variables written in a server or
// location of the context.
func (c *Context) upstreamKeys() map[upstreamKey]bool {
	out := map[upstreamKey]bool{}
	for name := range c.UpstreamByName {
		out[upstreamKey{strings.ToLower(name), 0}] = true
	}
	add := func(d *Directive) {
		if len(d.Args) == 0 || strings.Contains(d.Arg(0), "$") {
			return
		}
		host, port, _, ok := PassHostPort(d.Arg(0))
		if ok && port > 0 {
			out[upstreamKey{strings.ToLower(host), port}] = true
		}
	}
	for _, s := range c.Servers {
		scopes := []*Scope{&s.Scope}
		for _, l := range s.AllLocations {
			scopes = append(scopes, &l.Scope)
		}
		for _, sc := range scopes {
			for _, name := range upstreamPasses {
				for _, d := range sc.Own(name) {
					add(d)
				}
			}
		}
	}
	return out
}

// PassHostPort splits a *_pass URL's host and port, with the scheme's
// default port when none is written (noPort; http 80, https 443, grpc 80,
// grpcs 443; 0 for a URL without a scheme, which has no default). The
// host part ends at '/', '?' or a variable that starts the path
// ("http://api:8080$request_uri"). ok is false for a unix socket.
func PassHostPort(u string) (host string, port int, noPort, ok bool) {
	scheme, rest, hasScheme := strings.Cut(strings.ToLower(u), "://")
	if !hasScheme {
		rest, scheme = u, ""
	}
	if strings.HasPrefix(rest, "unix:") {
		return "", 0, false, false
	}
	if i := strings.IndexAny(rest, "/?$"); i >= 0 {
		rest = rest[:i]
	}
	if h, p, err := net.SplitHostPort(rest); err == nil {
		n, err := strconv.Atoi(p)
		return h, n, false, err == nil
	}
	switch scheme {
	case "http", "grpc":
		return rest, 80, true, true
	case "https", "grpcs":
		return rest, 443, true, true
	}
	return rest, 0, true, true
}
