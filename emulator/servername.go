package emulator

import (
	"net"
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// ListenKey normalises a listen address so that spellings of one socket
// share a key: "80", "*:80", "0.0.0.0:80" and "[::]:80" all become "*:80"
// (the real-nginx engine gives each key its own loopback port). An
// address without a port listens on 80.
func ListenKey(a string) string {
	if strings.HasPrefix(a, "unix:") {
		return a
	}
	if _, err := strconv.Atoi(a); err == nil {
		return "*:" + a
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		host, port = strings.Trim(a, "[]"), "80"
	}
	switch host {
	case "*", "0.0.0.0", "::", "":
		host = "*"
	}
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	}
	return net.JoinHostPort(host, port)
}

// defaultListen is the socket of an http server{} without listen
// (ngx_http_core_merge_srv_conf: *:80 as root, *:8000 otherwise).
const defaultListen = "*:80"

// serverSocket is the first listen socket of srv, the one a request to it
// is sent to.
func serverSocket(srv *nginxconf.Server) string {
	for _, l := range srv.Listen {
		if len(l.Args) > 0 {
			return ListenKey(l.Args[0].Value)
		}
	}
	return defaultListen
}

// socketServers returns the servers that listen on key, in configuration
// order, and the default one: the first whose listen on key says
// default_server (or default), else the first (ngx_http_add_addresses).
func socketServers(servers []*nginxconf.Server, key string) (on []*nginxconf.Server, def *nginxconf.Server) {
	for _, s := range servers {
		has, isDef := len(s.Listen) == 0 && key == defaultListen, false
		for _, l := range s.Listen {
			if len(l.Args) == 0 || ListenKey(l.Args[0].Value) != key {
				continue
			}
			has = true
			for _, a := range l.Args[1:] {
				isDef = isDef || a.Value == "default_server" || a.Value == "default"
			}
		}
		if !has {
			continue
		}
		on = append(on, s)
		if isDef && def == nil {
			def = s
		}
	}
	if def == nil && len(on) > 0 {
		def = on[0]
	}
	return on, def
}

// RegexNamesRun reports whether nginx matches the regex server names of
// the listen socket that requests to srv go to. ngx_http_optimize_servers
// builds a socket's names (ngx_http_server_names) only when more than one
// server listens on it or its default server has a regex name with a
// capture (cscf->captures, set by ngx_http_core_server_name from the last
// regex name of the server); otherwise the only server answers every Host
// and no regex runs.
func RegexNamesRun(servers []*nginxconf.Server, srv *nginxconf.Server) bool {
	on, def := socketServers(servers, serverSocket(srv))
	if len(on) > 1 {
		return true
	}
	if def == nil {
		return false
	}
	captures := false
	for _, n := range def.ServerNames {
		if strings.HasPrefix(n, "~") {
			t := reqmodel.Compile(n[1:], true).Tree()
			captures = t != nil && t.MaxCap() > 0
		}
	}
	return captures
}

// SelectServer is the server nginx picks for a request with Host host on
// the listen socket key (ngx_http_find_virtual_server): an exact name
// (the first server that has it), else the longest matching leading
// wildcard ("*.example.com", ".example.com"), else the longest trailing
// one ("www.example.*"), else the first regex that matches, in the order
// of the configuration, else the socket's default server. ok is false
// when a regex that must be tried cannot be run here (nginx's PCRE
// accepts what Go's RE2 does not).
func SelectServer(servers []*nginxconf.Server, key, host string) (srv *nginxconf.Server, ok bool) {
	on, def := socketServers(servers, key)
	// ngx_http_validate_host lowercases the host and drops a trailing dot
	// and the port.
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	for _, s := range on {
		for _, n := range s.ServerNames {
			if !strings.HasPrefix(n, "~") && !strings.Contains(n, "*") && !strings.HasPrefix(n, ".") && strings.ToLower(n) == host {
				return s, true
			}
		}
	}
	var best *nginxconf.Server
	bestLen := 0
	for _, s := range on {
		for _, n := range s.ServerNames {
			n = strings.ToLower(n)
			var suffix string
			switch {
			case strings.HasPrefix(n, "*."):
				suffix = n[1:] // ".example.com": a subdomain only
				if !strings.HasSuffix(host, suffix) || len(host) == len(suffix) {
					continue
				}
			case strings.HasPrefix(n, "."):
				suffix = n
				if host != n[1:] && !strings.HasSuffix(host, suffix) {
					continue
				}
			default:
				continue
			}
			if len(suffix) > bestLen {
				best, bestLen = s, len(suffix)
			}
		}
	}
	if best != nil {
		return best, true
	}
	for _, s := range on {
		for _, n := range s.ServerNames {
			n = strings.ToLower(n)
			if !strings.HasSuffix(n, ".*") || strings.HasPrefix(n, "~") {
				continue
			}
			prefix := n[:len(n)-1] // "www.example."
			if strings.HasPrefix(host, prefix) && len(host) > len(prefix) && len(prefix) > bestLen {
				best, bestLen = s, len(prefix)
			}
		}
	}
	if best != nil {
		return best, true
	}
	for _, s := range on {
		for _, n := range s.ServerNames {
			if !strings.HasPrefix(n, "~") {
				continue
			}
			re := reqmodel.Compile(n[1:], false)
			if re.Err != nil {
				return nil, false
			}
			if re.Match(host) != nil {
				return s, true
			}
		}
	}
	return def, true
}

// HostFor returns a Host header that makes nginx select srv on its first
// listen socket, among servers (the http servers in configuration
// order), or "" and why none was found. It tries, in order: each plain
// server_name, a name built for each wildcard, a subject generated for
// each regex (reqmodel's witness), and, when srv is the socket's default
// server, a name no server lists; each candidate is kept only when
// SelectServer, which follows nginx's order of precedence, picks srv with
// it, so a name that an exact name, a more specific wildcard or an
// earlier regex of another server takes is never used.
func HostFor(servers []*nginxconf.Server, srv *nginxconf.Server) (string, string) {
	key := serverSocket(srv)
	var cands []string
	for _, n := range srv.ServerNames {
		ln := strings.ToLower(n)
		switch {
		case strings.HasPrefix(n, "~"):
			re := reqmodel.Compile(n[1:], false)
			if w, ok := re.Witness(0, ""); ok {
				cands = append(cands, w)
			}
		case n == "" || n == "_" || strings.Contains(n, "$"):
		case strings.HasPrefix(ln, "*."):
			cands = append(cands, "ngxlint"+ln[1:])
		case strings.HasPrefix(ln, "."):
			cands = append(cands, ln[1:], "ngxlint"+ln)
		case strings.HasSuffix(ln, ".*"):
			cands = append(cands, ln[:len(ln)-1]+"ngxlint")
		case !strings.Contains(ln, "*"):
			cands = append(cands, ln)
		}
	}
	if _, def := socketServers(servers, key); def == srv {
		cands = append(cands, "localhost", "ngxlint-default.invalid")
	}
	for _, h := range cands {
		if !validHost(h) {
			continue
		}
		if got, ok := SelectServer(servers, key, h); ok && got == srv {
			return h, ""
		}
	}
	if len(cands) == 0 {
		return "", "the server has no server_name a Host can match and is not the default server of its listen socket " + key
	}
	return "", "no Host built from the server's names (" + strings.Join(srv.ServerNames, " ") + ") selects it on " + key + ": another server's name takes precedence"
}

// validHost reports whether h passes ngx_http_validate_host unchanged:
// lowercase letters, digits, '-', '_' and inner dots.
func validHost(h string) bool {
	if h == "" || strings.HasPrefix(h, ".") || strings.HasSuffix(h, ".") || strings.Contains(h, "..") {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
