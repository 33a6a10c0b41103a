package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules/retry"
)

// bugNGXCachedBypass: up to nginx 1.9.12 ngx_http_upstream_next handles an
// error on a cached connection by setting status 0 and tries++ and then
// skips every check (5a76856dc changed it in 1.9.13).
var bugNGXCachedBypass = verBug{
	kid:      "NGX-CACHED-BYPASS",
	affects:  "nginx <= 1.9.12 (OpenResty <= 1.9.7.5)",
	fixed:    "nginx 1.9.13 (5a76856dc; not in stable 1.8), OpenResty 1.9.15.1",
	exposure: nginxRange("", "1.9.13"),
	example:  "nginx=1.9.7",
}

// VerNGXCachedBypass is NGX-CACHED-BYPASS.
var VerNGXCachedBypass = &analyzer.Rule{
	ID:       "VER1016",
	Slug:     "ngx-cached-bypass",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "proxy_next_upstream does not apply to errors on kept-alive connections (NGX-CACHED-BYPASS)",
		Text: `Up to nginx 1.9.12, ngx_http_upstream_next treats an error on a cached (kept-alive) connection
specially: status 0 and tries++, and then it skips the checks on proxy_next_upstream (even "off"),
the tries and proxy_next_upstream_timeout. Such a request is always retried, also a POST, and
u->state->status is not set. nginx 1.9.13 (5a76856dc) sends these errors through the normal checks.

Reported at a proxy_next_upstream that excludes "error" (for instance "timeout http_502") in a
location whose upstream keeps connections: that choice is silently ignored for failed pooled
connections. "proxy_next_upstream off" is the same bug and is reported by NGX2103
(next-upstream-off-ignored), so this rule leaves it out. With balancer_by_lua on lua-nginx-module 0.10.0
the same branch is what makes the seed's hot loop (NGX2001).`,
		Bad: `http {
    upstream app {
        server 127.0.0.1:8080;
        keepalive 16;
    }
    server {
        listen 80;
        proxy_next_upstream timeout http_502;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`,
		Versions:     "bad: nginx=1.9.7; good: nginx=1.9.13",
		Affected:     "nginx <= 1.9.12 (OpenResty <= 1.9.7.5)",
		Fixed:        "nginx 1.9.13 (5a76856dc), OpenResty 1.9.15.1",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: NGX-CACHED-BYPASS", "nginx 1.9.13 CHANGES (5a76856dc)", "nginx ngx_http_upstream_next (release-1.9.7)"},
		Confirmation: `Every peer answers the first request on a connection and closes it when a second arrives ("one-per-conn"); GET /1 fills the pool, GET /2 reuses the stale connection. Confirmed when GET /2 is retried after the failed pooled attempt on the declared nginx (1.9.7 when unknown) and not on nginx 1.9.13.`,
	},
	Run: func(pass *analyzer.Pass) error {
		p := pass.Profile
		e := bugNGXCachedBypass.gate(p)
		if e == notExposed {
			return nil
		}
		seen := map[*nginxconf.Directive]bool{}
		for _, u := range httpUpstreams(pass.Model) {
			if !nginxPooled(u, p) {
				continue
			}
			for _, l := range pooledLocations(pass.Model, u, p) {
				nu := l.Proxy.NextUpstream
				mask := retry.NextUpstreamMask(l)
				// "off" is NGX2103's (next-upstream-off-ignored).
				if nu == nil || hasValue(mask, "error") || hasValue(mask, "off") || seen[nu] {
					continue
				}
				seen[nu] = true
				d := &analyzer.Diagnostic{Pos: nu.Pos, End: nu.End, Related: proxiedFrom([]*nginxconf.Location{l})}
				kp, ke := keepalivePlace(u)
				d.Related = append(d.Related, analyzer.Related{Pos: kp, End: ke, Message: "connections pooled here"})
				d.Confirm = verScenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: l},
					profile: bugNGXCachedBypass.confirmProfile(p, e), policy: "one-per-conn", requests: "GET /1, GET /2",
					maxAttempts: 20,
					judge: func(r *emulator.Result) (bool, string) {
						if i, ok := retriedAfterCached(r); ok {
							return true, fmt.Sprintf("request %d was retried after its pooled connection failed, although %s has no \"error\" (%s)", i+1, directiveText(nu), r.Summary())
						}
						return false, r.Summary()
					},
					twinProfile: twinNginx("1.9.13"),
				}
				bugNGXCachedBypass.report(pass, e, d, fmt.Sprintf("this proxy_next_upstream is ignored when a kept-alive connection to upstream %q fails", u.Name),
					fmt.Sprintf("%s has no \"error\", yet nginx retries a request whose kept-alive connection fails unconditionally: also POSTs, and regardless of proxy_next_upstream_tries and _timeout", directiveText(nu)))

			}
		}
		return nil
	},
}

// directiveText renders a directive with its arguments, e.g.
// "proxy_next_upstream off".
func directiveText(d *nginxconf.Directive) string {
	s := d.Name
	for _, a := range d.Args {
		s += " " + a.Value
	}
	return s
}
