package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/rules/retry"
)

// bugNGXNonIdempotent: nginx 1.9.13 (4618c03f4) stops retrying
// POST/LOCK/PATCH once the request was sent unless non_idempotent is in
// the mask; that includes requests whose kept-alive connection was stale.
var bugNGXNonIdempotent = verBug{
	kid:      "NGX-NON-IDEMPOTENT",
	affects:  "nginx <= 1.9.12 (OpenResty <= 1.9.7.5), upgrading to >= 1.9.13",
	exposure: nginxRange("", "1.9.13"),
	changeAt: "1.9.13",
	example:  "nginx=1.9.7",
}

// VerNGXNonIdempotent is NGX-NON-IDEMPOTENT.
var VerNGXNonIdempotent = &analyzer.Rule{
	ID:       "VER1017",
	Slug:     "ngx-non-idempotent",
	Severity: analyzer.Info,
	Doc: analyzer.Doc{
		Title: "behaviour change at nginx 1.9.13: POSTs on stale kept-alive connections get 502 (NGX-NON-IDEMPOTENT)",
		Text: `nginx 1.9.13 (4618c03f4) no longer retries a POST, LOCK or PATCH request on another connection once it
was sent, unless proxy_next_upstream contains non_idempotent. This includes the case of a pooled
keep-alive connection that the backend had already closed: before 1.9.13 such a POST was transparently
retried on a fresh connection (NGX-CACHED-BYPASS); from 1.9.13 the client gets 502.

Reported (info) on nginx < 1.9.13 at proxy_pass in locations whose upstream keeps connections and whose
proxy_next_upstream allows errors but not non_idempotent: this configuration changes behaviour when you
upgrade. Add non_idempotent only when the backend tolerates a repeated POST; otherwise keep the backend's
keep-alive timeout longer than nginx's.`,
		Bad: `http {
    upstream app {
        server 127.0.0.1:8080;
        keepalive 16;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`,
		Good: `http {
    upstream app {
        server 127.0.0.1:8080;
        keepalive 16;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream error timeout non_idempotent;
        }
    }
}
`,
		Versions:     "nginx=1.9.7",
		Affected:     "configurations moving from nginx <= 1.9.12 to >= 1.9.13 (OpenResty 1.9.7.x to >= 1.9.15.1)",
		Fixed:        "behaviour change in nginx 1.9.13 (4618c03f4)",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: NGX-NON-IDEMPOTENT", "nginx 1.9.13 CHANGES (4618c03f4)", "https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_next_upstream"},
		Confirmation: `Every peer answers the first request on a connection and closes it when a second arrives ("one-per-conn"); GET /1 fills the pool, then POST /2 reuses the stale connection. Confirmed when the POST is retried (200) on the declared nginx (1.9.7 when unknown) and gets 502 on nginx 1.9.13.`,
	},
	Run: func(pass *analyzer.Pass) error {
		p := pass.Profile
		e := bugNGXNonIdempotent.gate(p)
		if e == notExposed {
			return nil
		}
		for _, u := range httpUpstreams(pass.Model) {
			if !nginxPooled(u, p) {
				continue
			}
			for _, l := range pooledLocations(pass.Model, u, p) {
				mask := retry.NextUpstreamMask(l)
				if !hasValue(mask, "error") || hasValue(mask, "non_idempotent") {
					continue
				}
				pp := l.Proxy.Pass.Directive
				d := &analyzer.Diagnostic{Pos: pp.Pos, End: pp.End}
				kp, ke := keepalivePlace(u)
				d.Related = []analyzer.Related{{Pos: kp, End: ke, Message: "connections pooled here"}}
				d.Confirm = verScenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: l},
					profile: bugNGXNonIdempotent.confirmProfile(p, e), policy: "one-per-conn", requests: "GET /1, POST /2",
					maxAttempts: 20,
					judge: func(r *emulator.Result) (bool, string) {
						q := r.Requests[len(r.Requests)-1]
						for j, a := range q.Attempts {
							if failedCached(a) && j+1 < len(q.Attempts) && q.Status.Code == 200 {
								return true, "POST /2 was retried on a fresh connection after its pooled connection failed: 200"
							}
						}
						return false, fmt.Sprintf("POST /2 -> %s after %s", q.Status, plural(len(q.Attempts), "attempt"))
					},
					twinProfile: twinNginx("1.9.13"),
				}
				bugNGXNonIdempotent.report(pass, e, d, fmt.Sprintf("from nginx 1.9.13, a POST on a stale kept-alive connection to upstream %q gets 502", u.Name),
					"Before nginx 1.9.13 a POST, LOCK or PATCH whose kept-alive connection turns out stale is retried on a fresh connection; from 1.9.13 it gets 502, because proxy_next_upstream lacks non_idempotent")

			}
		}
		return nil
	},
}
