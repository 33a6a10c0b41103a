package rules

import (
	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
)

// bugLNMKATimeout0: free_peer arms ngx_add_timer(c->read, idle) even for 0,
// which fires at once and closes the connection; the doc says 0 keeps it
// indefinitely.
var bugLNMKATimeout0 = verBug{
	kid:      "LNM-KA-TIMEOUT-0",
	affects:  "lua-nginx-module >= 0.10.27 (OpenResty >= 1.27.1.1)",
	exposure: lnmRange("0.10.27", ""),
	example:  "openresty=1.27.1.1",
}

// VerLNMKATimeout0 is LNM-KA-TIMEOUT-0.
var VerLNMKATimeout0 = &analyzer.Rule{
	ID:       "VER1015",
	Slug:     "lnm-ka-timeout-0",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "enable_keepalive(0) closes connections at once instead of keeping them (LNM-KA-TIMEOUT-0)",
		Text: `lua-resty-core's balancer.md says an idle timeout of 0 keeps pooled connections indefinitely, but
lua-nginx-module's free_peer always arms ngx_add_timer(c->read, timeout): with 0 the timer fires on the
next event-loop pass and the connection is closed, so nothing is ever reused (measured: 0 reuses with
idle 0, 1 with idle 60). Use a large timeout instead of 0.`,
		Bad: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            assert(b.set_current_peer("10.0.0.5", 8080))
            assert(b.enable_keepalive(0, 1000))
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
            assert(b.enable_keepalive(3600, 1000))
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
		Versions:     "openresty=1.27.1.1",
		Affected:     "lua-nginx-module >= 0.10.27 (OpenResty >= 1.27.1.1)",
		Fixed:        "not fixed (the documentation and the code disagree)",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: LNM-KA-TIMEOUT-0", "lua-nginx-module ngx_http_lua_balancer_free_peer (master)", "lua-resty-core lib/ngx/balancer.md enable_keepalive"},
		Confirmation: `Every peer answers 200 keep-alive ("ok"); three GETs. Confirmed when the three requests open three upstream connections and the emulator closed each pooled connection because of the 0 idle timeout.`,
	},
	Run: func(pass *analyzer.Pass) error {
		p := pass.Profile
		e := bugLNMKATimeout0.gate(p)
		if e == notExposed {
			return nil
		}
		cp := bugLNMKATimeout0.confirmProfile(p, e)
		for _, u := range httpUpstreams(pass.Model) {
			_, bf := balancerFacts(pass, u)
			if bf == nil {
				continue
			}
			ls := pooledLocations(pass.Model, u, cp)
			for _, ek := range bf.EnableKeepalive {
				if len(ek.Args) == 0 {
					continue
				}
				if n, ok := argNumber(u.Balancer.Lua, ek.Args[0]); !ok || n != 0 {
					continue
				}
				a := ek.Args[0]
				d := &analyzer.Diagnostic{Pos: a.Pos, End: a.End}
				if len(ls) > 0 {
					d.Confirm = verScenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: ls[0]},
						profile: cp, policy: "ok", requests: "GET /1, GET /2, GET /3",
						judge: func(r *emulator.Result) (bool, string) {
							ok, s := noReuse(r)
							if ok && attemptLogHas(r, "idle timeout 0") {
								return true, s + ": each pooled connection was closed at once (idle timeout 0)"
							}
							return false, s
						}}
				}
				bugLNMKATimeout0.report(pass, e, d, "enable_keepalive(0, ...) closes pooled connections at once instead of keeping them",
					"The documentation says 0 keeps connections indefinitely, but a 0 idle timer fires at once and closes the pooled connection, so none is reused; pass a large timeout instead")

			}
		}
		return nil
	},
}
