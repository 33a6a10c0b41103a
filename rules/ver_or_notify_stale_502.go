package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// bugORNotifyStale502: with the balancer_pool_max_retry patch, nginx calls
// ngx_http_lua_balancer_notify_peer on every cached-connection error, and it
// decrements tries whichever pool the connection came from.
var bugORNotifyStale502 = verBug{
	kid:      "OR-NOTIFY-STALE-502",
	affects:  "OpenResty 1.29.2.4, 1.29.2.5, 1.29.8.1rc1, 1.31.1.1" + notifyAffectsTail,
	exposure: notifyPatched,
	example:  "openresty=1.31.1.1",
}

// VerORNotifyStale502 is OR-NOTIFY-STALE-502.
var VerORNotifyStale502 = &analyzer.Rule{
	ID:       "VER1011",
	Slug:     "or-notify-stale-502",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "a stale pooled connection returns 502 with no retry on OpenResty >= 1.29.2.4 (OR-NOTIFY-STALE-502)",
		Text: `OpenResty 1.29.2.4 applied the balancer_pool_max_retry nginx patch (OR 5363dfe): after the cached-error
tries++ in ngx_http_upstream_next, nginx calls peer.notify, and lua-nginx-module's notify decrements the
tries again on every cached-connection error, whichever pool the connection came from: its own
enable_keepalive() pool or nginx's keepalive module. With the default one try, a pooled connection the
backend has closed (idle timeout, restart) now ends the request with 502 instead of the transparent
retry on a fresh connection that every earlier version and plain round robin do. Measured: nginx 1.29.2
+ patch 502 (unpatched 200); round robin + keepalive 200 on both. From nginx 1.29.7 (OpenResty
1.29.8.1rc1, 1.31.1.1) upstreams keep connections by default, so it happens with no keepalive directive
at all. No upstream report was found; no release fixes it.

Reported at keepalive (or the upstream block when keepalive is on by default, or enable_keepalive())
for balancer_by_lua upstreams whose code never calls set_more_tries; at info when the code only calls
functions defined elsewhere (a module may call set_more_tries). Workarounds: set_more_tries(1) once
per request (then a stale connection gets its retry: 200), or keepalive 0.`,
		Bad: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            assert(b.set_current_peer("10.0.0.5", 8080))
        }
        keepalive 32;
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
            if not ngx.ctx.more then
                ngx.ctx.more = true
                b.set_more_tries(1)
            end
            assert(b.set_current_peer("10.0.0.5", 8080))
        }
        keepalive 32;
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
		Versions:     "openresty=1.29.2.4",
		Affected:     "OpenResty 1.29.2.4, 1.29.2.5, 1.29.8.1rc1, 1.31.1.1",
		Fixed:        "not fixed (OpenResty <= 1.29.2.3 and stock nginx do not have the patch)",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: OR-NOTIFY-STALE-502", "lua-nginx-module ngx_http_lua_balancer_notify_peer", "openresty 5363dfe (patches/nginx-*-balancer_pool_max_retry.patch)"},
		Confirmation: `Every peer answers the first request on a connection and closes it when a second arrives ("one-per-conn"); GET /1 fills the pool, GET /2 reuses the stale connection. Confirmed when GET /2 gets 502 after the one failed pooled attempt on the declared version (OpenResty 1.31.1.1 when unknown) and 200 on the same versions without the patch.`,
	},
	Run: func(pass *analyzer.Pass) error {
		p := pass.Profile
		e := bugORNotifyStale502.gate(p)
		if e == notExposed {
			return nil
		}
		for _, u := range httpUpstreams(pass.Model) {
			_, bf := balancerFacts(pass, u)
			if bf == nil || len(bf.MoreTries) > 0 {
				continue
			}
			// The finding's premise is that u pools connections, which
			// depends on the release: keepalive is on by default only from
			// nginx 1.29.7, and so is HTTP/1.1 to upstreams. On an unknown
			// version, name only the affected bundles where it holds, and
			// judge as the newest of them.
			bug, cp := bugORNotifyStale502, p
			if e == versionUnknown {
				var held []string
				for _, b := range notifyBundles() {
					if notifyPremise(pass, u, bf, b) {
						held = append(held, b.OpenResty.String())
						cp = b
					}
				}
				if len(held) == 0 {
					continue
				}
				bug.affects = "OpenResty " + strings.Join(held, ", ") + notifyAffectsTail
			}
			if !notifyPremise(pass, u, bf, cp) {
				continue
			}
			ls := pooledLocations(pass.Model, u, cp)
			var pos, end nginxconf.Pos
			var what string
			switch {
			case nginxPooled(u, cp) && u.Keepalive != nil:
				pos, end = keepalivePlace(u)
				what = "keepalive"
			case nginxPooled(u, cp):
				pos, end = keepalivePlace(u)
				what = "keepalive (on by default from nginx 1.29.7)"
			case len(bf.EnableKeepalive) > 0:
				pos, end = bf.EnableKeepalive[0].Pos, bf.EnableKeepalive[0].End
				what = "enable_keepalive()"
			default:
				continue
			}
			d := &analyzer.Diagnostic{Pos: pos, End: end, Related: proxiedFrom(ls)}
			d.Related = append(d.Related, analyzer.Related{Pos: u.Balancer.Pos, End: u.Balancer.End, Message: "balancer_by_lua without set_more_tries"})
			d.Confirm = verScenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: ls[0]},
				profile: cp, policy: "one-per-conn", requests: "GET /1, GET /2",
				judge: stale502,
				twinProfile: func(p versions.Profile) versions.Profile {
					q := p
					q.OpenResty = versions.Version{}
					q.NotifyPatch = false
					return q
				},
				twinName: "the same versions without the balancer_pool_max_retry patch",
			}
			head := fmt.Sprintf("a stale pooled connection to upstream %q ends the request with 502, not a retry", u.Name)
			why := fmt.Sprintf("The upstream pools connections (%s) and its balancer_by_lua never calls set_more_tries: the patched notify hook takes back the retry nginx grants a failed pooled connection, so a stale pooled connection ends the request with 502 instead of a retry on a fresh one; call set_more_tries(1) once per request, or keepalive 0", what)
			if len(bf.SetCurrentPeer) == 0 && bf.OpaqueCalls > 0 {
				// The code delegates to functions defined elsewhere (a
				// module), which may call set_more_tries themselves.
				d.Severity = analyzer.Info
				head = fmt.Sprintf("a stale pooled connection to upstream %q may end the request with 502, not a retry", u.Name)
				why = strings.Replace(why, "never calls set_more_tries", "does not call set_more_tries itself (the functions it calls may)", 1)
			}
			bug.report(pass, e, d, head, why)

		}
		return nil
	},
}

// notifyAffectsTail ends the affected-versions text of VER1011.
const notifyAffectsTail = " (lua-nginx-module >= 0.10.27 with the balancer_pool_max_retry patch)"

// notifyBundles are the OpenResty bundles with the balancer_pool_max_retry
// patch (notifyPatched), from the bundle table, oldest first.
func notifyBundles() []versions.Profile {
	var out []versions.Profile
	for _, b := range versions.Bundles() {
		if q, err := versions.Resolve("", "", b.OpenResty); err == nil && notifyPatched(q) == exposed {
			out = append(out, q)
		}
	}
	return out
}

// notifyPremise reports whether u pools connections on p for some
// location that proxies to it (the keepalive-effectiveness model of
// rules/retry, as NGX2002 reads it): nginx's keepalive (written or by
// default) or the balancer's enable_keepalive(), for a location that
// speaks HTTP/1.1 without "Connection: close".
func notifyPremise(pass *analyzer.Pass, u *nginxconf.Upstream, bf *luacheck.BalancerFacts, p versions.Profile) bool {
	if !nginxPooled(u, p) && len(bf.EnableKeepalive) == 0 {
		return false
	}
	return len(pooledLocations(pass.Model, u, p)) > 0
}

// stale502 judges OR-NOTIFY-STALE-502: a request ended with 502 right after
// its pooled connection failed, with no further attempt.
func stale502(r *emulator.Result) (bool, string) {
	for i, q := range r.Requests {
		n := len(q.Attempts)
		if n > 0 && failedCached(q.Attempts[n-1]) && q.Status.Code == 502 {
			return true, fmt.Sprintf("request %d (%s %s) got 502 after its pooled connection failed, with no retry", i+1, q.Method, q.Path)
		}
	}
	return false, r.Summary()
}
