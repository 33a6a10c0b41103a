package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
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
		Confirmation: `not confirmable: the request path computes proxy_pass's upstream URL but sends nothing upstream, so it
observes neither the request headers or FastCGI params a backend receives (proxy_set_header, *_param) nor the
backend's response headers that *_hide_header would remove; the real-nginx engine's loopback backends do not
report the requests they read either. A confirmation needs a backend that echoes what it received.`,
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
	pass.Report(d)
}
