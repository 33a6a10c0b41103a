package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules/retry"
)

// NonIdempotentResend flags locations where a POST can reach a backend twice.
var NonIdempotentResend = &analyzer.Rule{
	ID:       "NGX2102",
	Slug:     "non-idempotent-resend",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "a POST/LOCK/PATCH can be sent to a backend twice",
		Text: `Since nginx 1.9.13 (4618c03f4) a request with a non-idempotent method is not passed to the next
server once it was sent, unless proxy_next_upstream contains non_idempotent. With non_idempotent, a
backend that processed a payment and then timed out or dropped the connection gets the same POST again
on the next server: a double charge. Before 1.9.13 every method was retried like GET, and a failure on
a reused keepalive connection was retried whatever proxy_next_upstream said (NGX-CACHED-BYPASS), so a
POST that a backend read before closing a stale connection was sent again. Only use non_idempotent for
endpoints that are idempotent in fact (or carry an idempotency key).`,
		Bad: `http {
    upstream pay {
        server 10.0.0.1:8080;
        server 10.0.0.2:8080;
    }
    server {
        listen 80;
        location /pay {
            proxy_pass http://pay;
            proxy_next_upstream error timeout non_idempotent;
        }
    }
}
`,
		Good: `http {
    upstream pay {
        server 10.0.0.1:8080;
        server 10.0.0.2:8080;
    }
    server {
        listen 80;
        location /pay {
            proxy_pass http://pay;
            proxy_next_upstream error timeout;
        }
    }
}
`,
		Versions:     "nginx=1.22.1",
		Affected:     "all versions with non_idempotent; every version before 1.9.13 (OpenResty <= 1.9.7.5) with keepalive or retries",
		Since:        "0.1.0",
		References:   []string{"nginx 1.9.13 CHANGES (4618c03f4, 5a76856dc)", "https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_next_upstream"},
		Confirmation: `A POST against backends that read the request and close ("close"), after a warm-up GET against "first-only" backends when the resend comes from a stale keepalive connection. Confirmed when the backends read the POST twice or more. With proxy_request_buffering off the emulated POST's small body arrives with its header, which nginx reads before proxying and re-sends as if buffered, so such locations are confirmable too.`,
	},
	Run: func(pass *analyzer.Pass) error {
		for _, pl := range passProxiedLocations(pass) {
			l, u := pl.loc, pl.up
			p := retryPrediction(pass, u, l)
			if !p.Resend {
				continue
			}
			// When only the free retry of a failed cached connection makes
			// a second attempt, the finding rests on a reused connection:
			// none where the keepalive model says this location reuses
			// none (NGX2002 says so in the same run).
			if !p.Unbounded && p.Attempts-p.CachedExtra <= 1 && !reusesConnections(pass, u, l) {
				continue
			}
			at := l.Proxy.Pass.Directive
			if d := l.Proxy.NextUpstream; d != nil && hasValue(l.Proxy.NextUpstreamValues, "non_idempotent") {
				at = d
			}
			sev := analyzer.Warning
			if !pass.Profile.HasNginx() && !hasValue(retry.NextUpstreamMask(l), "non_idempotent") {
				sev = analyzer.Info // only on nginx < 1.9.13, version unknown
			}
			d := &analyzer.Diagnostic{Pos: at.Pos, End: at.End, Severity: sev,
				Message: fmt.Sprintf("a POST/PATCH/LOCK to upstream %q can reach a backend twice%s", u.Name, p.ResendWhen),
				Details: joinDetails(capitalise(p.ResendWhy))}

			if at.Name == "proxy_next_upstream" && len(at.Args) > 1 {
				for i, a := range at.Args {
					if a.Value == "non_idempotent" && i > 0 {
						// Drop the word and the space before it.
						d.Fixes = append(d.Fixes, analyzer.SuggestedFix{Message: "stop passing non-idempotent requests to the next server",
							Edits: []analyzer.TextEdit{{Pos: at.Args[i-1].End(), End: a.End()}}})
					}
				}
			}
			requests, policy, idx := "POST /", "close", 0
			if p.Attempts-p.CachedExtra <= 1 {
				// The resend comes from a stale pooled connection: warm the
				// pool with a GET, then POST on the reused connection.
				requests, policy, idx = "GET /, POST /", "first-only", 1
			}
			d.Confirm = scenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: l}, profile: pass.Profile, policy: policy,
				requests: requests, maxAttempts: 50,
				judge: func(r *emulator.Result) (bool, string) {
					q := r.Requests[idx]
					return q.UpstreamRequests >= 2, fmt.Sprintf("the backends read the same POST %s (%s)", plural(q.UpstreamRequests, "time"), plural(len(q.Attempts), "attempt"))
				}}.confirmer()
			pass.Report(d)
		}
		return nil
	},
}

// reusesConnections reports whether requests of l to u can go out on a
// reused upstream connection, by the keepalive-effectiveness model that
// NGX2002 reports on (rules/retry): l speaks HTTP/1.1 without
// "Connection: close", and a pool serves u, nginx's keepalive (not lost to
// a later balancing method) or the balancer's enable_keepalive().
func reusesConnections(pass *analyzer.Pass, u *nginxconf.Upstream, l *nginxconf.Location) bool {
	p := pass.Profile
	if !retry.KeepsConnections(l, p) {
		return false
	}
	if nginxPooled(u, p) {
		return true
	}
	_, bf := balancerFacts(pass, u)
	return bf != nil && len(bf.EnableKeepalive) > 0
}
