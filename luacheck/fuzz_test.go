package luacheck

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ngxlint/ngxlint/internal/luadepth"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// FuzzAnalyze runs the whole pipeline (pre-pass, parse, alignment, analysis)
// on arbitrary input: no panic (InternalErrors must stay empty) and every
// position inside the chunk.
func FuzzAnalyze(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/diff/*.lua")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err == nil {
			f.Add(string(b), uint8(0))
		}
	}
	f.Add("local x = \"a\\z\n  b\" return 0x1p4 + 1ULL", uint8(1))
	f.Add("if x then", uint8(2))
	// Every nesting shape just past the depth limit (issue 14 item 4: these
	// overflowed the Go stack) and a syntax error on a secret-like token.
	for _, sh := range deepShapes {
		f.Add(sh.code(luadepth.Limit/sh.perLevel+1), uint8(0))
	}
	f.Add("token ghp_FAKE0123 = 1", uint8(1))
	f.Fuzz(func(t *testing.T, code string, origin uint8) {
		chunk := &nginxconf.LuaChunk{Code: code, Pos: nginxconf.Pos{File: "f", Line: 5, Column: 30, Offset: 100},
			Context: "balancer_by_lua", Origin: nginxconf.LuaOrigin(origin % 3)}
		if chunk.Origin == nginxconf.LuaString {
			raw := make([]int, len(code))
			off := 100
			for i := range raw {
				raw[i] = off
				off += 1 + i%2 // escapes widen every other byte
			}
			chunk.RawOffsets = raw
			chunk.End = nginxconf.Pos{Offset: off}
		}
		res := Analyze(chunk, Options{LuaNginxModuleVersion: "0.10.9"})
		if len(res.InternalErrors) > 0 {
			t.Fatalf("internal error: %v", res.InternalErrors[0])
		}
		lines := 1
		for i := 0; i < len(code); i++ {
			if code[i] == '\n' {
				lines++
			}
		}
		check := func(what string, p nginxconf.Pos) {
			if p.Line < 5 || p.Line > 5+lines || p.Column < 1 {
				t.Fatalf("%s position %v outside the chunk (%d lines)", what, p, lines)
			}
		}
		for _, w := range res.Warnings {
			check(w.Code, w.Pos)
		}
		for _, e := range res.SyntaxErrors {
			if e.Pos.IsValid() {
				check("syntax", e.Pos)
			}
		}
		for _, u := range res.APIUses {
			check(u.Name, u.Pos)
		}
	})
}
