package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// DeadContentHandler flags a location's content handler that never runs:
// another content handler written later in the same location replaces it,
// or an unconditional return ends every request before the content phase.
var DeadContentHandler = &analyzer.Rule{
	ID:       "NGX2006",
	Slug:     "dead-content-handler",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "a content handler (proxy_pass, content_by_lua*) that never runs",
		Text: `A location has one content handler. proxy_pass (ngx_http_proxy_pass), the other *_pass
directives and content_by_lua* (ngx_http_lua_content_by_lua) each set the location's
clcf->handler, and each only refuses a duplicate of itself ("is duplicate"), so nginx -t accepts
proxy_pass and content_by_lua_block in one location and the one written last silently wins: the
other is dead code. (Checked on nginx 1.22.1 with lua-nginx-module 0.10.23: "proxy_pass ...;
content_by_lua_block {...}" answers from Lua, the reverse order from the backend.)

Likewise "return" runs in the rewrite phase (ngx_http_rewrite_module) and ends the request there, so
a location whose own directives reach an unconditional return (no rewrite, break or if before it)
never runs its content handler. Keep one handler per location; move the other into a location of its
own, or make the return conditional.

A stream server has one content handler too, and there proxy_pass (ngx_stream_proxy_pass), return
(ngx_stream_return, a content handler in stream, not a rewrite-phase one), pass and content_by_lua*
(ngx_stream_lua_content_by_lua) each set cscf->handler with the same "last one wins": checked on nginx
1.22.1's stream module with return and proxy_pass in both orders (TestDeadContentHandlerStreamOnRealNginx);
stream-lua-nginx-module issue #109 shows content_by_lua* losing to a later proxy_pass.`,
		Bad: `http {
    server {
        listen 80;
        location /api {
            content_by_lua_block {
                ngx.say("maintenance")
            }
            proxy_pass http://127.0.0.1:8080;
        }
        location /old {
            return 301 /new;
            proxy_pass http://127.0.0.1:8080;
        }
    }
}
`,
		Good: `http {
    server {
        listen 80;
        location /api {
            proxy_pass http://127.0.0.1:8080;
        }
        location /status {
            content_by_lua_block {
                ngx.say("maintenance")
            }
        }
        location /old {
            if ($arg_legacy) {
                return 301 /new;
            }
            proxy_pass http://127.0.0.1:8080;
        }
    }
}
`,
		Since: "0.2.0",
		References: []string{"nginx src/http/modules/ngx_http_proxy_module.c ngx_http_proxy_pass (clcf->handler)",
			"lua-nginx-module src/ngx_http_lua_directive.c ngx_http_lua_content_by_lua (clcf->handler)",
			"https://nginx.org/en/docs/http/ngx_http_rewrite_module.html#return",
			"nginx src/stream/ngx_stream_proxy_module.c ngx_stream_proxy_pass, ngx_stream_return_module.c (cscf->handler)",
			"https://github.com/openresty/stream-lua-nginx-module/issues/109"},
		Confirmation: "not confirmable: the emulator models the upstream side of one proxied location, not nginx's phase handlers.",
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Model != nil && pass.Model.Stream != nil {
			for _, s := range pass.Model.Stream.Servers {
				checkStreamContentHandlers(pass, s)
			}
		}
		if pass.Model == nil || pass.Model.HTTP == nil {
			return nil
		}
		for _, s := range pass.Model.HTTP.Servers {
			for _, l := range s.AllLocations {
				checkContentHandlers(pass, l)
			}
		}
		return nil
	},
}

// isContentHandler reports directives that set the location's
// clcf->handler.
func isContentHandler(name string) bool {
	switch name {
	case "proxy_pass", "fastcgi_pass", "uwsgi_pass", "scgi_pass", "grpc_pass", "memcached_pass",
		"content_by_lua", "content_by_lua_block", "content_by_lua_file", "js_content", "stub_status", "empty_gif":
		return true
	}
	return false
}

func checkContentHandlers(pass *analyzer.Pass, l *nginxconf.Location) {
	var handlers []*nginxconf.Directive
	var ret *nginxconf.Directive
	stopped := false // a rewrite, break or if before any return: it may not run
	for _, d := range l.Directives {
		switch {
		case isContentHandler(d.Name):
			handlers = append(handlers, d)
		case d.Name == "return" && !stopped && ret == nil:
			ret = d
		case d.Name == "rewrite" || d.Name == "break" || d.Name == "if":
			stopped = stopped || ret == nil
		}
	}
	if len(handlers) == 0 {
		return
	}
	last := handlers[len(handlers)-1]
	if ret != nil {
		for _, h := range handlers {
			pass.Report(&analyzer.Diagnostic{Pos: h.Pos, End: h.End,
				Message: fmt.Sprintf("%s never runs: the unconditional \"return %s\" in this location ends every request first", h.Name, ret.Arg(0)),
				Details: "return ends every request in the rewrite phase, before the content phase where the handler would run.",

				Related: []analyzer.Related{{Pos: ret.Pos, End: ret.End, Message: "return here"}}})
		}
		return
	}
	for _, h := range handlers[:len(handlers)-1] {
		if handlerFamily(h.Name) == handlerFamily(last.Name) {
			continue // nginx itself rejects it: "is duplicate"
		}
		what := "is dead code"
		if strings.HasPrefix(h.Name, "content_by_lua") {
			what = "is dead code: its Lua never runs"
		}
		pass.Report(&analyzer.Diagnostic{Pos: h.Pos, End: h.End,
			Message: fmt.Sprintf("%s %s: %s, written after it in the same location, replaces the content handler", h.Name, what, last.Name),
			Details: "Each content handler directive sets the location's handler (clcf->handler) and the last one wins; nginx does not warn.",

			Related: []analyzer.Related{{Pos: last.Pos, End: last.End, Message: last.Name + " wins"}}})
	}
}

// handlerFamily names the module whose own duplicate check a handler
// directive meets: content_by_lua, _block and _file share one.
func handlerFamily(name string) string {
	if strings.HasPrefix(name, "content_by_lua") {
		return "content_by_lua"
	}
	return name
}

// isStreamContentHandler reports directives that set a stream server's
// content handler (cscf->handler).
func isStreamContentHandler(name string) bool {
	switch name {
	case "proxy_pass", "return", "pass", "content_by_lua", "content_by_lua_block", "content_by_lua_file":
		return true
	}
	return false
}

// checkStreamContentHandlers is checkContentHandlers for a stream server:
// the last handler written in the server wins.
func checkStreamContentHandlers(pass *analyzer.Pass, s *nginxconf.Server) {
	var handlers []*nginxconf.Directive
	for _, d := range s.Directives {
		if isStreamContentHandler(d.Name) {
			handlers = append(handlers, d)
		}
	}
	if len(handlers) < 2 {
		return
	}
	last := handlers[len(handlers)-1]
	for _, h := range handlers[:len(handlers)-1] {
		if handlerFamily(h.Name) == handlerFamily(last.Name) {
			continue // "is duplicate"
		}
		what := "is dead code"
		if strings.HasPrefix(h.Name, "content_by_lua") {
			what = "is dead code: its Lua never runs"
		}
		pass.Report(&analyzer.Diagnostic{Pos: h.Pos, End: h.End,
			Message: fmt.Sprintf("%s %s: %s, written after it in the same stream server, replaces the content handler", h.Name, what, last.Name),
			Details: "Each of proxy_pass, return, pass and content_by_lua* sets the stream server's handler (cscf->handler) and the last one wins; nginx -t does not warn.",
			Related: []analyzer.Related{{Pos: last.Pos, End: last.End, Message: last.Name + " wins"}}})
	}
}
