package rules

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// ProxyPassURI flags proxy_pass URI parts that hand the backend a path the
// location did not mean to pass.
var ProxyPassURI = &analyzer.Rule{
	ID:       "SEC2005",
	Slug:     "proxy-pass-uri",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "proxy_pass URI part that lets the client reach other backend paths (missing slash, decoded captures)",
		Text: `With a URI part, proxy_pass replaces the location's prefix in the normalised URI by that part
(ngx_http_proxy_create_request). Two shapes give the client more than the location means to pass:

- The location has no trailing slash and the URI part has one: "location /api { proxy_pass
  http://b/v1/; }" sends "/api../admin" as "/v1/../admin", which the backend (or the next proxy)
  normalises to "/admin": every path of the backend is reachable, not only /v1/.
- The URI part is built from a capture or $uri in a regex location ("proxy_pass http://b/$1"):
  nginx passes the decoded, normalised value, so "%2F", "%3F" and "%23" reach the backend as
  '/', '?' and '#' (and a decoded "%0d%0a" as a raw line break in the request line): the backend
  sees a different path, query or request than the client's URL said.

Write the location and the URI part both with or both without the trailing slash; pass
$request_uri (raw) rather than a decoded capture, or no URI part at all.`,
		Bad: `http {
    server {
        listen 80;
        location /api {
            proxy_pass http://127.0.0.1:8080/v1/;
        }
    }
}
`,
		Good: `http {
    server {
        listen 80;
        location /api/ {
            proxy_pass http://127.0.0.1:8080/v1/;
        }
    }
}
`,
		Since: "0.3.0",
		References: []string{"https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_pass",
			"gixy-ng / Gixy-Next proxy_pass_normalized"},
		Confirmation: "the missing-slash shape is confirmed by the emulator's request path, which computes the upstream URI for GET <location>../ngxlint and checks it climbs out of the URI part; the decoded-capture shape by a request that puts ngxlint%3Fx=1 into the capture (or after the prefix for $uri), whose upstream URI must carry the decoded '?'. The backend is the echo backend, which answers with the request line it read; with --engine nginx|both real nginx replays the same requests and the echoed line decides.",
	},
	Run: func(pass *analyzer.Pass) error {
		eachHTTPDirective(pass, func(s secSite, d *nginxconf.Directive) {
			if d.Name != "proxy_pass" || s.loc == nil || len(d.Args) != 1 {
				return
			}
			t := d.Arg(0)
			_, rest, ok := strings.Cut(t, "://")
			if !ok {
				return
			}
			_, uriPart, hasURI := strings.Cut(rest, "/")
			if !hasURI {
				return
			}
			a := d.Args[0]
			l := s.loc
			if (l.Modifier == "" || l.Modifier == "^~") && !strings.HasSuffix(l.Path, "/") && strings.HasSuffix(uriPart, "/") && !strings.Contains(t, "$") {
				diag := &analyzer.Diagnostic{Pos: a.Pos, End: a.End(),
					Message: fmt.Sprintf("proxy_pass URI ends with '/' but location %q does not: %q reaches other backend paths", l.Path, l.Path+"../"),
					Details: fmt.Sprintf("nginx replaces %q by %q, so %s../x is sent as /%s../x, which the backend resolves outside /%s.", l.Path, "/"+uriPart, l.Path, uriPart, uriPart),
					Related: []analyzer.Related{{Pos: l.Directive.Pos, End: l.Directive.BlockOpen, Message: "location without a trailing slash"}}}
				rq := emulator.Request{Path: l.Path + "../ngxlint"}
				diag.Confirm = requestConfirmer(pass, s.srv, nil, []requestCheck{{req: rq, echo: true, shows: func(x *emulator.Exchange) (bool, string) {
					target, ok := echoedTarget(x)
					if ok && strings.Contains(target, "/../ngxlint") {
						return true, "the backend was asked for " + target
					}
					return false, fmt.Sprintf("%d, the backend was asked for %q", x.Status, target)
				}}})
				pass.Report(diag)
				return
			}
			for _, r := range reqmodel.Refs(uriPart) {
				o := s.vars().Of(r.Name)
				if o.Taint&reqmodel.Decoded == 0 {
					continue
				}
				pass.Report(&analyzer.Diagnostic{Pos: a.Pos, End: a.End(),
					Message: fmt.Sprintf("proxy_pass passes $%s, which nginx has percent-decoded, as the backend's URI", o.Var),
					Details: fmt.Sprintf("$%s: %s. The backend sees %%2F as '/', %%3F as '?', %%0A as a line break; pass $request_uri or no URI part.", o.Var, o.Why),
					Confirm: requestConfirmer(pass, s.srv, nil, decodedURIChecks(pass, l, r.Name))})
				return
			}
		})
		return nil
	},
}

// decodedPayload is what a client writes percent-encoded ("%3F") and a
// decoded variable hands to the backend as a query ("?").
const decodedPayload = "ngxlint?x=1"

// decodedURIChecks crafts requests that put decodedPayload, encoded, into
// the decoded variable name of proxy_pass's URI part at l: through the
// capture group for "$1" in a regex location, after the location's prefix
// for $uri and the like. The check is that the upstream URI carries the
// decoded '?': the backend is asked for a query the client's path did not
// have.
func decodedURIChecks(pass *analyzer.Pass, l *nginxconf.Location, name string) []requestCheck {
	a := secAnalysis(pass)
	var paths []string
	if l.Modifier == "~" || l.Modifier == "~*" {
		re := a.Router(l.Server).LocationRegex(l)
		g := 0
		if n, err := strconv.Atoi(name); err == nil {
			g = n
		}
		if w, ok := re.Witness(g, decodedPayload); ok && strings.HasPrefix(w, "/") {
			paths = append(paths, reqmodel.PercentEncode(w))
		}
	} else if l.Modifier != "=" {
		paths = append(paths, reqmodel.PercentEncode(l.Path+decodedPayload))
	}
	var out []requestCheck
	for _, p := range paths {
		out = append(out, requestCheck{req: emulator.Request{Path: p}, echo: true, shows: func(x *emulator.Exchange) (bool, string) {
			target, ok := echoedTarget(x)
			if !ok {
				return false, fmt.Sprintf("%d, not an answer of the backend", x.Status)
			}
			if strings.Contains(target, decodedPayload) {
				return true, "the backend was asked for " + target + " (the client's %3F is a query there)"
			}
			return false, "the backend was asked for " + target
		}})
	}
	return out
}

// echoedTarget is the request target the echo backend says it was sent:
// what the backend really read, on either engine.
func echoedTarget(x *emulator.Exchange) (string, bool) {
	line, _, ok := emulator.ParseEcho(x.Body)
	if !ok {
		return "", false
	}
	f := strings.Fields(line)
	return f[1], true
}
