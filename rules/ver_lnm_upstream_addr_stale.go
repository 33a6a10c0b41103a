package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
)

// bugLNMUpstreamAddrStale: v0.10.0-v0.10.2 pointed pc->name at the
// balancer's single bp->host buffer, so every attempt's recorded name is
// the last peer's (47392665, 6683a8b2, issue #721).
var bugLNMUpstreamAddrStale = verBug{
	kid:      "LNM-UPSTREAM-ADDR-STALE",
	affects:  "lua-nginx-module 0.10.0-0.10.2 (OpenResty 1.9.7.2-1.9.7.5)",
	fixed:    "lua-nginx-module 0.10.3 (47392665, 6683a8b2), OpenResty 1.9.15.1",
	exposure: lnmRange("0.10.0", "0.10.3"),
}

// VerLNMUpstreamAddrStale is LNM-UPSTREAM-ADDR-STALE.
var VerLNMUpstreamAddrStale = &analyzer.Rule{
	ID:       "VER1003",
	Slug:     "lnm-upstream-addr-stale",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "$upstream_addr shows the last Lua peer for every attempt (LNM-UPSTREAM-ADDR-STALE)",
		Text: `Up to lua-nginx-module v0.10.2 the balancer set pc->name to &bp->host, one buffer per request that
set_current_peer overwrites on every attempt. When a request is retried on other peers (set_more_tries),
$upstream_addr and the "upstream:" part of error-log lines show the last peer's address for every attempt,
so logs blame the wrong backend (47392665, 6683a8b2, issue #721).

Reported at set_current_peer when the balancer calls set_more_tries; a warning when $upstream_addr is
used in the configuration (log_format, add_header...), info otherwise.`,
		Bad: `http {
    log_format up '$remote_addr $upstream_addr $upstream_status';
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local peers = { "10.0.0.1", "10.0.0.2" }
            ngx.ctx.n = (ngx.ctx.n or 0) + 1
            if ngx.ctx.n == 1 then b.set_more_tries(1) end
            assert(b.set_current_peer(peers[ngx.ctx.n], 8080))
        }
    }
    server {
        listen 80;
        access_log /var/log/nginx/up.log up;
        location / { proxy_pass http://backend; }
    }
}
`,
		Versions:     "bad: openresty=1.9.7.5; good: openresty=1.9.15.1",
		Affected:     "lua-nginx-module 0.10.0-0.10.2 (OpenResty 1.9.7.2-1.9.7.5)",
		Fixed:        "lua-nginx-module 0.10.3 (47392665, 6683a8b2), OpenResty 1.9.15.1",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: LNM-UPSTREAM-ADDR-STALE", "https://github.com/openresty/lua-nginx-module/issues/721", "lua-nginx-module 47392665, 6683a8b2"},
		Confirmation: "not confirmable: the emulator records each attempt's real peer and does not model nginx's pc->name pointer or $upstream_addr.",
	},
	Run: func(pass *analyzer.Pass) error {
		e := bugLNMUpstreamAddrStale.gate(pass.Profile)
		if e == notExposed {
			return nil
		}
		logged := usesVariable(pass.Config, "upstream_addr")
		for _, u := range httpUpstreams(pass.Model) {
			_, bf := balancerFacts(pass, u)
			if bf == nil || len(bf.MoreTries) == 0 || len(bf.SetCurrentPeer) == 0 {
				continue
			}
			pc := bf.SetCurrentPeer[0].Call
			d := &analyzer.Diagnostic{Pos: pc.Pos, End: pc.End,
				Related: []analyzer.Related{{Pos: bf.MoreTries[0].Call.Pos, End: bf.MoreTries[0].Call.End, Message: "retries granted here"}}}

			if logged != nil {
				d.Related = append(d.Related, analyzer.Related{Pos: logged.Pos, End: logged.End, Message: "$upstream_addr used here"})
			} else {
				d.Severity = analyzer.Info
			}
			bugLNMUpstreamAddrStale.report(pass, e, d, fmt.Sprintf("upstream %q: $upstream_addr shows the wrong backend after a retry", u.Name),
				"Retries may go to other peers, but every attempt is recorded under the last peer's address ($upstream_addr and the error log's \"upstream:\" show the wrong backend)")

		}
		return nil
	},
}
