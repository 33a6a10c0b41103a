package luacheck

import (
	"strings"

	"github.com/ngxlint/ngxlint/internal/luadepth"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/yuin/gopher-lua/parse"
)

// Requires returns the module names code requires with a literal name, in
// source order, each once: require "x", require 'x', require [[x]],
// require("x"), and pcall(require, "x"), wherever they are (a local
// assignment, a field, inside a function). A name computed at run time
// (require(prefix .. name), a variable) is not guessed. A chunk that does
// not parse (or nests deeper than luadepth.Limit) requires nothing: its
// only fact is its syntax error; except that a chunk whose literal
// requires all name modules OpenResty provides
// (nginxconf.IsBuiltinModule) is not parsed for this, and returns them. A local named require is not told apart
// from the global: "local require = require" is how many modules cache
// globals.
//
// nginxconf.Options.Requires takes this function: the loader follows
// the modules it names.
func Requires(code string) []string {
	if !strings.Contains(code, "require") || len(code) > maxChunk {
		return nil
	}
	lx := tokenize(code)
	var names []string
	seen := map[string]bool{}
	add := func(t *token) {
		if n := lx.text(t); !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	toks := lx.toks
	isPunct := func(i int, p string) bool {
		return i < len(toks) && toks[i].kind == tkPunct && lx.src[toks[i].off:toks[i].end] == p
	}
	for i := range toks {
		t := &toks[i]
		if t.kind != tkName || lx.src[t.off:t.end] != "require" {
			continue
		}
		// obj.require "x" and obj:require "x" are methods, not the global.
		if i > 0 && (isPunct(i-1, ".") || isPunct(i-1, ":")) {
			continue
		}
		switch {
		case i+1 < len(toks) && toks[i+1].kind == tkString:
			add(&toks[i+1])
		case isPunct(i+1, "(") && i+2 < len(toks) && toks[i+2].kind == tkString && isPunct(i+3, ")"):
			add(&toks[i+2])
		case isPunct(i+1, ",") && i >= 2 && isPunct(i-1, "(") && toks[i-2].kind == tkName &&
			lx.src[toks[i-2].off:toks[i-2].end] == "pcall" &&
			i+2 < len(toks) && toks[i+2].kind == tkString && isPunct(i+3, ")"):
			add(&toks[i+2])
		}
	}
	if len(names) == 0 {
		return nil
	}
	// Only a chunk that parses requires anything: what the tokenizer
	// saw in a broken chunk may be no code at all. A chunk that requires
	// only modules OpenResty provides (require "ngx.balancer", in nearly
	// every balancer) is not parsed for it: those names lead to no file
	// unless the tree vendors the module, and the second parse of every
	// such chunk was a fifth of loading a Lua-heavy configuration.
	builtinOnly := true
	for _, n := range names {
		builtinOnly = builtinOnly && nginxconf.IsBuiltinModule(n)
	}
	if builtinOnly {
		return names
	}
	stmts, err := parse.Parse(strings.NewReader(prepass(code, lx)), "chunk")
	if err != nil {
		return nil
	}
	if luadepth.Check(stmts, luadepth.Limit) != nil {
		return nil
	}
	return names
}
