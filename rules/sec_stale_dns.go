package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// StaleDNS flags host names that nginx resolves once, at start.
var StaleDNS = &analyzer.Rule{
	ID:       "SEC1017",
	Slug:     "stale-dns",
	Severity: analyzer.Info,
	Doc: analyzer.Doc{
		Title: "host name resolved once at start and never again",
		Text: `A host name in a proxy_pass without variables, or in an upstream's server line without the
"resolve" parameter, is resolved when nginx reads its configuration and the addresses are kept until the next
reload. When the name moves (a cloud load balancer, a container restarted elsewhere, a failover), nginx keeps
sending traffic to the old address, possibly someone else's.

Reported at info, per proxy_pass and per upstream (its other server lines as related positions). The remedies:
a variable in proxy_pass with a resolver (resolved per request, honouring valid=), or "server name resolve;"
in an upstream with a zone and a resolver (nginx >= 1.27.3; NGINX Plus before). "localhost" and IP addresses
are not reported.`,
		Bad: `http {
    server {
        listen 80;
        location / {
            proxy_pass http://app.internal:8080;
        }
    }
}
`,
		Good: `http {
    resolver 127.0.0.53 valid=30s;
    upstream app {
        zone app 64k;
        server app.internal:8080 resolve;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://app;
        }
    }
}
`,
		Since: "0.3.0",
		References: []string{"https://nginx.org/en/docs/http/ngx_http_upstream_module.html#resolve (1.27.3)",
			"https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_pass", "Gixy-Next stale_dns_cache"},
		Confirmation: "not confirmable: the effect needs DNS to change while nginx runs.",
	},
	Run: func(pass *analyzer.Pass) error {
		m := pass.Model
		if m == nil {
			return nil
		}
		if m.HTTP != nil {
			for _, s := range m.HTTP.Servers {
				for _, l := range s.AllLocations {
					pp := l.Proxy.Pass
					if pp == nil || pp.Upstream != nil || strings.Contains(pp.Target, "$") || !staleCandidate(pp.Host) {
						continue
					}
					if _, ok := m.HTTP.UpstreamByName[pp.Host]; ok {
						continue
					}
					pass.Report(&analyzer.Diagnostic{Pos: pp.Directive.Pos, End: pp.Directive.End,
						Message: fmt.Sprintf("%q is resolved once when nginx starts; if its address changes, nginx keeps using the old one", pp.Host),
						Details: "Use an upstream with \"server ... resolve\" (nginx >= 1.27.3) and a resolver, or a variable in proxy_pass with a resolver."})
				}
			}
		}
		for _, ctx := range []*nginxconf.Context{m.HTTP, m.Stream} {
			if ctx == nil {
				continue
			}
			for _, u := range ctx.Upstreams {
				var stale []int
				for i, sv := range u.Servers {
					if strings.HasPrefix(sv.Address, "unix:") {
						continue
					}
					host := sv.Address
					if h, _, ok := strings.Cut(host, ":"); ok && !strings.HasPrefix(host, "[") {
						host = h
					}
					if !sv.Resolve && staleCandidate(host) {
						stale = append(stale, i)
					}
				}
				if len(stale) == 0 {
					continue
				}
				first := u.Servers[stale[0]].Directive
				d := &analyzer.Diagnostic{Pos: first.Pos, End: first.End,
					Message: fmt.Sprintf("upstream %q names %s resolved once at start; without \"resolve\" an address change is not seen", u.Name, plural(len(stale), "host")),
					Details: "Add \"resolve\" to the server lines (nginx >= 1.27.3; the upstream needs a zone and the context a resolver), or reload nginx when the names move."}
				for _, i := range stale[1:] {
					sd := u.Servers[i].Directive
					d.Related = append(d.Related, analyzer.Related{Pos: sd.Pos, End: sd.End, Message: "also resolved once"})
					if len(d.Related) == 10 {
						break
					}
				}
				pass.Report(d)
			}
		}
		return nil
	},
}

// staleCandidate reports whether host is a DNS name worth re-resolving.
func staleCandidate(host string) bool {
	return isHostName(host) && !strings.EqualFold(host, "localhost") && !strings.HasPrefix(host, "unix:")
}
