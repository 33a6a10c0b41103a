package rules

import (
	"fmt"
	"github.com/ngxlint/ngxlint/rules/retry"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/versions"
)

// bugLNMKeepaliveOrder: the lua-nginx-module >= 0.10.27 side of a keepalive
// written before balancer_by_lua*. NGX2002 (keepalive-not-effective)
// already reports the keepalive directive itself on nginx < 1.29.7 for every
// version ("the method replaces it"); this rule adds what is specific to
// 0.10.27+: the module keeps the earlier init_upstream as its fallback, so
// the keepalive module is not lost but wraps only the fallback, and
// ngx_http_lua_balancer_get_peer / free_peer skip it whenever Lua sets the
// peer. It reports at balancer_by_lua*, not at keepalive, so the same
// directive is never reported twice for the same reason.
var bugLNMKeepaliveOrder = verBug{
	kid:     "LNM-KEEPALIVE-ORDER",
	affects: "lua-nginx-module >= 0.10.27 on nginx < 1.29.7 (OpenResty 1.27.1.1-1.29.2.5)",
	fixed:   "nginx 1.29.7 (the keepalive module wraps peer.init last: 4fbe4b627), OpenResty 1.29.8.1rc1",
	exposure: func(p versions.Profile) exposure {
		switch {
		case p.HasNginx() && p.Nginx.AtLeast("1.29.7"):
			return notExposed // the keepalive module wraps peer.init last
		case !p.HasLNM():
			return versionUnknown
		case p.LNM.Less("0.10.27"):
			return notExposed // the keepalive is lost entirely: NGX2002
		}
		return exposed
	},
	example: "openresty=1.27.1.1",
}

// VerLNMKeepaliveOrder is LNM-KEEPALIVE-ORDER.
var VerLNMKeepaliveOrder = &analyzer.Rule{
	ID:       "VER1013",
	Slug:     "lnm-keepalive-order",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "keepalive before balancer_by_lua pools only the fallback peers on lua-nginx-module >= 0.10.27 (LNM-KEEPALIVE-ORDER)",
		Text: `The lua-nginx-module README says to write keepalive *after* balancer_by_lua_block: up to nginx 1.29.6
the keepalive directive wraps the balancer that exists when it is read. NGX2002
(keepalive-not-effective) reports such a keepalive directive on every version ("load balancing method
redefined").

From lua-nginx-module 0.10.27 the picture is subtler: the module remembers the init_upstream it replaces
and calls it as the fallback balancer, so the keepalive module survives, but only around the fallback.
ngx_http_lua_balancer_get_peer and free_peer skip the wrapped peer whenever the Lua code called
set_current_peer. Connections to the peers your code picks are therefore never pooled, while requests
on a path that sets no peer (round robin over the server lines) are. This rule reports the
balancer_by_lua* block (NGX2002 keeps the keepalive line), on nginx < 1.29.7, where the order stops
mattering. Fix: move keepalive after the block, or use enable_keepalive() (0.10.27+).`,
		Bad: `http {
    upstream backend {
        server 0.0.0.1;
        keepalive 32;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            assert(b.set_current_peer("10.0.0.5", 8080))
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
		Good: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
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
        }
    }
}
`,
		Versions:     "openresty=1.27.1.1",
		Affected:     "lua-nginx-module >= 0.10.27 on nginx < 1.29.7: OpenResty 1.27.1.1-1.29.2.5 (older modules lose the keepalive entirely: NGX2002)",
		Fixed:        "nginx 1.29.7 (4fbe4b627), OpenResty 1.29.8.1rc1; or write keepalive after balancer_by_lua*",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: LNM-KEEPALIVE-ORDER", "lua-nginx-module README (balancer_by_lua_block: keepalive after)", "https://github.com/openresty/lua-resty-core/issues/284", "lua-nginx-module 0.10.27 ngx_http_lua_balancer_by_lua", "rule NGX2002 keepalive-not-effective"},
		Confirmation: `Every peer answers 200 keep-alive ("ok"); three GETs. Confirmed when they open three upstream connections (none pooled) on the declared versions (OpenResty 1.27.1.1 when unknown) and reuse connections with keepalive written after the balancer block.`,
	},
	Run: func(pass *analyzer.Pass) error {
		p := pass.Profile
		e := bugLNMKeepaliveOrder.gate(p)
		if e == notExposed {
			return nil
		}
		cp := bugLNMKeepaliveOrder.confirmProfile(p, e)
		for _, u := range httpUpstreams(pass.Model) {
			if u.Balancer == nil || u.Keepalive == nil || !u.Before(u.Keepalive, u.Balancer) || retry.KeepaliveCount(u, p) <= 0 {
				continue
			}
			ls := pooledLocations(pass.Model, u, cp)
			if len(ls) == 0 {
				continue // NGX2002 reports the missing HTTP/1.1 settings
			}
			d := &analyzer.Diagnostic{Pos: u.Balancer.Pos, End: u.Balancer.Pos,
				Related: []analyzer.Related{{Pos: u.Keepalive.Pos, End: u.Keepalive.End, Message: "keepalive written before the balancer here"}}}
			d.Confirm = verScenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: ls[0]},
				profile: cp, policy: "ok", requests: "GET /1, GET /2, GET /3",
				judge:      noReuse,
				twinConfig: func(c *emulator.Config) { c.Upstream.KeepaliveBeforeBalancer = false },
				twinName:   "the same configuration with keepalive written after balancer_by_lua*",
			}
			bugLNMKeepaliveOrder.report(pass, e, d, fmt.Sprintf("keepalive %s before balancer_by_lua* never pools the peers the Lua picks", u.Keepalive.Arg(0)),
				"lua-nginx-module keeps a keepalive written before balancer_by_lua* only around the fallback balancer and skips it whenever the Lua sets the peer, so connections to the peers it picks are never pooled; move keepalive after this block or call enable_keepalive()")

		}
		return nil
	},
}
