package rules

import (
	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// bugLNMCodeCacheOff: v0.10.0 cached the balancer chunk even with
// lua_code_cache off (6ba92a67, issue #663).
var bugLNMCodeCacheOff = verBug{
	kid:      "LNM-CODE-CACHE-OFF",
	affects:  "lua-nginx-module 0.10.0 (OpenResty 1.9.7.2-1.9.7.3)",
	fixed:    "lua-nginx-module 0.10.1 (6ba92a67), OpenResty 1.9.7.4",
	exposure: lnmRange("0.10.0", "0.10.1"),
}

// VerLNMCodeCacheOff is LNM-CODE-CACHE-OFF.
var VerLNMCodeCacheOff = &analyzer.Rule{
	ID:       "VER1004",
	Slug:     "lnm-code-cache-off",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "lua_code_cache off does not reload balancer_by_lua code (LNM-CODE-CACHE-OFF)",
		Text: `lua_code_cache off makes lua-nginx-module reload Lua code on every request, which people use while
developing. In v0.10.0 the balancer_by_lua* handler ignored it and kept the first loaded chunk, so edits
to a balancer_by_lua_file did not take effect until reload (6ba92a67, issue #663). Reported at
lua_code_cache off when the configuration has a balancer_by_lua*.`,
		Bad: `http {
    lua_code_cache off;
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            assert(b.set_current_peer("10.0.0.5", 8080))
        }
    }
}
`,
		Versions:     "bad: lnm=0.10.0; good: lnm=0.10.1",
		Affected:     "lua-nginx-module 0.10.0 (OpenResty 1.9.7.2, 1.9.7.3)",
		Fixed:        "lua-nginx-module 0.10.1 (6ba92a67), OpenResty 1.9.7.4",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: LNM-CODE-CACHE-OFF", "https://github.com/openresty/lua-nginx-module/issues/663", "lua-nginx-module 6ba92a67"},
		Confirmation: "not confirmable: the emulator loads the balancer code once per run and does not model lua_code_cache or file reloads.",
	},
	Run: func(pass *analyzer.Pass) error {
		e := bugLNMCodeCacheOff.gate(pass.Profile)
		if e == notExposed {
			return nil
		}
		var bal *nginxconf.Directive
		for _, u := range httpUpstreams(pass.Model) {
			if u.Balancer != nil {
				bal = u.Balancer
				break
			}
		}
		if bal == nil {
			return nil
		}
		for _, d := range directiveIndex(pass).Named("lua_code_cache") {
			if d.Arg(0) != "off" {
				continue
			}
			diag := &analyzer.Diagnostic{Pos: d.Pos, End: d.End,
				Related: []analyzer.Related{{Pos: bal.Pos, End: bal.End, Message: "balancer_by_lua defined here"}}}
			bugLNMCodeCacheOff.report(pass, e, diag, "lua_code_cache off does not apply to balancer_by_lua*",
				"The balancer keeps the code it loaded first, so edits are not picked up until nginx reloads")

		}
		return nil
	},
}
