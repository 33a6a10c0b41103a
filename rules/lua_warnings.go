package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// The luacheck-equivalent rules. Each maps one or more luacheck warning
// codes (same meaning, so a team can translate its .luacheckrc; the table is
// in docs/rules.md and luacheck/doc.go). They share one implementation:
// luacheck computes the facts once per chunk, the rule filters by code.

// LuaUndefinedGlobal is luacheck's W113.
var LuaUndefinedGlobal = luaWarningRule("LUA1113", "lua-undefined-global", analyzer.Warning, []string{"W113"},
	"read of an undefined global variable (luacheck W113)",
	`Reading a global that nothing defines yields nil: usually a typo ("ngx.say(mesage)") or a missing
"local x = require ...". Globals that an init_by_lua* / init_worker_by_lua* chunk of the same
configuration assigns (plainly, as _G.name or with rawset(_G, ...), there or in the modules they
require) are treated as defined in every other chunk, as they are at run time. Modules the
configuration requires are checked too, in their own files.`,
	`            local name = ngx.var.arg_name
            ngx.say("hello ", nmae)`,
	`            local name = ngx.var.arg_name
            ngx.say("hello ", name)`)

// LuaGlobalWrite is luacheck's W111 and W112.
var LuaGlobalWrite = luaWarningRule("LUA1111", "lua-global-write", analyzer.Warning, []string{"W111", "W112"},
	"assignment to a global variable in request code (luacheck W111/W112)",
	`A global assigned while serving a request is shared by every request the worker serves: one
request's value leaks into the next, and concurrent requests (cosockets yield) race on it. OpenResty
itself warns "writing a global Lua variable" at request time. Declare it local. Assignments in
init_by_lua* and init_worker_by_lua* (where module-wide state belongs) are not reported.`,
	`            count = (count or 0) + 1
            ngx.say(count)`,
	`            local count = 1
            ngx.say(count)`)

// LuaUnknownNgxField is luacheck's W143 with the current ngx_lua API table.
var LuaUnknownNgxField = luaWarningRule("LUA1143", "lua-unknown-ngx-field", analyzer.Error, []string{"W143"},
	"use of an ngx.* field that does not exist (luacheck W143)",
	`The field is not in lua-nginx-module's or lua-resty-core's API (table of lua-nginx-module
v0.10.32rc2, not luacheck's outdated ngx_lua std): calling it raises "attempt to call field ... (a nil
value)" and the request fails with 500.`,
	`            ngx.sayy("hello")`,
	`            ngx.say("hello")`)

// LuaUnusedVariable is luacheck's W211, W212 and W213.
var LuaUnusedVariable = luaWarningRule("LUA1211", "lua-unused-variable", analyzer.Info, []string{"W211", "W212", "W213"},
	"unused local variable, argument or loop variable (luacheck W211/W212/W213)",
	`A local that is never read is dead code or a bug (the value was meant to be used: a result that was
meant to be checked). Names starting with "_" are exempt, as in luacheck.`,
	`            local unused = ngx.var.uri
            ngx.say("ok")`,
	`            local uri = ngx.var.uri
            ngx.say(uri)`)

// LuaUnusedValue is luacheck's W311.
var LuaUnusedValue = luaWarningRule("LUA1311", "lua-unused-value", analyzer.Info, []string{"W311"},
	"value assigned to a variable is never used (luacheck W311)",
	`The assigned value is overwritten or goes out of scope before anything reads it.`,
	`            local x = ngx.var.arg_a
            x = ngx.var.arg_b
            ngx.say(x)`,
	`            local x = ngx.var.arg_a or ngx.var.arg_b
            ngx.say(x)`)

// LuaShadowing is luacheck's W421, W422 and W423.
var LuaShadowing = luaWarningRule("LUA1421", "lua-shadowing", analyzer.Info, []string{"W421", "W422", "W423"},
	"local variable shadows another (luacheck W421/W422/W423)",
	`A local, argument or loop variable with the same name as one in an enclosing scope: later code that
means the outer one reads the inner one.`,
	`            local v = 1
            do
                local v = 2
                ngx.say(v)
            end
            ngx.say(v)`,
	`            local v = 1
            do
                local w = 2
                ngx.say(w)
            end
            ngx.say(v)`)

// LuaUnreachableCode is luacheck's W511.
var LuaUnreachableCode = luaWarningRule("LUA1511", "lua-unreachable-code", analyzer.Warning, []string{"W511"},
	"unreachable code (luacheck W511)",
	`Code after a return, break or goto that no path reaches; in OpenResty often code after
"return ngx.exit(...)" that the author believed runs.`,
	`            do return ngx.exit(403) end
            ngx.log(ngx.ERR, "denied")`,
	`            ngx.log(ngx.ERR, "denied")
            return ngx.exit(403)`)

// luaWarningRule builds a rule that reports luacheck warnings of codes.
// The examples are content_by_lua_block bodies.
func luaWarningRule(id, slug string, sev analyzer.Severity, codes []string, title, text, bad, good string) *analyzer.Rule {
	wrap := func(body string) string {
		return "http {\n    server {\n        listen 80;\n        location / {\n            content_by_lua_block {\n" + body + "\n            }\n        }\n    }\n}\n"
	}
	r := &analyzer.Rule{ID: id, Slug: slug, Severity: sev,
		Doc: analyzer.Doc{Title: title, Text: text, Bad: wrap(bad), Good: wrap(good), Since: "0.1.0",
			References:   []string{"https://luacheck.readthedocs.io/en/stable/warnings.html (" + strings.Join(codes, ", ") + ")"},
			Confirmation: "not confirmable: a static property of the Lua code."}}
	r.Run = func(pass *analyzer.Pass) error {
		initGlobals := initDefinedGlobals(pass)
		for _, u := range luaUnits(pass) {
			res := luaFacts(pass, u.Chunk)
			// A global the chunk itself sets (reported as W111 at the
			// write) is not "undefined" where the chunk reads it on a
			// later line: one report of the global, at the write, not a
			// second one at every read. A read on the write's own line
			// (hits = (hits or 0) + 1) runs before the write: still
			// reported.
			setAt := map[string]int{}
			for _, w := range res.Warnings {
				if w.Code == "W111" {
					if line, ok := setAt[w.Name]; !ok || w.Pos.Line < line {
						setAt[w.Name] = w.Pos.Line
					}
				}
			}
			for _, w := range res.Warnings {
				if !hasValue(codes, w.Code) {
					continue
				}
				if skipWarning(u.Ref, w, initGlobals) {
					continue
				}
				if line, ok := setAt[w.Name]; ok && w.Code == "W113" && w.Pos.Line > line && w.Pos.File == u.Chunk.Pos.File {
					continue
				}
				pass.Report(&analyzer.Diagnostic{Pos: w.Pos, End: w.End,
					Message: fmt.Sprintf("%s (%s in %s)", w.Message, w.Code, u.Where)})
			}
		}
		return nil
	}
	return r
}

// isInitChunk reports chunks that run once per worker or master, where
// defining module-wide globals is the intended use (ref is nil for a
// module file).
func isInitChunk(ref *nginxconf.LuaRef) bool {
	return ref != nil && (strings.HasPrefix(ref.Context, "init_by_lua") || strings.HasPrefix(ref.Context, "init_worker_by_lua"))
}

func skipWarning(ref *nginxconf.LuaRef, w luacheck.Warning, initGlobals map[string]bool) bool {
	switch w.Code {
	case "W111":
		return isInitChunk(ref)
	case "W112":
		// Mutating a table that init_by_lua* set up as module-wide state
		// (a cache, a config) is the intended use.
		return isInitChunk(ref) || initGlobals[w.Name]
	case "W113":
		return initGlobals[w.Name]
	}
	return false
}
