package rules

import (
	"strconv"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules/retry"
	"github.com/ngxlint/ngxlint/versions"
)

// bugNGXReinitBadResp: ngx_http_upstream_connect reinitialised the request
// for a retry only when request_sent was set; a response read before the
// request was written left its state behind (d7a249470, 1.29.5; backported
// to 1.28.2 as 6df8054cb).
var bugNGXReinitBadResp = verBug{
	kid:     "NGX-REINIT-BAD-RESP",
	affects: "nginx < 1.28.2 and 1.29.0-1.29.4 (every OpenResty <= 1.29.2.5)",
	fixed:   "nginx 1.29.5 (d7a249470) and 1.28.2 (6df8054cb), OpenResty 1.29.8.1rc1",
	exposure: func(p versions.Profile) exposure {
		if !p.HasNginx() {
			return versionUnknown
		}
		n := p.Nginx
		if n.AtLeast("1.29.5") || (n.AtLeast("1.28.2") && n.Less("1.29.0")) {
			return notExposed
		}
		return exposed
	},
}

// VerNGXReinitBadResp is NGX-REINIT-BAD-RESP.
var VerNGXReinitBadResp = &analyzer.Rule{
	ID:       "VER1022",
	Slug:     "ngx-reinit-bad-resp",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "a retry after an early bad response reuses the old response state (NGX-REINIT-BAD-RESP)",
		Text: `When a backend sends a response before nginx has finished writing the request (the read event comes
before the write event) and proxy_next_upstream makes nginx retry on that response (invalid_header or an
http_xxx status), ngx_http_upstream_connect did not reinitialise the request, because it checked only
u->request_sent. The old response's state leaks into the retry: its status is ignored, headers are
duplicated, and with grpc_pass or proxy HTTP/2 it is a use-after-free. nginx 1.29.5 (d7a249470) also
checks response_received; backported to 1.28.2 (6df8054cb). None of OpenResty's 1.29.2 patches touch
it, so every OpenResty up to 1.29.2.5 is affected.

Reported at proxy_next_upstream when it retries on a bad response (invalid_header or a status) and
the upstream allows more than one try.`,
		Bad: `http {
    upstream app {
        server 127.0.0.1:8080;
        server 127.0.0.1:8081;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://app;
            proxy_next_upstream error timeout invalid_header;
        }
    }
}
`,
		Versions:     "bad: openresty=1.29.2.5; good: openresty=1.29.8.1rc1",
		Affected:     "nginx < 1.28.2 and 1.29.0-1.29.4; every OpenResty up to 1.29.2.5",
		Fixed:        "nginx 1.29.5 (d7a249470), 1.28.2 (6df8054cb); OpenResty 1.29.8.1rc1",
		Since:        "0.1.0",
		References:   []string{"docs/knowledge.md: NGX-REINIT-BAD-RESP", "nginx d7a249470 (1.29.5)", "nginx 6df8054cb (1.28.2)"},
		Confirmation: "not confirmable: the emulated backends never answer before the request is written, and the emulator does not model response_received or the reinit of a partly read response.",
	},
	Run: func(pass *analyzer.Pass) error {
		p := pass.Profile
		e := bugNGXReinitBadResp.gate(p)
		if e == notExposed {
			return nil
		}
		seen := map[*nginxconf.Directive]bool{}
		// One message per upstream and retried status, in one
		// allocation each: a fleet configuration repeats the same
		// proxy_next_upstream in thousands of locations.
		suf, story := bugNGXReinitBadResp.frame(p, e)
		details := joinDetails("A backend that answers before the request is fully written leaves its response's state in the retry: the status is ignored and headers are duplicated", story)

		type msgKey struct {
			u   *nginxconf.Upstream
			bad string
		}
		msgs := map[msgKey]string{}
		for _, u := range httpUpstreams(pass.Model) {
			if !moreThanOneTry(pass, u) {
				continue
			}
			for _, l := range locationsUsing(pass.Model, u) {
				nu := l.Proxy.NextUpstream
				if nu == nil || seen[nu] {
					continue
				}
				bad := "" // the first response-based condition retried on
				for _, v := range retry.NextUpstreamMask(l) {
					if v == "invalid_header" || len(v) > 5 && v[:5] == "http_" {
						bad = v
						break
					}
				}
				if bad == "" {
					continue
				}
				seen[nu] = true
				d := &analyzer.Diagnostic{Pos: nu.Pos, End: nu.End, Related: proxiedFrom([]*nginxconf.Location{l})}
				k := msgKey{u, bad}
				if _, ok := msgs[k]; !ok {
					msgs[k] = "retrying on " + bad + " to upstream " + strconv.Quote(u.Name) + " can corrupt the response" + suf
				}
				bugNGXReinitBadResp.reportMessage(pass, e, d, msgs[k], details)

			}
		}
		return nil
	},
}
