package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
)

// RetryAmplification flags locations where one client request can cost
// many upstream attempts.
var RetryAmplification = &analyzer.Rule{
	ID:       "NGX2101",
	Slug:     "retry-amplification",
	Severity: analyzer.Warning,
	Settings: []analyzer.Setting{{Name: retryThresholdSetting, Default: "3", Check: analyzer.PositiveInt,
		Doc: "report locations whose worst-case attempts on fresh connections exceed this many"}},
	Doc: analyzer.Doc{
		Title: "one client request can cost many upstream attempts",
		Text: `With the default proxy_next_upstream ("error timeout") nginx tries every server of the upstream
(primaries, then backups) before giving up, and proxy_next_upstream_tries / _timeout are unset (0 =
unlimited) by default. When an outage makes every backend slow or failing, each client request
multiplies into one attempt per server, each waiting out proxy_connect_timeout / proxy_read_timeout:
a retry storm that deepens the outage and holds client connections for minutes. The rule reports
locations whose worst-case attempts on fresh connections exceed the threshold (setting
"retry-threshold", default 3) with neither proxy_next_upstream_tries nor proxy_next_upstream_timeout
set. Free retries on stale keepalive connections are counted separately in the message. Unbounded
loops have their own rules (NGX2001 lua-balancer-keepalive-loop, NGX2003 set-more-tries-unbounded).
"ngxlint explain-retries" prints the model for every location.

A stream server proxying to an upstream without a Lua balancer is judged the same way, for the sessions
whose connects fail (stream retries nothing else): refused or unreachable servers each cost a connect
attempt, up to proxy_connect_timeout each.`,
		Bad: `http {
    upstream app {
        server 10.0.0.1:8080;
        server 10.0.0.2:8080;
        server 10.0.0.3:8080;
        server 10.0.0.4:8080;
        server 10.0.0.5:8080 backup;
    }
    server {
        listen 80;
        location / { proxy_pass http://app; }
    }
}
`,
		Good: `http {
    upstream app {
        server 10.0.0.1:8080;
        server 10.0.0.2:8080;
        server 10.0.0.3:8080;
        server 10.0.0.4:8080;
        server 10.0.0.5:8080 backup;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://app;
            proxy_next_upstream_tries 2;
        }
    }
}
`,
		Versions:     "nginx=1.22.1",
		Since:        "0.1.0",
		References:   []string{"https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_next_upstream_tries", "nginx ngx_http_upstream_init_request (the tries cap)"},
		Confirmation: `Every peer reads the request and closes ("close"); one GET. Confirmed when the emulator made exactly the predicted number of attempts. hash, ip_hash, least_conn and random upstreams run their own peer choice in the emulator (each falls back to round robin as nginx's does), so they are confirmed the same way. Stream: every peer refuses connections ("refused"); one session; confirmed on the predicted number of attempts.`,
	},
	Run: func(pass *analyzer.Pass) error {
		threshold := retryThreshold(pass)
		runRetryAmplificationStream(pass, threshold)
		for _, pl := range passProxiedLocations(pass) {
			l, u := pl.loc, pl.up
			if l.Proxy.NextUpstreamTries != nil || l.Proxy.NextUpstreamTimeout != nil {
				continue
			}
			p := retryPrediction(pass, u, l)
			fresh := p.Attempts - p.CachedExtra
			if p.Unbounded || fresh <= threshold {
				continue
			}
			extra := ""
			if p.CachedExtra > 0 {
				extra = fmt.Sprintf(" (plus up to %d free retries on stale keepalive connections)", p.CachedExtra)
			}
			pp := l.Proxy.Pass.Directive
			d := &analyzer.Diagnostic{Pos: pp.Pos, End: pp.End,
				Message: fmt.Sprintf("up to %d upstream attempts per client request while upstream %q fails, and nothing bounds them", fresh, u.Name),
				Details: fmt.Sprintf("%d attempts%s are more than the %s setting (%d); add proxy_next_upstream_tries %d, or proxy_next_upstream_timeout.",
					fresh, extra, retryThresholdSetting, threshold, min(2, fresh)),

				Related: []analyzer.Related{{Pos: u.Directive.Pos, Message: fmt.Sprintf("upstream %q: %s", u.Name, strings.Join(p.Steps[:1], ""))}}}
			at := lineEnd(pp)
			d.Fixes = append(d.Fixes, analyzer.SuggestedFix{Message: "bound the retries",
				Edits: []analyzer.TextEdit{{Pos: at, End: at, NewText: lineIndent(pp) + "proxy_next_upstream_tries 2;\n"}}})
			d.Confirm = scenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: l}, profile: pass.Profile, policy: "close",
				requests: "GET /", maxAttempts: hotLoopCap, judge: attemptsJudge(p, 0)}.confirmer()
			pass.Report(d)
		}
		return nil
	},
}
