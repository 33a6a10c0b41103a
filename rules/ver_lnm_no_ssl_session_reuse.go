package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
)

// bugLNMNoSSLSessionReuse: the Lua balancer's set_session/save_session are
// still "/* TODO */" on master.
var bugLNMNoSSLSessionReuse = verBug{
	kid:      "LNM-NO-SSL-SESSION-REUSE",
	affects:  "lua-nginx-module >= 0.10.1 (OpenResty >= 1.9.7.4)",
	exposure: lnmRange("0.10.1", ""),
}

// VerLNMNoSSLSessionReuse is LNM-NO-SSL-SESSION-REUSE.
var VerLNMNoSSLSessionReuse = &analyzer.Rule{
	ID:       "VER1002",
	Slug:     "lnm-no-ssl-session-reuse",
	Severity: analyzer.Info,
	Doc: analyzer.Doc{
		Title: "balancer_by_lua peers never reuse TLS sessions (LNM-NO-SSL-SESSION-REUSE)",
		Text: `Since v0.10.1 (which fixed LNM-SSL-CRASH by giving the Lua balancer its own SSL session hooks)
ngx_http_lua_balancer_set_session and save_session are empty ("/* TODO */"), still on master. Every new
HTTPS connection to a peer chosen by balancer_by_lua does a full TLS handshake; proxy_ssl_session_reuse
has no effect for these peers (lua-resty-core issue #67). Upstream keepalive (keepalive N, or
enable_keepalive() from 0.10.27) avoids most handshakes. Informational: no release fixes it.`,
		Bad: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            assert(b.set_current_peer("10.0.0.5", 443))
        }
    }
    server {
        listen 80;
        location / { proxy_pass https://backend; }
    }
}
`,
		Good: `http {
    upstream backend {
        server 10.0.0.5:443;
    }
    server {
        listen 80;
        location / { proxy_pass https://backend; }
    }
}
`,
		Versions:     "openresty=1.21.4.1",
		Affected:     "lua-nginx-module >= 0.10.1 (OpenResty >= 1.9.7.4), every release so far",
		Fixed:        "not fixed",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: LNM-NO-SSL-SESSION-REUSE", "lua-nginx-module src/ngx_http_lua_balancer.c ngx_http_lua_balancer_set_session (master)", "https://github.com/openresty/lua-resty-core/issues/67"},
		Confirmation: "not confirmable: TLS handshakes and session caching are not modelled by the emulator.",
	},
	Run: func(pass *analyzer.Pass) error {
		e := bugLNMNoSSLSessionReuse.gate(pass.Profile)
		if e == notExposed {
			return nil
		}
		for _, u := range httpUpstreams(pass.Model) {
			if u.Balancer == nil {
				continue
			}
			for _, l := range locationsUsing(pass.Model, u) {
				if l.Proxy.Pass.Scheme != "https" {
					continue
				}
				if r := l.Effective("proxy_ssl_session_reuse"); r != nil && r.Arg(0) == "off" {
					continue // sessions are not wanted anyway
				}
				pp := l.Proxy.Pass.Directive
				d := &analyzer.Diagnostic{Pos: pp.Pos, End: pp.End,
					Related: []analyzer.Related{{Pos: u.Balancer.Pos, End: u.Balancer.End, Message: "balancer_by_lua defined here"}}}
				bugLNMNoSSLSessionReuse.report(pass, e, d, fmt.Sprintf("every new TLS connection to upstream %q does a full handshake", u.Name),
					"With balancer_by_lua choosing the peers, proxy_ssl_session_reuse has no effect; keep connections alive")

			}
		}
		return nil
	},
}
