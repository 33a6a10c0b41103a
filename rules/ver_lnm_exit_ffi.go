package rules

import (
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
)

// bugLNMExitFFI: the FFI ngx.exit of lua-resty-core did not list the
// balancer context until 22566ed9 (v0.10.3).
var bugLNMExitFFI = verBug{
	kid:      "LNM-EXIT-FFI",
	affects:  "lua-nginx-module 0.10.0-0.10.2 (OpenResty 1.9.7.2-1.9.7.5)",
	fixed:    "lua-nginx-module 0.10.3 (22566ed9), OpenResty 1.9.15.1",
	exposure: lnmRange("0.10.0", "0.10.3"),
	example:  "openresty=1.9.7.3",
}

// VerLNMExitFFI is LNM-EXIT-FFI.
var VerLNMExitFFI = &analyzer.Rule{
	ID:       "VER1005",
	Slug:     "lnm-exit-ffi",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "ngx.exit in balancer_by_lua is rejected when resty.core is loaded (LNM-EXIT-FFI)",
		Text: `With lua-resty-core loaded (require "resty.core"), ngx.exit goes through the FFI function
ngx_http_lua_ffi_exit, whose context check did not include balancer_by_lua* before lua-nginx-module
v0.10.3 (22566ed9). The call raises "API disabled in the context of balancer_by_lua*", the balancer
fails with a Lua error and the client gets 500 whatever status was passed: a deliberate
ngx.exit(503) or ngx.exit(ngx.DECLINED) never takes effect.

Reported at each ngx.exit in balancer code when some Lua chunk requires resty.core.`,
		Bad: `http {
    init_by_lua_block { require "resty.core" }
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local ip = ngx.var.backend_ip
            if not ip then
                return ngx.exit(503)
            end
            assert(b.set_current_peer(ip, 8080))
        }
    }
    server {
        listen 80;
        location / { proxy_pass http://backend; }
    }
}
`,
		Versions:     "bad: openresty=1.9.7.5; good: openresty=1.9.15.1",
		Affected:     "lua-nginx-module 0.10.0-0.10.2 (OpenResty 1.9.7.2-1.9.7.5), with resty.core loaded",
		Fixed:        "lua-nginx-module 0.10.3 (22566ed9), OpenResty 1.9.15.1",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: LNM-EXIT-FFI", "lua-nginx-module 22566ed9"},
		Confirmation: `Every peer answers 200 ("ok"); one GET. Confirmed when the balancer run ends in a Lua error "API disabled" on the declared version (or OpenResty 1.9.7.3 when unknown) and not with lua-nginx-module 0.10.3 on the same nginx. The exit must be reached by the emulated request (ngx.var has only the common variables).`,
	},
	Run: func(pass *analyzer.Pass) error {
		e := bugLNMExitFFI.gate(pass.Profile)
		if e == notExposed || !loadsRestyCore(pass.Model) {
			return nil
		}
		for _, u := range httpUpstreams(pass.Model) {
			_, bf := balancerFacts(pass, u)
			if bf == nil || !bf.IsBalancerContext {
				continue
			}
			ls := locationsUsing(pass.Model, u)
			for _, ex := range bf.Exits {
				d := &analyzer.Diagnostic{Pos: ex.Pos, End: ex.End}
				if len(ls) > 0 {
					d.Confirm = verScenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: ls[0]},
						profile: bugLNMExitFFI.confirmProfile(pass.Profile, e), policy: "ok", requests: "GET /",
						judge: func(r *emulator.Result) (bool, string) {
							for _, a := range r.Requests[0].Attempts {
								if a.Outcome == emulator.OutcomeLuaError {
									for _, l := range a.Log {
										if strings.Contains(l, "API disabled") {
											return true, "ngx.exit raised \"API disabled in the context of balancer_by_lua*\": " + r.Summary()
										}
									}
								}
							}
							return false, "ngx.exit ran without a Lua error: " + r.Summary()
						},
						twinProfile:      twinLNM("0.10.3"),
						luaErrorIsEffect: true,
					}
				}
				bugLNMExitFFI.report(pass, e, d, "ngx.exit in balancer_by_lua* fails with resty.core loaded: the request gets 500",
					"With resty.core loaded, ngx.exit is its FFI version, which lacks the balancer context: it raises \"API disabled in the context of balancer_by_lua*\" and the request gets 500 whatever status was passed")

			}
		}
		return nil
	},
}
