package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/luacheck"
)

// bugLNMRecreateBody: recreate_request() re-ran create_request but
// 97b91899 dropped only the first chain link of the old body, so a body
// replaced with ngx.req.set_body_data() was not the one sent (fixed by
// 8670e53e, v0.10.27).
var bugLNMRecreateBody = verBug{
	kid:      "LNM-RECREATE-BODY",
	affects:  "lua-nginx-module 0.10.18-0.10.26 (OpenResty 1.19.3.1-1.25.3.2)",
	fixed:    "lua-nginx-module 0.10.27 (8670e53e), OpenResty 1.27.1.1",
	exposure: lnmRange("0.10.18", "0.10.27"),
}

// bodySetters are the APIs that replace the request body before proxying.
var bodySetters = map[string]bool{
	"ngx.req.set_body_data": true, "ngx.req.set_body_file": true, "ngx.req.init_body": true,
}

// VerLNMRecreateBody is LNM-RECREATE-BODY.
var VerLNMRecreateBody = &analyzer.Rule{
	ID:       "VER1009",
	Slug:     "lnm-recreate-body",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "recreate_request() sends the original body after ngx.req.set_body_data() (LNM-RECREATE-BODY)",
		Text: `balancer.recreate_request() (lua-nginx-module 0.10.18) re-runs the proxy module's create_request so a
retry can carry changed headers or body. Until 8670e53e (v0.10.27) only the first link of the previous
request chain was dropped, so when an earlier phase had replaced the body with ngx.req.set_body_data()
(or set_body_file / init_body), the recreated request went out with the original client body. The fix
for the first report (97b91899, #1770) landed before any release; this remainder shipped in OpenResty
1.19.3.1-1.25.3.2 (test 20 of 8670e53e).

Reported at recreate_request() when Lua code in the http block replaces the request body.`,
		Bad: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            assert(b.set_current_peer("10.0.0.5", 8080))
            if b.get_last_failure() then
                assert(b.recreate_request())
            end
        }
    }
    server {
        listen 80;
        location / {
            access_by_lua_block {
                ngx.req.read_body()
                ngx.req.set_body_data("rewritten")
            }
            proxy_pass http://backend;
        }
    }
}
`,
		Versions:     "bad: openresty=1.25.3.2; good: openresty=1.27.1.1",
		Affected:     "lua-nginx-module 0.10.18-0.10.26 (OpenResty 1.19.3.1-1.25.3.2)",
		Fixed:        "lua-nginx-module 0.10.27 (8670e53e), OpenResty 1.27.1.1",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: LNM-RECREATE-BODY", "lua-nginx-module 8670e53e (t/138-balancer.t test 20)", "lua-nginx-module 97b91899, issue #1770"},
		Confirmation: "not confirmable: the emulator does not run access/rewrite-phase Lua or model request bodies changed by it; its recreate_request only returns true.",
	},
	Run: func(pass *analyzer.Pass) error {
		e := bugLNMRecreateBody.gate(pass.Profile)
		if e == notExposed {
			return nil
		}
		var setter *luacheck.APIUse
		for _, r := range analysableLua(pass.Model) {
			if r.Subsystem != "http" {
				continue
			}
			for _, u := range luaFacts(pass, r.Chunk).APIUses {
				if u.Call && bodySetters[u.Name] {
					u := u
					setter = &u
					break
				}
			}
			if setter != nil {
				break
			}
		}
		if setter == nil {
			return nil
		}
		for _, u := range httpUpstreams(pass.Model) {
			_, bf := balancerFacts(pass, u)
			if bf == nil {
				continue
			}
			for _, rc := range bf.RecreateRequest {
				d := &analyzer.Diagnostic{Pos: rc.Pos, End: rc.End,
					Related: []analyzer.Related{{Pos: setter.Pos, End: setter.End, Message: "body replaced here"}}}
				bugLNMRecreateBody.report(pass, e, d, fmt.Sprintf("recreate_request() sends the original client body, not the one %s set", strings.TrimPrefix(setter.Name, "ngx.req.")),
					"recreate_request() drops only the first link of the old body chain when it rebuilds the request")

			}
		}
		return nil
	},
}
