package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
)

// bugNGXKAExtraData: in the non-buffered proxy path nginx cached the
// connection even when the backend sent more bytes than the response
// length; 2a88047ac (1.21.4) restored the check an earlier change missed.
var bugNGXKAExtraData = verBug{
	kid:      "NGX-KA-EXTRA-DATA",
	affects:  "nginx <= 1.21.3 (OpenResty <= 1.19.9.2; first bad version not pinned)",
	fixed:    "nginx 1.21.4 (2a88047ac), OpenResty 1.21.4.1",
	exposure: nginxRange("", "1.21.4"),
}

// VerNGXKAExtraData is NGX-KA-EXTRA-DATA.
var VerNGXKAExtraData = &analyzer.Rule{
	ID:       "VER1021",
	Slug:     "ngx-ka-extra-data",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "proxy_buffering off keeps connections that carried extra data (NGX-KA-EXTRA-DATA)",
		Text: `With proxy_buffering off, nginx before 1.21.4 put an upstream connection back into the keepalive
cache even when the backend had sent more bytes than the response's Content-Length. The extra bytes
then arrive as the "response" to the next request sent on that connection, which gets a wrong or broken
answer. nginx 1.21.4 (2a88047ac) closes such connections; the commit notes the check was missed by an
earlier change, so the first affected version is not pinned.

Reported at proxy_buffering off in locations whose upstream keeps connections.`,
		Bad: `http {
    upstream app {
        server 127.0.0.1:8080;
        keepalive 16;
    }
    server {
        listen 80;
        location /stream/ {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
`,
		Versions:     "bad: openresty=1.19.9.2; good: openresty=1.21.4.1",
		Affected:     "nginx <= 1.21.3 (OpenResty <= 1.19.9.2); first bad version not pinned",
		Fixed:        "nginx 1.21.4 (2a88047ac), OpenResty 1.21.4.1",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: NGX-KA-EXTRA-DATA", "nginx 2a88047ac (1.21.4)"},
		Confirmation: "not confirmable: no emulated backend sends bytes beyond the response's length, and the emulator does not model proxy_buffering.",
	},
	Run: func(pass *analyzer.Pass) error {
		p := pass.Profile
		e := bugNGXKAExtraData.gate(p)
		if e == notExposed {
			return nil
		}
		seen := map[any]bool{}
		for _, u := range httpUpstreams(pass.Model) {
			if !nginxPooled(u, p) {
				continue
			}
			for _, l := range pooledLocations(pass.Model, u, p) {
				b := l.Proxy.Buffering
				if b == nil || b.Arg(0) != "off" || seen[b] {
					continue
				}
				seen[b] = true
				kp, ke := keepalivePlace(u)
				d := &analyzer.Diagnostic{Pos: b.Pos, End: b.End,
					Related: []analyzer.Related{{Pos: kp, End: ke, Message: "connections pooled here"}}}
				bugNGXKAExtraData.report(pass, e, d, fmt.Sprintf("upstream %q: with proxy_buffering off, extra bytes from a backend become the next response", u.Name),
					"With proxy_buffering off, a connection on which the backend sent more than the response's length is still kept alive: the extra bytes become the next request's response")

			}
		}
		return nil
	},
}
