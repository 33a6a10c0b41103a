package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
)

// bugNGXKADefaults: nginx 1.15.3 gave cached upstream connections an idle
// timeout (keepalive_timeout 60s, 7de808990) and a request cap
// (keepalive_requests 100, d817ceae7); 1.19.10 added keepalive_time 1h
// (d9996d6f2) and raised the cap to 1000 (eb52de831).
var bugNGXKADefaults = verBug{
	kid:      "NGX-KA-DEFAULTS",
	affects:  "nginx <= 1.15.2 (OpenResty <= 1.13.6.2), upgrading to >= 1.15.3",
	exposure: nginxRange("", "1.15.3"),
	changeAt: "1.15.3",
	example:  "nginx=1.13.6",
}

// kaDefaultsRequests is one more than keepalive_requests' default at
// 1.15.3, so the new cap shows as a second connection.
const kaDefaultsRequests = 101

// VerNGXKADefaults is NGX-KA-DEFAULTS.
var VerNGXKADefaults = &analyzer.Rule{
	ID:       "VER1023",
	Slug:     "ngx-ka-defaults",
	Severity: analyzer.Info,
	Doc: analyzer.Doc{
		Title: "behaviour change at nginx 1.15.3: cached upstream connections get an idle timeout and a request cap (NGX-KA-DEFAULTS)",
		Text: `Before nginx 1.15.3 a connection in the upstream keepalive cache had no idle timeout and served any
number of requests. 1.15.3 added keepalive_timeout (60s, 7de808990) and keepalive_requests (100,
d817ceae7); 1.19.10 added keepalive_time (1h, d9996d6f2) and raised keepalive_requests to 1000
(eb52de831). After an upgrade nginx closes idle connections after 60s (backends that expect long-lived
connections see more handshakes) and after 100 requests.

Reported (info) on nginx < 1.15.3 at keepalive for upstreams whose connections are reused.`,
		Bad: `http {
    upstream app {
        server 127.0.0.1:8080;
        keepalive 16;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`,
		Versions:     "bad: nginx=1.13.6; good: nginx=1.15.3",
		Affected:     "configurations moving from nginx <= 1.15.2 (OpenResty <= 1.13.6.2) to >= 1.15.3",
		Fixed:        "behaviour change in nginx 1.15.3 (7de808990, d817ceae7) and 1.19.10 (d9996d6f2, eb52de831)",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: NGX-KA-DEFAULTS", "nginx 7de808990, d817ceae7 (1.15.3)", "nginx d9996d6f2, eb52de831 (1.19.10)"},
		Confirmation: `Every peer answers 200 keep-alive ("ok"); 101 GETs. Confirmed when one upstream connection serves all of them on the declared nginx (1.13.6 when unknown) and nginx 1.15.3 opens a second one after 100 requests (keepalive_requests). The 60s idle timeout is not exercised (the emulator does not advance time).`,
	},
	Run: func(pass *analyzer.Pass) error {
		p := pass.Profile
		e := bugNGXKADefaults.gate(p)
		if e == notExposed {
			return nil
		}
		reqs := strings.TrimSuffix(strings.Repeat("GET /, ", kaDefaultsRequests), ", ")
		for _, u := range httpUpstreams(pass.Model) {
			if u.Keepalive == nil || !nginxPooled(u, p) || u.KeepaliveRequests != nil || u.KeepaliveTimeout != nil {
				continue
			}
			ls := pooledLocations(pass.Model, u, p)
			if len(ls) == 0 {
				continue
			}
			d := &analyzer.Diagnostic{Pos: u.Keepalive.Pos, End: u.Keepalive.End, Related: proxiedFrom(ls)}
			d.Confirm = verScenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: ls[0]},
				profile: bugNGXKADefaults.confirmProfile(p, e), policy: "ok", requests: reqs,
				judge: func(r *emulator.Result) (bool, string) {
					conns := 0
					for _, q := range r.Requests {
						conns += q.UpstreamConnections
					}
					s := fmt.Sprintf("%d requests used %s", len(r.Requests), plural(conns, "upstream connection"))
					return conns == 1, s
				},
				twinProfile: twinNginx("1.15.3"),
			}
			bugNGXKADefaults.report(pass, e, d, fmt.Sprintf("from nginx 1.15.3, cached connections of upstream %q expire (60s idle, 100 requests)", u.Name),
				"Before nginx 1.15.3 cached connections never expire; from 1.15.3 they are closed after 60s idle (keepalive_timeout) and after 100 requests (keepalive_requests; 1000 and keepalive_time 1h from 1.19.10)")

		}
		return nil
	},
}
