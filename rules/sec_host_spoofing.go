package rules

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// spoofHost is the Host header of the crafted request: it passes
// ngx_http_validate_host ("victim:@evil" is a host and a port) and routes
// to the server, but a URL built from it points at the attacker's host.
const spoofTarget = "ngxlint-evil.test"

// HostSpoofing flags redirects and upstream Host headers built from the
// Host header as the client sent it.
var HostSpoofing = &analyzer.Rule{
	ID:       "SEC2002",
	Slug:     "host-spoofing",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "$http_host (the Host header as sent) used for a redirect or the upstream Host",
		Text: `$http_host is the Host header exactly as the client sent it. $host is the same header after
ngx_http_validate_host: lower-cased, without the port, and refused (400) when it holds '/', "..",
or control bytes; and server_name routing uses $host. So "Host: example.com:@evil.test" reaches the
example.com server (the part after ':' is taken for a port), $host is "example.com", but $http_host
is "example.com:@evil.test": a redirect to "https://$http_host/..." sends the browser to evil.test
(the part before '@' is read as a user name), and proxy_set_header Host $http_host hands the
backend a host it may build links, password-reset mails or cache keys from.

Flagged: $http_host (and $http_x_forwarded_host) in the host part of a return or rewrite redirect,
and as the value of proxy_set_header Host. Use $host. The fix drops the port the client sent; when
the backend needs it, pass it separately ($server_port).`,
		Bad: `http {
    server {
        listen 80;
        server_name example.com;
        location /login {
            return 302 https://$http_host/account/login;
        }
        location / {
            proxy_set_header Host $http_host;
            proxy_pass http://127.0.0.1:8080;
        }
    }
}
`,
		Good: `http {
    server {
        listen 80;
        server_name example.com;
        location /login {
            return 302 https://$host/account/login;
        }
        location / {
            proxy_set_header Host $host;
            proxy_pass http://127.0.0.1:8080;
        }
    }
}
`,
		Since: "0.3.0",
		References: []string{"https://github.com/yandex/gixy/blob/master/docs/en/plugins/hostspoofing.md (gixy host_spoofing)",
			"nginx src/http/ngx_http_request.c ngx_http_validate_host"},
		Confirmation: "redirects: confirmed by the emulator's request path, which sends Host: <server>:@" + spoofTarget + " and reads the Location's host (replayed on real nginx in the differential suite, host.txtar). proxy_set_header Host: confirmed with the echo backend, which answers with the head the proxy sent: a request with that Host, routed to where the directive applies, must reach the backend with it. With --engine nginx|both real nginx replays the requests and its answer decides.",
	},
	Run: func(pass *analyzer.Pass) error {
		eachHTTPDirective(pass, func(s secSite, d *nginxconf.Directive) {
			arg := -1
			what := ""
			switch d.Name {
			case "return":
				if i, ok := isRedirectReturn(d); ok && rawHostInAuthority(d.Arg(i)) != "" {
					arg, what = i, "the redirect of return"
				}
			case "rewrite":
				if isRedirectRewrite(d) && rawHostInAuthority(d.Arg(1)) != "" {
					arg, what = 1, "the redirect of rewrite"
				}
			case "proxy_set_header":
				if strings.EqualFold(d.Arg(0), "host") && strings.HasPrefix(strings.ToLower(d.Arg(1)), "$http_") {
					if v := strings.ToLower(strings.TrimPrefix(d.Arg(1), "$")); v == "http_host" || v == "http_x_forwarded_host" {
						arg, what = 1, "proxy_set_header Host"
					}
				}
			}
			if arg < 0 {
				return
			}
			a := d.Args[arg]
			v := rawHostInAuthority(a.Value)
			if d.Name == "proxy_set_header" {
				v = strings.TrimPrefix(strings.ToLower(a.Value), "$")
			}
			diag := &analyzer.Diagnostic{Pos: a.Pos, End: a.End(),
				Message: fmt.Sprintf("%s takes the host from $%s, the Host header as the client sent it; use $host", what, v),
				Details: fmt.Sprintf("A request with \"Host: %s:@%s\" reaches this server (nginx routes on the validated $host), but $%s keeps the whole header, so the URL points at %s.", serverHost(pass, s.srv), spoofTarget, v, spoofTarget)}
			if v == "http_host" && a.Quote == 0 {
				// The whole argument is rewritten so the edit is exact.
				newText := strings.Replace(a.Raw, "$http_host", "$host", 1)
				if newText != a.Raw {
					diag.Fixes = []analyzer.SuggestedFix{{Message: "use $host", Edits: []analyzer.TextEdit{{Pos: a.Pos, End: a.End(), NewText: newText}}}}
				}
			}
			if d.Name != "proxy_set_header" {
				diag.Confirm = requestConfirmer(pass, s.srv, nil, hostChecks(pass, s, v))
			} else if p, ok := placeOf(pass, d); ok && p.inIf == nil {
				diag.Confirm = requestConfirmer(pass, s.srv, nil, upstreamHostChecks(pass, p, v))
			} else {
				diag.Confirm = notConfirmable("the directive is in an if block: no request is crafted to make its condition true")
			}
			pass.Report(diag)
		})
		return nil
	},
}

// rawHostInAuthority returns the variable ("http_host") that a redirect
// target puts first in its authority, "" when none of the raw host
// headers does.
func rawHostInAuthority(target string) string {
	_, rest, ok := strings.Cut(target, "://")
	if !ok {
		return ""
	}
	for _, r := range reqmodel.Refs(rest) {
		if r.Start != 0 {
			break
		}
		if n := strings.ToLower(r.Name); n == "http_host" || n == "http_x_forwarded_host" {
			return n
		}
	}
	return ""
}

func hostChecks(pass *analyzer.Pass, s secSite, v string) []requestCheck {
	var out []requestCheck
	for _, p := range routeTo(secAnalysis(pass), s.loc) {
		hv := serverHost(pass, s.srv) + ":@" + spoofTarget
		rq := emulator.Request{Path: p, Headers: []emulator.Header{{Name: "Host", Value: hv}}}
		if v == "http_x_forwarded_host" {
			rq.Headers = append(rq.Headers, emulator.Header{Name: "X-Forwarded-Host", Value: spoofTarget})
		}
		out = append(out, requestCheck{req: rq, shows: func(x *emulator.Exchange) (bool, string) {
			for _, loc := range x.Header("Location") {
				if u, err := url.Parse(loc); err == nil && u.Hostname() == spoofTarget {
					return true, fmt.Sprintf("%d to %q (host %s)", x.Status, loc, spoofTarget)
				}
			}
			return false, fmt.Sprintf("%d, Location %q", x.Status, x.Header("Location"))
		}})
	}
	return out
}

// upstreamHostChecks sends Host: <server>:@spoofTarget (and, for
// $http_x_forwarded_host, that header) to where proxy_set_header Host
// applies; the echo backend's answer shows the Host it was sent.
func upstreamHostChecks(pass *analyzer.Pass, p secPlace, v string) []requestCheck {
	var out []requestCheck
	for _, path := range pathsInto(pass, p, "proxy_set_header") {
		hv := serverHost(pass, p.srv) + ":@" + spoofTarget
		rq := emulator.Request{Path: path, Headers: []emulator.Header{{Name: "Host", Value: hv}}}
		if v == "http_x_forwarded_host" {
			rq.Headers = append(rq.Headers, emulator.Header{Name: "X-Forwarded-Host", Value: spoofTarget})
		}
		out = append(out, requestCheck{req: rq, echo: true, routed: proxiedAt(p, "proxy_set_header"), shows: func(x *emulator.Exchange) (bool, string) {
			_, hs, ok := emulator.ParseEcho(x.Body)
			if !ok {
				return false, fmt.Sprintf("%d, not an answer of the echo backend", x.Status)
			}
			for _, h := range hs {
				if strings.EqualFold(h.Name, "Host") {
					if strings.Contains(h.Value, spoofTarget) {
						return true, fmt.Sprintf("the backend got Host: %s", h.Value)
					}
					return false, fmt.Sprintf("the backend got Host: %s", h.Value)
				}
			}
			return false, "the backend got no Host"
		}})
	}
	return out
}
