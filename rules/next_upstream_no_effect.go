package rules

import (
	"fmt"
	"net"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// NextUpstreamNoEffect flags retry settings on a location that can never
// retry: a single peer with no backup and no set_more_tries.
var NextUpstreamNoEffect = &analyzer.Rule{
	ID:       "NGX2104",
	Slug:     "next-upstream-no-effect",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "retry settings on an upstream that can never retry",
		Text: `With exactly one server and no backup, round robin starts with tries = 1 and a failure sets
tries = 0 (ngx_http_upstream_free_round_robin_peer, peers->single), so proxy_next_upstream,
proxy_next_upstream_tries and proxy_next_upstream_timeout never cause a retry on a fresh connection:
the failover they suggest does not exist. The same holds for a balancer_by_lua upstream that never calls
set_more_tries (initial tries = number of server lines, by design). Add servers or a backup, call
set_more_tries in the balancer, or drop the settings.

In stream{} the same holds for a stream server's proxy_next_upstream on, proxy_next_upstream_tries and
proxy_next_upstream_timeout, and tries or timeout written under proxy_next_upstream off are never read
(ngx_stream_proxy_next_upstream tests the flag first). On a UDP server (listen ... udp) none of them ever
retries: a datagram session is connected at once and only a failed connect moves nginx to the next server.`,
		Bad: `http {
    upstream app {
        server 10.0.0.1:8080;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://app;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 3;
        }
    }
}
`,
		Good: `http {
    upstream app {
        server 10.0.0.1:8080;
        server 10.0.0.2:8080 backup;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://app;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 3;
        }
    }
}
`,
		Since:        "0.1.0",
		References:   []string{"nginx ngx_http_upstream_round_robin.c (peers->single)", "https://github.com/openresty/lua-nginx-module/pull/824 (balancer tries by design)"},
		Confirmation: `The single peer reads the request and closes ("close"); one GET. Confirmed when the emulator made exactly one attempt. Stream: the peers refuse connections ("refused"), since stream retries connect failures only; one session; confirmed on exactly one attempt. UDP servers: not confirmable in the emulator (TCP sessions only); the behaviour is checked against Debian's nginx by TestStreamUDPNoRetry.`,
	},
	Run: func(pass *analyzer.Pass) error {
		runNextUpstreamNoEffectStream(pass)
		seen := map[*nginxconf.Directive]bool{}
		for _, pl := range passProxiedLocations(pass) {
			l, u := pl.loc, pl.up
			setting := retrySetting(l)
			if setting == nil || seen[setting] {
				continue
			}
			var why, how string
			switch {
			case u.Balancer != nil:
				// What an unreadable or unresolved balancer calls is
				// unknown: say nothing about it.
				if u.Balancer.Lua == nil || u.Balancer.Lua.LoadError != "" || u.Balancer.Lua.Unresolved {
					continue
				}
				in := retryInput(pass, u, l)
				if len(in.MoreTries) > 0 || len(u.Servers) > 1 {
					continue
				}
				why = fmt.Sprintf("upstream %q uses balancer_by_lua without set_more_tries", u.Name)
				how = fmt.Sprintf("Without set_more_tries a request has tries = %d", max(1, len(u.Servers)))

			case len(u.Servers) == 1 && !u.Servers[0].Backup:
				if u.Servers[0].Resolve || !isIPAddress(u.Servers[0].Address) {
					continue // a name may resolve to several addresses, each a peer
				}
				why = fmt.Sprintf("upstream %q has a single server and no backup", u.Name)
				how = "With a single server a failure sets tries = 0"

			default:
				continue
			}
			seen[setting] = true
			d := &analyzer.Diagnostic{Pos: setting.Pos, End: setting.End,
				Message: fmt.Sprintf("%s never retries: %s", setting.Name, why),
				Details: how + ", so no other server is ever tried.",

				Related: []analyzer.Related{{Pos: u.Directive.Pos, Message: fmt.Sprintf("upstream %q defined here", u.Name)}}}
			d.Confirm = scenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: l}, profile: pass.Profile, policy: "close",
				requests: "GET /", maxAttempts: 50,
				judge: func(r *emulator.Result) (bool, string) {
					q := r.Requests[0]
					return len(q.Attempts) == 1, fmt.Sprintf("the failing request made %s and got %s", plural(len(q.Attempts), "attempt"), q.Status)
				}}.confirmer()
			pass.Report(d)
		}
		return nil
	},
}

// retrySetting is the retry directive a location relies on: an explicit
// proxy_next_upstream (other than off), _tries or _timeout.
func retrySetting(l *nginxconf.Location) *nginxconf.Directive {
	if d := l.Proxy.NextUpstream; d != nil && !hasValue(l.Proxy.NextUpstreamValues, "off") {
		return d
	}
	if d := l.Proxy.NextUpstreamTries; d != nil && d.Arg(0) != "0" && d.Arg(0) != "1" {
		return d
	}
	if d := l.Proxy.NextUpstreamTimeout; d != nil && d.Arg(0) != "0" {
		return d
	}
	return nil
}

// isIPAddress reports an "ip" or "ip:port" server address (no name that
// could resolve to several peers).
func isIPAddress(a string) bool {
	if host, _, err := net.SplitHostPort(a); err == nil {
		a = host
	}
	return net.ParseIP(a) != nil
}
