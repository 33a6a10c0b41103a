package rules

import (
	"fmt"
	"path"
	"strings"
	"testing/fstest"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// FilesystemRoot flags a root or alias of "/" that serves a request for
// /etc/passwd: the whole file system published.
var FilesystemRoot = &analyzer.Rule{
	ID:       "SEC1023",
	Slug:     "filesystem-root",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "root or alias \"/\" serves the whole file system",
		Text: `The static handler maps a request to root + URI, or to alias + the URI past the location's prefix
(ngx_http_map_uri_to_path). With "root /;" in a location that catches every URI, "GET /etc/passwd" is
answered with /etc/passwd, and so is every file the worker user can read: keys, .env files, sources.
Spellings of "/" ("//", "/./", "/usr/..") are the same directory.

Decided by routing rather than by the directive alone: for each server, the request "/etc/passwd" (and,
for a prefix location with "alias /", that location's prefix followed by "etc/passwd") is routed as nginx
routes it (exact, "^~", regexes in order, longest prefix); it is reported when the location chosen (or the
server itself, when none matches) maps it to /etc/passwd with the static handler. So "location /static/ {
root /; }", which publishes only the directory /static, is not reported; neither is a location that
proxies, returns or runs Lua, nor a root with variables. The fix is a directory that holds only what is
meant to be published.`,
		Bad: `http {
    server {
        listen 80;
        root /;
        location /api/ {
            proxy_pass http://127.0.0.1:8080;
        }
    }
}
`,
		Good: `http {
    server {
        listen 80;
        root /var/www/example;
        location /api/ {
            proxy_pass http://127.0.0.1:8080;
        }
    }
}
`,
		Since: "0.3.0",
		References: []string{"https://nginx.org/en/docs/http/ngx_http_core_module.html#root",
			"nginx src/http/ngx_http_core_module.c (ngx_http_map_uri_to_path)", "Gixy-Next filesystem_root_exposure"},
		Confirmation: "by a crafted request through the emulator's request path, against an in-memory tree holding /etc/passwd (its content must come back). With --engine nginx|both real nginx replays the same request: the tree is written into the run's private directory and every absolute root and alias is pointed into it, so the real /etc/passwd is never read; a configuration that could serve a file outside that tree (a path with variables, \"..\" in an argument, Lua) is not confirmable there.",
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Model == nil || pass.Model.HTTP == nil || pass.Config == nil {
			return nil
		}
		levels := secLevelsOf(pass)
		rooted := false
		for _, l := range levels.all {
			for _, name := range []string{"root", "alias"} {
				if es := l.own(name); len(es) > 0 && isFilesystemRoot(es[0].arg(0)) {
					rooted = true
				}
			}
		}
		if !rooted {
			// nginx's default root is html under the prefix: with no
			// root or alias naming "/" no request maps to /etc/passwd,
			// and routing a probe through every server is not needed.
			return nil
		}
		byBlock := make(map[*nginxconf.Directive]*secLevel, len(levels.all))
		for _, l := range levels.all {
			byBlock[l.block] = l
		}
		a := secAnalysis(pass)
		reported := map[*nginxconf.Directive]bool{}
		for _, srv := range pass.Model.HTTP.Servers {
			probes := []string{"/etc/passwd"}
			for _, l := range srv.AllLocations {
				if lv := byBlock[l.Directive]; lv != nil && (l.Modifier == "" || l.Modifier == "^~") {
					if al := lv.own("alias"); len(al) > 0 && isFilesystemRoot(al[0].arg(0)) {
						probes = append(probes, strings.TrimSuffix(l.Path, "/")+"/etc/passwd")
					}
				}
			}
			for _, uri := range probes {
				m := a.Router(srv).Select(uri)
				if m.Redirect {
					continue
				}
				var lv *secLevel
				if m.Location != nil {
					lv = byBlock[m.Location.Directive]
				} else {
					lv = byBlock[srv.Directive]
				}
				if lv == nil || servesOtherwise(lv) {
					continue
				}
				e, file, ok := mapToFile(lv, m.Location, uri)
				if !ok || file != "/etc/passwd" || reported[e.d] {
					continue
				}
				reported[e.d] = true
				where := "the server itself (no location matches)"
				if m.Location != nil {
					where = "location " + quoteArgs(m.Location.Directive)
				}
				pass.Report(&analyzer.Diagnostic{Pos: e.d.Pos, End: e.d.End,
					Message: fmt.Sprintf("%s %s publishes the whole file system: GET %s is served from /etc/passwd", e.name, e.arg(0), uri),
					Details: fmt.Sprintf("The request is handled by %s with the static handler, which appends the URI to this path. Point %s at a directory holding only the files to publish.", where, e.name),
					Confirm: filesystemRootConfirmer(pass, srv, uri)})
			}
		}
		return nil
	},
}

// isFilesystemRoot reports whether a root or alias value is "/" however
// spelled; a value with variables is known only at run time.
func isFilesystemRoot(v string) bool {
	return strings.HasPrefix(v, "/") && !strings.Contains(v, "$") && path.Clean(v) == "/"
}

// contentHandlers are directives that give a location a handler other
// than the static one, so root and alias map no request to a file there.
var contentHandlers = map[string]bool{
	"proxy_pass": true, "fastcgi_pass": true, "uwsgi_pass": true, "scgi_pass": true, "grpc_pass": true,
	"memcached_pass": true, "stub_status": true, "empty_gif": true, "content_by_lua": true,
	"content_by_lua_block": true, "content_by_lua_file": true, "perl": true, "echo": true,
	"vhost_traffic_status_display": true, "js_content": true, "return": true,
}

// servesOtherwise reports whether a level answers with something other
// than the static handler, or is internal. A return counts only written at the level
// itself, where it always runs (one inside an if may not).
func servesOtherwise(l *secLevel) bool {
	if len(l.own("internal")) > 0 {
		return true // not reachable by a client's request
	}
	for name := range contentHandlers {
		if len(l.own(name)) > 0 {
			return true
		}
	}
	return false
}

// mapToFile maps uri to a file path as the static handler does at level l
// (the chosen location loc, nil at server level): the innermost root, or
// the location's own alias with the matched prefix replaced.
func mapToFile(l *secLevel, loc *nginxconf.Location, uri string) (secEntry, string, bool) {
	if al := l.own("alias"); len(al) > 0 {
		if loc == nil || (loc.Modifier != "" && loc.Modifier != "^~") || !strings.HasPrefix(uri, loc.Path) || strings.Contains(al[0].arg(0), "$") {
			return secEntry{}, "", false
		}
		return al[0], path.Clean(al[0].arg(0) + uri[len(loc.Path):]), true
	}
	for p := l; p != nil; p = p.parent {
		if rs := p.own("root"); len(rs) > 0 {
			v := rs[0].arg(0)
			if !isFilesystemRoot(v) {
				return secEntry{}, "", false
			}
			return rs[0], path.Clean(v + uri), true
		}
		if len(p.own("alias")) > 0 {
			return secEntry{}, "", false
		}
	}
	return secEntry{}, "", false
}

// filesystemRootConfirmer sends the request to the emulator with an
// in-memory tree holding /etc/passwd.
func filesystemRootConfirmer(pass *analyzer.Pass, srv *nginxconf.Server, uri string) analyzer.Confirmer {
	const content = "root:x:0:0:ngxlint:/root:/bin/sh\n"
	files := fstest.MapFS{"etc/passwd": {Data: []byte(content)}}
	// The body tells which file was served: real nginx reports no path,
	// and only the synthetic /etc/passwd holds this content.
	return requestConfirmer(pass, srv, files, []requestCheck{{req: emulator.Request{Path: uri}, shows: func(x *emulator.Exchange) (bool, string) {
		if x.Status == 200 && x.Body == content && (x.File == "" || x.File == "/etc/passwd") {
			return true, "200, served /etc/passwd"
		}
		return false, fmt.Sprintf("%d, file %q", x.Status, x.File)
	}}})
}
