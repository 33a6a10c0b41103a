package reqmodel

import (
	"strings"
	"sync"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// Match is the outcome of location selection for one URI.
type Match struct {
	// Location is the chosen location; nil when none matches (nginx then
	// serves the request with the server's own configuration).
	Location *nginxconf.Location
	// Captures are the captures of the regex location that matched
	// ($0, $1, ...), nil for a prefix or exact match.
	Captures []string
	// Regex is the regex location's compiled pattern, for named captures.
	Regex *Regex
	// Redirect is set when nginx answers 301 with the URI plus '/'
	// (ngx_http_core_find_static_location's auto_redirect: the URI is a
	// prefix location's path without its final '/', and that location
	// passes to an upstream).
	Redirect bool
	// Unknown is set when a regex location on the way could not be
	// evaluated (PCRE syntax Go does not have): the result may differ.
	Unknown bool
}

// Router selects locations in one server the way
// ngx_http_core_find_location does. It compiles each regex location once
// and is safe for concurrent use.
type Router struct {
	Server *nginxconf.Server
	mu     sync.Mutex
	res    map[*nginxconf.Location]*Regex
}

// NewRouter returns a Router for srv.
func NewRouter(srv *nginxconf.Server) *Router {
	return &Router{Server: srv, res: map[*nginxconf.Location]*Regex{}}
}

// LocationRegex returns the compiled pattern of a "~" or "~*" location.
func (rt *Router) LocationRegex(l *nginxconf.Location) *Regex {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if r, ok := rt.res[l]; ok {
		return r
	}
	r := Compile(l.Path, l.Modifier == "~*")
	rt.res[l] = r
	return r
}

// Select chooses the location for uri ($uri, already normalised).
//
// The order is nginx's (ngx_http_core_find_location, recursive over nested
// locations): among the static locations of a level, an exact "=" match
// ends the search; otherwise the longest matching prefix is remembered and
// its nested locations are searched first. If that did not end the search
// and the prefix is not "^~", the level's regex locations are tried in
// the order written, and the first that matches wins (its own nested
// locations searched in turn); if none matches, the remembered longest
// prefix (or what its nested search found) is used.
func (rt *Router) Select(uri string) Match {
	var m Match
	rt.find(rt.Server.Locations, uri, &m)
	return m
}

// find is one level of ngx_http_core_find_location. It returns true when
// the search is over (an exact match, a regex match, an auto redirect).
func (rt *Router) find(locs []*nginxconf.Location, uri string, m *Match) bool {
	var best *nginxconf.Location
	for _, l := range locs {
		switch l.Modifier {
		case "=":
			if l.Path == uri {
				m.Location, m.Captures, m.Regex = l, nil, nil
				return true
			}
		case "", "^~":
			// ngx_filename_cmp: case-sensitive on Linux.
			if strings.HasPrefix(uri, l.Path) && (best == nil || len(l.Path) > len(best.Path)) {
				best = l
			}
		}
	}
	if best == nil || len(best.Path) < len(uri) {
		// The URI one '/' short of a proxied prefix location redirects
		// there (NGX_DONE: no regex is tried), unless a location of
		// exactly that path takes it; a shorter prefix ("/") does not.
		for _, l := range locs {
			if (l.Modifier == "" || l.Modifier == "^~") && l.Path == uri+"/" && autoRedirect(l) {
				m.Location, m.Captures, m.Regex, m.Redirect = l, nil, nil, true
				return true
			}
		}
	}
	noregex := false
	if best != nil {
		m.Location, m.Captures, m.Regex = best, nil, nil
		noregex = best.Modifier == "^~"
		if rt.find(best.Locations, uri, m) {
			return true
		}
	}
	if noregex {
		return false
	}
	for _, l := range locs {
		if l.Modifier != "~" && l.Modifier != "~*" {
			continue
		}
		re := rt.LocationRegex(l)
		if re.Err != nil {
			m.Unknown = true
			continue
		}
		if caps := re.Match(uri); caps != nil {
			m.Location, m.Captures, m.Regex = l, caps, re
			rt.find(l.Locations, uri, m)
			return true
		}
	}
	return false
}

// autoRedirect reports whether nginx sets auto_redirect on l: the
// *_pass directives of proxy, fastcgi, uwsgi, scgi, memcached and grpc do
// (clcf->auto_redirect = 1 in their handlers' setup).
func autoRedirect(l *nginxconf.Location) bool {
	for _, n := range []string{"proxy_pass", "fastcgi_pass", "uwsgi_pass", "scgi_pass", "memcached_pass", "grpc_pass"} {
		if len(l.Own(n)) > 0 {
			return true
		}
	}
	return false
}
