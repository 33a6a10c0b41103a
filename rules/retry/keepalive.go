package retry

import (
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// Whether and how many upstream connections a location can reuse: facts
// the retry model needs (a failed cached connection gets a free retry) and
// the keepalive rules report on. They live here, below the rules, so both
// read the same answer.

// KeepaliveDefault reports nginx >= 1.29.7, where an upstream keeps
// connections by default and proxy_http_version defaults to 1.1 without
// "Connection: close" (4fbe4b627, c5d36eac3, 6bb27a631).
func KeepaliveDefault(p versions.Profile) bool {
	return p.HasNginx() && versions.KeepaliveOnByDefault(p.Nginx)
}

// KeepaliveCount is the number of cached connections an upstream keeps:
// the keepalive directive's value, or 32 by default from nginx 1.29.7.
func KeepaliveCount(u *nginxconf.Upstream, p versions.Profile) int {
	if u.Keepalive != nil {
		n, _ := strconv.Atoi(u.Keepalive.Arg(0)) // nginx accepts only a positive integer
		return n
	}
	if KeepaliveDefault(p) {
		return versions.DefaultKeepaliveConnections
	}
	return 0
}

// KeepaliveLostByOrder reports whether u's keepalive directive comes
// before a balancing method (balancer_by_lua*, hash, least_conn...), which
// before nginx 1.29.7 replaces the keepalive module's hook. It returns the
// method directive written after it.
func KeepaliveLostByOrder(u *nginxconf.Upstream, p versions.Profile) *nginxconf.Directive {
	if u.Keepalive == nil || KeepaliveDefault(p) {
		return nil
	}
	var last *nginxconf.Directive
	for _, m := range u.Methods {
		if u.Before(u.Keepalive, m) {
			last = m
		}
	}
	return last
}

// UpstreamHTTP reports how a location talks to its upstream: whether
// requests go out as HTTP/1.1 and whether "Connection: close" is sent, the
// two conditions for reusing connections (before nginx 1.29.7 the defaults
// are HTTP/1.0 and "Connection: close"). A Connection value built from
// variables is unknown (ok=false).
func UpstreamHTTP(l *nginxconf.Location, p versions.Profile) (http11, connClose, known bool) {
	newDefaults := KeepaliveDefault(p)
	http11 = newDefaults
	if d := l.Proxy.HTTPVersion; d != nil {
		http11 = d.Arg(0) == "1.1"
	}
	v, d, _ := l.Proxy.Header("Connection")
	if d == nil {
		return http11, !newDefaults, true
	}
	if strings.Contains(v, "$") {
		return http11, false, false
	}
	return http11, strings.EqualFold(strings.TrimSpace(v), "close"), true
}

// KeepsConnections reports whether l can reuse upstream connections.
func KeepsConnections(l *nginxconf.Location, p versions.Profile) bool {
	h11, closeHdr, known := UpstreamHTTP(l, p)
	return h11 && (!closeHdr || !known)
}
