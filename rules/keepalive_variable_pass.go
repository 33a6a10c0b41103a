package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules/retry"
)

// KeepaliveVariablePass is NGX2002's first case for "proxy_pass
// http://$var": where the variable's values are known literals (set in
// the location or server, or a map), the upstreams they name are checked
// like a literal proxy_pass.
var KeepaliveVariablePass = &analyzer.Rule{
	ID:       "NGX2005",
	Slug:     "keepalive-variable-proxy-pass",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "proxy_pass through a variable to an upstream with keepalive, sent HTTP/1.0 or Connection: close",
		Text: `When proxy_pass names its host through a variable, nginx looks the evaluated name up among the
upstream blocks at run time (ngx_http_upstream_init_request). Where the variable can only take literal
values (set $pool app; in the location or its server, or a map whose values are names), the location
still talks to those upstreams, and NGX2002's condition applies: before nginx 1.29.7 the proxy module
sends HTTP/1.0 with "Connection: close" unless the location sets "proxy_http_version 1.1;" and
"proxy_set_header Connection "";", so the upstream's keepalive never reuses a connection. Variables
that Lua or another module may set are not followed.`,
		Bad: `http {
    map $http_x_canary $pool {
        default stable;
        "1"     canary;
    }
    upstream stable {
        server 127.0.0.1:8080;
        keepalive 16;
    }
    upstream canary {
        server 127.0.0.1:8081;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://$pool;
        }
    }
}
`,
		Good: `http {
    map $http_x_canary $pool {
        default stable;
        "1"     canary;
    }
    upstream stable {
        server 127.0.0.1:8080;
        keepalive 16;
    }
    upstream canary {
        server 127.0.0.1:8081;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://$pool;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`,
		Versions:     "nginx=1.22.1",
		Affected:     "nginx < 1.29.7",
		Since:        "0.2.0",
		References:   []string{"https://nginx.org/en/docs/http/ngx_http_upstream_module.html#keepalive", "https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_pass (\"a server name ... searched among the described server groups\")"},
		Confirmation: `As NGX2002, against the upstream the variable names: every peer answers 200 keep-alive ("ok"); three GET requests. Confirmed when they opened three upstream connections.`,
	},
	Run: func(pass *analyzer.Pass) error {
		p := pass.Profile
		before := "before nginx 1.29.7"
		if p.HasNginx() {
			before = "on nginx " + p.Nginx.String()
		}
		for _, t := range allProxyTargets(pass) {
			l, u := t.loc, t.up
			if t.via == nil || u.Keepalive == nil || retry.KeepaliveCount(u, p) <= 0 || retry.KeepaliveLostByOrder(u, p) != nil {
				continue
			}
			h11, closeHdr, known := retry.UpstreamHTTP(l, p)
			if !known || (h11 && !closeHdr) {
				continue
			}
			var sends, missing []string
			if !h11 {
				sends, missing = append(sends, "HTTP/1.0"), append(missing, "proxy_http_version 1.1")
			}
			if closeHdr {
				sends, missing = append(sends, `"Connection: close"`), append(missing, `proxy_set_header Connection ""`)
			}
			pp := l.Proxy.Pass.Directive
			d := &analyzer.Diagnostic{Pos: pp.Pos, End: pp.End,
				Message: fmt.Sprintf("%s can name upstream %q, which has keepalive %s, but this location sends it %s",
					l.Proxy.Pass.Target, u.Name, u.Keepalive.Arg(0), strings.Join(sends, " with ")),
				Details: fmt.Sprintf("%s no connection is reused; add %s.", capitalise(before), strings.Join(missing, " and ")),

				Related: []analyzer.Related{
					{Pos: t.via.Pos, End: t.via.End, Message: fmt.Sprintf("%q given here", u.Name)},
					{Pos: u.Keepalive.Pos, End: u.Keepalive.End, Message: "keepalive defined here"}}}
			if fix, ok := keepaliveHeadersFix(l, h11, closeHdr); ok {
				d.Fixes = append(d.Fixes, fix)
			}
			d.Confirm = noReuseScenario(pass, u, l)
			pass.Report(d)
		}
		return nil
	},
}

// proxyTarget is one upstream a location's proxy_pass can reach.
type proxyTarget struct {
	loc *nginxconf.Location
	up  *nginxconf.Upstream
	// via is the set directive or map entry whose value names up when
	// proxy_pass names it through a variable; nil for a literal name.
	via *nginxconf.Directive
}

// allProxyTargets lists, location by location in nginx order, the
// upstreams each proxy_pass reaches: the literal one, or those a
// variable's known values name (variableUpstreams). Each (location,
// upstream) pair appears once.
func allProxyTargets(pass *analyzer.Pass) []proxyTarget {
	type key struct{}
	return pass.Fact(key{}, func() any {
		var out []proxyTarget
		m := pass.Model
		if m == nil || m.HTTP == nil {
			return out
		}
		for _, s := range m.HTTP.Servers {
			for _, l := range s.AllLocations {
				pp := l.Proxy.Pass
				if pp == nil {
					continue
				}
				if pp.Upstream != nil {
					out = append(out, proxyTarget{loc: l, up: pp.Upstream})
					continue
				}
				if pp.HostHasVariables {
					out = append(out, variableUpstreams(pass, l)...)
				}
			}
		}
		return out
	}).([]proxyTarget)
}

// variableUpstreams resolves "proxy_pass scheme://$var[/...]" when $var
// takes only literal values written in the configuration: the set
// directives of the location and its server (if blocks included, since
// any of them may run), or else the entries and default of the map that
// defines it. A variable that Lua or set_by_lua* may assign is not
// followed. nginx matches the evaluated host against upstream names
// case-insensitively and only when no port is given
// (ngx_http_upstream_init_request), so "$var:8080" is not followed.
func variableUpstreams(pass *analyzer.Pass, l *nginxconf.Location) []proxyTarget {
	target := l.Proxy.Pass.Target
	if i := strings.Index(target, "://"); i >= 0 {
		target = target[i+3:]
	}
	host, _, _ := strings.Cut(target, "/")
	name, ok := oneVariable(host)
	if !ok {
		return nil
	}
	scopes := []*nginxconf.Scope{&l.Scope}
	if l.Server != nil {
		scopes = append(scopes, &l.Server.Scope)
	}
	// set is not allowed in http, but Lua written there runs in every
	// location that does not set its own.
	scopes = append(scopes, &pass.Model.HTTP.Scope)
	var sets []*nginxconf.Directive
	for _, sc := range scopes {
		for _, d := range sc.Directives {
			if luaMaySet(d, name) {
				return nil
			}
			if d.Name == "if" {
				for _, c := range d.Block {
					if luaMaySet(c, name) {
						return nil
					}
					if isSetOf(c, name) {
						sets = append(sets, c)
					}
				}
			}
			if isSetOf(d, name) {
				sets = append(sets, d)
			}
		}
	}
	var vals []string
	var from []*nginxconf.Directive
	if len(sets) > 0 {
		for _, d := range sets {
			vals, from = append(vals, d.Arg(1)), append(from, d)
		}
	} else if mp := httpMaps(pass)[name]; mp != nil && !mp.Opaque {
		vals, from = mp.values()
	}
	var out []proxyTarget
	seen := map[*nginxconf.Upstream]bool{}
	for i, v := range vals {
		if from[i] == nil || v == "" || strings.ContainsAny(v, "$:/") {
			continue
		}
		u := upstreamNamed(pass.Model, v)
		if u == nil || seen[u] {
			continue
		}
		seen[u] = true
		out = append(out, proxyTarget{loc: l, up: u, via: from[i]})
	}
	return out
}

func isSetOf(d *nginxconf.Directive, name string) bool {
	return d.Name == "set" && len(d.Args) == 2 && strings.EqualFold(strings.TrimPrefix(d.Arg(0), "$"), name)
}

// luaMaySet reports a directive through which Lua may assign $name:
// set_by_lua* $name, or a Lua chunk that mentions ngx.var and the name.
func luaMaySet(d *nginxconf.Directive, name string) bool {
	if strings.HasPrefix(d.Name, "set_by_lua") && strings.EqualFold(strings.TrimPrefix(d.Arg(0), "$"), name) {
		return true
	}
	if d.Lua == nil {
		return false
	}
	code := d.Lua.Code
	return d.Lua.LoadError != "" || d.Lua.Unresolved || strings.Contains(code, "ngx.var") && strings.Contains(strings.ToLower(code), name)
}

// upstreamNamed finds the http upstream block named n, compared
// case-insensitively as nginx does.
func upstreamNamed(m *nginxconf.Model, n string) *nginxconf.Upstream {
	if u := m.HTTP.UpstreamByName[n]; u != nil {
		return u
	}
	for _, u := range m.HTTP.Upstreams {
		if strings.EqualFold(u.Name, n) {
			return u
		}
	}
	return nil
}
