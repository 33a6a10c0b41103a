package nginxengine

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// Containment of a proxy_pass whose host the request chooses
// (Scenario.RequestHosts, the SSRF finding's replay).
//
// What nginx does with such a host (ngx_http_proxy_eval, then
// ngx_http_upstream_init_request and ngx_http_upstream_resolve_handler):
// the URL is evaluated per request and its host part parsed by
// ngx_parse_url with no_resolve. Then exactly one of:
//
//  1. the host starts with "unix:" (a unix socket), or is "[...]" (an
//     IPv6 literal), or ngx_inet_addr reads it as dotted-quad IPv4: nginx
//     connects to that address at once;
//  2. it names an upstream{} (host and port must match): that upstream's
//     servers, which checkContained checks like any other (loopback or
//     refused);
//  3. otherwise it is resolved with `resolver` (none: the request fails),
//     and ngx_resolve_start itself takes an IP literal without asking.
//
// Case 3 is made harmless by the run: every resolver of the copy is the
// engine's stub on 127.0.0.1 (dnsStub), which answers every query NXDOMAIN
// and forwards nothing, so no name ever leads to a connection. Case 2 is
// contained already. The argument is therefore about case 1: the host
// must never be a unix path, an IPv6 literal or an IPv4 literal. It rests
// on two checks, each necessary:
//
//   - the configuration (requestHostVar, scanRequestHosts): the host part
//     of the proxy_pass is exactly one variable (no literal text around it
//     that could complete an address, save ":port"; a proxy_pass that is
//     one variable holding the whole URL is judged by the value of the one
//     set that defines it, nothing else defining it), and that variable can
//     only hold bytes of the request: $arg_NAME (refused if anything can
//     change the query: `set $args`, a rewrite, try_files or error_page
//     with '?'), $host (the request line's host or the Host header: the
//     engine always sends a Host, so the server_name fallback is never
//     taken), $http_NAME or $cookie_NAME (stock nginx cannot change a
//     request header; what can — Lua, njs, perl, headers-more, any
//     load_module — is refused for the whole configuration), or a capture
//     of the regex location the proxy_pass is in (refused if any other
//     regex could set captures: rewrite, an if with ~, a map with regex
//     keys, a regex server_name). Whatever the family, the variable is
//     refused when set, set_*, auth_request_set, map, geo or
//     split_clients defines that name, compared without case: nginx
//     finds a defined variable before the prefix families, so
//     "set $http_x 10.0.0.5" makes $http_x that address whatever the
//     header says (checked on Debian's nginx 1.22.1). A set/map/geo
//     value or a Lua variable is never accepted: the configuration could
//     put an address in it. $host falls back to server_name only for a
//     request without Host (HTTP/1.0; an empty Host gets 400), which the
//     engine's client never sends (checked on Debian's nginx 1.22.1:
//     "server_name 10.9.9.9" gave $host 10.9.9.9 to an HTTP/1.0 request
//     without Host, 400 to "Host: ", the header's value otherwise);
//   - the requests (requestHostBlocker): every byte nginx can read from a
//     request the engine sends (the path raw and percent-decoded twice,
//     the query, every header value, the Host and the engine's own) holds
//     no '[' or ']', no "unix:" and no digit-dot-digit sequence, so no
//     substring of it is an address of case 1.
//
// Together: the host is a substring of the request, the request holds no
// address, so the host is a name, and a name gets NXDOMAIN. The rules add
// a third guard (not needed for the argument): they send only requests for
// which the emulator predicts the canary host.
type requestHostFacts struct {
	// blockers are reasons that hold for the whole configuration.
	blockers []string
	// argsChanged: something can rewrite the query string.
	argsChanged string
	// otherRegex: a regex other than a location's can set captures.
	otherRegex string
	// uriSet: a directive sends the request to a URI the configuration
	// writes (an internal redirect or subrequest: error_page, try_files,
	// auth_request, mirror...) that could spell an address, which a
	// location regex's capture or the query would then carry.
	uriSet string
	// defined are variable names set by set, map, geo, split_clients.
	defined map[string]bool
	// sets are the values "set" gives each variable, and setsOnly marks
	// the names no other directive defines.
	sets     map[string][]string
	setsOnly map[string]bool
}

func (f *requestHostFacts) block(name string) {
	for _, b := range f.blockers {
		if b == name {
			return
		}
	}
	f.blockers = append(f.blockers, name)
}

func scanRequestHosts(cfg *nginxconf.Config) *requestHostFacts {
	f := &requestHostFacts{defined: map[string]bool{}, sets: map[string][]string{}, setsOnly: map[string]bool{}}
	others := map[string]bool{}
	var uriVars [][2]string // a variable in a configuration-written URI, where
	cfg.Walk(func(d *nginxconf.Directive, parents []*nginxconf.Directive) bool {
		// The copy keeps the user's line numbers.
		at := fmt.Sprintf("%s (%s line %d)", d.Name, path.Base(d.Pos.File), d.Pos.Line)
		switch {
		case isScriptDirective(d.Name) || strings.HasPrefix(d.Name, "more_"):
			f.block(d.Name)
		case d.Name == "load_module":
			f.block(d.Name)
		case (d.Name == "set" || d.Name == "auth_request_set" || strings.HasPrefix(d.Name, "set_")) &&
			len(d.Args) > 0 && strings.HasPrefix(d.Args[0].Value, "$"):
			// "set $http_x 10.0.0.5" makes $http_x that value, not the
			// header (a defined variable is found before the prefix
			// families), so every family is checked against these.
			name := varKey(d.Args[0].Value)
			f.defined[name] = true
			if d.Name == "set" && len(d.Args) == 2 {
				f.sets[name] = append(f.sets[name], d.Args[1].Value)
			} else {
				others[name] = true
			}
			if name == "args" || name == "query_string" {
				f.argsChanged = at
			}
		case d.Name == "rewrite":
			f.otherRegex = at
			if strings.Contains(d.Arg(1), "?") {
				f.argsChanged = at
			}
		case d.Name == "if":
			for _, a := range d.Args {
				if v := a.Value; v == "~" || v == "~*" || v == "!~" || v == "!~*" {
					f.otherRegex = at
				}
			}
		case d.Name == "server_name":
			for _, a := range d.Args {
				if strings.HasPrefix(a.Value, "~") {
					f.otherRegex = at
				}
			}
		case d.Name == "map" && d.HasBlock:
			if len(d.Args) > 1 {
				f.defined[varKey(d.Args[1].Value)] = true
				others[varKey(d.Args[1].Value)] = true
			}
			for _, e := range d.Block {
				if strings.HasPrefix(e.Name, "~") {
					f.otherRegex = at
				}
			}
		case (d.Name == "geo" || d.Name == "split_clients") && d.HasBlock && len(d.Args) > 0:
			f.defined[varKey(d.Args[len(d.Args)-1].Value)] = true
			others[varKey(d.Args[len(d.Args)-1].Value)] = true
		}
		if uriChanging[d.Name] {
			args := d.Args
			if d.Name == "rewrite" && len(args) > 0 {
				args = args[1:] // the regex; its replacement is read above
			}
			for _, a := range args {
				if d.Name != "rewrite" && strings.Contains(a.Value, "?") {
					f.argsChanged = at
				}
				if f.uriSet == "" && configURIAddress(a.Value) {
					f.uriSet = at
				}
				for _, m := range anyVar.FindAllStringSubmatch(a.Value, -1) {
					uriVars = append(uriVars, [2]string{varKey(m[1]), at})
				}
			}
		}
		if d.Name == "ssi" && d.Arg(0) != "off" {
			// include virtual builds subrequest URIs from what the
			// served content says.
			f.block(d.Name)
		}
		return true
	})
	for name := range f.sets {
		f.setsOnly[name] = !others[name]
	}
	for _, v := range uriVars {
		// A request variable the configuration also defines holds
		// what the configuration says (see requestHostVar).
		if f.uriSet == "" && f.defined[v[0]] {
			f.uriSet = v[1]
		}
	}
	return f
}

// reWholeVar is a proxy_pass argument that is one variable and nothing
// else.
var reWholeVar = regexp.MustCompile(`^\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))$`)

// reHostVar is a host part made of one variable, then a literal port or
// $request_uri (whose value starts at the request line's '/', so it only
// ends the host).
var reHostVar = regexp.MustCompile(`^\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))(?::[0-9]+)?(?:\$request_uri|\$\{request_uri\})?$`)

// requestHostVar accepts a proxy_pass whose host part is one request
// variable, under the conditions argued above, and says why not
// otherwise.
func (c *containCheck) requestHostVar(d *nginxconf.Directive, parents []*nginxconf.Directive) string {
	f := c.hosts
	refuse := func(why string) string {
		return "the host comes from a variable, accepted only when it can hold nothing but request bytes: " + why
	}
	if len(f.blockers) > 0 {
		return refuse("the configuration has " + strings.Join(f.blockers, ", ") + ", which can change request headers or variables")
	}
	if d.Name != "proxy_pass" || len(parents) == 0 || parents[0].Name != "http" {
		return refuse("only an http proxy_pass is replayed this way")
	}
	v := d.Args[0].Value
	if m := reWholeVar.FindStringSubmatch(v); m != nil {
		// The whole URL in one variable ("set $u http://$1/x;
		// proxy_pass $u;"): accepted when exactly one set defines it
		// and nothing else does, and that set's value passes as a
		// proxy_pass URL would. Where the set did not run the variable
		// is empty, and nginx fails the request on the invalid URL
		// without connecting.
		name := varKey(v)
		vals := f.sets[name]
		if len(vals) != 1 || !f.setsOnly[name] || strings.Contains(vals[0], "$"+m[1]+m[2]) {
			return refuse("$" + m[1] + m[2] + " holds the whole URL but is not defined by exactly one set")
		}
		v = vals[0]
	}
	scheme, rest, ok := strings.Cut(v, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return refuse("the URL is not http:// or https:// followed by the host")
	}
	hostPart := rest
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		hostPart = rest[:i]
	}
	m := reHostVar.FindStringSubmatch(hostPart)
	if m == nil {
		return refuse("the host part " + shortArg(hostPart) + " is not exactly one variable")
	}
	name := m[1] + m[2]
	lname := strings.ToLower(name)
	if f.defined[lname] {
		return refuse("$" + name + " is also set by the configuration")
	}
	switch {
	case strings.HasPrefix(lname, "arg_"):
		if f.argsChanged != "" {
			return refuse("$" + name + ", but " + f.argsChanged + " can change the query string")
		}
		if f.uriSet != "" {
			return refuse("$" + name + ", but " + f.uriSet + " sends requests to a URI the configuration writes")
		}
		return ""
	case strings.HasPrefix(lname, "http_") || strings.HasPrefix(lname, "cookie_"):
		return ""
	case lname == "host":
		// $host is the request line's host, else the Host header,
		// else server_name (ngx_http_variable_host). The engine's
		// client always sends a Host (an empty one is refused with
		// 400 by ngx_http_validate_host), so the fallback is never
		// taken, and both others are request bytes the blocker reads.
		return ""
	}
	// A capture: of the regex location the proxy_pass is in, and of no
	// other regex.
	loc := parents[len(parents)-1]
	if loc.Name != "location" || len(loc.Args) < 2 || (loc.Args[0].Value != "~" && loc.Args[0].Value != "~*") {
		return refuse("$" + name + " is not a request variable ($arg_*, $http_*, $cookie_*) or a capture of the enclosing regex location")
	}
	re := reqmodel.Compile(loc.Args[1].Value, loc.Args[0].Value == "~*")
	if re.Err != nil || re.Group(name) <= 0 {
		return refuse("$" + name + " is not a group of the location's regex")
	}
	if f.otherRegex != "" {
		return refuse("$" + name + " is a capture, but " + f.otherRegex + " can set captures too")
	}
	if f.uriSet != "" {
		return refuse("$" + name + " is a capture, but " + f.uriSet + " sends requests to a URI the configuration writes")
	}
	return ""
}

// varKey is a variable as nginx looks it up: without "$" or braces, in
// lower case (variable names are case-insensitive).
func varKey(v string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(v, "$"), "{"), "}"))
}

// configURIAddress reports whether a URI a directive writes could hold an
// address: address-like text (see requestHostBlocker), or a variable whose
// value is not the request's own bytes.
func configURIAddress(v string) bool {
	if strings.ContainsAny(v, "[]") || strings.Contains(strings.ToLower(v), "unix:") || reDigitDot.MatchString(v) {
		return true
	}
	for _, m := range anyVar.FindAllStringSubmatch(v, -1) {
		n := strings.ToLower(m[1])
		switch {
		case n == "uri", n == "document_uri", n == "request_uri", n == "args", n == "query_string", n == "is_args",
			strings.HasPrefix(n, "arg_"), strings.HasPrefix(n, "http_"), strings.HasPrefix(n, "cookie_"),
			len(n) == 1 && n[0] >= '0' && n[0] <= '9':
		default:
			return true
		}
	}
	return false
}

// reDigitDot is a digit, a dot and a digit: the start of what
// ngx_inet_addr could read as IPv4.
var reDigitDot = regexp.MustCompile(`[0-9]\.[0-9]`)

// requestHostBlocker says why a request the engine would send could
// give a proxy_pass host an address (see above), "" if it cannot. values
// are the other bytes of the request nginx reads: the Host and the
// engine's own headers.
func requestHostBlocker(rq emulator.Request, values ...string) string {
	if strings.ContainsAny(rq.Method+rq.Path, "\r\n\t ") {
		// A raw break or blank would end the request line early: the
		// rest could be read as HTTP/1.0 without Host, where $host is
		// server_name.
		return "the request line has a raw line break or blank"
	}
	texts := append([]string{rq.Path}, values...)
	if p, err := url.PathUnescape(rq.Path); err == nil {
		texts = append(texts, p)
		if p2, err := url.PathUnescape(p); err == nil {
			texts = append(texts, p2)
		}
	} else {
		return "the path does not percent-decode"
	}
	for _, h := range rq.Headers {
		texts = append(texts, h.Name, h.Value)
	}
	for _, t := range texts {
		lt := strings.ToLower(t)
		switch {
		case strings.ContainsAny(t, "[]"):
			return fmt.Sprintf("%q has a bracket (an IPv6 literal)", t)
		case strings.Contains(lt, "unix:"):
			return fmt.Sprintf("%q names a unix socket", t)
		case reDigitDot.MatchString(t):
			return fmt.Sprintf("%q could spell an IPv4 address", t)
		}
	}
	return ""
}
