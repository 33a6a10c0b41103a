package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/luacheck"
)

// bugLNMKAHostGT32: the Lua pool stored addr_text instead of the host when
// the host was longer than NGX_BALANCER_DEF_HOST_LEN (32), so lookups by
// host never matched (18ce5fbd, v0.10.29).
var bugLNMKAHostGT32 = verBug{
	kid:      "LNM-KA-HOST-GT32",
	affects:  "lua-nginx-module 0.10.27-0.10.28 (OpenResty 1.27.1.1-1.27.1.2)",
	fixed:    "lua-nginx-module 0.10.29 (18ce5fbd), OpenResty 1.29.2.1",
	exposure: lnmRange("0.10.27", "0.10.29"),
	example:  "openresty=1.27.1.1",
}

// VerLNMKAHostGT32 is LNM-KA-HOST-GT32.
var VerLNMKAHostGT32 = &analyzer.Rule{
	ID:       "VER1012",
	Slug:     "lnm-ka-host-gt32",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "enable_keepalive never reuses connections for a host longer than 32 bytes (LNM-KA-HOST-GT32)",
		Text: `From lua-nginx-module 0.10.27 set_current_peer(addr, port, host) takes a host (SNI and part of the Lua
pool key) and enable_keepalive() pools connections keyed by host, address and local address. When the
host was longer than 32 bytes, free_peer stored the address text instead of the host in the pool entry,
so no later lookup by host matched: every request opened a new connection, and the pool filled with
connections nobody could take (18ce5fbd, v0.10.29).

Reported at the host argument when it is a string literal longer than 32 bytes and the code calls
enable_keepalive().`,
		Bad: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            assert(b.set_current_peer("10.0.0.5", 8080, "orders-service.internal.example.com"))
            assert(b.enable_keepalive())
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
		Versions:     "bad: openresty=1.27.1.2; good: openresty=1.29.2.1",
		Affected:     "lua-nginx-module 0.10.27-0.10.28 (OpenResty 1.27.1.1, 1.27.1.2)",
		Fixed:        "lua-nginx-module 0.10.29 (18ce5fbd), OpenResty 1.29.2.1",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: LNM-KA-HOST-GT32", "lua-nginx-module 18ce5fbd (NGX_BALANCER_DEF_HOST_LEN)"},
		Confirmation: `Every peer answers 200 keep-alive ("ok"); three GETs. Confirmed when the three requests open three upstream connections on the declared version (OpenResty 1.27.1.1 when unknown) and reuse one with lua-nginx-module 0.10.29.`,
	},
	Run: func(pass *analyzer.Pass) error {
		p := pass.Profile
		e := bugLNMKAHostGT32.gate(p)
		if e == notExposed {
			return nil
		}
		cp := bugLNMKAHostGT32.confirmProfile(p, e)
		for _, u := range httpUpstreams(pass.Model) {
			_, bf := balancerFacts(pass, u)
			if bf == nil || len(bf.EnableKeepalive) == 0 {
				continue
			}
			ls := pooledLocations(pass.Model, u, cp)
			for _, pc := range bf.SetCurrentPeer {
				if len(pc.Call.Args) < 3 {
					continue
				}
				h := pc.Call.Args[2]
				if h.Kind != luacheck.ArgString || len(h.Value) <= 32 {
					continue
				}
				d := &analyzer.Diagnostic{Pos: h.Pos, End: h.End,
					Related: []analyzer.Related{{Pos: bf.EnableKeepalive[0].Pos, End: bf.EnableKeepalive[0].End, Message: "enable_keepalive() called here"}}}
				if len(ls) > 0 {
					d.Confirm = verScenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: ls[0]},
						profile: cp, policy: "ok", requests: "GET /1, GET /2, GET /3",
						judge: noReuse, twinProfile: twinLNM("0.10.29")}
				}
				bugLNMKAHostGT32.report(pass, e, d, fmt.Sprintf("enable_keepalive() never reuses a connection: the host %q is %d bytes, over 32", h.Value, len(h.Value)),
					"For a host longer than 32 bytes the Lua pool stores the address text instead of the host, so enable_keepalive() never finds a pooled connection and every request opens a new one")

			}
		}
		return nil
	},
}
