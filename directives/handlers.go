package directives

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ngxlint/ngxlint/versions"
)

// The table marks a directive whose module parses its own arguments with
// Value Other. For the most used of them this file mirrors the handler's
// checks, read from the C sources at every release the table covers: an
// argument is refused here only where every release refuses it, or where
// the declared release (versions.Profile) does. Facts that need more than
// one directive (a listen address twice, a shared dict defined twice) are
// the caller's: ParseListen gives what they are computed from.

// templated reports a value with a "$" where the handler expands no
// variable. nginx refuses it, but such a value is nearly always a
// template's placeholder (envsubst's ${PORT}, Test::Nginx's
// $TEST_NGINX_SERVER_PORT) substituted before nginx reads the file: the
// handler checks pass over it.
func templated(v string) bool { return strings.IndexByte(v, '$') >= 0 }

// handlerCheck checks the arguments of one directive (count already
// accepted) as its handler does, in the handler's order.
type handlerCheck func(d Directive, args []string, p versions.Profile) *Problem

var handlerChecks = map[[2]string]handlerCheck{
	{"ngx_http_core_module", "listen"}:                checkHTTPListen,
	{"ngx_stream_core_module", "listen"}:              checkStreamListen,
	{"ngx_http_lua_module", "lua_shared_dict"}:        checkLuaSharedDict,
	{"ngx_stream_lua_module", "lua_shared_dict"}:      checkLuaSharedDict,
	{"ngx_http_rewrite_module", "return"}:             checkReturn,
	{"ngx_event_core_module", "worker_connections"}:   checkWorkerConnections,
	{"ngx_core_module", "worker_processes"}:           checkWorkerProcesses,
	{"ngx_http_core_module", "error_page"}:            checkErrorPage,
	{"ngx_http_upstream_module", "server"}:            checkUpstreamServer,
	{"ngx_stream_upstream_module", "server"}:          checkUpstreamServer,
	{"ngx_http_core_module", "keepalive_timeout"}:     checkKeepaliveTimeout,
	{"ngx_http_headers_filter_module", "add_header"}:  checkAlwaysParam,
	{"ngx_http_headers_filter_module", "add_trailer"}: checkAlwaysParam,
}

// HasHandlerCheck reports whether CheckHandler knows d's handler.
func (d Directive) HasHandlerCheck() bool {
	_, ok := handlerChecks[[2]string{d.Module, d.Name}]
	return ok
}

// IsParameter reports whether word is one of the named parameters (a
// word, or name=value) that the handler of d knows (listen, server in
// upstream), in any release: a caller may then show it as a setting.
func (d Directive) IsParameter(word string) bool {
	var names []string
	switch [2]string{d.Module, d.Name} {
	case [2]string{"ngx_http_core_module", "listen"}:
		for _, q := range httpListenParams {
			names = append(names, q.name)
		}
	case [2]string{"ngx_stream_core_module", "listen"}:
		for _, q := range streamListenParams {
			names = append(names, q.name)
		}
	case [2]string{"ngx_http_upstream_module", "server"}, [2]string{"ngx_stream_upstream_module", "server"}:
		for _, q := range upstreamServerParams {
			names = append(names, q.name)
		}
	}
	for _, n := range names {
		if word == n || strings.HasSuffix(n, "=") && strings.HasPrefix(word, n) || strings.HasPrefix(word, "ipv6only=") && n == "ipv6only=o" {
			return true
		}
	}
	return false
}

// CheckHandler runs the checks of d's own handler (a Value Other
// directive) on args, the directive's arguments after unquoting, and
// returns nginx's complaint, or nil when nginx accepts them or the
// handler is not modelled. The argument count is assumed accepted.
func (d Directive) CheckHandler(args []string, p versions.Profile) *Problem {
	check, ok := handlerChecks[[2]string{d.Module, d.Name}]
	if !ok || len(args) == 0 {
		return nil
	}
	return check(d, args, p)
}

// since reports whether a fact of release v holds for the declared nginx:
// with no version declared, any release may be the one that runs, so
// what appeared in some release is accepted.
func since(p versions.Profile, v string) bool {
	return !p.HasNginx() || p.Nginx.AtLeast(v)
}

// until reports whether something removed in release v is still there.
func until(p versions.Profile, v string) bool {
	return !p.HasNginx() || p.Nginx.Less(v)
}

// Listen is what a listen directive says about the socket it adds.
type Listen struct {
	// Addr is the address as nginx prints it in its duplicate messages
	// ("0.0.0.0:8080", "[::]:443", "unix:/run/x.sock"): 8080, *:8080 and
	// 0.0.0.0:8080 are one address. It is "" when the address is a host
	// name nginx resolves when it starts, or a port range: which sockets
	// it stands for cannot be told here.
	Addr string
	// DefaultServer: the default_server (or default) parameter.
	DefaultServer bool
	// Options: a parameter that sets the socket's options (bind,
	// backlog=, reuseport...): nginx refuses two listens of one address
	// that both set them ("duplicate listen options").
	Options bool
	// UDP: the stream module's udp parameter (another socket type).
	UDP bool
}

// listenParam is one parameter of listen after the address: a word, or
// a prefix (ending in "=", or ipv6only=o as nginx matches it), the releases it exists in, whether it sets the
// socket's options (lsopt.set), and its value check.
type listenParam struct {
	name         string
	since, until string
	options      bool
	check        func(v string) (bad bool, msg string)
}

// atoiParam is a parameter whose value ngx_atoi reads; zero is refused
// when positive is set.
func atoiParam(what string, positive bool) func(string) (bool, string) {
	return func(v string) (bool, string) {
		n, ok := atoi(v[strings.IndexByte(v, '=')+1:])
		if !ok || positive && n == 0 {
			return true, fmt.Sprintf("invalid %s %q", what, v)
		}
		return false, ""
	}
}

func sizeParam(what string) func(string) (bool, string) {
	return func(v string) (bool, string) {
		if _, ok := ParseSize(v[strings.IndexByte(v, '=')+1:]); !ok {
			return true, fmt.Sprintf("invalid %s %q", what, v)
		}
		return false, ""
	}
}

// ipv6onlyParam: the handlers match the prefix "ipv6only=o" (so
// "ipv6only=yes" is an invalid parameter), then want "n" or "ff"; the
// message quotes the value from the "o".
func ipv6onlyParam(v string) (bool, string) {
	if rest := v[len("ipv6only=o"):]; rest != "n" && rest != "ff" {
		return true, fmt.Sprintf("invalid ipv6only flags %q", v[len("ipv6only="):])
	}
	return false, ""
}

// soKeepaliveParam is so_keepalive=on|off|[idle]:[intvl]:[cnt]: the
// tunable form (TCP_KEEPIDLE...) is parsed with ngx_parse_time for the
// first two fields and ngx_atoi for the rest of the value, and at least
// one must be non-zero. A platform without the tunables refuses every
// form but on and off, so a malformed one is refused everywhere.
func soKeepaliveParam(v string) (bool, string) {
	s := strings.TrimPrefix(v, "so_keepalive=")
	if s == "on" || s == "off" {
		return false, ""
	}
	bad := func() (bool, string) { return true, fmt.Sprintf("invalid so_keepalive value: %q", s) }
	rest := s
	var total int64
	for field := 0; field < 2; field++ {
		part := rest
		if i := strings.IndexByte(rest, ':'); i >= 0 {
			part, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if part != "" {
			t, ok := ParseTime(part, true)
			if !ok {
				return bad()
			}
			total += t
		}
	}
	if rest != "" {
		n, ok := atoi(rest)
		if !ok {
			return bad()
		}
		total += n
	}
	if total == 0 {
		return bad()
	}
	return false, ""
}

// httpListenParams are ngx_http_core_listen's parameters, read at every
// release tag from release-1.0.0 (src/http/ngx_http_core_module.c).
// setfib= and fastopen= exist only where the platform has them (FreeBSD's
// SO_SETFIB, TCP_FASTOPEN): elsewhere nginx says invalid parameter, so
// they are accepted, but a value ngx_atoi refuses is refused everywhere.
// spdy warns from 1.9.5 (superseded by http2) and is gone in 1.19.7.
var httpListenParams = []listenParam{
	{name: "default_server"},
	{name: "default"},
	{name: "bind", options: true},
	{name: "setfib=", options: true, check: atoiParam("setfib", false)},
	{name: "fastopen=", since: "1.5.8", options: true, check: atoiParam("fastopen", false)},
	{name: "backlog=", options: true, check: atoiParam("backlog", true)},
	{name: "rcvbuf=", options: true, check: sizeParam("rcvbuf")},
	{name: "sndbuf=", options: true, check: sizeParam("sndbuf")},
	{name: "accept_filter=", options: true},
	{name: "deferred", options: true},
	{name: "ipv6only=o", options: true, check: ipv6onlyParam},
	{name: "reuseport", since: "1.9.1", options: true},
	{name: "ssl"},
	{name: "http2", since: "1.9.5"},
	{name: "spdy", since: "1.3.15", until: "1.19.7"},
	{name: "so_keepalive=", since: "1.1.11", options: true, check: soKeepaliveParam},
	{name: "proxy_protocol", since: "1.5.12"},
	{name: "quic", since: "1.25.0"},
	{name: "multipath", since: "1.29.7", options: true},
}

// streamListenParams are ngx_stream_core_listen's parameters
// (src/stream/ngx_stream_core_module.c, release-1.9.0 on).
var streamListenParams = []listenParam{
	{name: "udp", since: "1.9.13"},
	{name: "bind"},
	{name: "fastopen=", since: "1.21.0", check: atoiParam("fastopen", false)},
	{name: "backlog=", since: "1.9.2", check: atoiParam("backlog", true)},
	{name: "rcvbuf=", since: "1.13.0", check: sizeParam("rcvbuf")},
	{name: "sndbuf=", since: "1.13.0", check: sizeParam("sndbuf")},
	{name: "ipv6only=o", check: ipv6onlyParam},
	{name: "reuseport", since: "1.9.1"},
	{name: "ssl"},
	{name: "so_keepalive=", check: soKeepaliveParam},
	{name: "proxy_protocol", since: "1.11.4"},
	{name: "default_server", since: "1.25.5"},
	{name: "deferred", since: "1.25.5"},
	{name: "accept_filter=", since: "1.25.5"},
	{name: "setfib=", since: "1.25.5", check: atoiParam("setfib", false)},
	{name: "multipath", since: "1.29.7"},
}

func checkHTTPListen(d Directive, args []string, p versions.Profile) *Problem {
	_, prob := ParseListen(d, args, p)
	return prob
}

func checkStreamListen(d Directive, args []string, p versions.Profile) *Problem {
	_, prob := ParseListen(d, args, p)
	return prob
}

// ParseListen reads a listen directive of the http or stream module (d
// is its table entry) as ngx_http_core_listen / ngx_stream_core_listen
// do: the address by ngx_parse_url, then the parameters. It returns
// nginx's complaint when it refuses them.
func ParseListen(d Directive, args []string, p versions.Profile) (Listen, *Problem) {
	var l Listen
	if len(args) == 0 {
		return l, nil
	}
	params := httpListenParams
	defaultPort := 80
	if d.Module == "ngx_stream_core_module" {
		// ngx_stream_core_listen sets no default port: an address
		// without one is not compared here.
		params, defaultPort = streamListenParams, 0
	}
	if templated(args[0]) {
		return l, nil // neither checked nor compared
	}
	addr, err := parseListenAddr(args[0], defaultPort, p)
	if err != "" {
		return l, &Problem{Arg: 0, Message: fmt.Sprintf("%s in %q of the \"listen\" directive", err, args[0])}
	}
	l.Addr = addr
	for i, a := range args[1:] {
		if templated(a) {
			continue
		}
		var known *listenParam
		for j := range params {
			q := &params[j]
			if a == q.name || q.check != nil && strings.HasPrefix(a, q.name) || strings.HasSuffix(q.name, "=") && strings.HasPrefix(a, q.name) {
				known = q
				break
			}
		}
		if known == nil || known.since != "" && !since(p, known.since) || known.until != "" && !until(p, known.until) {
			msg := fmt.Sprintf("invalid parameter %q", a)
			if d.Module == "ngx_stream_core_module" && !(p.HasNginx() && p.Nginx.AtLeast("1.25.5")) {
				// The stream module's wording until 1.25.5.
				msg = fmt.Sprintf("the invalid %q parameter", a)
			}
			return l, &Problem{Arg: i + 1, Message: msg}
		}
		if known.check != nil {
			if bad, msg := known.check(a); bad {
				return l, &Problem{Arg: i + 1, Message: msg}
			}
		}
		switch known.name {
		case "default_server", "default":
			l.DefaultServer = true
		case "udp":
			l.UDP = true
		}
		l.Options = l.Options || known.options
	}
	return l, nil
}

// parseListenAddr is ngx_parse_url with u.listen set (src/core/ngx_inet.c
// ngx_parse_url, ngx_parse_inet_url, ngx_parse_inet6_url,
// ngx_parse_unix_domain_url). It returns the address as nginx prints it
// ("" when it cannot be told without resolving a name), or the error
// nginx puts before "in ... of the listen directive". A host name is
// refused only when no resolver can know it: digits followed by letters,
// with no dot (a port with a stray letter, "8080q"), which is not a name
// anyone registers or writes in /etc/hosts.
func parseListenAddr(s string, defaultPort int, p versions.Profile) (string, string) {
	maxPort := int64(65535)
	if p.HasNginx() && p.Nginx.Less("1.0.11") {
		maxPort = 65536 // an off-by-one fixed in 1.0.11
	}
	// Port ranges ("8000-8010") came in 1.15.10; before, the dash is
	// part of a port ngx_atoi refuses or of a host name.
	ranges := since(p, "1.15.10")
	// port parses a port or a range; ok false with an error when nginx
	// refuses it, single false for a range.
	port := func(s string) (n int64, single bool, err string) {
		first := s
		if ranges {
			if i := strings.IndexByte(s, '-'); i >= 0 {
				last, ok := atoi(s[i+1:])
				if !ok || last < 1 || last > maxPort {
					return 0, false, "invalid port"
				}
				first = s[:i]
				n, ok := atoi(first)
				if !ok || n < 1 || n > maxPort {
					return 0, false, "invalid port"
				}
				if n > last {
					return 0, false, "invalid port range"
				}
				return n, false, ""
			}
		}
		n, ok := atoi(first)
		if !ok || n < 1 || n > maxPort {
			return 0, false, "invalid port"
		}
		return n, true, ""
	}
	if len(s) >= 5 && strings.EqualFold(s[:5], "unix:") {
		path := s[5:]
		switch {
		case path == "":
			return "", "no path in the unix domain socket"
		case len(path)+1 > 108: // sizeof(sun_path) on Linux
			return "", "too long path in the unix domain socket"
		}
		return "unix:" + path, ""
	}
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "invalid host"
		}
		host, rest := s[1:end], s[end+1:]
		if strings.IndexByte(rest, '/') >= 0 {
			return "", "invalid host"
		}
		n, single := int64(defaultPort), true
		if rest != "" {
			if rest[0] != ':' {
				return "", "invalid host"
			}
			var err string
			if n, single, err = port(rest[1:]); err != "" {
				return "", err
			}
		}
		if host == "" {
			return "", "no host"
		}
		// ngx_inet6_addr's grammar is not mirrored: an address it might
		// refuse is not reported, only not compared.
		a, perr := netip.ParseAddr(host)
		if perr != nil || !a.Is6() || a.Zone() != "" || !single || n == 0 {
			return "", ""
		}
		return fmt.Sprintf("[%s]:%d", a.String(), n), ""
	}
	host, portText, hasPort := s, "", false
	if i := strings.IndexByte(s, ':'); i >= 0 {
		host, portText, hasPort = s[:i], s[i+1:], true
	}
	if strings.ContainsAny(s, "/?") {
		return "", "invalid host"
	}
	n, single := int64(defaultPort), true
	if hasPort {
		var err string
		if n, single, err = port(portText); err != "" {
			return "", err
		}
	} else {
		// ngx_parse_inet_url tests a listen value as a port first; a
		// range whose end is not a number is a host name.
		first, rangeEnd := s, ""
		if ranges {
			if i := strings.IndexByte(s, '-'); i >= 0 {
				first, rangeEnd = s[:i], s[i+1:]
			}
		}
		_, endOK := atoi(rangeEnd)
		if _, ok := atoi(first); ok && (rangeEnd == "" && !strings.Contains(s, "-") || endOK) {
			var err string
			if n, single, err = port(s); err != "" {
				return "", err
			}
			if !single {
				return "", ""
			}
			return fmt.Sprintf("0.0.0.0:%d", n), ""
		}
	}
	if host == "" {
		return "", "no host"
	}
	ip, isIP := inetAddr(host)
	switch {
	case host == "*":
		ip, isIP = "0.0.0.0", true
	case !isIP && unresolvable(host):
		return "", "host not found"
	}
	if !isIP || !single || n == 0 {
		return "", ""
	}
	return fmt.Sprintf("%s:%d", ip, n), ""
}

// inetAddr is ngx_inet_addr: four decimal octets of at most 255 (leading
// zeros are decimal), written back in dotted form.
func inetAddr(s string) (string, bool) {
	var oct [4]int
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			oct[n] = oct[n]*10 + int(c-'0')
			if oct[n] > 255 {
				return "", false
			}
		case c == '.' && n < 3:
			n++
		default:
			return "", false
		}
	}
	if n != 3 {
		return "", false
	}
	return fmt.Sprintf("%d.%d.%d.%d", oct[0], oct[1], oct[2], oct[3]), true
}

// unresolvable: one or more digits then one or more letters, nothing
// else (see parseListenAddr).
func unresolvable(host string) bool {
	i := 0
	for i < len(host) && host[i] >= '0' && host[i] <= '9' {
		i++
	}
	j := i
	for j < len(host) && (host[j] >= 'a' && host[j] <= 'z' || host[j] >= 'A' && host[j] <= 'Z') {
		j++
	}
	return i > 0 && j > i && j == len(host)
}

// checkLuaSharedDict is ngx_http_lua_shared_dict (lua-nginx-module
// src/ngx_http_lua_directive.c, the same in every tag read, and
// stream-lua's ngx_stream_lua_shared_dict): a non-empty name and a size
// ngx_parse_size reads, above 8191 bytes.
func checkLuaSharedDict(_ Directive, args []string, _ versions.Profile) *Problem {
	if args[0] == "" {
		return &Problem{Arg: 0, Message: `invalid lua shared dict name ""`}
	}
	if len(args) < 2 || templated(args[1]) {
		return nil
	}
	if n, ok := ParseSize(args[1]); !ok || n <= 8191 {
		return &Problem{Arg: 1, Message: fmt.Sprintf("invalid lua shared dict size %q", args[1])}
	}
	return nil
}

// checkReturn is ngx_http_rewrite_return: a code ngx_atoi reads, or, as
// the only argument, a URL starting with http://, https:// or $scheme
// (a 302). Codes above 999 are refused from 1.2.2.
func checkReturn(_ Directive, args []string, p versions.Profile) *Problem {
	code, ok := atoi(args[0])
	if !ok && !templated(args[0]) {
		if len(args) == 1 && (strings.HasPrefix(args[0], "http://") || strings.HasPrefix(args[0], "https://") ||
			strings.HasPrefix(args[0], "$scheme")) {
			return nil
		}
		return &Problem{Arg: 0, Message: fmt.Sprintf("invalid return code %q", args[0])}
	}
	if code > 999 && p.HasNginx() && p.Nginx.AtLeast("1.2.2") {
		return &Problem{Arg: 0, Message: fmt.Sprintf("invalid return code %q", args[0])}
	}
	return nil
}

// checkWorkerConnections is ngx_event_connections: ngx_atoi.
func checkWorkerConnections(_ Directive, args []string, _ versions.Profile) *Problem {
	if _, ok := atoi(args[0]); !ok && !templated(args[0]) {
		return &Problem{Arg: 0, Message: fmt.Sprintf("invalid number %q", args[0])}
	}
	return nil
}

// checkWorkerProcesses is ngx_set_worker_processes: "auto" (from 1.3.8;
// accepted whatever the version, as nginx before it was a number slot
// whose message differs) or ngx_atoi.
func checkWorkerProcesses(d Directive, args []string, _ versions.Profile) *Problem {
	if args[0] == "auto" || templated(args[0]) {
		return nil
	}
	if _, ok := atoi(args[0]); !ok {
		return &Problem{Arg: 0, Message: fmt.Sprintf("%q directive invalid value", d.Name)}
	}
	return nil
}

// checkErrorPage is ngx_http_core_error_page (the same from 1.0.0 on):
// codes, an optional "=" or "=code" before the last argument (the URI),
// each code a number from 300 to 599 but 499.
func checkErrorPage(_ Directive, args []string, _ versions.Profile) *Problem {
	if len(args) < 2 {
		return nil
	}
	codes := args[:len(args)-1]
	if i := len(args) - 2; strings.HasPrefix(args[i], "=") && !templated(args[i]) {
		if i == 0 {
			return &Problem{Arg: i, Message: fmt.Sprintf("invalid value %q", args[i])}
		}
		if len(args[i]) > 1 {
			if _, ok := atoi(args[i][1:]); !ok {
				return &Problem{Arg: i, Message: fmt.Sprintf("invalid value %q", args[i])}
			}
		}
		codes = args[:i]
	}
	for i, c := range codes {
		if templated(c) {
			continue
		}
		n, ok := atoi(c)
		if !ok || n == 499 {
			return &Problem{Arg: i, Message: fmt.Sprintf("invalid value %q", c)}
		}
		if n < 300 || n > 599 {
			return &Problem{Arg: i, Message: fmt.Sprintf("value %q must be between 300 and 599", c)}
		}
	}
	return nil
}

// upstreamServerParams are the parameters of server in an upstream
// block, http and stream (ngx_http_upstream_server,
// ngx_stream_upstream_server), read at every release tag, plus those of
// NGINX Plus (slow_start=, and route=, service=, resolve and drain before
// nginx took them): a build cannot be told from a configuration, so a
// parameter of either is accepted. The values that ngx_atoi or
// ngx_parse_time read are checked: nginx refuses a bad one with the
// same "invalid parameter".
var upstreamServerParams = []struct {
	name  string
	check func(v string) bool // reports a value nginx refuses
}{
	{"weight=", func(v string) bool { n, ok := atoi(v); return !ok || n == 0 }},
	{"max_conns=", func(v string) bool { _, ok := atoi(v); return !ok }},
	{"max_fails=", func(v string) bool { _, ok := atoi(v); return !ok }},
	{"fail_timeout=", func(v string) bool { _, ok := ParseTime(v, true); return !ok }},
	{"backup", nil},
	{"down", nil},
	{"resolve", nil},
	{"service=", nil},
	{"route=", nil},
	{"drain", nil},
	{"slow_start=", nil},
}

func checkUpstreamServer(_ Directive, args []string, _ versions.Profile) *Problem {
	for i, a := range args[1:] {
		if templated(a) {
			continue
		}
		known := false
		for _, q := range upstreamServerParams {
			if a == q.name || strings.HasSuffix(q.name, "=") && strings.HasPrefix(a, q.name) {
				if q.check != nil && q.check(a[len(q.name):]) {
					return &Problem{Arg: i + 1, Message: fmt.Sprintf("invalid parameter %q", a)}
				}
				known = true
				break
			}
		}
		if !known {
			return &Problem{Arg: i + 1, Message: fmt.Sprintf("invalid parameter %q", a)}
		}
	}
	return nil
}

// checkKeepaliveTimeout is ngx_http_core_keepalive: the idle timeout
// (ngx_parse_time, milliseconds allowed) and the optional Keep-Alive
// header timeout (seconds); either refused as "invalid value".
func checkKeepaliveTimeout(d Directive, args []string, _ versions.Profile) *Problem {
	for i, a := range args[:min(len(args), 2)] {
		if templated(a) {
			continue
		}
		if _, ok := ParseTime(a, i == 1); !ok {
			return &Problem{Arg: i, Message: fmt.Sprintf("%q directive invalid value", d.Name)}
		}
	}
	return nil
}

// checkAlwaysParam is the third argument of add_header and add_trailer
// (ngx_http_headers_add, since 1.7.5 and 1.13.2): only the word "always".
func checkAlwaysParam(_ Directive, args []string, _ versions.Profile) *Problem {
	if len(args) == 3 && args[2] != "always" && !templated(args[2]) {
		return &Problem{Arg: 2, Message: fmt.Sprintf("invalid parameter %q", args[2])}
	}
	return nil
}
