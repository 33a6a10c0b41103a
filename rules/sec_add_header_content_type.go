package rules

import (
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
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
		Since:        "0.3.0",
		References:   []string{"https://nginx.org/en/docs/http/ngx_http_core_module.html#default_type", "gixy add_header_content_type; yandex/gixy#98"},
		Confirmation: "not confirmable yet: the emulator does not model response headers.",
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		levels := secLevelsOf(pass)
		for _, l := range levels.all {
			for _, e := range l.own["add_header"] {
				if !strings.EqualFold(e.arg(0), "Content-Type") || e.d.Name != "add_header" {
					continue
				}
				if hidden(l, "Content-Type") {
					continue // the backend's type is hidden: this one is the only one
				}
				a := e.d.Args[0]
				pass.Report(&analyzer.Diagnostic{Pos: a.Pos, End: a.End(),
					Message: "add_header Content-Type adds a second Content-Type header instead of replacing it; use default_type",
					Details: "nginx still sends its own Content-Type (default_type, types, or the backend's), so the response carries two."})
			}
		}
		return nil
	},
}

// hidden reports whether the upstream's header name is hidden at l by a
// *_hide_header (proxy, fastcgi, uwsgi, scgi, grpc).
func hidden(l *secLevel, name string) bool {
	for _, m := range []string{"proxy", "fastcgi", "uwsgi", "scgi", "grpc"} {
		es := l.own[m+"_hide_header"]
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
