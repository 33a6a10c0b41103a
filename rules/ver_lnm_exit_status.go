package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/versions"
)

// bugLNMExitStatus: ngx.exit(status) in the balancer (20d6558b, v0.10.9)
// only reaches the client with OpenResty's balancer_status_code nginx
// patch (OR 3b74625, from 1.11.2.5); stock nginx turns it into 500.
var bugLNMExitStatus = verBug{
	kid:     "LNM-EXIT-STATUS",
	affects: "stock nginx with lua-nginx-module or OpenResty <= 1.11.2.4 (stock: e.g. Debian's libnginx-mod-http-lua)",
	fixed:   "OpenResty 1.11.2.5 (balancer_status_code patch, OR 3b74625, with lua-nginx-module >= 0.10.9, 20d6558b); never on stock nginx",
	exposure: func(p versions.Profile) exposure {
		switch {
		case p.IsOpenResty() && !p.HasLNM():
			return versionUnknown
		case p.IsOpenResty() || p.HasNginx() || p.HasLNM():
			if p.StatusCodePatch && p.HasLNM() && p.LNM.AtLeast("0.10.9") {
				return notExposed
			}
			return exposed
		}
		return versionUnknown
	},
	example: "nginx=1.22.1,lnm=0.10.23",
}

// VerLNMExitStatus is LNM-EXIT-STATUS.
var VerLNMExitStatus = &analyzer.Rule{
	ID:       "VER1008",
	Slug:     "lnm-exit-status",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "ngx.exit(status) in balancer_by_lua gives 500 on stock nginx (LNM-EXIT-STATUS)",
		Text: `lua-nginx-module v0.10.9 (20d6558b) lets balancer code end the request with ngx.exit(status), but the
status only reaches the client when nginx carries OpenResty's balancer_status_code patch (OR 3b74625,
shipped from OpenResty 1.11.2.5). On stock nginx with a dynamically loaded lua-nginx-module (Debian's
libnginx-mod-http-lua, nginx.org packages) and on older OpenResty, peer.get returns the code to an nginx
that only knows NGX_OK/NGX_BUSY/NGX_DECLINED/NGX_ERROR, so any status becomes 500: a balancer meant to
answer 503 or 429 answers 500 instead. Measured on both.

Reported at ngx.exit(N) in balancer code for N >= 300 other than 500.`,
		Bad: `http {
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
		Versions:     "bad: nginx=1.22.1,lnm=0.10.23; good: openresty=1.21.4.1",
		Affected:     "stock nginx + lua-nginx-module (any version); OpenResty <= 1.11.2.4",
		Fixed:        "OpenResty 1.11.2.5 (balancer_status_code patch, OR 3b74625) with lua-nginx-module >= 0.10.9 (20d6558b); stock nginx: never",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: LNM-EXIT-STATUS", "lua-nginx-module 20d6558b", "openresty 3b74625 (patches/nginx-*-balancer_status_code.patch)"},
		Confirmation: `Every peer answers 200 ("ok"); one GET. Confirmed when ngx.exit(N) ends the request with 500 on the declared versions (stock nginx 1.22.1 + lua-nginx-module 0.10.23 when unknown) and with N on the same versions plus the balancer_status_code patch. The exit must be reached by the emulated request.`,
	},
	Run: func(pass *analyzer.Pass) error {
		e := bugLNMExitStatus.gate(pass.Profile)
		if e == notExposed {
			return nil
		}
		for _, u := range httpUpstreams(pass.Model) {
			_, bf := balancerFacts(pass, u)
			if bf == nil || !bf.IsBalancerContext {
				continue
			}
			ls := locationsUsing(pass.Model, u)
			for _, ex := range bf.Exits {
				if len(ex.Args) == 0 {
					continue
				}
				code, ok := argNumber(u.Balancer.Lua, ex.Args[0])
				if !ok || code < 300 || code == 500 {
					continue
				}
				d := &analyzer.Diagnostic{Pos: ex.Pos, End: ex.End}
				if len(ls) > 0 {
					want := code
					d.Confirm = verScenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: ls[0]},
						profile: bugLNMExitStatus.confirmProfile(pass.Profile, e), policy: "ok", requests: "GET /",
						judge: func(r *emulator.Result) (bool, string) {
							q := r.Requests[0]
							exited := false
							for _, a := range q.Attempts {
								exited = exited || a.Outcome == emulator.OutcomeLuaExit
							}
							if exited && q.Status.Code == 500 {
								return true, fmt.Sprintf("ngx.exit(%d) reached the client as 500", want)
							}
							return false, r.Summary()
						},
						twinProfile: func(p versions.Profile) versions.Profile {
							q := p
							q.OpenResty = versions.Version{}
							q.StatusCodePatch = true
							if q.LNM.Less("0.10.9") {
								q.LNM = versions.MustParse("0.10.10")
							}
							return q
						},
						twinName: "the same versions with OpenResty's balancer_status_code patch",
					}
				}
				bugLNMExitStatus.report(pass, e, d, fmt.Sprintf("ngx.exit(%d) in balancer_by_lua* reaches the client as 500", code),
					"Only OpenResty's balancer_status_code nginx patch passes the status through")

			}
		}
		return nil
	},
}
