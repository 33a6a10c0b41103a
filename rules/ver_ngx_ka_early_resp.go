package rules

import (
	"fmt"

	"github.com/ngxlint/ngxlint/analyzer"
)

// bugNGXKAEarlyResp: the keepalive module cached a connection whose
// request body had not been fully sent until fda7d021c (1.9.10, ticket
// #669) added the request_body_sent check.
var bugNGXKAEarlyResp = verBug{
	kid:      "NGX-KA-EARLY-RESP",
	affects:  "nginx 1.1.4-1.9.9 (OpenResty <= 1.9.7.5)",
	fixed:    "nginx 1.9.10 (fda7d021c, ticket #669), OpenResty 1.9.15.1",
	exposure: nginxRange("1.1.4", "1.9.10"),
}

// VerNGXKAEarlyResp is NGX-KA-EARLY-RESP.
var VerNGXKAEarlyResp = &analyzer.Rule{
	ID:       "VER1018",
	Slug:     "ngx-ka-early-resp",
	Severity: analyzer.Info,
	Doc: analyzer.Doc{
		Title: "a connection answered before the request body was sent is kept alive (NGX-KA-EARLY-RESP)",
		Text: `When a backend answers before it has read the whole request body (a 401, 403 or 413 on an upload),
nginx up to 1.9.9 still put the connection into the keepalive cache. The unsent rest of the body is
then read by the backend as the start of the next request on that connection, which fails or, worse,
is misinterpreted. nginx 1.9.10 (fda7d021c, ticket #669) caches a connection only when
u->request_body_sent is set.

Reported (info: it needs a backend that answers early) at keepalive for upstreams whose connections are
reused.`,
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
		Versions:     "bad: nginx=1.9.7; good: nginx=1.9.10",
		Affected:     "nginx 1.1.4-1.9.9 (OpenResty <= 1.9.7.5)",
		Fixed:        "nginx 1.9.10 (fda7d021c, ticket #669), OpenResty 1.9.15.1",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: NGX-KA-EARLY-RESP", "nginx fda7d021c", "https://trac.nginx.org/nginx/ticket/669"},
		Confirmation: "not confirmable: the emulated backends always read the whole request body before answering; no backend policy answers early.",
	},
	Run: func(pass *analyzer.Pass) error {
		p := pass.Profile
		e := bugNGXKAEarlyResp.gate(p)
		if e == notExposed {
			return nil
		}
		for _, u := range httpUpstreams(pass.Model) {
			if !nginxPooled(u, p) {
				continue
			}
			ls := pooledLocations(pass.Model, u, p)
			if len(ls) == 0 {
				continue
			}
			kp, ke := keepalivePlace(u)
			d := &analyzer.Diagnostic{Pos: kp, End: ke, Related: proxiedFrom(ls)}
			bugNGXKAEarlyResp.report(pass, e, d, fmt.Sprintf("upstream %q: a backend's early response leaves the unsent body to be read as the next request", u.Name),
				"A connection on which the backend answered before reading the whole request body is still kept alive: the unsent body is read as the next request on it")

		}
		return nil
	},
}
