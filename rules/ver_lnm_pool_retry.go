package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/versions"
)

// bugLNMPoolRetry: the Lua keepalive pool (94f55f7a, v0.10.27) relies on
// a notify hook that only OpenResty's balancer_pool_max_retry nginx patch
// calls; the bundles applied it from 1.29.2.4 (OR 5363dfe).
var bugLNMPoolRetry = verBug{
	kid:     "LNM-POOL-RETRY",
	affects: "lua-nginx-module >= 0.10.27 without the balancer_pool_max_retry patch (OpenResty 1.27.1.1-1.29.2.3, stock nginx)",
	fixed:   "OpenResty 1.29.2.4 (balancer_pool_max_retry patch applied, OR 5363dfe); stock nginx: never",
	exposure: func(p versions.Profile) exposure {
		if !p.HasLNM() {
			return versionUnknown
		}
		if p.LNM.Less("0.10.27") || notifyPatched(p) == exposed {
			return notExposed
		}
		return exposed
	},
	example: "openresty=1.29.2.3",
}

// VerLNMPoolRetry is LNM-POOL-RETRY.
var VerLNMPoolRetry = &analyzer.Rule{
	ID:       "VER1010",
	Slug:     "lnm-pool-retry",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "enable_keepalive(): failed pooled connections do not consume tries (LNM-POOL-RETRY)",
		Text: `lua-nginx-module 0.10.27 added a Lua-side connection pool (balancer.enable_keepalive, 94f55f7a, PR
#2331). When a pooled connection fails, ngx_http_upstream_next does tries++ so the request gets a fresh
connection ("TODO: inform balancer instead"); the module's notify hook is meant to take that try back,
but nginx calls it only with OpenResty's balancer_pool_max_retry patch. OpenResty shipped the patch file
from 1.27.1.1 but applied it only from 1.29.2.4 (OR 3636b19, cc86d58, 5363dfe), and stock nginx never
calls it. So a request makes more attempts than 1 + set_more_tries: measured 2 attempts with tries = 1.

Reported at enable_keepalive() when a location keeps connections. Where the patch is applied, the
opposite problem appears: see or-notify-stale-502.`,
		Bad: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            assert(b.set_current_peer("10.0.0.5", 8080))
            assert(b.enable_keepalive(60, 100))
        }
    }
    server {
        listen 80;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`,
		Versions:     "bad: openresty=1.29.2.3; good: openresty=1.29.2.4",
		Affected:     "lua-nginx-module >= 0.10.27 without the balancer_pool_max_retry patch: OpenResty 1.27.1.1-1.29.2.3, stock nginx",
		Fixed:        "OpenResty 1.29.2.4 (patch applied, OR 5363dfe); stock nginx: never",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: LNM-POOL-RETRY", "lua-nginx-module 94f55f7a, PR #2331", "openresty 3636b19, cc86d58, 5363dfe"},
		Confirmation: `Every peer answers the first request on a connection and closes it when a second arrives ("one-per-conn"); GET /1 fills the pool, GET /2 reuses the stale connection. Confirmed when the failed pooled connection is followed by another attempt on the declared versions (OpenResty 1.29.2.3 when unknown) and not with the balancer_pool_max_retry patch.`,
	},
	Run: func(pass *analyzer.Pass) error {
		p := pass.Profile
		e := bugLNMPoolRetry.gate(p)
		if e == notExposed {
			return nil
		}
		for _, u := range httpUpstreams(pass.Model) {
			_, bf := balancerFacts(pass, u)
			if bf == nil || len(bf.EnableKeepalive) == 0 {
				continue
			}
			ls := pooledLocations(pass.Model, u, bugLNMPoolRetry.confirmProfile(p, e))
			if len(ls) == 0 {
				continue
			}
			for _, ek := range bf.EnableKeepalive {
				d := &analyzer.Diagnostic{Pos: ek.Pos, End: ek.End, Related: proxiedFrom(ls)}
				d.Confirm = verScenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: ls[0]},
					profile: bugLNMPoolRetry.confirmProfile(p, e), policy: "one-per-conn", requests: "GET /1, GET /2",
					judge: func(r *emulator.Result) (bool, string) {
						if i, ok := retriedAfterCached(r); ok {
							return true, fmt.Sprintf("request %d: the stale pooled connection failed and nginx retried on a fresh one (%s)", i+1, r.Summary())
						}
						return false, r.Summary()
					},
					twinProfile: func(p versions.Profile) versions.Profile {
						q := p
						q.OpenResty = versions.Version{}
						q.NotifyPatch = true
						return q
					},
					twinName: "the same versions with OpenResty's balancer_pool_max_retry patch",
				}
				bugLNMPoolRetry.report(pass, e, d, fmt.Sprintf("requests to upstream %q can make more attempts than 1 + set_more_tries", u.Name),
					"Its connections are pooled by enable_keepalive(), and without OpenResty's balancer_pool_max_retry nginx patch a failed pooled connection does not consume a try")

			}
		}
		return nil
	},
}
