// The benchmark helpers are built by scripts/bench.sh with -tags
// ngxlint_tools: without the tag `go install ./...`, which pre-commit's
// golang language runs in the hook repository, installs only cmd/ngxlint.

//go:build ngxlint_tools

// Command gen writes the benchmark inputs to disk: a generated
// configuration tree (one of internal/gen's shapes, scaled) or a generated
// OpenResty Lua file (internal/luagen).
//
//	go run -tags ngxlint_tools ./bench/gen -shape reference -out DIR [-scale 1] [-module PATH]... [-lua-file gen.lua]
//	go run -tags ngxlint_tools ./bench/gen -lua 50000 -out FILE
//	go run -tags ngxlint_tools ./bench/gen -list
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ngxlint/ngxlint/internal/gen"
	"github.com/ngxlint/ngxlint/internal/luagen"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	shape := fs.String("shape", "reference", "configuration shape (see -list)")
	scale := fs.Int("scale", 1, "multiply servers and upstreams by this factor")
	out := fs.String("out", "", "output directory (config) or file (-lua)")
	luaLines := fs.Int("lua", 0, "write a generated Lua file of at least this many lines to -out instead of a config")
	luaFile := fs.String("lua-file", "", "add a server whose location runs content_by_lua_file PATH (relative to the prefix)")
	list := fs.Bool("list", false, "list the shapes")
	var modules multi
	fs.Var(&modules, "module", "load_module PATH line to write at the top (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *list {
		for _, s := range gen.Shapes() {
			fmt.Printf("%-10s %s\n", s.Name, s.Doc)
		}
		return nil
	}
	if *out == "" {
		return fmt.Errorf("-out is required")
	}
	if *luaLines > 0 {
		return os.WriteFile(*out, []byte(luagen.Generate(*luaLines)), 0o644)
	}
	s, ok := gen.ShapeByName(*shape)
	if !ok {
		return fmt.Errorf("unknown shape %q (try -list)", *shape)
	}
	p := s.Params.Scale(*scale)
	p.Modules = modules
	p.LuaFile = *luaFile
	lines, bytes := 0, 0
	for _, f := range gen.Tree(p) {
		name := filepath.Join(*out, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(name, []byte(f.Data), 0o644); err != nil {
			return err
		}
		lines += strings.Count(f.Data, "\n")
		bytes += len(f.Data)
	}
	// logs/ is where the generated config points pid, error_log and
	// access_log, so that nginx -t -p DIR can open them.
	if err := os.MkdirAll(filepath.Join(*out, "logs"), 0o755); err != nil {
		return err
	}
	fmt.Printf("%s x%d: %d lines, %d bytes in %s\n", s.Name, *scale, lines, bytes, *out)
	return nil
}
