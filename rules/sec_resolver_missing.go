package rules

import (
	"fmt"
	"net"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// ResolverMissing flags a proxy_pass with variables to a host name that
// nginx must resolve at run time, where no resolver is configured.
var ResolverMissing = &analyzer.Rule{
	ID:       "SEC1016",
	Slug:     "resolver-missing",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "proxy_pass with variables to a host name, and no resolver",
		Text: `When proxy_pass contains a variable anywhere, nginx builds the URL per request and, unless the
host is the name of an upstream block, resolves it then, with the resolver of the location
(ngx_http_upstream_init_request). Without a resolver directive nginx has only a dummy one, and every such
request fails with 502 and "no resolver defined to resolve <host>" in the error log, even for "localhost".

Reported when the host part is written literally (the variables are in the path, as in
"http://api.example.com$request_uri"), is not an IP address, names no upstream block, and no resolver is in
effect for the location. A host that itself comes from a variable is not reported here (whether it can be
resolved depends on the value).`,
		Bad: `http {
    server {
        listen 80;
        location /api/ {
            proxy_pass http://api.internal:8080$request_uri;
        }
    }
}
`,
		Good: `http {
    resolver 127.0.0.53 valid=30s;
    server {
        listen 80;
        location /api/ {
            proxy_pass http://api.internal:8080$request_uri;
        }
    }
}
`,
		Since: "0.3.0",
		References: []string{"https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_pass (\"a server name ... is searched among the described server groups, and, if not found, is determined using a resolver\")",
			"nginx src/http/ngx_http_upstream.c ngx_http_upstream_init_request; src/http/ngx_http_core_module.c (dummy resolver)", "gixy-ng missing_resolver"},
		Confirmation: "confirmed by the emulator's request path, which follows ngx_http_upstream_init_request: a request routed to the location must get 502 because the host matches no upstream block (nor one another *_pass created) and no resolver is in effect. With --engine nginx|both real nginx replays the request and its status decides.",
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Model == nil || pass.Model.HTTP == nil {
			return nil
		}
		for _, s := range pass.Model.HTTP.Servers {
			for _, l := range s.AllLocations {
				pp := l.Proxy.Pass
				if pp == nil || pp.HostHasVariables || !strings.Contains(pp.Target, "$") || !isHostName(pp.Host) {
					continue
				}
				host, port, noPort, ok := nginxconf.PassHostPort(pp.Target)
				if !ok || pass.Model.HTTP.FindsUpstream(host, port, noPort) {
					continue // an upstream block, or one another *_pass made
				}
				u, named := pass.Model.HTTP.UpstreamByName[pp.Host]
				if l.Effective("resolver") != nil {
					continue
				}
				d := &analyzer.Diagnostic{Pos: pp.Directive.Pos, End: pp.Directive.End,
					Message: fmt.Sprintf("proxy_pass with variables must resolve %q per request, and no resolver is set: every request gets 502", pp.Host),
					Details: "With a variable in proxy_pass nginx resolves the host at run time (unless it names an upstream block); without a resolver directive it logs \"no resolver defined to resolve\" and fails the request (Debian's nginx 1.22.1, tested, also for localhost). Add a resolver (e.g. \"resolver 127.0.0.53;\"), or name an upstream block."}
				if named {
					// ngx_http_upstream_init_request matches an upstream
					// block (port 0) only when the URL has no port.
					d.Message = fmt.Sprintf("proxy_pass names upstream %q with a port, so with variables nginx resolves it as a host name and, with no resolver, fails", pp.Host)
					d.Details = "With variables, nginx looks the host up among the upstream blocks only when the URL has no port (ngx_http_upstream_init_request); with \":port\" it resolves the name in DNS, and without a resolver every request gets 502 (Debian's nginx 1.22.1, tested). Drop the port: the upstream's servers carry it."
					d.Related = []analyzer.Related{{Pos: u.Directive.Pos, End: u.Directive.BlockOpen, Message: "this upstream is not used by the proxy_pass"}}
				}
				d.Confirm = noResolverConfirm(pass, l, host)
				pass.Report(d)
			}
		}
		return nil
	},
}

// isHostName reports whether h is a DNS name rather than an IP literal, a
// unix socket or nothing.
func isHostName(h string) bool {
	if h == "" || strings.ContainsAny(h, "$/") {
		return false
	}
	return net.ParseIP(strings.Trim(h, "[]")) == nil
}

// noResolverConfirm sends a request routed to l: nginx must answer it
// with 502, as the request path does when it finds no resolver for host.
func noResolverConfirm(pass *analyzer.Pass, l *nginxconf.Location, host string) analyzer.Confirmer {
	shows := func(x *emulator.Exchange) (bool, string) {
		if x.Status == 502 {
			return true, "502, as nginx answers with no resolver defined for " + host
		}
		return false, fmt.Sprintf("%d, not 502", x.Status)
	}
	routed := func(x *emulator.Exchange) (bool, string) {
		if x.Location != locationName(l) {
			return false, fmt.Sprintf("%d from location %q, not %q", x.Status, x.Location, locationName(l))
		}
		return true, ""
	}
	return requestConfirmer(pass, l.Server, nil, checksAt(routeTo(secAnalysis(pass), l), shows, routed))
}
