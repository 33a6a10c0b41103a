package rules

import (
	"github.com/ngxlint/ngxlint/analyzer"
)

// LuaSyntaxError reports Lua that does not parse, at the exact position
// inside nginx.conf (or the Lua file).
var LuaSyntaxError = &analyzer.Rule{
	ID:       "LUA1001",
	Slug:     "lua-syntax-error",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "Lua code that does not compile",
		Text: `nginx -t does not compile *_by_lua code: lua-nginx-module compiles a chunk the first time its
phase runs (init_by_lua at startup), so a syntax error in a content_by_lua_block or a balancer passes
the config test and fails every request with 500 ("failed to load inlined Lua code"). The position is
where LuaJIT's parser stops, inside the file where the code lives; an error at the end of a block is
reported at its closing brace.`,
		Bad: `http {
    server {
        listen 80;
        location / {
            content_by_lua_block {
                if ngx.var.arg_x then
                    ngx.say("x")
            }
        }
    }
}
`,
		Good: `http {
    server {
        listen 80;
        location / {
            content_by_lua_block {
                if ngx.var.arg_x then
                    ngx.say("x")
                end
            }
        }
    }
}
`,
		Since:        "0.1.0",
		Confirmation: "not confirmable: the chunk cannot run.",
	},
	Run: func(pass *analyzer.Pass) error {
		for _, u := range luaUnits(pass) {
			res := luaFacts(pass, u.Chunk)
			for _, e := range res.SyntaxErrors {
				// The message names the kind of token ("near a name"),
				// never its text: the file may not be Lua at all
				// (docs/security.md).
				msg := "Lua syntax error: " + e.Message
				if e.Token == "" {
					msg += " at the end of the code"
				}
				pass.Report(&analyzer.Diagnostic{Pos: e.Pos, End: e.End, Message: msg,
					Related: []analyzer.Related{{Pos: u.Pos, Message: u.Where + " starts here"}}})
			}
			for _, e := range res.InternalErrors {
				// A bug in our analysis: say so at the chunk rather than hide it.
				pass.Report(&analyzer.Diagnostic{Pos: u.Chunk.Pos, Severity: analyzer.Info,
					Message: "ngxlint could not analyse this Lua chunk (please report): " + e})
			}
		}
		return nil
	},
}
