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

// AliasTraversal flags a prefix location without a trailing slash whose
// alias ends with one.
var AliasTraversal = &analyzer.Rule{
	ID:       "SEC2004",
	Slug:     "alias-traversal",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "alias in a prefix location without a trailing slash: path traversal (\"/files../secret\")",
		Text: `For a prefix location, alias replaces the location's path in the URI with the alias
(ngx_http_map_uri_to_path). "location /files { alias /data/files/; }" maps "/files/a.txt" to
"/data/files//a.txt", but also "/files../secret" to "/data/files/../secret", which the kernel
resolves to "/data/secret": one directory above the alias, readable by anyone. nginx's own URI
normalisation does not help, because "files.." is not a ".." segment.

Flagged when the location (prefix or ^~) does not end with '/' and the alias does. Write both with
the slash ("location /files/ { alias /data/files/; }"), or both without. Regex locations, whose
alias is built from captures of the already normalised URI, are not flagged. The fix adds the slash
to the location's path; a request for "/files" itself then no longer reaches it.`,
		Bad: `http {
    server {
        listen 80;
        location /static {
            alias /srv/app/static/;
        }
    }
}
`,
		Good: `http {
    server {
        listen 80;
        location /static/ {
            alias /srv/app/static/;
        }
        location /media {
            alias /srv/app/media;
        }
    }
}
`,
		Since: "0.3.0",
		References: []string{"https://github.com/yandex/gixy/blob/master/docs/en/plugins/aliastraversal.md (gixy alias_traversal)",
			"nginx src/http/ngx_http_core_module.c ngx_http_map_uri_to_path"},
		Confirmation: "confirmed by the emulator's request path on a synthetic file tree (the alias directory and a file next to it): GET <location>../<file> must be served from outside the alias (the secret's content in the body). With --engine nginx|both real nginx replays the same request: the tree is written into the run's private directory and every absolute root and alias is pointed into it; a configuration that could serve a file outside it (a path with variables, \"..\" in an argument, Lua) is not confirmable there. The differential suite replays the request too (alias.txtar).",
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Model == nil || pass.Model.HTTP == nil {
			return nil
		}
		for _, srv := range pass.Model.HTTP.Servers {
			for _, l := range srv.AllLocations {
				if l.Modifier != "" && l.Modifier != "^~" || strings.HasSuffix(l.Path, "/") {
					continue
				}
				for _, d := range l.Own("alias") {
					if len(d.Args) != 1 || !strings.HasSuffix(d.Arg(0), "/") {
						continue
					}
					ld := l.Directive
					diag := &analyzer.Diagnostic{Pos: d.Pos, End: d.End,
						Message: fmt.Sprintf("alias %q ends with '/' but location %q does not: %q reads the alias's parent directory", d.Arg(0), l.Path, l.Path+"../"),
						Details: fmt.Sprintf("nginx replaces %q in the URI by %q, so %s../x opens %sx, outside the alias.", l.Path, d.Arg(0), l.Path, path.Dir(strings.TrimSuffix(d.Arg(0), "/"))+"/"),
						Related: []analyzer.Related{{Pos: ld.Pos, End: ld.BlockOpen, Message: "location without a trailing slash"}}}
					if pa := ld.Args[len(ld.Args)-1]; pa.Quote == 0 && !strings.Contains(d.Arg(0), "$") {
						e := pa.End()
						diag.Fixes = []analyzer.SuggestedFix{{Message: "end the location's path with '/'", Edits: []analyzer.TextEdit{{Pos: e, End: e, NewText: "/"}}}}
					}
					if !strings.Contains(d.Arg(0), "$") && strings.HasPrefix(d.Arg(0), "/") {
						diag.Confirm = aliasConfirm(pass, srv, l, d.Arg(0))
					}
					pass.Report(diag)
				}
			}
		}
		return nil
	},
}

// aliasConfirm builds a file tree with the alias directory and a secret
// next to it, and asks for the secret through the location.
func aliasConfirm(pass *analyzer.Pass, srv *nginxconf.Server, l *nginxconf.Location, alias string) analyzer.Confirmer {
	dir := strings.TrimPrefix(path.Clean(alias), "/")
	parent := path.Dir(dir)
	secret, content := "ngxlint-secret.txt", "ngxlint secret outside the alias\n"
	files := fstest.MapFS{
		dir + "/ngxlint-inside.txt": {Data: []byte("inside\n")},
		path.Join(parent, secret):   {Data: []byte(content)},
	}
	want := "/" + path.Join(parent, secret)
	rq := emulator.Request{Path: l.Path + "../" + secret}
	// The body tells which file was served: real nginx reports no path,
	// and only the secret outside the alias holds this content.
	return requestConfirmer(pass, srv, files, []requestCheck{{req: rq, shows: func(x *emulator.Exchange) (bool, string) {
		if x.Status == 200 && x.Body == content && (x.File == "" || x.File == want) {
			return true, fmt.Sprintf("200, served %s from outside the alias %s", want, alias)
		}
		return false, fmt.Sprintf("%d, file %q", x.Status, x.File)
	}}})
}
