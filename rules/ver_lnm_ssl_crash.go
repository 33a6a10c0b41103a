package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
)

// bugLNMSSLCrash: lua-nginx-module v0.10.0 called the round-robin
// set_session/save_session hooks with the Lua balancer's peer data
// (c226a005, b68d7b4b, issue #696).
var bugLNMSSLCrash = verBug{
	kid:      "LNM-SSL-CRASH",
	affects:  "lua-nginx-module 0.10.0 (OpenResty 1.9.7.2-1.9.7.3)",
	fixed:    "lua-nginx-module 0.10.1 (c226a005; a compile fix followed in 0.10.2), OpenResty 1.9.7.4",
	exposure: lnmRange("0.10.0", "0.10.1"),
	example:  "openresty=1.9.7.3",
}

// VerLNMSSLCrash is LNM-SSL-CRASH.
var VerLNMSSLCrash = &analyzer.Rule{
	ID:       "VER1001",
	Slug:     "lnm-ssl-crash",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "balancer_by_lua with proxy_pass https:// crashes the worker (LNM-SSL-CRASH)",
		Text: `lua-nginx-module v0.10.0 installed nginx's round-robin SSL session hooks (set_session and
save_session) on the Lua balancer but passed them the Lua balancer's own peer data. The first HTTPS
connection to a Lua-chosen peer makes the hook read the wrong structure and the worker process crashes
(c226a005, b68d7b4b, lua-nginx-module issue #696).

The rule reports every proxy_pass https:// to an upstream with balancer_by_lua* on lua-nginx-module 0.10.0
(OpenResty 1.9.7.2 and 1.9.7.3). Fix: upgrade to OpenResty 1.9.7.4 (lua-nginx-module 0.10.2).`,
		Bad: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            assert(b.set_current_peer("10.0.0.5", 443))
        }
    }
    server {
        listen 80;
        location / { proxy_pass https://backend; }
    }
}
`,
		Versions:     "bad: openresty=1.9.7.3; good: openresty=1.9.7.4",
		Affected:     "lua-nginx-module 0.10.0 (OpenResty 1.9.7.2, 1.9.7.3)",
		Fixed:        "lua-nginx-module 0.10.1 (c226a005; build fix in 0.10.2), OpenResty 1.9.7.4",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: LNM-SSL-CRASH", "https://github.com/openresty/lua-nginx-module/issues/696", "lua-nginx-module c226a005, b68d7b4b"},
		Confirmation: "not confirmable: a crash inside nginx's TLS session code, which the emulator does not model (it speaks plain HTTP to its backends).",
	},
	Run: func(pass *analyzer.Pass) error {
		e := bugLNMSSLCrash.gate(pass.Profile)
		if e == notExposed {
			return nil
		}
		for _, u := range httpUpstreams(pass.Model) {
			if u.Balancer == nil {
				continue
			}
			for _, l := range locationsUsing(pass.Model, u) {
				if l.Proxy.Pass.Scheme != "https" {
					continue
				}
				pp := l.Proxy.Pass.Directive
				d := &analyzer.Diagnostic{Pos: pp.Pos, End: pp.End,
					Related: []analyzer.Related{{Pos: u.Balancer.Pos, End: u.Balancer.End, Message: "balancer_by_lua defined here"}}}
				bugLNMSSLCrash.report(pass, e, d, fmt.Sprintf("HTTPS to upstream %q crashes the worker on the first connection", u.Name),
					"balancer_by_lua chooses its peers, and the round-robin SSL session hooks get the Lua balancer's peer data")

			}
		}
		return nil
	},
}
