package rules

import (
	"fmt"
	"strconv"
	"time"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/luacheck"
)

// setTimeoutsMax is the smallest set_timeouts argument flagged: 1000
// seconds (16m40s) is no plausible connect, send or read timeout, and
// 1000 is where a millisecond value (1000 = one second) starts.
const setTimeoutsMax = 1000

// LuaBalancerTimeoutsUnit flags ngx.balancer.set_timeouts arguments that
// are milliseconds written where seconds are expected.
var LuaBalancerTimeoutsUnit = &analyzer.Rule{
	ID:       "LUA3004",
	Slug:     "lua-balancer-timeouts-seconds",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "ngx.balancer.set_timeouts given milliseconds: it takes seconds",
		Text: `set_timeouts(connect, send, read) takes seconds as Lua numbers (fractions allowed): lua-resty-core's
lib/ngx/balancer.lua multiplies each argument by 1000 before it hands milliseconds to
ngx_http_lua_ffi_balancer_set_timeouts. Unlike lua-resty-http's httpc:set_timeouts and the cosocket
settimeouts, which take milliseconds, so "set_timeouts(6000, 600000, 600000)" means a 100-minute
connect timeout and a week-long read timeout: a dead peer holds the request that long before
proxy_next_upstream moves on. A literal argument of 1000 or more is flagged; divide by 1000
("set_timeouts(6, 600, 600)", or 0.5 for half a second).`,
		Bad: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local ok, err = b.set_current_peer("127.0.0.1", 8080)
            if not ok then return ngx.exit(500) end
            b.set_timeouts(6000, 600000, 600000)
        }
    }
}
`,
		Good: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local ok, err = b.set_current_peer("127.0.0.1", 8080)
            if not ok then return ngx.exit(500) end
            b.set_timeouts(6, 600, 600)
        }
    }
}
`,
		Since: "0.2.0",
		References: []string{"https://github.com/openresty/lua-resty-core/blob/master/lib/ngx/balancer.md#set_timeouts",
			"lua-resty-core lib/ngx/balancer.lua _M.set_timeouts (connect_timeout * 1000)"},
		Confirmation: "not confirmable: the effect is a long wait, which a confirmation must not sit through.",
	},
	Run: func(pass *analyzer.Pass) error {
		names := []string{"connect", "send", "read"}
		for _, u := range luaUnits(pass) {
			res := luaFacts(pass, u.Chunk)
			if res.Balancer == nil {
				continue
			}
			for _, call := range res.Balancer.SetTimeouts {
				for i, a := range call.Args {
					if i >= len(names) {
						break
					}
					if a.Kind != luacheck.ArgNumber {
						continue
					}
					v, err := strconv.ParseFloat(a.Value, 64)
					if err != nil || v < setTimeoutsMax {
						continue // a hexadecimal literal, or a plausible value
					}
					secs := time.Duration(v * float64(time.Second))
					pass.Report(&analyzer.Diagnostic{Pos: a.Pos, End: a.End,
						Message: fmt.Sprintf("set_timeouts takes seconds: the %s timeout %s is %s; did you mean %s (%s ms)?",
							names[i], a.Value, humanDuration(secs), strconv.FormatFloat(v/1000, 'f', -1, 64), a.Value)})
				}
			}
		}
		return nil
	},
}
