package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
)

// bugNGXKAOnByDefault: nginx 1.29.7 turns upstream keepalive on by default
// (32 connections, local mode; 4fbe4b627), makes proxy_http_version 1.1
// the default without "Connection: close" (6bb27a631), and wraps peer.init
// in init_main_conf so directive order no longer matters (c5d36eac3).
var bugNGXKAOnByDefault = verBug{
	kid:      "NGX-KA-ON-BY-DEFAULT",
	affects:  "nginx < 1.29.7 (OpenResty <= 1.29.2.5), upgrading to >= 1.29.7",
	exposure: nginxRange("", "1.29.7"),
	changeAt: "1.29.7",
	example:  "openresty=1.29.2.3",
}

// VerNGXKAOnByDefault is NGX-KA-ON-BY-DEFAULT.
var VerNGXKAOnByDefault = &analyzer.Rule{
	ID:       "VER1024",
	Slug:     "ngx-ka-on-by-default",
	Severity: analyzer.Info,
	Doc: analyzer.Doc{
		Title: "behaviour change at nginx 1.29.7: upstream keepalive is on by default (NGX-KA-ON-BY-DEFAULT)",
		Text: `nginx 1.29.7 (OpenResty 1.29.8.1rc1, 1.31.1.1) keeps upstream connections by default: every explicit
upstream{} block gets keepalive 32 in "local" mode (4fbe4b627), proxy_http_version defaults to 1.1 and
"Connection: close" is no longer sent (6bb27a631), and the keepalive module wraps peer.init after all
balancing methods, so directive order stops mattering (c5d36eac3). "keepalive 0;" turns it off.

For an upstream without a keepalive directive this changes what backends see (persistent connections,
HTTP/1.1), and it exposes the upstream to the failure modes of pooled connections: stale connections,
and on OpenResty with balancer_by_lua the 502 of or-notify-stale-502. Reported (info) on nginx < 1.29.7
at each upstream block without keepalive that a location proxies to.`,
		Bad: `http {
    upstream app {
        server 127.0.0.1:8080;
    }
    server {
        listen 80;
        location / { proxy_pass http://app; }
    }
}
`,
		Good: `http {
    upstream app {
        server 127.0.0.1:8080;
        keepalive 0;
    }
    server {
        listen 80;
        location / { proxy_pass http://app; }
    }
}
`,
		Versions:     "nginx=1.22.1",
		Affected:     "configurations moving from nginx < 1.29.7 (OpenResty <= 1.29.2.5) to >= 1.29.7 (OpenResty 1.29.8.1rc1, 1.31.1.1)",
		Fixed:        "behaviour change in nginx 1.29.7 (4fbe4b627, c5d36eac3, 6bb27a631)",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: NGX-KA-ON-BY-DEFAULT", "nginx 1.29.7 CHANGES (4fbe4b627, c5d36eac3, 6bb27a631)", "rule VER1011 or-notify-stale-502"},
		Confirmation: `Every peer answers 200 keep-alive ("ok"); three GETs. Confirmed when they open three upstream connections on the declared nginx (OpenResty 1.29.2.3 when unknown) and reuse one on nginx 1.29.7.`,
	},
	Run: func(pass *analyzer.Pass) error {
		p := pass.Profile
		e := bugNGXKAOnByDefault.gate(p)
		if e == notExposed {
			return nil
		}
		for _, u := range httpUpstreams(pass.Model) {
			if u.Keepalive != nil {
				continue
			}
			ls := locationsUsing(pass.Model, u)
			if len(ls) == 0 {
				continue
			}
			d := &analyzer.Diagnostic{Pos: u.Directive.Pos, End: u.Directive.Pos, Related: proxiedFrom(ls)}
			d.Confirm = verScenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: ls[0]},
				profile: bugNGXKAOnByDefault.confirmProfile(p, e), policy: "ok", requests: "GET /1, GET /2, GET /3",
				judge: noReuse, twinProfile: twinNginx("1.29.7")}
			why := "With no keepalive directive nginx opens a connection per request before 1.29.7, and keeps up to 32 idle kept-alive ones per worker over HTTP/1.1 from 1.29.7"
			if u.Balancer != nil {
				why += " (with balancer_by_lua on OpenResty: exposed to or-notify-stale-502)"
			}
			bugNGXKAOnByDefault.report(pass, e, d, fmt.Sprintf("from nginx 1.29.7, upstream %q keeps connections alive (no keepalive directive)", u.Name),
				joinDetails(why, "Writing keepalive 0 keeps today's behaviour"))

		}
		return nil
	},
}
