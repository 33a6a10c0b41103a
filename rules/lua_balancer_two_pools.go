package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/rules/retry"
)

// LuaBalancerTwoPools flags an upstream whose balancer calls
// ngx.balancer.enable_keepalive while the block also has nginx's
// keepalive directive.
var LuaBalancerTwoPools = &analyzer.Rule{
	ID:       "LUA3005",
	Slug:     "lua-balancer-two-keepalive-pools",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "balancer.enable_keepalive together with the upstream keepalive directive",
		Text: `lua-resty-core's balancer documentation says not to combine nginx's keepalive directive with a
balancer_by_lua that calls enable_keepalive. The C sources say why. When keepalive wraps the Lua
balancer (written after balancer_by_lua*, or any order from nginx 1.29.7), nginx's
ngx_http_upstream_free_keepalive_peer runs first on every finished request: it caches the connection
in nginx's own pool, sets pc->connection to NULL and only then calls the Lua balancer's free_peer,
which finds no connection and keeps nothing (ngx_http_lua_balancer_free_peer, "c == NULL"). The pool
of enable_keepalive stays empty, so its idle timeout, its max_requests and its pool key (host, address
and local address: the reason to use it for TLS peers that differ by SNI) never apply; connections are
reused by address alone, under keepalive_timeout and keepalive_requests. Keep one pool: drop the
keepalive directive (size the Lua pool with balancer_keepalive), or drop enable_keepalive.

When keepalive is written before balancer_by_lua* on nginx < 1.29.7, nginx's pool is lost instead
(NGX2002 reports that) and only the Lua pool works; this rule then says nothing.`,
		Bad: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local ok, err = b.set_current_peer("127.0.0.1", 8080, "api.example.com")
            if not ok then return ngx.exit(500) end
            b.enable_keepalive(60, 100)
        }
        keepalive 32;
    }
}
`,
		Good: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local ok, err = b.set_current_peer("127.0.0.1", 8080, "api.example.com")
            if not ok then return ngx.exit(500) end
            b.enable_keepalive(60, 100)
        }
        balancer_keepalive 32;
    }
}
`,
		Versions: "openresty=1.27.1.1",
		Since:    "0.2.0",
		References: []string{"https://github.com/openresty/lua-resty-core/blob/master/lib/ngx/balancer.md#enable_keepalive (\"Should not specify nginx keepalive with balancer_by_lua at the same time\")",
			"nginx src/http/modules/ngx_http_upstream_keepalive_module.c ngx_http_upstream_free_keepalive_peer",
			"lua-nginx-module src/ngx_http_lua_balancer.c ngx_http_lua_balancer_free_peer"},
		Confirmation: "not confirmable: the emulator keeps one pool per upstream and does not model the two wrapped free_peer hooks.",
	},
	Run: func(pass *analyzer.Pass) error {
		p := pass.Profile
		for _, u := range httpUpstreams(pass.Model) {
			if u.Keepalive == nil || u.Balancer == nil || u.Balancer.Lua == nil || u.Balancer.Lua.LoadError != "" {
				continue
			}
			if retry.KeepaliveCount(u, p) <= 0 || retry.KeepaliveLostByOrder(u, p) != nil {
				continue // nginx's pool is off or lost (NGX2002): the Lua pool alone works
			}
			res := luaFactsLinked(pass, u.Balancer.Lua)
			if res.Balancer == nil || len(res.Balancer.EnableKeepalive) == 0 {
				continue
			}
			ek := res.Balancer.EnableKeepalive[0]
			pass.Report(&analyzer.Diagnostic{Pos: u.Keepalive.Pos, End: u.Keepalive.End,
				Message: fmt.Sprintf("upstream %q has both keepalive %s and a balancer that calls enable_keepalive: the Lua pool stays empty", u.Name, u.Keepalive.Arg(0)),
				Details: "nginx's keepalive caches each connection before the Lua balancer's free_peer sees it, so the enable_keepalive pool stays empty and its idle timeout, max_requests and host-aware pool key never apply; keep one pool (drop keepalive and size the Lua pool with balancer_keepalive, or drop enable_keepalive).",

				Related: []analyzer.Related{{Pos: ek.Pos, End: ek.End, Message: "enable_keepalive called here"}}})
		}
		return nil
	},
}
