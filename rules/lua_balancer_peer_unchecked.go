package rules

import (
	"github.com/ngxlint/ngxlint/analyzer"
)

// LuaBalancerPeerUnchecked flags set_current_peer calls whose result is
// dropped. The seed's own balancer does this.
var LuaBalancerPeerUnchecked = &analyzer.Rule{
	ID:       "LUA3001",
	Slug:     "lua-balancer-peer-unchecked",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "set_current_peer's result is ignored",
		Text: `ngx.balancer.set_current_peer returns nil and an error instead of raising one: for a host
name ("no host allowed": only IP literals are accepted), a bad port, or a call outside
balancer_by_lua. When the result is dropped, the balancer returns as if a peer was set, and nginx
falls back to the upstream's own server lines: with lua-nginx-module <= 0.10.26 that is round robin
over the placeholder (usually "server 0.0.0.1;", a connect() that fails with 502, or whatever listens
on port 80 there); from 0.10.27 a 500 "no peer set" for the last such upstream and a connect to
0.0.0.1:80 for the others. None of that names the real error. Check the result and fail loudly:
"local ok, err = balancer.set_current_peer(host, port) if not ok then ngx.log(ngx.ERR, err)
return ngx.exit(500) end".`,
		Bad: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local balancer = require "ngx.balancer"
            local ok, err = balancer.set_current_peer("127.0.0.1", 8080)
        }
    }
}
`,
		Good: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local balancer = require "ngx.balancer"
            local ok, err = balancer.set_current_peer("127.0.0.1", 8080)
            if not ok then
                ngx.log(ngx.ERR, "failed to set the current peer: ", err)
                return ngx.exit(500)
            end
        }
    }
}
`,
		Since:        "0.1.0",
		References:   []string{"https://github.com/openresty/lua-resty-core/blob/master/lib/ngx/balancer.md#set_current_peer", "lua-nginx-module t/138-balancer.t TEST 14"},
		Confirmation: "not confirmable: the effect depends on which error the ignored result carried; LUA3002 (balancer-host-literal) covers the literal case.",
	},
	Run: func(pass *analyzer.Pass) error {
		for _, u := range luaUnits(pass) {
			res := luaFacts(pass, u.Chunk)
			if res.Balancer == nil {
				continue
			}
			for _, pc := range res.Balancer.SetCurrentPeer {
				if !pc.ResultIgnored {
					continue
				}
				pass.Report(&analyzer.Diagnostic{Pos: pc.Call.Pos, End: pc.Call.End,
					Message: "the result of set_current_peer is ignored: on failure nginx silently uses the upstream's server lines",
					Details: "On failure (\"no host allowed\", a bad port) nginx falls back to the upstream's server lines, often the 0.0.0.1 placeholder; check the result and return ngx.exit(500) with the error logged.",

					Related: []analyzer.Related{{Pos: u.Pos, End: u.Pos, Message: u.Where + " defined here"}}})
			}
		}
		return nil
	},
}
