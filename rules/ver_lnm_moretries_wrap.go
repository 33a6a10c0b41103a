package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules/retry"
	"github.com/ngxlint/ngxlint/versions"
)

// bugLNMMoreTriesWrap: from v0.10.8 set_more_tries computes
// count = max_tries - total with total = total_tries + tries - 1; cached
// failures do not consume tries, so total can exceed max_tries and the
// negative count wraps in the unsigned more_tries (PR #2524).
var bugLNMMoreTriesWrap = verBug{
	kid:     "LNM-MORETRIES-WRAP",
	affects: "lua-nginx-module >= 0.10.8 without OpenResty's balancer_pool_max_retry patch (OpenResty 1.11.2.3-1.29.2.3, stock nginx)",
	fixed:   "lua-nginx-module PR #2524 (no tagged release known to contain it); OpenResty >= 1.29.2.4's notify patch keeps it bounded",
	exposure: func(p versions.Profile) exposure {
		if !p.HasLNM() {
			return versionUnknown
		}
		if p.LNM.Less("0.10.8") || notifyPatched(p) == exposed {
			return notExposed
		}
		return exposed
	},
}

// VerLNMMoreTriesWrap is LNM-MORETRIES-WRAP.
var VerLNMMoreTriesWrap = &analyzer.Rule{
	ID:       "VER1007",
	Slug:     "lnm-moretries-wrap",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "set_more_tries on every attempt with keepalive and proxy_next_upstream_tries can wrap the tries counter (LNM-MORETRIES-WRAP)",
		Text: `Since lua-nginx-module v0.10.8 set_more_tries(n) caps n at proxy_next_upstream_tries with
"total = total_tries + tries - 1; if total + n > max then n = max - total". A failure on a pooled
(cached) connection does not consume a try (ngx_http_upstream_next does tries++ to give the request a
fresh connection), while total_tries still counts the attempt. After enough stale pooled connections
fail in one request (a backend restart with many idle connections), total exceeds the limit, max - total
is negative and stored in an unsigned ngx_uint_t: peer.tries becomes about 2^64 and the request retries
without bound. Measured on nginx 1.29.2 + lua-nginx-module 0.10.30rc2 with limit 3: 3,086 attempts in
3 s, tries = 18446744073709551615.

Triggered by: nginx's keepalive or enable_keepalive(), set_more_tries called on every attempt (not guarded
by get_last_failure() or an ngx.ctx counter) and proxy_next_upstream_tries N > 0. OpenResty's
balancer_pool_max_retry patch (applied from 1.29.2.4) makes cached failures consume tries, so total
stays within the limit. Fix: call set_more_tries once per request (guard it with ngx.ctx).`,
		Bad: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            b.set_more_tries(1)
            assert(b.set_current_peer("10.0.0.5", 8080))
        }
        keepalive 32;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream_tries 3;
        }
    }
}
`,
		Good: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            if not ngx.ctx.more then
                ngx.ctx.more = true
                b.set_more_tries(2)
            end
            assert(b.set_current_peer("10.0.0.5", 8080))
        }
        keepalive 32;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream_tries 3;
        }
    }
}
`,
		Versions:     "openresty=1.29.2.3",
		Affected:     "lua-nginx-module >= 0.10.8 without the balancer_pool_max_retry nginx patch: OpenResty 1.11.2.3-1.29.2.3 and any stock nginx",
		Fixed:        "lua-nginx-module PR #2524 (not in a tagged release known to the knowledge file); bounded on OpenResty >= 1.29.2.4",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: LNM-MORETRIES-WRAP", "https://github.com/openresty/lua-nginx-module/pull/2524", "lua-nginx-module ngx_http_lua_ffi_balancer_set_more_tries"},
		Confirmation: "not confirmable from the configuration: the wrap needs several pooled connections that go stale at once (concurrent traffic, then a backend restart), and the emulator sends one client request at a time, so a pool holds at most one connection per peer the balancer picks; the emulator's own test (emulator TestMoreTriesWrap, five peers) reproduces the mechanism.",
	},
	Run: func(pass *analyzer.Pass) error {
		p := pass.Profile
		e := bugLNMMoreTriesWrap.gate(p)
		if e == notExposed {
			return nil
		}
		for _, u := range httpUpstreams(pass.Model) {
			_, bf := balancerFacts(pass, u)
			if bf == nil {
				continue
			}
			luaPool := len(bf.EnableKeepalive) > 0
			if !luaPool && !nginxPooled(u, p) {
				continue
			}
			var hit []*nginxconf.Location
			for _, l := range pooledLocations(pass.Model, u, p) {
				t := l.Proxy.NextUpstreamTries
				if t == nil || t.Arg(0) == "0" || !hasValue(retry.NextUpstreamMask(l), "error") {
					continue
				}
				hit = append(hit, l)
			}
			if len(hit) == 0 {
				continue
			}
			for _, mt := range bf.MoreTries {
				if mt.Guarded {
					continue
				}
				d := &analyzer.Diagnostic{Pos: mt.Call.Pos, End: mt.Call.End, Related: proxiedFrom(hit)}
				limit := hit[0].Proxy.NextUpstreamTries
				d.Related = append(d.Related, analyzer.Related{Pos: limit.Pos, End: limit.End, Message: "limit set here"})
				bugLNMMoreTriesWrap.report(pass, e, d, fmt.Sprintf("retries to pooled upstream %q can become unbounded", u.Name),
					fmt.Sprintf("set_more_tries runs on every attempt, the connections are pooled, and proxy_next_upstream_tries is %s: failed pooled connections do not consume tries, so once the attempts exceed the limit the capped count goes negative and wraps peer.tries to ~2^64 (unbounded retries); call set_more_tries once per request", limit.Arg(0)))

			}
		}
		return nil
	},
}
