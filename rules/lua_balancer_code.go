package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
)

// LuaBalancerHostLiteral flags set_current_peer with a host name.
var LuaBalancerHostLiteral = &analyzer.Rule{
	ID:       "LUA3002",
	Slug:     "lua-balancer-host-literal",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "set_current_peer with a host name instead of an IP address",
		Text: `set_current_peer does no DNS resolution: given a name it returns nil, "no host allowed" and
sets no peer (lua-resty-core lib/ngx/balancer.lua). The request then goes to the upstream's own server
lines (usually the 0.0.0.1 placeholder): a 502, or a 500 "no peer set" from lua-nginx-module 0.10.27.
Resolve the name beforehand (lua-resty-dns in init_worker or access, cached in a shared dict) and pass
the address.`,
		Bad: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local ok, err = b.set_current_peer("backend.internal", 8080)
            if not ok then return ngx.exit(500) end
        }
    }
}
`,
		Good: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local ok, err = b.set_current_peer("10.0.0.5", 8080)
            if not ok then return ngx.exit(500) end
        }
    }
}
`,
		Since:        "0.1.0",
		References:   []string{"https://github.com/openresty/lua-resty-core/blob/master/lib/ngx/balancer.md#set_current_peer"},
		Confirmation: "not confirmable: what happens next depends on the placeholder address, which the emulator never dials.",
	},
	Run: func(pass *analyzer.Pass) error {
		for _, u := range luaUnits(pass) {
			res := luaFacts(pass, u.Chunk)
			if res.Balancer == nil {
				continue
			}
			for _, pc := range res.Balancer.SetCurrentPeer {
				if pc.HostLiteral && !pc.HostIsIP {
					a := pc.Call.Args[0]
					pass.Report(&analyzer.Diagnostic{Pos: a.Pos, End: a.End,
						Message: fmt.Sprintf("set_current_peer(%q, ...) returns nil, \"no host allowed\": it takes an IP address, not a name", pc.Host)})
				}
			}
		}
		return nil
	},
}

// LuaBalancerNoPeerPath flags balancer code paths that never set a peer.
var LuaBalancerNoPeerPath = &analyzer.Rule{
	ID:       "LUA3003",
	Slug:     "lua-balancer-no-peer-path",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "balancer_by_lua path that ends without set_current_peer",
		Text: `balancer_by_lua must call set_current_peer on every attempt. A path that returns without it (an
early "return" when a lookup misses, an if without else) leaves the peer unset: with lua-nginx-module
<= 0.10.26 nginx falls back to round robin over the upstream's server lines (usually the 0.0.0.1
placeholder: a failed connect and 502); from 0.10.27 the placeholder gives 500 "no peer set" for the
last such upstream and a connect to 0.0.0.1:80 for the others. End such paths with ngx.exit(...) or
error(...) so the failure is explicit.`,
		Bad: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local peer = ngx.ctx.peer
            if peer then
                assert(b.set_current_peer(peer, 8080))
            end
        }
    }
}
`,
		Good: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local peer = ngx.ctx.peer
            if not peer then
                return ngx.exit(503)
            end
            assert(b.set_current_peer(peer, 8080))
        }
    }
}
`,
		Since:        "0.1.0",
		References:   []string{"lua-nginx-module t/138-balancer.t TEST 14", "docs/knowledge.md: LNM-NO-PEER-SET-GLOBAL"},
		Confirmation: "not confirmable: the outcome depends on the placeholder address, which the emulator never dials.",
	},
	Run: func(pass *analyzer.Pass) error {
		for _, ref := range analysableLua(pass.Model) {
			res := luaFactsLinked(pass, ref.Chunk)
			if res.Balancer == nil || !res.Balancer.IsBalancerContext {
				continue
			}
			for _, pe := range res.Balancer.PathsWithoutPeer {
				where := "the end of the balancer code"
				if pe.Return {
					where = "this return"
				}
				sev := analyzer.Warning
				msg := fmt.Sprintf("a path reaches %s without calling set_current_peer: nginx then uses the upstream's server lines (the placeholder), not a peer you chose; end the path with ngx.exit(...)", where)
				if res.Balancer.OpaqueCalls > 0 {
					sev = analyzer.Info
					msg += " (unless a function called on the way sets the peer)"
				}
				pass.Report(&analyzer.Diagnostic{Pos: pe.Pos, End: pe.Pos, Severity: sev, Message: msg})
			}
		}
		return nil
	},
}
