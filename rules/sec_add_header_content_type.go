package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// AddHeaderContentType flags add_header Content-Type, which adds a second
// Content-Type instead of replacing the first.
var AddHeaderContentType = &analyzer.Rule{
	ID:       "SEC1004",
	Slug:     "add-header-content-type",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "add_header Content-Type sends a second Content-Type header",
		Text: `add_header appends a header; it does not replace the Content-Type nginx already sends (from
default_type, types, or the backend). Debian's nginx 1.22.1 answers "return 200" in a location with
"add_header Content-Type text/plain;" with two Content-Type lines (tested). Clients pick either one, and
two differing types defeat X-Content-Type-Options: nosniff and can turn a download into rendered HTML.

Set the type with default_type (or a types block) for responses nginx makes, and with proxy_hide_header
Content-Type plus add_header for proxied ones, which is not reported.`,
		Bad: `http {
    server {
        listen 80;
        location = /health {
            add_header Content-Type text/plain;
            return 200 "ok";
        }
    }
}
`,
		Good: `http {
    server {
        listen 80;
        location = /health {
            default_type text/plain;
            return 200 "ok";
        }
    }
}
`,
		Since:      "0.3.0",
		References: []string{"https://nginx.org/en/docs/http/ngx_http_core_module.html#default_type", "gixy add_header_content_type; yandex/gixy#98"},
		Confirmation: `confirmed by the emulator's request path: a request routed to the add_header's location must get a
response with two Content-Type lines (nginx's own, then the added one); with --engine nginx or both it is
replayed on the real binary. Not confirmable inside an "if"; the emulator's answer does not count in a
proxied location, whose backend headers it does not model (real nginx's does). Differential suite:
emulator/nginxengine/testdata/reqpath/headers.txtar.`,
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		levels := secLevelsOf(pass)
		for _, l := range levels.all {
			for _, e := range l.own("add_header") {
				if !strings.EqualFold(e.arg(0), "Content-Type") || e.d.Name != "add_header" {
					continue
				}
				if hidden(l, "Content-Type") {
					continue // the backend's type is hidden: this one is the only one
				}
				a := e.d.Args[0]
				pass.Report(&analyzer.Diagnostic{Pos: a.Pos, End: a.End(),
					Message: "add_header Content-Type adds a second Content-Type header instead of replacing it; use default_type",
					Details: "nginx still sends its own Content-Type (default_type, types, or the backend's), so the response carries two.",
					Confirm: addedHeaderConfirm(pass, e.d, func(x *emulator.Exchange) (bool, string) {
						if n := len(x.Header("Content-Type")); n >= 2 {
							return true, fmt.Sprintf("%d with %d Content-Type headers (%s)", x.Status, n, strings.Join(x.Header("Content-Type"), ", "))
						}
						return false, fmt.Sprintf("%d with %d Content-Type header", x.Status, len(x.Header("Content-Type")))
					})})
			}
		}
		return nil
	},
}

// addedHeaderConfirm sends a request to where the add_header d applies
// and judges the response with shows. The emulator's answer counts only
// from d's own location and not from a proxied one: the request path
// models no backend headers, while a real backend sends its own.
func addedHeaderConfirm(pass *analyzer.Pass, d *nginxconf.Directive, shows func(x *emulator.Exchange) (bool, string)) analyzer.Confirmer {
	p, ok := placeOf(pass, d)
	switch {
	case !ok || d.Name != "add_header":
		return notConfirmable("the request path models add_header only, in the http context")
	case p.inIf != nil:
		return notConfirmable("the add_header is inside an if: no request is crafted to make its condition true")
	}
	at := routedTo(p, "add_header")
	routed := func(x *emulator.Exchange) (bool, string) {
		if x.Upstream != "" {
			return false, fmt.Sprintf("%d proxied to %s: the emulator does not model the backend's headers", x.Status, x.Upstream)
		}
		return at(x)
	}
	always := len(d.Args) >= 3 && d.Arg(2) == "always"
	applies := func(x *emulator.Exchange) (bool, string) {
		if !emulator.AddHeaderApplies(x.Status, always) {
			return false, fmt.Sprintf("%d, a status add_header without always does not apply to", x.Status)
		}
		return shows(x)
	}
	return requestConfirmer(pass, p.srv, nil, checksAt(pathsInto(pass, p, "add_header"), applies, routed))
}

// hidden reports whether the upstream's header name is hidden at l by a
// *_hide_header (proxy, fastcgi, uwsgi, scgi, grpc).
func hidden(l *secLevel, name string) bool {
	for _, m := range []string{"proxy", "fastcgi", "uwsgi", "scgi", "grpc"} {
		es := l.own(m + "_hide_header")
		if len(es) == 0 {
			es, _ = l.inherited(m + "_hide_header")
		}
		for _, e := range es {
			if strings.EqualFold(e.arg(0), name) {
				return true
			}
		}
	}
	return false
}
