package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// bugLNMNoPeerSetGlobal: "lua balancer: no peer set" compares the picked
// sockaddr with one static placeholder (ngx_http_lua_balancer_default_
// server_sockaddr), which every server-less balancer upstream overwrites
// while the configuration is parsed: only the last one keeps it.
var bugLNMNoPeerSetGlobal = verBug{
	kid:      "LNM-NO-PEER-SET-GLOBAL",
	affects:  "lua-nginx-module >= 0.10.27 (OpenResty >= 1.27.1.1)",
	exposure: lnmRange("0.10.27", ""),
}

// VerLNMNoPeerSetGlobal is LNM-NO-PEER-SET-GLOBAL.
var VerLNMNoPeerSetGlobal = &analyzer.Rule{
	ID:       "VER1014",
	Slug:     "lnm-no-peer-set-global",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "only the last server-less balancer upstream gets \"no peer set\" (LNM-NO-PEER-SET-GLOBAL)",
		Text: `From lua-nginx-module 0.10.27 an upstream with balancer_by_lua* may omit the server line: the module
adds a placeholder server 0.0.0.1:80 and, when the Lua code sets no peer, logs "lua balancer: no peer
set" and answers 500. The check compares the chosen address with a single static placeholder that each
such upstream overwrites while the configuration is parsed, so only the last-parsed upstream gets the
500; in every other one a path without set_current_peer makes nginx connect to 0.0.0.1:80 (measured:
last upstream 500, first upstream a connect to 0.0.0.1:80).

Reported at each server-less balancer upstream, other than the last one, whose code has a path that
ends without set_current_peer. Fix: end such paths with ngx.exit(...) (LUA3003), or give the upstreams
a server line.`,
		Bad: `http {
    upstream a {
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local ip = ngx.var.peer_a
            if ip then
                assert(b.set_current_peer(ip, 8080))
            end
        }
    }
    upstream b {
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            assert(b.set_current_peer("10.0.0.6", 8080))
        }
    }
}
`,
		Good: `http {
    upstream a {
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local ip = ngx.var.peer_a
            if not ip then
                return ngx.exit(503)
            end
            assert(b.set_current_peer(ip, 8080))
        }
    }
    upstream b {
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            assert(b.set_current_peer("10.0.0.6", 8080))
        }
    }
}
`,
		Versions:     "openresty=1.27.1.1",
		Affected:     "lua-nginx-module >= 0.10.27 (OpenResty >= 1.27.1.1)",
		Fixed:        "not fixed",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: LNM-NO-PEER-SET-GLOBAL", "lua-nginx-module ngx_http_lua_balancer_default_server_sockaddr", "rule LUA3003 lua-balancer-no-peer-path"},
		Confirmation: "not confirmable yet: no scenario is attached. The emulator models it (a server-less balancer upstream that is not the last one connects to the 0.0.0.1:80 placeholder, refused as on Linux, instead of answering 500 \"no peer set\"), but which path skips set_current_peer depends on request data an emulated request may not reach.",
	},
	Run: func(pass *analyzer.Pass) error {
		e := bugLNMNoPeerSetGlobal.gate(pass.Profile)
		if e == notExposed {
			return nil
		}
		var serverless []*nginxconf.Upstream
		for _, u := range httpUpstreams(pass.Model) {
			if u.Balancer != nil && len(u.Servers) == 0 {
				serverless = append(serverless, u)
			}
		}
		if len(serverless) < 2 {
			return nil
		}
		last := serverless[len(serverless)-1]
		for _, u := range serverless[:len(serverless)-1] {
			_, bf := balancerFacts(pass, u)
			if bf == nil || len(bf.PathsWithoutPeer) == 0 {
				continue
			}
			pe := bf.PathsWithoutPeer[0]
			d := &analyzer.Diagnostic{Pos: u.Directive.Pos, End: u.Directive.Pos,
				Related: []analyzer.Related{
					{Pos: pe.Pos, End: pe.Pos, Message: "path without set_current_peer"},
					{Pos: last.Directive.Pos, End: last.Directive.Pos, Message: fmt.Sprintf("upstream %q is parsed last and alone gets \"no peer set\"", last.Name)},
				}}
			bugLNMNoPeerSetGlobal.report(pass, e, d, fmt.Sprintf("upstream %q: a balancer path that sets no peer connects to 0.0.0.1:80 instead of answering 500", u.Name),
				fmt.Sprintf("The upstream has no server line. The \"no peer set\" check only recognises the placeholder of the last upstream without server lines (%q), so here nginx connects to the placeholder 0.0.0.1:80", last.Name))

		}
		return nil
	},
}
