package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// splitPayload is what the crafted request smuggles into a header: a line
// end and a header of the client's choosing.
const splitPayload = "\r\nSet-Cookie: ngxlint=injected"

// HTTPSplitting flags response headers and redirect targets built from a
// variable that can hold a newline.
var HTTPSplitting = &analyzer.Rule{
	ID:       "SEC2001",
	Slug:     "http-splitting",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "response header or redirect built from a variable that can hold CR LF (HTTP response splitting)",
		Text: `nginx writes add_header values and the Location of return and rewrite redirects into the response
head as they are: nothing escapes a carriage return or a line feed in them (ngx_http_header_filter).
Some variables can hold them: $uri and $document_uri are percent-decoded (ngx_http_parse_complex_uri),
so "GET /%0d%0aSet-Cookie:%20x=1" puts a real CR LF in $uri, and a regex capture of the URI that can
match a newline ("[^.]*", "[^/]+", "\s") carries it into $1 or a named capture, through set and map
too. The header then ends early and the client reads the rest as headers (or a body) of the
attacker's choosing: cookies, a redirect, cache poisoning.

Not flagged, because nginx never lets a newline through them: $request_uri, $args and $arg_*
(raw: "%0d%0a" stays six characters), $http_* and $cookie_* (the header parser refuses bare CR and
LF), the captures of a rewrite that redirects (ngx_http_script_copy_capture_code escapes them with
NGX_ESCAPE_ARGS), captures of "(.*)" ('.' does not match a newline in PCRE), and $uri in a location
whose anchored pattern admits no newline or in an exact location.

Each finding carries the crafted request and the emulator sends it; the differential suite replays
the same requests on real nginx (emulator/nginxengine/testdata/reqpath/splitting.txtar).`,
		Bad: `http {
    server {
        listen 80;
        location ~ ^/v1/(?<action>[^.]*)\.json$ {
            add_header X-Action $action;
            return 200 "ok";
        }
        location /old {
            return 301 https://$host$uri;
        }
    }
}
`,
		Good: `http {
    server {
        listen 80;
        location ~ ^/v1/(?<action>[^./\s]+)\.json$ {
            add_header X-Action $action;
            return 200 "ok";
        }
        location /old {
            return 301 https://$host$request_uri;
        }
    }
}
`,
		Since: "0.3.0",
		References: []string{"https://github.com/yandex/gixy/blob/master/docs/en/plugins/httpsplitting.md (gixy http_splitting)",
			"nginx src/http/ngx_http_parse.c ngx_http_parse_complex_uri (decodes %XX into $uri)",
			"nginx src/http/ngx_http_script.c ngx_http_script_copy_capture_code (escapes captures in redirects)"},
		Confirmation: "confirmed by the emulator's request path: the crafted request (e.g. GET /v1/%0D%0ASet-Cookie%3A%20ngxlint%3Dinjected.json) must produce a Set-Cookie header in the response; replayed on real nginx in the differential suite.",
	},
	Run: func(pass *analyzer.Pass) error {
		eachHTTPDirective(pass, func(s secSite, d *nginxconf.Directive) {
			type sink struct {
				arg  int
				what string
				skip func(ref string) bool
			}
			var sinks []sink
			switch d.Name {
			case "add_header", "add_trailer":
				if len(d.Args) >= 2 {
					sinks = append(sinks, sink{arg: 1, what: d.Name + " " + d.Arg(0)})
				}
			case "more_set_headers":
				for i := range d.Args {
					if !strings.HasPrefix(d.Arg(i), "-") {
						sinks = append(sinks, sink{arg: i, what: "more_set_headers"})
					}
				}
			case "return":
				if i, ok := isRedirectReturn(d); ok {
					sinks = append(sinks, sink{arg: i, what: "the Location of return"})
				}
			case "rewrite":
				if isRedirectRewrite(d) {
					// The rewrite's own captures are escaped in a redirect.
					sinks = append(sinks, sink{arg: 1, what: "the Location of rewrite", skip: func(ref string) bool {
						return ref != "" && (ref[0] >= '0' && ref[0] <= '9' || reqmodel.Compile(d.Arg(0), false).Group(ref) >= 0)
					}})
				}
			}
			for _, sk := range sinks {
				var src *reqmodel.Source
				for _, r := range reqmodel.Refs(d.Arg(sk.arg)) {
					if sk.skip != nil && sk.skip(r.Name) {
						continue
					}
					if o := s.vars().Of(r.Name); o.Taint&reqmodel.LF != 0 {
						src = &o
						break
					}
				}
				if src == nil {
					continue
				}
				a := d.Args[sk.arg]
				reqs := splitRequests(pass, s)
				diag := &analyzer.Diagnostic{Pos: a.Pos, End: a.End(),
					Message: fmt.Sprintf("%s uses $%s, which can hold CR LF from the request: HTTP response splitting", sk.what, src.Var),
					Details: fmt.Sprintf("%s: %s. nginx writes the value into the response head unescaped, so a request such as %s adds a header of the client's choosing. Use a variable nginx keeps encoded ($request_uri, $arg_*) or a pattern that excludes \\r and \\n.",
						"$"+src.Var, src.Why, reqs[0].Path)}
				diag.Confirm = requestConfirmer(pass, s.srv, nil, splitChecks(reqs))
				pass.Report(diag)
			}
		})
		return nil
	},
}

// splitRequests are the crafted requests that smuggle splitPayload into
// $uri (and the captures of s's patterns) on the way to s.
func splitRequests(pass *analyzer.Pass, s secSite) []emulator.Request {
	a := secAnalysis(pass)
	var paths []string
	add := func(p string, ok bool) {
		if ok && strings.HasPrefix(p, "/") {
			paths = append(paths, reqmodel.PercentEncode(p))
		}
	}
	if l := s.loc; l != nil {
		for x := l; x != nil; x = x.Parent {
			switch x.Modifier {
			case "~", "~*":
				re := a.Router(x.Server).LocationRegex(x)
				for g := 1; g <= re.NumCap; g++ {
					if can, _ := re.CanHold(g, '\n'); can {
						add(re.Witness(g, splitPayload))
					}
				}
				add(re.Witness(0, splitPayload))
			case "", "^~":
				add(x.Path+splitPayload, true)
			}
			if len(paths) > 0 {
				break
			}
		}
	}
	for _, d := range s.srv.Own("rewrite") {
		re := reqmodel.Compile(d.Arg(0), false)
		add(re.Witness(0, splitPayload))
		if w, ok := re.Witness(0, ""); ok {
			add("/"+splitPayload+w, true)
		}
	}
	add("/"+splitPayload, true)
	out := make([]emulator.Request, 0, len(paths))
	for _, p := range dedupe(paths) {
		out = append(out, emulator.Request{Path: p})
	}
	return out
}

func splitChecks(reqs []emulator.Request) []requestCheck {
	var out []requestCheck
	for _, rq := range reqs {
		out = append(out, requestCheck{req: rq, shows: func(x *emulator.Exchange) (bool, string) {
			for _, v := range x.Header("Set-Cookie") {
				if strings.HasPrefix(v, "ngxlint=injected") {
					return true, fmt.Sprintf("%d with an injected header \"Set-Cookie: %s\"", x.Status, v)
				}
			}
			return false, fmt.Sprintf("%d, no injected header", x.Status)
		}})
	}
	return out
}
