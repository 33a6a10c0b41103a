package rules

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
)

// ArrayDirectiveDropped flags a level whose own proxy_set_header,
// fastcgi_param, proxy_hide_header... drops the ones it would inherit.
var ArrayDirectiveDropped = &analyzer.Rule{
	ID:       "SEC1002",
	Slug:     "inherited-directives-dropped",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "proxy_set_header, fastcgi_param or *_hide_header at this level drops the inherited ones",
		Text: `These directives build one list per level, and a level that has any of them inherits none
from the level above:
  proxy_set_header, grpc_set_header (ngx_http_proxy_merge_loc_conf, ngx_http_grpc_merge_loc_conf:
    the level's headers_source replaces the parent's),
  fastcgi_param, uwsgi_param, scgi_param ("if (conf->params_source == NULL) conf->params = prev->params"),
  proxy_hide_header, fastcgi_hide_header, uwsgi_hide_header, scgi_hide_header, grpc_hide_header
    (ngx_http_upstream_hide_headers_hash: a level's own hide list replaces the parent's).
So "proxy_set_header X-Request-Id $request_id;" in one location silently stops sending the server's
X-Forwarded-For and X-Forwarded-Proto there (the backend logs the proxy's address, builds http:// links), and
one fastcgi_param next to a server-level "include fastcgi_params;" leaves PHP without REQUEST_METHOD.
A dropped proxy_hide_header lets the backend's X-Powered-By or internal headers through.

Reported at the level's first such directive, with the dropped ones as related positions, when an inherited
entry is not set again at this level; nginx's stock fastcgi_params, uwsgi_params and scgi_params count even
when the checked tree does not hold them. Warning for proxy_set_header, grpc_set_header and the params;
info for *_hide_header (what leaks depends on the backend).`,
		Bad: `http {
    server {
        listen 80;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        location /api/ {
            proxy_set_header X-Request-Id $request_id;
            proxy_pass http://127.0.0.1:8080;
        }
    }
}
`,
		Good: `http {
    server {
        listen 80;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        location /api/ {
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Request-Id $request_id;
            proxy_pass http://127.0.0.1:8080;
        }
    }
}
`,
		Since: "0.3.0",
		References: []string{"https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_set_header",
			"https://nginx.org/en/docs/http/ngx_http_fastcgi_module.html#fastcgi_param",
			"nginx src/http/modules/ngx_http_proxy_module.c ngx_http_proxy_merge_loc_conf; ngx_http_fastcgi_module.c ngx_http_fastcgi_merge_loc_conf; src/http/ngx_http_upstream.c ngx_http_upstream_hide_headers_hash",
			"Gixy-Next proxy_set_header_redefinition"},
		Confirmation: `Every directive listed: confirmed by the emulator's request path with an echo backend (the "echo"
policy: it answers with the request head it read, over HTTP/1 or, for grpc_pass, HTTP/2 with prior knowledge, where
the host is :authority; it sends back each request header X-Ngxlint-Reflect-NAME as NAME; over FastCGI, uwsgi and
SCGI, which it tells apart by a connection's first byte, it answers 200 with one "NAME=value" line per param
received, in order, and sends back each param HTTP_X_NGXLINT_REFLECT_NAME, the client's header as nginx passes it,
as NAME with '_' read as '-'). A request routed to the level (e.g. GET /api/) must reach the level's *_pass, and
what the backend got must lack a dropped header or param, or carry it with another value than the inherited
directive gives for that request (Host is always sent: $proxy_host, or grpc_pass's address, by default); a dropped
entry nginx would not send anyway (an empty header, an empty if_not_empty param) is no evidence. For *_hide_header a
request asks the backend to send a dropped header (one each, up to 3) that the module does not hide by default
anyway (X-Accel-*; Date, Server for proxy_pass and grpc_pass, X-Pad for proxy_pass; Status for FastCGI and SCGI),
which must then reach the client. With --engine nginx or both the same requests are replayed on the real binary
against echo backends (a stock fastcgi_params, uwsgi_params or scgi_params the tree lacks is written into its copy)
and its answer decides. Not confirmable for a level no request is routed to by its path. Differential suite:
emulator/nginxengine/upstream_diff_test.go, fcgi_diff_test.go, cgi_diff_test.go, grpc_diff_test.go,
hide_diff_test.go.`,
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		for _, l := range secLevelsOf(pass).all {
			for _, name := range droppableArrays {
				reportArrayDrop(pass, l, name)
			}
		}
		return nil
	},
}

// droppableArrays are the array directives merged all-or-nothing, besides
// add_header (SEC1001) and allow/deny (SEC1011).
var droppableArrays = []string{
	"proxy_set_header", "grpc_set_header",
	"fastcgi_param", "uwsgi_param", "scgi_param",
	"proxy_hide_header", "fastcgi_hide_header", "uwsgi_hide_header", "scgi_hide_header", "grpc_hide_header",
}

func reportArrayDrop(pass *analyzer.Pass, l *secLevel, name string) {
	own := l.own(name)
	if len(own) == 0 {
		return
	}
	inherited, from := l.inherited(name)
	key := headerKey
	if strings.HasSuffix(name, "_param") {
		// Parameter names are case-sensitive (they become CGI
		// variables).
		key = func(e secEntry) string { return e.arg(0) }
	}
	dropped := droppedEntries(own, inherited, key)
	if len(dropped) == 0 {
		return
	}
	var names []string
	for _, e := range dropped {
		names = append(names, e.arg(0))
	}
	first := own[0].d
	what := "inherited " + name
	d := &analyzer.Diagnostic{Pos: first.Pos, End: first.End,
		Message: fmt.Sprintf("%s in %s drops %s (%s)", name, l.describe(), plural(len(dropped), what), shortList(names, 3)),
		Details: fmt.Sprintf("A level with its own %s inherits none from %s, so %s %s not applied to requests handled here. Repeat %s at this level (an include shared by both levels keeps them in step).",
			name, from.describe(), strings.Join(names, ", "), pick(len(dropped), "is", "are"), pick(len(dropped), "it", "them"))}
	if strings.HasSuffix(name, "_hide_header") {
		d.Severity = analyzer.Info
	}
	seenInclude := map[any]bool{}
	for _, e := range dropped {
		msg := fmt.Sprintf("%s %s is not inherited by %s", name, e.arg(0), l.describe())
		if e.d.Name == "include" {
			// A stock file's entries all sit at its include: name it once.
			if seenInclude[e.d] {
				continue
			}
			seenInclude[e.d] = true
			msg = fmt.Sprintf("the %s of this include are not inherited by %s", name, l.describe())
		}
		d.Related = append(d.Related, analyzer.Related{Pos: e.d.Pos, End: e.d.End, Message: msg})
	}
	d.Confirm = arrayDropConfirm(pass, l, name, dropped)
	pass.Report(d)
}

// reflectMarker is the value the echo backend is asked to send back in a
// header the level no longer hides: a backend's own value would not
// match it by chance.
const reflectMarker = "ngxlint-reflected"

// arrayDropConfirm sends a request routed to the level and checks what
// the backend got or sent, with the echo backend (emulator.PolicyEcho)
// for the proxy module and the params modules (FastCGI, uwsgi, SCGI),
// whose answer any client reads, so that real nginx is judged by the
// same check.
func arrayDropConfirm(pass *analyzer.Pass, l *secLevel, name string, dropped []secEntry) analyzer.Confirmer {
	p, ok := levelPlace(pass, l)
	if !ok {
		return notConfirmable("the level is " + l.describe() + ": no request is crafted to make its condition true")
	}
	var checks []requestCheck
	switch {
	case name == "proxy_set_header" || name == "grpc_set_header":
		checks = setHeaderChecks(pass, p, name, dropped)
	case strings.HasSuffix(name, "_hide_header"):
		module := strings.TrimSuffix(name, "_hide_header")
		var names []string
		for _, e := range dropped {
			if !emulator.HidesByDefault(module, e.arg(0)) {
				names = append(names, e.arg(0))
			}
		}
		if len(names) == 0 {
			return notConfirmable("nginx's " + module + " module hides the dropped headers by default anyway (" + shortList(emulator.HiddenByDefault(module), 3) + ")")
		}
		checks = hideHeaderChecks(pass, p, name, names)
	default:
		checks = paramChecks(pass, p, name, dropped)
	}
	return requestConfirmer(pass, p.srv, nil, checks)
}

// proxiedAt is routedTo(p, name) for a request that the *_pass of name's
// module (passOf) must also have sent upstream: a request head for
// proxy_pass and grpc_pass, params for the others.
func proxiedAt(p secPlace, name string) func(x *emulator.Exchange) (bool, string) {
	at := routedTo(p, name)
	params := paramsModule(name)
	return func(x *emulator.Exchange) (bool, string) {
		if ok, why := at(x); !ok {
			return false, why
		}
		if (params && x.UpstreamParams == nil) || (!params && x.UpstreamRequest == nil) {
			return false, fmt.Sprintf("%d from location %q, which does not %s", x.Status, x.Location, passOf(name))
		}
		return true, ""
	}
}

// setHeaderChecks: the echo backend's body is the head the proxy sent,
// which must lack a dropped header, or carry it with another value than
// the inherited directive gives (Host is always sent: $proxy_host by
// default; over gRPC as :authority). What the inherited value would be is the emulator's
// evaluation for the same request; a dropped header whose value would be
// empty there (nginx sends no empty header) shows nothing, and one whose
// value the emulator cannot reproduce counts only when it is absent.
func setHeaderChecks(pass *analyzer.Pass, p secPlace, name string, dropped []secEntry) []requestCheck {
	// grpc_pass's echo comes over HTTP/2 and names the host :authority,
	// whether grpc_pass's address or the Host a grpc_set_header gives.
	grpc := name == "grpc_set_header"
	site := emulator.Site{Server: p.srv, Analysis: secAnalysis(pass), EchoBackend: true}
	host := serverHost(pass, p.srv)
	type want struct {
		name, value string
		exact       bool
	}
	var out []requestCheck
	for _, path := range pathsInto(pass, p, name) {
		rq := emulator.Request{Path: path}
		var once sync.Once
		var wants []want
		expect := func() []want {
			once.Do(func() {
				ex := emulator.Serve(site, emulator.Request{Path: path, Headers: withHostHeader(nil, host)})
				for _, e := range dropped {
					v, exact := ex.Eval(e.arg(1))
					wants = append(wants, want{e.arg(0), v, exact})
				}
			})
			return wants
		}
		shows := func(x *emulator.Exchange) (bool, string) {
			line, hs, ok := emulator.ParseEcho(x.Body)
			if x.Status != 200 || !ok || grpc != strings.HasSuffix(line, " HTTP/2.0") {
				return false, fmt.Sprintf("%d, not an answer of the echo backend over %s", x.Status, pick1(grpc, "HTTP/2", "HTTP/1"))
			}
			var missing, differ, arrived []string
			for _, w := range expect() {
				var got []string
				for _, h := range hs {
					if strings.EqualFold(h.Name, w.name) || (grpc && strings.EqualFold(w.name, "host") && h.Name == ":authority") {
						got = append(got, h.Value)
					}
				}
				switch {
				case len(got) == 0 && w.value != "":
					missing = append(missing, w.name)
				case len(got) == 0:
					// Empty (or not modelled) when inherited too: nginx
					// would not have sent it either way.
				case w.exact && !slices.Contains(got, w.value):
					differ = append(differ, fmt.Sprintf("%s: %s, not %s", w.name, got[0], w.value))
				default:
					arrived = append(arrived, w.name)
				}
			}
			if len(missing)+len(differ) == 0 {
				if len(arrived) == 0 {
					return false, "200, but the dropped headers would be empty for this request"
				}
				return false, "200, the backend got " + strings.Join(arrived, ", ")
			}
			var parts []string
			if len(missing) > 0 {
				parts = append(parts, "no "+strings.Join(missing, ", "))
			}
			parts = append(parts, differ...)
			return true, "200, the backend got " + strings.Join(parts, "; ")
		}
		out = append(out, requestCheck{req: rq, echo: true, shows: shows, routed: proxiedAt(p, name)})
	}
	return out
}

// hideHeaderChecks asks the echo backend to send a dropped header
// (emulator.ReflectPrefix; through fastcgi_pass, uwsgi_pass and
// scgi_pass the header arrives as the param emulator.ParamReflectPrefix
// names), which must then reach the client. One request asks for one
// header, so that the summary, which lists the request's headers, stays
// short; the first maxHideChecks names are tried.
func hideHeaderChecks(pass *analyzer.Pass, p secPlace, name string, names []string) []requestCheck {
	params := paramsModule(name)
	var out []requestCheck
	for _, n := range names[:min(len(names), maxHideChecks)] {
		shows := func(x *emulator.Exchange) (bool, string) {
			ok := false
			if params {
				// The list must be this module's protocol's, as in
				// paramChecks.
				proto, _, isEcho := emulator.ParseParamsEcho(x.Body)
				ok = isEcho && string(proto) == strings.TrimSuffix(name, "_hide_header")
			} else {
				_, _, ok = emulator.ParseEcho(x.Body)
			}
			// A FastCGI or SCGI Location without a Status makes the
			// answer 302 (CGI semantics); the header still reaches the
			// client.
			redirect := params && strings.EqualFold(n, "Location") && x.Status == 302
			if (x.Status != 200 && !redirect) || !ok {
				return false, fmt.Sprintf("%d, not an answer of the echo backend", x.Status)
			}
			if !slices.Contains(x.Header(n), reflectMarker) {
				return false, fmt.Sprintf("%d without %s", x.Status, n)
			}
			return true, fmt.Sprintf("%d with the backend's %s", x.Status, n)
		}
		hs := []emulator.Header{{Name: emulator.ReflectPrefix + n, Value: reflectMarker}}
		for _, path := range pathsInto(pass, p, name) {
			out = append(out, requestCheck{req: emulator.Request{Path: path, Headers: hs}, echo: true, shows: shows, routed: proxiedAt(p, name)})
		}
	}
	return out
}

// maxHideChecks bounds the dropped headers a *_hide_header finding asks
// the backend for, one request each: one that leaks confirms it.
const maxHideChecks = 3

// paramChecks: the echo backend's body lists the params fastcgi_pass,
// uwsgi_pass or scgi_pass sent (emulator.ParamsEcho, on both engines),
// which must lack a dropped one, or carry it with another value than the
// inherited entry gives for the same request, as the emulator evaluates
// it. An entry nginx would not send anyway (if_not_empty with an empty
// value) is no evidence, and one whose value the emulator cannot
// reproduce counts only when it is absent.
func paramChecks(pass *analyzer.Pass, p secPlace, name string, dropped []secEntry) []requestCheck {
	module := strings.TrimSuffix(name, "_param")
	proto := map[string]string{"fastcgi": "FastCGI", "uwsgi": "uwsgi", "scgi": "SCGI"}[module]
	site := emulator.Site{Server: p.srv, Analysis: secAnalysis(pass), EchoBackend: true}
	if !pass.Profile.Nginx.IsZero() {
		site.NginxVersion = pass.Profile.Nginx.String()
	}
	host := serverHost(pass, p.srv)
	type want struct {
		name, value string
		exact       bool
	}
	routed := proxiedAt(p, name)
	var out []requestCheck
	for _, path := range pathsInto(pass, p, name) {
		var once sync.Once
		var wants []want
		expect := func() []want {
			once.Do(func() {
				ex := emulator.Serve(site, emulator.Request{Path: path, Headers: withHostHeader(nil, host)})
				for _, e := range dropped {
					v, exact := ex.Eval(e.arg(1))
					if e.arg(2) == "if_not_empty" && (v == "" || !exact) {
						continue
					}
					wants = append(wants, want{e.arg(0), v, exact})
				}
			})
			return wants
		}
		shows := func(x *emulator.Exchange) (bool, string) {
			pr, ps, ok := emulator.ParseParamsEcho(x.Body)
			if x.Status != 200 || !ok || string(pr) != module {
				return false, fmt.Sprintf("%d, not an answer of the %s echo backend", x.Status, proto)
			}
			var missing, differ, arrived []string
			for _, w := range expect() {
				var got []string
				for _, h := range ps {
					if h.Name == w.name {
						got = append(got, h.Value)
					}
				}
				switch {
				case len(got) == 0:
					missing = append(missing, w.name)
				case w.exact && !slices.Contains(got, w.value):
					differ = append(differ, fmt.Sprintf("%s=%s, not %s", w.name, got[0], w.value))
				default:
					arrived = append(arrived, w.name)
				}
			}
			if len(missing)+len(differ) == 0 {
				if len(arrived) == 0 {
					return false, "200, but nginx would not send the dropped params for this request"
				}
				return false, "200, the backend got " + shortList(arrived, 3)
			}
			// One part only, so that the summary stays short: the missing
			// names, else the first value that differs.
			if len(missing) > 0 {
				return true, "200, the " + proto + " backend got no " + shortList(missing, 3)
			}
			d := differ[0]
			if len(d) > 80 {
				d = d[:77] + "..."
			}
			return true, "200, the " + proto + " backend got " + d
		}
		out = append(out, requestCheck{req: emulator.Request{Path: path}, echo: true, shows: shows, routed: routed})
	}
	return out
}

// passOf is the content handler a directive of the proxy, grpc,
// fastcgi, uwsgi or scgi module goes with: MODULE_pass.
func passOf(name string) string {
	module, _, _ := strings.Cut(name, "_")
	return module + "_pass"
}

// paramsModule reports whether name's module talks to its backend in
// params (FastCGI, uwsgi, SCGI) rather than in an HTTP request head.
func paramsModule(name string) bool {
	switch passOf(name) {
	case "fastcgi_pass", "uwsgi_pass", "scgi_pass":
		return true
	}
	return false
}

// pick1 is a if c, else b.
func pick1(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}
