package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// LuaFileMissing reports *_by_lua_file directives whose file cannot be read.
var LuaFileMissing = &analyzer.Rule{
	ID:       "NGX1001",
	Slug:     "lua-file-missing",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "*_by_lua_file names a file that cannot be read",
		Text: `lua-nginx-module resolves a relative *_by_lua_file path against the nginx prefix (-p), not
against the directory of the config file, and reads the file when the phase first runs (init_by_lua_file
at startup, the others at request time), so "nginx -t" does not catch a wrong path: requests fail with
500 and "failed to load external Lua file". Pass --prefix to ngxlint if your prefix is not the config's
directory (or its parent when that is named conf).

A file named by an absolute install path (/usr/local/openresty/nginx/lua/x.lua) that is outside the
checked tree or missing from it is the checkout's layout more often than a wrong path: map the
install path to the tree (path_map in .ngxlint.yaml) and the file is checked; otherwise the finding
says "not in this checkout" at info, which does not fail CI by default. A relative path that does not
resolve stays an error.`,
		Bad: `http {
    server {
        listen 80;
        location / { content_by_lua_file lua/missing.lua; }
    }
}
`,
		Good: `http {
    server {
        listen 80;
        location / { content_by_lua_block { ngx.say("ok") } }
    }
}
`,
		Since:        "0.1.0",
		References:   []string{"lua-nginx-module ngx_http_lua_rebase_path"},
		Confirmation: "not confirmable: the emulator runs balancer code only.",
	},
	Run: func(pass *analyzer.Pass) error {
		for _, ref := range pass.Model.Lua {
			if ref.Chunk == nil || ref.Chunk.LoadError == "" {
				continue
			}
			d := ref.Directive
			pos, end := d.Pos, d.End
			file := ref.Chunk.Path
			if len(d.Args) > 0 {
				a := d.Args[len(d.Args)-1]
				pos, end, file = a.Pos, a.End(), a.Value
			}
			// The headline names the file as written, once, and the
			// reason in a few words; the load error, whose reason may
			// repeat the resolved path or list the checked roots, is
			// the details.
			if ref.Chunk.NotInCheckout {
				pass.Report(&analyzer.Diagnostic{Pos: pos, End: end, Severity: analyzer.Info,
					Message: fmt.Sprintf("%s: %q is not in this checkout", d.Name, file),
					Details: joinDetails(ref.Chunk.LoadError, "Map the install path into the tree with path_map to check it")})
				continue
			}
			diag := &analyzer.Diagnostic{Pos: pos, End: end, Message: fmt.Sprintf("%s: cannot read Lua file %q: %s", d.Name, file, shortReason(ref.Chunk.LoadError)),
				Details: joinDetails(ref.Chunk.LoadError)}
			if pass.Config != nil && pass.Config.PrefixGuessed && !pathAbsolute(d) {
				// The prefix is ngxlint's guess (no --prefix): the file
				// may be where nginx's real -p puts it (DC/OS installs
				// src/ as conf/). Not an error on a guess.
				diag.Severity = analyzer.Warning
				diag.Message += " (nginx prefix guessed)"
				diag.Details = joinDetails(diag.Details, "The path is relative to the nginx prefix, which ngxlint guessed as "+pass.Config.Prefix+": pass --prefix (or a path_map) if nginx runs with another")
			}
			pass.Report(diag)

		}
		return nil
	},
}

// pathAbsolute reports whether d's file argument is an absolute path.
func pathAbsolute(d *nginxconf.Directive) bool {
	return len(d.Args) > 0 && strings.HasPrefix(d.Args[len(d.Args)-1].Value, "/")
}

// shortReason is the last clause of a load error without its parenthesised
// detail: "no such file or directory" of "cannot read Lua file a.lua:
// /srv/a.lua: no such file or directory", "outside the checked tree" of
// "...: outside the checked tree (/srv/conf, ...)".
func shortReason(loadError string) string {
	s := loadError
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	s, _, _ = strings.Cut(s, " (")
	return s
}
