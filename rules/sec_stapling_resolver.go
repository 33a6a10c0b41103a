package rules

import (
	"net"
	"net/url"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
)

// StaplingWithoutResolver flags OCSP stapling with no resolver to look the
// responder up again.
var StaplingWithoutResolver = &analyzer.Rule{
	ID:       "SEC1020",
	Slug:     "ssl-stapling-without-resolver",
	Severity: analyzer.Info,
	Doc: analyzer.Doc{
		Title: "ssl_stapling on without a resolver",
		Text: `With ssl_stapling on, nginx fetches OCSP responses from the responder named in the certificate.
It resolves that host once while reading the configuration (ngx_ssl_stapling_responder) and, without a
resolver, keeps using those addresses, logging "no resolver defined to resolve" on every refresh
(ngx_ssl_ocsp_request); if the name did not resolve at start, stapling is off. CAs move their responders
behind CDNs, so the start-time address goes stale and the staple with it; clients then fall back to their
own OCSP checks, or fail hard with Must-Staple certificates.

Reported at info for a server with ssl_stapling on and no resolver in effect, unless ssl_stapling_file
supplies the response or ssl_stapling_responder names an IP address.`,
		Bad: `http {
    server {
        listen 443 ssl;
        ssl_certificate /etc/ssl/site.crt;
        ssl_certificate_key /etc/ssl/site.key;
        ssl_stapling on;
        ssl_stapling_verify on;
    }
}
`,
		Good: `http {
    resolver 127.0.0.53;
    server {
        listen 443 ssl;
        ssl_certificate /etc/ssl/site.crt;
        ssl_certificate_key /etc/ssl/site.key;
        ssl_stapling on;
        ssl_stapling_verify on;
    }
}
`,
		Since: "0.3.0",
		References: []string{"https://nginx.org/en/docs/http/ngx_http_ssl_module.html#ssl_stapling",
			"nginx src/event/ngx_event_openssl_stapling.c ngx_ssl_stapling_responder, ngx_ssl_ocsp_request", "Gixy-Next ssl_stapling_without_resolver"},
		Confirmation: "not confirmable: stapling fetches the OCSP response from the certificate's responder, off loopback, which the real engine turns off (and the emulator does not model TLS).",
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		for _, l := range secLevelsOf(pass).all {
			if l.kind != "server" {
				continue
			}
			st, ok := l.effective("ssl_stapling")
			if !ok || st.arg(0) != "on" {
				continue
			}
			if _, ok := l.effective("resolver"); ok {
				continue
			}
			if _, ok := l.effective("ssl_stapling_file"); ok {
				continue
			}
			if r, ok := l.effective("ssl_stapling_responder"); ok && responderIsIP(r.arg(0)) {
				continue
			}
			pass.Report(&analyzer.Diagnostic{Pos: st.d.Pos, End: st.d.End,
				Message: "ssl_stapling on in " + l.describe() + " has no resolver: the OCSP responder's address is fixed at start and goes stale",
				Details: "nginx resolved the responder when it read the configuration and, without a resolver, never again (it logs \"no resolver defined to resolve\"). Add a resolver to the server or http block."})
		}
		return nil
	},
}

func responderIsIP(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	return net.ParseIP(strings.Trim(u.Hostname(), "[]")) != nil
}
