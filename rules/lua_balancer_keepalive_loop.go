package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules/retry"
)

// LuaBalancerKeepaliveLoop is the seed bug (knowledge file §1,
// LNM-CACHED-HOTLOOP, lua-nginx-module issue #693).
var LuaBalancerKeepaliveLoop = &analyzer.Rule{
	ID:       "NGX2001",
	Slug:     "lua-balancer-keepalive-loop",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "balancer_by_lua with keepalive loops forever on a closed reused connection (lua-nginx-module < 0.10.1)",
		Text: `In lua-nginx-module v0.10.0 the Lua balancer's get_peer never cleared pc->cached, which the
keepalive module sets when it reuses a connection. When a backend closes a reused connection without
answering (and closes every retry too: a WAF rule, a crashing handler), nginx treats every later
failure on a fresh connection as a failure of a cached one. On nginx <= 1.9.12 that branch of
ngx_http_upstream_next sets status 0 and tries++ and skips every check (proxy_next_upstream, even
"off", tries, timeout), while the balancer's free_peer does tries--: the two cancel and nginx opens new
upstream connections until the client gives up, instead of returning 502.

On nginx >= 1.9.13 (5a76856dc) cached errors go through the mask, tries and timeout checks, but tries++
still cancels the decrement, so a GET still loops when proxy_next_upstream contains "error" (the
default) unless proxy_next_upstream_timeout bounds it; POST/LOCK/PATCH stop at the non_idempotent rule.
lua-nginx-module v0.10.0 only shipped with nginx 1.9.7 (OpenResty 1.9.7.2 and 1.9.7.3).

Fix: upgrade to lua-nginx-module >= 0.10.1 (OpenResty >= 1.9.7.4). Until then, remove keepalive from
upstreams that use balancer_by_lua.`,
		Bad: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local balancer = require "ngx.balancer"
            assert(balancer.set_current_peer("127.0.0.1", 8080))
        }
        keepalive 1;
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
		Versions:     "bad: lnm=0.10.0; good: openresty=1.9.7.4",
		Affected:     "lua-nginx-module 0.10.0 (OpenResty 1.9.7.2, 1.9.7.3)",
		Fixed:        "lua-nginx-module 0.10.1 (60ebb5c), OpenResty 1.9.7.4",
		Since:        "0.1.0",
		References:   []string{"https://github.com/openresty/lua-nginx-module/issues/693", "https://github.com/openresty/lua-nginx-module/commit/60ebb5c00dfece18398737c4e7363d2694e04fd2", "nginx 1.9.13 CHANGES (5a76856dc)"},
		Confirmation: `Every peer gets the "first-only" backend (the seed's server: the first request gets 200 keep-alive, every later request is read and the connection closed). Two GET requests; confirmed when the second is unbounded (the emulator caps it at 1000 attempts).`,
	},
	Run: runLuaBalancerKeepaliveLoop,
}

// keepaliveLoopAffects names the releases with the loop (LNM 60ebb5c fixed
// it in 0.10.1).
const keepaliveLoopAffects = "lua-nginx-module 0.10.0 (OpenResty 1.9.7.2-1.9.7.3)"

func runLuaBalancerKeepaliveLoop(pass *analyzer.Pass) error {
	p := pass.Profile
	lnmKnown := p.HasLNM()
	if lnmKnown && (p.LNM.Less("0.10.0") || p.LNM.AtLeast("0.10.1")) {
		return nil // no balancer_by_lua yet, or fixed
	}
	for _, u := range httpUpstreams(pass.Model) {
		if u.Balancer == nil || retry.KeepaliveCount(u, p) <= 0 || retry.KeepaliveLostByOrder(u, p) != nil {
			continue
		}
		// The loop needs a location that actually fills the cache: HTTP/1.1
		// without "Connection: close".
		var hit []*nginxconf.Location
		for _, l := range locationsUsing(pass.Model, u) {
			if !retry.KeepsConnections(l, p) {
				continue
			}
			mask := retry.NextUpstreamMask(l)
			// nginx >= 1.9.13 applies the mask to cached errors too; <= 1.9.12
			// (and nginx unknown: lua-nginx-module 0.10.0 only builds
			// against <= 1.9.12) ignores it.
			if p.HasNginx() && p.Nginx.AtLeast("1.9.13") && !hasValue(mask, "error") {
				continue
			}
			hit = append(hit, l)
		}
		if len(hit) == 0 {
			continue
		}
		l := hit[0]
		// The headline: the problem and the release; the details: how
		// the loop comes about, what bounds it, the fix.
		msg := "keepalive with balancer_by_lua: a reused connection the backend closed makes nginx retry forever, if on lua-nginx-module 0.10.0"
		if lnmKnown {
			msg = "keepalive with balancer_by_lua on lua-nginx-module " + p.LNM.String() + ": a reused connection the backend closed makes nginx retry forever"
		}

		var why strings.Builder
		why.WriteString("When a backend closes a reused connection, nginx opens new upstream connections forever instead of returning 502: pc->cached is never cleared")
		switch {
		case p.HasNginx() && p.Nginx.AtLeast("1.9.13"):
			if l.Proxy.NextUpstreamTimeout != nil {
				fmt.Fprintf(&why, "; bounded only by proxy_next_upstream_timeout %s", l.Proxy.NextUpstreamTimeout.Arg(0))
			} else {
				why.WriteString("; GET/HEAD requests loop while proxy_next_upstream has \"error\"")
			}
		default:
			why.WriteString("; on nginx <= 1.9.12 not even proxy_next_upstream off stops it")
		}
		why.WriteString(". Affected: " + keepaliveLoopAffects + "; fixed in lua-nginx-module 0.10.1 (OpenResty 1.9.7.4).")
		// Report at keepalive; from nginx 1.29.7 keepalive is on with no
		// directive, so the upstream block itself is the place.
		d := &analyzer.Diagnostic{Pos: u.Directive.Pos, End: u.Directive.Pos, Message: msg, Details: why.String()}

		if u.Keepalive != nil {
			d.Pos, d.End = u.Keepalive.Pos, u.Keepalive.End
		}
		if !lnmKnown {
			d.Severity = analyzer.Info
			d.Conditional = keepaliveLoopAffects
		}
		d.Related = append(d.Related, analyzer.Related{Pos: u.Balancer.Pos, End: u.Balancer.End, Message: "balancer_by_lua defined here"})
		d.Related = append(d.Related, proxiedFrom(hit)...)
		d.Confirm = scenario{env: envOf(pass),
			target: fromconf.Target{Upstream: u, Location: l}, profile: p, policy: "first-only",
			requests: "GET /, GET /", maxAttempts: hotLoopCap,
			judge: func(r *emulator.Result) (bool, string) {
				for i, q := range r.Requests {
					if q.Unbounded {
						return true, fmt.Sprintf("request %d of %d opened %s and was still retrying when capped at %d attempts (unbounded)", i+1, len(r.Requests), plural(q.UpstreamConnections, "upstream connection"), len(q.Attempts))
					}
				}
				return false, r.Summary()
			},
		}.confirmer()
		pass.Report(d)
	}
	return nil
}
