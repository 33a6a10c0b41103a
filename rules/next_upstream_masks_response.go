package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
)

// NextUpstreamMasksResponse flags http_xxx retry conditions that, on nginx
// <= 1.13.10, replace the upstream's response with nginx's own error page
// when no retry is allowed.
var NextUpstreamMasksResponse = &analyzer.Rule{
	ID:       "NGX2105",
	Slug:     "next-upstream-masks-response",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "http_5xx/http_4xx in proxy_next_upstream hides the upstream's response (nginx <= 1.13.10)",
		Text: `Up to nginx 1.13.10, ngx_http_upstream_test_next decided to "retry" a matching status (http_500,
http_502, http_503, http_504, http_403, http_404, http_429) looking only at tries and the mask; then
ngx_http_upstream_next refused the retry (a POST without non_idempotent, an unbuffered request body
already sent while it was still arriving, or proxy_next_upstream_timeout elapsed) and finalized with nginx's own error page: the
upstream's body is lost, and before 1.13.7 a 503 or 504 even becomes 502. nginx 1.13.11 (d90a75b7c)
runs the same checks in test_next and passes the upstream's response through.`,
		Bad: `http {
    upstream app {
        server 10.0.0.1:8080;
        server 10.0.0.2:8080;
    }
    server {
        listen 80;
        location /api {
            proxy_pass http://app;
            proxy_next_upstream error timeout http_503;
        }
    }
}
`,
		Versions:     "bad: nginx=1.11.2; good: nginx=1.13.11",
		Affected:     "nginx <= 1.13.10 (the non_idempotent part since 1.9.13); OpenResty <= 1.13.6.2",
		Fixed:        "nginx 1.13.11 (d90a75b7c)",
		Since:        "0.1.0",
		References:   []string{"nginx 1.13.11 CHANGES (d90a75b7c)", "docs/knowledge.md: NGX-TEST-NEXT"},
		Confirmation: `Every peer answers the status from the mask (e.g. "status:503"); one POST. Confirmed when the client's answer is nginx's own (the last attempt ended in test_next) rather than the upstream's response.`,
	},
	Run: func(pass *analyzer.Pass) error {
		prof := pass.Profile
		if prof.HasNginx() && prof.Nginx.AtLeast("1.13.11") {
			return nil
		}
		for _, pl := range passProxiedLocations(pass) {
			l, u := pl.loc, pl.up
			d := l.Proxy.NextUpstream
			if d == nil {
				continue
			}
			status := ""
			for _, v := range l.Proxy.NextUpstreamValues {
				if strings.HasPrefix(v, "http_") {
					status = strings.TrimPrefix(v, "http_")
					break
				}
			}
			if status == "" {
				continue
			}
			p := retryPrediction(pass, u, l)
			if p.InitialTries < 2 {
				continue // test_next only acts while tries > 1
			}
			var triggers []string
			if !hasValue(l.Proxy.NextUpstreamValues, "non_idempotent") && (!prof.HasNginx() || prof.Nginx.AtLeast("1.9.13")) {
				triggers = append(triggers, "a POST/PATCH/LOCK")
			}
			if rb := l.Proxy.RequestBuffering; rb != nil && rb.Arg(0) == "off" {
				// Only a body still arriving when the upstream is contacted
				// keeps r->request_body_no_buffering set; one that came
				// with the header is pre-read and retried as buffered
				// (ngx_http_read_client_request_body).
				triggers = append(triggers, "an unbuffered request body still arriving when the upstream is contacted")
			}
			if l.Proxy.NextUpstreamTimeout != nil {
				triggers = append(triggers, "proxy_next_upstream_timeout running out")
			}
			if len(triggers) == 0 {
				continue
			}
			sev, when := analyzer.Warning, "on nginx "+prof.Nginx.String()
			if !prof.HasNginx() {
				sev, when = analyzer.Info, "on nginx <= 1.13.10"
			}
			diag := &analyzer.Diagnostic{Pos: d.Pos, End: d.End, Severity: sev,
				Message: fmt.Sprintf("%s, a %s from upstream %q can reach the client as nginx's own error page", when, status, u.Name),
				Details: fmt.Sprintf("When the upstream answers %s and the retry is refused (%s), the client gets nginx's own error page instead of the upstream's response; fixed in nginx 1.13.11.", status, strings.Join(triggers, ", "))}

			method := "POST /"
			if !strings.Contains(triggers[0], "POST") {
				method = "GET /"
			}
			if strings.HasPrefix(triggers[0], "an unbuffered request body") {
				// The emulated client sends its small body with the
				// header, which nginx reads before proxying; the emulator
				// then retries as nginx does (issue 20), so it cannot show
				// this trigger.
				diag.Confirmation = analyzer.Confirmation{Status: analyzer.NotConfirmable,
					Reason: "the trigger is a request body still arriving when the upstream is contacted, and the emulated client sends its body with the header (which nginx reads before proxying and then retries as if buffered)"}
				pass.Report(diag)
				continue
			}
			if strings.HasPrefix(triggers[0], "proxy_next_upstream_timeout") {
				// Needs a backend slower than the timeout that then answers
				// with the status: no backend policy does that.
				diag.Confirmation = analyzer.Confirmation{Status: analyzer.NotConfirmable,
					Reason: "only the proxy_next_upstream_timeout trigger applies, and no emulated backend answers late with a status"}
				pass.Report(diag)
				continue
			}
			diag.Confirm = scenario{env: envOf(pass), target: fromconf.Target{Upstream: u, Location: l}, profile: prof, policy: "status:" + status,
				requests: method, maxAttempts: 50,
				judge: func(r *emulator.Result) (bool, string) {
					q := r.Requests[0]
					if len(q.Attempts) == 0 {
						return false, r.Summary()
					}
					last := q.Attempts[len(q.Attempts)-1]
					masked := last.Outcome == emulator.OutcomeNextStatus
					s := fmt.Sprintf("the upstream answered %s; the client got %s from %s", status, q.Status, map[bool]string{true: "nginx's own error page", false: "the upstream"}[masked])
					return masked, s
				}}.confirmer()
			pass.Report(diag)
		}
		return nil
	},
}
