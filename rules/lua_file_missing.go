package rules

import (
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
			if len(d.Args) > 0 {
				a := d.Args[len(d.Args)-1]
				pos, end = a.Pos, a.End()
			}
			if ref.Chunk.NotInCheckout {
				pass.Report(&analyzer.Diagnostic{Pos: pos, End: end, Severity: analyzer.Info,
					Message: d.Name + ": not in this checkout (" + ref.Chunk.LoadError + "); map the install path into the tree with path_map to check it"})
				continue
			}
			diag := &analyzer.Diagnostic{Pos: pos, End: end, Message: d.Name + ": " + ref.Chunk.LoadError}
			if pass.Config != nil && pass.Config.PrefixGuessed && !pathAbsolute(d) {
				// The prefix is ngxlint's guess (no --prefix): the file
				// may be where nginx's real -p puts it (DC/OS installs
				// src/ as conf/). Not an error on a guess.
				diag.Severity = analyzer.Warning
				diag.Message += "; the path is relative to the nginx prefix, which ngxlint guessed as " + pass.Config.Prefix + ": pass --prefix (or a path_map) if nginx runs with another"
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
