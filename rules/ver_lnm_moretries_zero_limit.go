package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// bugLNMMoreTriesZeroLimit: before da11870d (v0.10.8)
// ngx_http_lua_ffi_balancer_set_more_tries compared against
// proxy_next_upstream_tries even when it is 0 (unlimited).
var bugLNMMoreTriesZeroLimit = verBug{
	kid:      "LNM-MORETRIES-ZERO-LIMIT",
	affects:  "lua-nginx-module 0.10.0-0.10.7 (OpenResty 1.9.7.2-1.11.2.2)",
	fixed:    "lua-nginx-module 0.10.8 (da11870d), OpenResty 1.11.2.3",
	exposure: lnmRange("0.10.0", "0.10.8"),
	example:  "openresty=1.11.2.2",
}

// VerLNMMoreTriesZeroLimit is LNM-MORETRIES-ZERO-LIMIT.
var VerLNMMoreTriesZeroLimit = &analyzer.Rule{
	ID:       "VER1006",
	Slug:     "lnm-moretries-zero-limit",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "set_more_tries without proxy_next_upstream_tries removes tries instead of adding them (LNM-MORETRIES-ZERO-LIMIT)",
		Text: `Up to lua-nginx-module v0.10.7, set_more_tries(n) checked "total_tries + n > max_tries" even when
proxy_next_upstream_tries is 0, nginx's "unlimited". The check is then always true, so n becomes
0 - total_tries: set_more_tries returns true, "reduced tries due to limit", the unsigned tries counter
goes down instead of up and the request is never retried. With a non-zero limit the remaining
peer.tries were ignored, so the limit could be exceeded (da11870d, PRs #853, #866, #913; lua-resty-core
#90, #136, #71).

Reported at set_more_tries when a location using the upstream leaves proxy_next_upstream_tries unset or 0.
Fix: upgrade to lua-nginx-module 0.10.8 (OpenResty 1.11.2.3), or set proxy_next_upstream_tries.`,
		Bad: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            if not ngx.ctx.retried then
                ngx.ctx.retried = true
                b.set_more_tries(2)
            end
            assert(b.set_current_peer("10.0.0.5", 8080))
        }
    }
    server {
        listen 80;
        location / { proxy_pass http://backend; }
    }
}
`,
		Versions:     "bad: openresty=1.11.2.2; good: openresty=1.11.2.3",
		Affected:     "lua-nginx-module 0.10.0-0.10.7 (OpenResty 1.9.7.2-1.11.2.2)",
		Fixed:        "lua-nginx-module 0.10.8 (da11870d), OpenResty 1.11.2.3",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: LNM-MORETRIES-ZERO-LIMIT", "lua-nginx-module da11870d, PRs #853 #866 #913", "lua-resty-core issues #90 #136 #71"},
		Confirmation: `Every peer closes each connection after reading the request ("close"); one GET, at most 20 attempts. Confirmed when the request ends with 502 after a single attempt on the declared version (OpenResty 1.11.2.2 when unknown) and is retried with lua-nginx-module 0.10.8 on the same nginx.`,
	},
	Run: func(pass *analyzer.Pass) error {
		e := bugLNMMoreTriesZeroLimit.gate(pass.Profile)
		if e == notExposed {
			return nil
		}
		for _, u := range httpUpstreams(pass.Model) {
			_, bf := balancerFacts(pass, u)
			if bf == nil || len(bf.MoreTries) == 0 {
				continue
			}
			var open []*nginxconf.Location
			for _, l := range locationsUsing(pass.Model, u) {
				if t := l.Proxy.NextUpstreamTries; t == nil || t.Arg(0) == "0" {
					open = append(open, l)
				}
			}
			if len(open) == 0 {
				continue
			}
			for _, mt := range bf.MoreTries {
				d := &analyzer.Diagnostic{Pos: mt.Call.Pos, End: mt.Call.End, Related: proxiedFrom(open)}
				d.Confirm = verScenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: open[0]},
					profile: bugLNMMoreTriesZeroLimit.confirmProfile(pass.Profile, e), policy: "close", requests: "GET /",
					maxAttempts: 20,
					judge: func(r *emulator.Result) (bool, string) {
						q := r.Requests[0]
						if len(q.Attempts) == 1 && q.Status.Code == 502 {
							return true, "no retry: " + r.Summary()
						}
						return false, r.Summary()
					},
					twinProfile: twinLNM("0.10.8"),
				}
				bugLNMMoreTriesZeroLimit.report(pass, e, d, fmt.Sprintf("set_more_tries in upstream %q grants no retry: proxy_next_upstream_tries is unset", u.Name),
					"With proxy_next_upstream_tries unset (0 = unlimited), set_more_tries compares against the limit 0: it returns \"reduced tries due to limit\" and lowers the tries, so no retry happens; set proxy_next_upstream_tries")

			}
		}
		return nil
	},
}
