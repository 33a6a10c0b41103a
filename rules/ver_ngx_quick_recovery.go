package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
)

// bugNGXQuickRecovery: up to nginx 1.11.4 round robin reset every peer's
// fails to 0 when all of them had failed ("quick recovery"); 1.11.5
// (fd9e74f65) removed it.
var bugNGXQuickRecovery = verBug{
	kid:      "NGX-QUICK-RECOVERY",
	affects:  "nginx <= 1.11.4 (OpenResty <= 1.11.2.5), upgrading to >= 1.11.5",
	exposure: nginxRange("", "1.11.5"),
	changeAt: "1.11.5",
	example:  "nginx=1.9.7",
}

// VerNGXQuickRecovery is NGX-QUICK-RECOVERY.
var VerNGXQuickRecovery = &analyzer.Rule{
	ID:       "VER1019",
	Slug:     "ngx-quick-recovery",
	Severity: analyzer.Info,
	Doc: analyzer.Doc{
		Title: "behaviour change at nginx 1.11.5: no quick recovery when every server failed (NGX-QUICK-RECOVERY)",
		Text: `Up to nginx 1.11.4, when every server of a round-robin upstream was marked failed (max_fails within
fail_timeout), ngx_http_upstream_get_round_robin_peer reset all their fail counters so that the next
request tried them again at once. nginx 1.11.5 (fd9e74f65) removed this: the servers stay out until
fail_timeout passes and requests meanwhile get 502 "no live upstreams" without a connection attempt.

Reported (info) on nginx < 1.11.5 at upstreams with several primary servers: after the upgrade a short
outage of all of them lasts at least fail_timeout (10s by default).`,
		Bad: `http {
    upstream app {
        server 127.0.0.1:8080;
        server 127.0.0.1:8081;
    }
    server {
        listen 80;
        location / { proxy_pass http://app; }
    }
}
`,
		Versions:     "bad: nginx=1.11.2; good: nginx=1.11.5",
		Affected:     "configurations moving from nginx <= 1.11.4 (OpenResty <= 1.11.2.5) to >= 1.11.5",
		Fixed:        "behaviour change in nginx 1.11.5 (fd9e74f65)",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: NGX-QUICK-RECOVERY", "nginx fd9e74f65 (1.11.5)", "nginx ngx_http_upstream_get_round_robin_peer"},
		Confirmation: `Every server closes each connection after reading the request ("close"); three GETs. Request 1 marks every server failed, request 2 finds none live. Confirmed when request 3 connects to the servers again on the declared nginx (1.9.7 when unknown) and gets "no live upstreams" without a connection on nginx 1.11.5.`,
	},
	Run: func(pass *analyzer.Pass) error {
		p := pass.Profile
		e := bugNGXQuickRecovery.gate(p)
		if e == notExposed {
			return nil
		}
		for _, u := range httpUpstreams(pass.Model) {
			if u.Balancer != nil || u.Method != nil {
				continue
			}
			primaries := 0
			for _, s := range u.Servers {
				if !s.Backup && !s.Down {
					primaries++
				}
			}
			ls := locationsUsing(pass.Model, u)
			if primaries < 2 || len(ls) == 0 {
				continue
			}
			d := &analyzer.Diagnostic{Pos: u.Directive.Pos, End: u.Directive.Pos, Related: proxiedFrom(ls)}
			d.Confirm = verScenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: ls[0]},
				profile: bugNGXQuickRecovery.confirmProfile(p, e), policy: "close", requests: "GET /1, GET /2, GET /3",
				maxAttempts: 20,
				judge: func(r *emulator.Result) (bool, string) {
					q := r.Requests[len(r.Requests)-1]
					if q.UpstreamConnections > 0 {
						return true, fmt.Sprintf("after every server failed, request 3 tried them again (%s)", plural(q.UpstreamConnections, "upstream connection"))
					}
					return false, fmt.Sprintf("request 3 -> %s with no upstream connection (no live upstreams)", q.Status)
				},
				twinProfile: twinNginx("1.11.5"),
			}
			bugNGXQuickRecovery.report(pass, e, d, fmt.Sprintf("from nginx 1.11.5, when every server of upstream %q has failed, requests get 502", u.Name),
				"Before nginx 1.11.5, when every server has failed, nginx tries them again at once; from 1.11.5 they stay out for fail_timeout and requests get 502 \"no live upstreams\"")

		}
		return nil
	},
}
