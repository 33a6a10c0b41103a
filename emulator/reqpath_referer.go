package emulator

import (
	"strings"

	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// $invalid_referer, as ngx_http_referer_module computes it
// (src/http/modules/ngx_http_referer_module.c, the same in 1.22.1 and
// 1.31.x): "" when the Referer is valid for the request's location, "1"
// when not.

// refererHost is one host name entry of valid_referers (or a server name
// that "server_names" adds), lowercased as ngx_hash_add_key stores it,
// with the URI prefix written after it ("example.org/galleries/").
type refererHost struct {
	name string
	uri  string
}

// refererConf is the merged ngx_http_referer_conf_t of one location.
type refererConf struct {
	set                      bool // a level has valid_referers
	none, blocked            bool
	hosts                    []refererHost
	regexes, serverNameRegex []*reqmodel.Regex
}

// refererConfig merges valid_referers from the server down to the scope
// the request is in, as ngx_http_referer_merge_conf does. The innermost
// level that has the directive (all of its occurrences: they fill one
// keys array) owns the host names, "none", "blocked" and "server_names";
// nothing of those is inherited. The regex lists are merged apart, with
// ngx_conf_merge_ptr_value: a level without "~" entries takes its
// parent's, even when it has valid_referers of its own.
func (st *reqState) refererConfig() refererConf {
	var levels []*nginxconf.Scope
	if st.loc != nil {
		for l := st.loc; l != nil; l = l.Parent {
			levels = append(levels, &l.Scope)
		}
	}
	srv := st.site.Server
	// The directive is allowed in server and location only
	// (NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF), so the walk ends at the
	// server; an if block's configuration is its location's.
	levels = append(levels, &srv.Scope)
	var c refererConf
	ownDone, reDone, snDone := false, false, false
	for _, s := range levels {
		ds := s.Own("valid_referers")
		if len(ds) == 0 {
			continue
		}
		c.set = true
		var res []*reqmodel.Regex
		serverNames := false
		var hosts []refererHost
		none, blocked := false, false
		for _, d := range ds {
			for _, a := range d.Args {
				v := a.Value
				switch {
				case v == "none":
					none = true
				case v == "blocked":
					blocked = true
				case v == "server_names":
					serverNames = true
				case strings.HasPrefix(v, "~"):
					res = append(res, reqmodel.Compile(v[1:], true))
				default:
					// ngx_http_valid_referers: the URI part starts at the
					// first '/'.
					name, uri := v, ""
					if i := strings.IndexByte(v, '/'); i >= 0 {
						name, uri = v[:i], v[i:]
					}
					hosts = append(hosts, refererHost{strings.ToLower(name), uri})
				}
			}
		}
		var snRes []*reqmodel.Regex
		if serverNames {
			// ngx_http_referer_merge_conf adds the server's names
			// before the level's own entries are hashed; a server
			// without server_name has the name "" there
			// (ngx_http_core_merge_srv_conf). Regex server names go
			// to their own list and are matched against the host.
			names := srv.ServerNames
			if len(names) == 0 {
				names = []string{""}
			}
			for _, n := range names {
				if strings.HasPrefix(n, "~") {
					snRes = append(snRes, reqmodel.Compile(n[1:], true))
					continue
				}
				hosts = append(hosts, refererHost{name: strings.ToLower(n)})
			}
		}
		if !ownDone {
			ownDone = true
			c.none, c.blocked, c.hosts = none, blocked, hosts
		}
		if !reDone && len(res) > 0 {
			reDone, c.regexes = true, res
		}
		if !snDone && len(snRes) > 0 {
			snDone, c.serverNameRegex = true, snRes
		}
	}
	return c
}

// invalidReferer computes $invalid_referer for the request; the first
// value is kept for the rest of the request, as nginx caches a variable
// without NGX_HTTP_VAR_NOCACHEABLE in r->variables (a value read in the
// server's rewrite phase stays after the location changes).
func (st *reqState) invalidReferer() string {
	if st.refererVal != nil {
		return *st.refererVal
	}
	v, why := st.computeInvalidReferer()
	st.refererVal = &v
	st.x.Trace = append(st.x.Trace, "$invalid_referer = \""+v+"\" ("+why+")")
	return v
}

func (st *reqState) computeInvalidReferer() (string, string) {
	c := st.refererConfig()
	if len(c.hosts) == 0 && len(c.regexes) == 0 && len(c.serverNameRegex) == 0 {
		// No hash and no regex: every Referer is valid, none included.
		if c.set {
			return "", "valid_referers has no host name or regex"
		}
		return "", "no valid_referers"
	}
	// r->headers_in.referer is the first Referer line.
	ref, found := headerValue(st.hdrs, "referer")
	if !found {
		if c.none {
			return "", "no Referer, none"
		}
		return "1", "no Referer"
	}
	// The scheme is checked only on a value of at least
	// len("http://i.ru") bytes, case-insensitively.
	rest, ok := "", false
	if len(ref) >= len("http://i.ru") {
		lower := strings.ToLower(ref)
		switch {
		case strings.HasPrefix(lower, "http://"):
			rest, ok = ref[7:], true
		case strings.HasPrefix(lower, "https://"):
			rest, ok = ref[8:], true
		}
	}
	if !ok {
		if c.blocked {
			return "", "Referer without http:// or https://, blocked"
		}
		return "1", "Referer without http:// or https://"
	}
	// The host ends at the first '/' or ':'; a host longer than 256
	// bytes is invalid at once, regexes unchecked.
	end := strings.IndexAny(rest, "/:")
	if end < 0 {
		end = len(rest)
	}
	if end > 256 {
		return "1", "Referer host longer than 256 bytes"
	}
	host := strings.ToLower(rest[:end])
	if h, ok := findRefererHost(c.hosts, host); ok {
		// The URI part is compared from the first '/' after the host
		// (a port is skipped), case-sensitively (ngx_strncmp).
		path := ""
		if i := strings.IndexByte(rest[end:], '/'); i >= 0 {
			path = rest[end+i:]
		}
		if h.uri == "" || strings.HasPrefix(path, h.uri) {
			return "", "Referer host matches " + h.name + h.uri
		}
		return "1", "Referer host matches " + h.name + " but the URI does not start with " + h.uri
	}
	for _, re := range c.serverNameRegex {
		if re.Err != nil {
			st.x.Unmodelled = append(st.x.Unmodelled, "server_name regex ~"+re.Src)
			continue
		}
		if re.Match(host) != nil {
			return "", "Referer host matches server name ~" + re.Src
		}
	}
	for _, re := range c.regexes {
		if re.Err != nil {
			st.x.Unmodelled = append(st.x.Unmodelled, "valid_referers regex ~"+re.Src)
			continue
		}
		// Matched against the Referer without its scheme, as sent.
		if re.Match(rest) != nil {
			return "", "Referer matches ~" + re.Src
		}
	}
	return "1", "Referer matches no valid_referers entry"
}

// findRefererHost looks host up as ngx_hash_find_combined does: an exact
// name first, then the leading wildcards ("*.example.com" for
// subdomains only, ".example.com" for the domain too), the longest
// suffix winning, then the trailing ones ("www.example.*", which needs
// the dot after the prefix), the longest prefix winning.
func findRefererHost(hosts []refererHost, host string) (refererHost, bool) {
	for _, h := range hosts {
		if !strings.HasPrefix(h.name, "*") && !strings.HasPrefix(h.name, ".") && !strings.HasSuffix(h.name, ".*") && h.name == host {
			return h, true
		}
	}
	if host == "" {
		return refererHost{}, false
	}
	var best refererHost
	bestLen := -1
	for _, h := range hosts {
		var suffix string
		switch {
		case strings.HasPrefix(h.name, "*."):
			suffix = h.name[1:]
			if len(host) == len(suffix) || !strings.HasSuffix(host, suffix) {
				continue
			}
		case strings.HasPrefix(h.name, "."):
			suffix = h.name
			if host != h.name[1:] && !strings.HasSuffix(host, suffix) {
				continue
			}
		default:
			continue
		}
		if len(suffix) > bestLen {
			best, bestLen = h, len(suffix)
		}
	}
	if bestLen >= 0 {
		return best, true
	}
	for _, h := range hosts {
		if !strings.HasSuffix(h.name, ".*") || strings.HasPrefix(h.name, "*") || strings.HasPrefix(h.name, ".") {
			continue
		}
		prefix := h.name[:len(h.name)-1]
		if strings.HasPrefix(host, prefix) && len(prefix) > bestLen {
			best, bestLen = h, len(prefix)
		}
	}
	return best, bestLen >= 0
}
