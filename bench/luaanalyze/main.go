// The benchmark helpers are built by scripts/bench.sh with -tags
// ngxlint_tools: without the tag `go install ./...`, which pre-commit's
// golang language runs in the hook repository, installs only cmd/ngxlint.

//go:build ngxlint_tools

// Command luaanalyze runs ngxlint's Lua analysis (luacheck.Analyze, the
// facts the LUA rules read) on .lua files given as content_by_lua_file
// code, and prints how many warnings and errors each has. scripts/bench.sh
// times it against /usr/bin/luacheck on the same file; the CLI has no
// Lua-only mode.
package main

import (
	"fmt"
	"os"

	"github.com/ngxlint/ngxlint/internal/gcpolicy"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
)

func main() {
	gcpolicy.Apply() // the runtime settings of the ngxlint binary
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: luaanalyze FILE.lua...")
		os.Exit(2)
	}
	for _, name := range os.Args[1:] {
		data, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "luaanalyze:", err)
			os.Exit(2)
		}
		chunk := &nginxconf.LuaChunk{Code: string(data), Pos: nginxconf.Pos{File: name, Line: 1, Column: 1},
			Origin: nginxconf.LuaFile, Context: "content_by_lua", Path: name}
		r := luacheck.Analyze(chunk, luacheck.Options{})
		fmt.Printf("%s: %d warnings, %d syntax errors, %d internal errors\n", name, len(r.Warnings), len(r.SyntaxErrors), len(r.InternalErrors))
		if len(r.InternalErrors) > 0 {
			os.Exit(3)
		}
	}
}
