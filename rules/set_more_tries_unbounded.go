package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules/retry"
)

// SetMoreTriesUnbounded flags a balancer that adds tries on every attempt
// with nothing bounding the retries.
var SetMoreTriesUnbounded = &analyzer.Rule{
	ID:       "NGX2003",
	Slug:     "set-more-tries-unbounded",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "set_more_tries on every attempt with no proxy_next_upstream_tries: endless retries",
		Text: `balancer_by_lua runs on every attempt, and set_more_tries(n) adds n tries each time. When the
call is not guarded (by get_last_failure() or a counter in ngx.ctx) every failed attempt grants
another, and with proxy_next_upstream_tries unset (0 = unlimited; the only place nginx caps tries is
ngx_http_upstream_init_request) nothing stops the loop while the backend keeps failing: one client
request turns into thousands of upstream connections. lua-nginx-module calls this "by design"
(issue #1545). Bound it with proxy_next_upstream_tries N (set_more_tries then reports "reduced tries
due to limit"), proxy_next_upstream_timeout, or a guard: "if not ngx.ctx.tried then ngx.ctx.tried =
true balancer.set_more_tries(1) end".

On lua-nginx-module 0.10.0-0.10.7 a different bug (VER: moretries-zero-limit) makes set_more_tries with
an unset limit *reduce* the tries, so no retry happens there.

In stream{} the same loop runs for a stream server proxying to such an upstream, with two differences:
stream retries only failed connects (a refusing or unreachable peer), and proxy_next_upstream_tries bounds
set_more_tries only with OpenResty's stream_proxy_get_next_upstream_tries nginx patch, which OpenResty
bundles apply; nginx built with stream-lua-nginx-module alone applies the limit once, at session start.`,
		Bad: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            b.set_more_tries(1)
            assert(b.set_current_peer("127.0.0.1", 8080))
        }
    }
    server {
        listen 80;
        location / { proxy_pass http://backend; }
    }
}
`,
		Good: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            b.set_more_tries(1)
            assert(b.set_current_peer("127.0.0.1", 8080))
        }
    }
    server {
        listen 80;
        location / {
            proxy_pass http://backend;
            proxy_next_upstream_tries 3;
        }
    }
}
`,
		Versions:     "lnm=0.10.23,nginx=1.22.1",
		Affected:     "lua-nginx-module >= 0.10.8 (every version without the zero-limit bug)",
		Since:        "0.1.0",
		References:   []string{"https://github.com/openresty/lua-nginx-module/issues/1545", "https://github.com/openresty/lua-resty-core/blob/master/lib/ngx/balancer.md#set_more_tries", "nginx ngx_http_upstream_init_request (the only cap of peer.tries)"},
		Confirmation: `Every peer closes each connection after reading the request ("close"); one GET. Confirmed when the request is unbounded (capped at 1000 attempts). Stream: every peer refuses connections ("refused"); one session; confirmed when it is unbounded.`,
	},
	Run: runSetMoreTriesUnbounded,
}

func runSetMoreTriesUnbounded(pass *analyzer.Pass) error {
	p := pass.Profile
	// stream-lua never had the zero-limit bug of lua-nginx-module
	// 0.10.0-0.10.7.
	runSetMoreTriesUnboundedStream(pass)
	if p.HasLNM() && p.LNM.Less("0.10.8") {
		return nil // LNM-MORETRIES-ZERO-LIMIT: the tries go down instead
	}
	for _, u := range httpUpstreams(pass.Model) {
		if u.Balancer == nil || u.Balancer.Lua == nil || u.Balancer.Lua.LoadError != "" {
			continue
		}
		res := luaFactsLinked(pass, u.Balancer.Lua)
		if res.Balancer == nil {
			continue
		}
		for _, mt := range res.Balancer.MoreTries {
			if mt.Guarded {
				continue
			}
			var open []*nginxconf.Location
			for _, l := range locationsUsing(pass.Model, u) {
				mask := retry.NextUpstreamMask(l)
				if l.Proxy.NextUpstreamTries != nil && l.Proxy.NextUpstreamTries.Arg(0) != "0" {
					continue
				}
				if l.Proxy.NextUpstreamTimeout != nil && l.Proxy.NextUpstreamTimeout.Arg(0) != "0" {
					continue
				}
				if !hasValue(mask, "error") && !hasValue(mask, "timeout") {
					continue
				}
				open = append(open, l)
			}
			if len(open) == 0 {
				continue
			}
			d := &analyzer.Diagnostic{Pos: mt.Call.Pos, End: mt.Call.End,
				Message: fmt.Sprintf("set_more_tries runs on every attempt: a request to upstream %q retries forever while the backend fails", u.Name),
				Details: "Nothing bounds the retries: no proxy_next_upstream_tries or proxy_next_upstream_timeout. Add proxy_next_upstream_tries, or guard the call with get_last_failure() / an ngx.ctx counter."}

			d.Related = append(d.Related, proxiedFrom(open)...)
			d.Confirm = scenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: open[0]}, profile: p, policy: "close",
				requests: "GET /", maxAttempts: hotLoopCap,
				judge: func(r *emulator.Result) (bool, string) {
					q := r.Requests[0]
					if q.Unbounded {
						if len(q.Attempts) == 0 { // real nginx: no per-attempt trace
							return true, fmt.Sprintf("1 request opened %s and never finished (unbounded)", plural(q.UpstreamConnections, "upstream connection"))
						}
						return true, fmt.Sprintf("1 request made %d attempts and opened %s before the cap (unbounded)", len(q.Attempts), plural(q.UpstreamConnections, "upstream connection"))
					}
					return false, r.Summary()
				}}.confirmer()
			pass.Report(d)
		}
	}
	return nil
}
