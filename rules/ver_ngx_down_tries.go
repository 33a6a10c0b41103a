package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
)

// bugNGXDownTries: ngx_http_upstream_tries counted servers marked down
// until cfa669151 (1.19.6, ticket #2096).
var bugNGXDownTries = verBug{
	kid:      "NGX-DOWN-TRIES",
	affects:  "nginx <= 1.19.5 (OpenResty <= 1.19.3.2)",
	fixed:    "nginx 1.19.6 (cfa669151, ticket #2096), OpenResty 1.19.9.1",
	exposure: nginxRange("", "1.19.6"),
	example:  "nginx=1.19.3",
}

// VerNGXDownTries is NGX-DOWN-TRIES.
var VerNGXDownTries = &analyzer.Rule{
	ID:       "VER1020",
	Slug:     "ngx-down-tries",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "servers marked down still count as tries: \"no live upstreams\" instead of the real error (NGX-DOWN-TRIES)",
		Text: `Up to nginx 1.19.5 the number of tries of a round-robin upstream counted every server line, including
those marked down. When the live servers have all failed, the leftover tries make nginx look for
another peer, find none and finish with 502 "no live upstreams" instead of the last real result (a
504 timeout, a backend status passed through, or the real error in the log). nginx 1.19.6
(cfa669151, ticket #2096) counts only servers that are not down.

Reported at the first server marked down in an upstream that also has a live server.`,
		Bad: `http {
    upstream app {
        server 127.0.0.1:8080;
        server 127.0.0.1:8081 down;
    }
    server {
        listen 80;
        location / { proxy_pass http://app; }
    }
}
`,
		Versions:     "bad: openresty=1.19.3.2; good: openresty=1.19.9.1",
		Affected:     "nginx <= 1.19.5 (OpenResty <= 1.19.3.2)",
		Fixed:        "nginx 1.19.6 (cfa669151, ticket #2096), OpenResty 1.19.9.1",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: NGX-DOWN-TRIES", "nginx cfa669151", "https://trac.nginx.org/nginx/ticket/2096"},
		Confirmation: `Every server closes each connection after reading the request ("close"); one GET. Confirmed when the request ends in "no live upstreams" after the live servers failed on the declared nginx (1.19.3 when unknown) and not on nginx 1.19.6.`,
	},
	Run: func(pass *analyzer.Pass) error {
		p := pass.Profile
		e := bugNGXDownTries.gate(p)
		if e == notExposed {
			return nil
		}
		for _, u := range httpUpstreams(pass.Model) {
			if u.Balancer != nil {
				continue
			}
			live, down := 0, -1
			for i, s := range u.Servers {
				switch {
				case s.Down && down < 0:
					down = i
				case !s.Down:
					live++
				}
			}
			if down < 0 || live == 0 {
				continue
			}
			sd := u.Servers[down].Directive
			d := &analyzer.Diagnostic{Pos: sd.Pos, End: sd.End}
			if ls := locationsUsing(pass.Model, u); len(ls) > 0 {
				d.Related = proxiedFrom(ls)
				d.Confirm = verScenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: ls[0]},
					profile: bugNGXDownTries.confirmProfile(p, e), policy: "close", requests: "GET /",
					maxAttempts: 20,
					judge: func(r *emulator.Result) (bool, string) {
						q := r.Requests[0]
						for _, a := range q.Attempts {
							if a.Outcome == emulator.OutcomeNoLive {
								return true, fmt.Sprintf("after the live servers failed, a leftover try ended in \"no live upstreams\" (%s)", r.Summary())
							}
						}
						return false, r.Summary()
					},
					twinProfile: twinNginx("1.19.6"),
				}
			}
			bugNGXDownTries.report(pass, e, d, fmt.Sprintf("upstream %q counts this down server as a try", u.Name),
				"When the live servers fail, the leftover try ends in 502 \"no live upstreams\" instead of the last real error")

		}
		return nil
	},
}
