package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
)

// NextUpstreamOffIgnored flags proxy_next_upstream off that nginx < 1.9.13
// ignores for failed reused keepalive connections.
var NextUpstreamOffIgnored = &analyzer.Rule{
	ID:       "NGX2103",
	Slug:     "next-upstream-off-ignored",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "proxy_next_upstream off does not stop keepalive retries before nginx 1.9.13",
		Text: `Up to nginx 1.9.12, ngx_http_upstream_next handles an error on a cached (reused keepalive)
connection before it looks at proxy_next_upstream: it sets status 0, does tries++ and retries, skipping
the mask, tries and timeout checks. "proxy_next_upstream off" therefore does not prevent a request from
being sent again on a fresh connection after a stale pooled one failed, including a POST the backend
read. Fixed in nginx 1.9.13 (5a76856dc), OpenResty 1.9.15.1.`,
		Bad: `http {
    upstream app {
        server 10.0.0.1:8080;
        keepalive 8;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream off;
        }
    }
}
`,
		Versions:     "bad: nginx=1.9.7; good: nginx=1.9.13",
		Affected:     "nginx < 1.9.13 (OpenResty <= 1.9.7.5)",
		Fixed:        "nginx 1.9.13 (5a76856dc), OpenResty 1.9.15.1",
		Since:        "0.1.0",
		References:   []string{"nginx 1.9.13 CHANGES (5a76856dc)", "docs/knowledge.md: NGX-CACHED-BYPASS"},
		Confirmation: `Backends answer only the first request ("first-only"); two GETs. Confirmed when the second request, failing on the reused connection, is retried despite "off".`,
	},
	Run: func(pass *analyzer.Pass) error {
		prof := pass.Profile
		if prof.HasNginx() && prof.Nginx.AtLeast("1.9.13") {
			return nil
		}
		for _, pl := range passProxiedLocations(pass) {
			l, u := pl.loc, pl.up
			d := l.Proxy.NextUpstream
			if d == nil || !hasValue(l.Proxy.NextUpstreamValues, "off") {
				continue
			}
			in := retryInput(pass, u, l)
			if in.Keepalive <= 0 {
				continue
			}
			sev := analyzer.Warning
			when := "on nginx " + prof.Nginx.String()
			if !prof.HasNginx() {
				sev, when = analyzer.Info, "on nginx < 1.9.13"
				// lua-nginx-module 0.10.0 only builds against nginx <= 1.9.12.
				if prof.HasLNM() && prof.LNM.Less("0.10.1") {
					sev = analyzer.Warning
				}
			}
			diag := &analyzer.Diagnostic{Pos: d.Pos, End: d.End, Severity: sev,
				Message: fmt.Sprintf("%s, proxy_next_upstream off does not stop the retry of a failed reused connection to upstream %q", when, u.Name),
				Details: fmt.Sprintf("When a reused keepalive connection (keepalive %d) fails, the request is sent again on a fresh connection whatever proxy_next_upstream says; fixed in nginx 1.9.13.", in.Keepalive)}

			if u.Keepalive != nil {
				diag.Related = append(diag.Related, analyzer.Related{Pos: u.Keepalive.Pos, Message: "keepalive defined here"})
			}
			diag.Confirm = scenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: l}, profile: prof, policy: "first-only",
				requests: "GET /, GET /", maxAttempts: 100,
				judge: func(r *emulator.Result) (bool, string) {
					q := r.Requests[1]
					s := fmt.Sprintf("with proxy_next_upstream off the second request made %s", plural(len(q.Attempts), "attempt"))
					if q.Unbounded {
						s += " (unbounded)"
					}
					return len(q.Attempts) >= 2, s
				}}.confirmer()
			pass.Report(diag)
		}
		return nil
	},
}
