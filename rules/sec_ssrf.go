package rules

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// ssrfTarget is the host the crafted request asks nginx to proxy to.
const ssrfTarget = "ngxlint-ssrf.test"

// SSRF flags proxy_pass (and its siblings) whose host comes from the
// request.
var SSRF = &analyzer.Rule{
	ID:       "SEC2003",
	Slug:     "ssrf",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "proxy_pass to a host the client chooses (server-side request forgery)",
		Text: `When the host part of proxy_pass (or fastcgi_pass, grpc_pass, uwsgi_pass, scgi_pass) holds a
variable, nginx resolves and connects to whatever it expands to, per request. If that variable comes
from the request, a client makes nginx connect to any host nginx can reach: internal services, the
cloud metadata address, localhost ports. Sources: captures of the URI ("location ~ ^/proxy/(.*)$",
then "proxy_pass http://$1"), $arg_*, $http_* and $http_host, $request_uri, and set/map values built
from them. A map whose values are all constants and a set from nginx's own variables are not
flagged, nor are internal locations (reachable only by nginx's own redirects). $host is validated
and, in a server picked by its server_name, can only be one of those names; it is flagged in a
server that answers any Host, the default server of its listen socket (nginx's server selection
gives it a name no server lists), where "proxy_pass http://$host$request_uri" is an open proxy.

Restrict the variable to known upstreams with a map whose values are constants and whose default
refuses (an empty value or a fixed fallback).`,
		Bad: `http {
    resolver 127.0.0.53;
    server {
        listen 80;
        location ~ ^/fetch/([^/]+)/(.*)$ {
            proxy_pass http://$1/$2;
        }
    }
}
`,
		Good: `http {
    resolver 127.0.0.53;
    map $arg_backend $backend {
        default     app.internal;
        reports     reports.internal;
    }
    server {
        listen 80;
        location /fetch/ {
            proxy_pass http://$backend;
        }
    }
}
`,
		Since: "0.3.0",
		References: []string{"https://github.com/yandex/gixy/blob/master/docs/en/plugins/ssrf.md (gixy ssrf)",
			"https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_pass (\"a server name, its port and the passed URI can also be specified using variables\")"},
		Confirmation: "confirmed by the emulator's request path, which computes the URL proxy_pass would request for the crafted request (nothing is sent) and checks its host is " + ssrfTarget + ". " +
			"With --engine nginx or both, the requests for which the emulator predicts that host are replayed on the real binary, whose resolvers all point to the engine's DNS stub " +
			"(loopback, answers NXDOMAIN, forwards nothing): confirmed when nginx asks it for " + ssrfTarget + ". The engine accepts the variable host only when it is exactly " +
			"one request variable ($arg_*, $http_*, $cookie_*, a capture of the enclosing regex location; or the whole URL is one variable that exactly one set builds so) that nothing in the configuration can set (no set/map/geo value, " +
			"no Lua, njs, perl or load_module, no other regex, nothing that rewrites the query), and when the requests hold nothing an address can be made of " +
			"(no digit.digit, brackets or unix:); otherwise it is not confirmable there, with the reason.",
	},
	Run: func(pass *analyzer.Pass) error {
		eachHTTPDirective(pass, func(s secSite, d *nginxconf.Directive) {
			switch d.Name {
			case "proxy_pass", "fastcgi_pass", "grpc_pass", "uwsgi_pass", "scgi_pass":
			default:
				return
			}
			if s.loc == nil || len(d.Args) == 0 || strings.IndexByte(d.Arg(0), '$') < 0 || isInternal(s.loc) {
				// A literal host cannot come from the request; the
				// location's variable model is not worth building.
				return
			}
			src := hostSource(s.vars(), d.Arg(0), 0)
			if src == nil && hostIsHostVar(d.Arg(0)) && anyHostReaches(pass, s.srv) {
				// $host is validated, and names this server when the
				// server is picked by name; a default server answers
				// any Host, so there the client chooses it freely.
				src = &reqmodel.Source{Var: "host", Why: "$host is the client's Host header, and this server answers any Host (the default server of its listen socket)"}
			}
			if src == nil {
				return
			}
			a := d.Args[0]
			diag := &analyzer.Diagnostic{Pos: a.Pos, End: a.End(),
				Message: fmt.Sprintf("%s connects to a host taken from the request ($%s): server-side request forgery", d.Name, src.Var),
				Details: fmt.Sprintf("$%s: %s. Restrict it to known upstreams with a map of constant values.", src.Var, src.Why)}
			if d.Name == "proxy_pass" {
				diag.Confirm = requestConfirmer(pass, s.srv, nil, ssrfChecks(pass, s, *src))
			}
			pass.Report(diag)
		})
		return nil
	},
}

// isInternal reports whether l (or a location around it) is internal.
func isInternal(l *nginxconf.Location) bool {
	for x := l; x != nil; x = x.Parent {
		if len(x.Own("internal")) > 0 || x.Modifier == "@" {
			return true
		}
	}
	return false
}

func ssrfChecks(pass *analyzer.Pass, s secSite, src reqmodel.Source) []requestCheck {
	a := secAnalysis(pass)
	var reqs []emulator.Request
	base := routeTo(a, s.loc)
	if l := s.loc; l.Modifier == "~" || l.Modifier == "~*" {
		re := a.Router(l.Server).LocationRegex(l)
		for g := 1; g <= re.NumCap; g++ {
			if w, ok := re.Witness(g, ssrfTarget); ok && strings.HasPrefix(w, "/") {
				reqs = append(reqs, emulator.Request{Path: reqmodel.PercentEncode(w)})
			}
		}
	} else if l.Modifier != "=" {
		reqs = append(reqs, emulator.Request{Path: reqmodel.PercentEncode(l.Path + ssrfTarget)})
	}
	for _, p := range base {
		q := emulator.Request{Path: p}
		name := strings.ToLower(src.Var)
		switch {
		case name == "host":
			q.Headers = []emulator.Header{{Name: "Host", Value: ssrfTarget}}
		case strings.HasPrefix(name, "arg_"):
			q.Path += "?" + name[4:] + "=" + ssrfTarget
		case strings.HasPrefix(name, "http_"):
			q.Headers = []emulator.Header{{Name: strings.ReplaceAll(name[5:], "_", "-"), Value: ssrfTarget}}
		default:
			// A set or map: try the usual carriers at once.
			q.Path += "?url=" + ssrfTarget + "&host=" + ssrfTarget + "&target=" + ssrfTarget
			q.Headers = []emulator.Header{{Name: "X-Forwarded-Host", Value: ssrfTarget}}
		}
		reqs = append(reqs, q)
	}
	var out []requestCheck
	for _, rq := range reqs {
		out = append(out, requestCheck{req: rq, requestHost: true, shows: func(x *emulator.Exchange) (bool, string) {
			if x.Upstream == "" && len(x.Resolved) > 0 {
				// Real nginx: the names it asked the engine's DNS stub
				// for, which resolves none (no connection is made).
				for _, n := range x.Resolved {
					if n == ssrfTarget {
						return true, fmt.Sprintf("%d: nginx asked DNS for %s to connect to it", x.Status, ssrfTarget)
					}
				}
				return false, fmt.Sprintf("%d: nginx resolved only %s", x.Status, strings.Join(x.Resolved, ", "))
			}
			if x.Upstream == "" {
				return false, fmt.Sprintf("%d, not proxied", x.Status)
			}
			u, err := url.Parse(x.Upstream)
			if err == nil && u.Hostname() == ssrfTarget {
				return true, "nginx would connect to " + ssrfTarget + " (" + x.Upstream + ")"
			}
			return false, "proxied to " + x.Upstream
		}})
	}
	return out
}

// hostSource returns the request-controlled variable that decides the
// host of URL value t, or nil. A variable that stands for the whole URL
// and is assembled with set ("set $u http://leader/$path; proxy_pass
// $u") is looked into: only what lands in its host part counts.
func hostSource(v *reqmodel.Vars, t string, depth int) *reqmodel.Source {
	hostPart := t
	if _, rest, ok := strings.Cut(t, "://"); ok {
		hostPart = rest
	}
	for _, r := range reqmodel.Refs(hostPart) {
		if i := strings.IndexByte(hostPart, '/'); i >= 0 && r.Start > i {
			break // in the URI part, not the host
		}
		if vals := v.Values(r.Name); r.Start == 0 && !strings.Contains(t, "://") && len(vals) > 0 && depth < 4 {
			// The variable is the whole URL: judge each definition.
			for _, val := range vals {
				if s := hostSource(v, val, depth+1); s != nil {
					return s
				}
			}
			continue
		}
		if o := v.Of(r.Name); o.Taint&reqmodel.AnyHost != 0 {
			return &o
		}
	}
	return nil
}

// hostIsHostVar reports whether the host part of a proxy_pass URL is
// $host alone (with a port or the request URI after it).
func hostIsHostVar(t string) bool {
	_, rest, ok := strings.Cut(t, "://")
	if !ok {
		return false
	}
	refs := reqmodel.Refs(rest)
	if len(refs) == 0 || refs[0].Start != 0 || strings.ToLower(refs[0].Name) != "host" {
		return false
	}
	after := rest[refs[0].End:]
	return after == "" || strings.HasPrefix(after, "/") || strings.HasPrefix(after, ":") || strings.HasPrefix(after, "$")
}

// anyHostReaches reports whether a Host the client makes up reaches srv:
// nginx's server selection (emulator.SelectServer) gives srv for a name
// no server lists on one of its listen sockets.
func anyHostReaches(pass *analyzer.Pass, srv *nginxconf.Server) bool {
	if pass.Model == nil || pass.Model.HTTP == nil {
		return false
	}
	type key struct{ srv *nginxconf.Server }
	return pass.Fact(key{srv}, func() any { return selectedByAnyHost(pass.Model.HTTP.Servers, srv) }).(bool)
}

// selectedByAnyHost is anyHostReaches, computed.
func selectedByAnyHost(servers []*nginxconf.Server, srv *nginxconf.Server) bool {
	var keys []string
	for _, l := range srv.Listen {
		if len(l.Args) > 0 {
			keys = append(keys, emulator.ListenKey(l.Args[0].Value))
		}
	}
	if len(keys) == 0 {
		keys = []string{emulator.ListenKey("80")}
	}
	for _, k := range keys {
		if got, ok := emulator.SelectServer(servers, k, ssrfTarget); ok && got == srv {
			return true
		}
	}
	return false
}
