package luacheck

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/internal/luadepth"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// deepShape is one way a chunk can nest: code(n) nests n times, and each
// nesting adds perLevel levels to the syntax tree.
type deepShape struct {
	name     string
	perLevel int
	code     func(n int) string
}

var deepShapes = []deepShape{
	{"tables", 1, func(n int) string { return "local t = " + strings.Repeat("{", n) + strings.Repeat("}", n) + "\n" }},
	{"sum", 1, func(n int) string { return "local x = 1" + strings.Repeat("+1", n) + "\n" }},
	{"concat", 1, func(n int) string { return "local s = a" + strings.Repeat("..a", n) + "\n" }},
	{"not", 1, func(n int) string { return "local b = " + strings.Repeat("not ", n) + "x\n" }},
	{"calls", 1, func(n int) string {
		return "local r = " + strings.Repeat("f(", n) + "1" + strings.Repeat(")", n) + "\n"
	}},
	{"functions", 2, func(n int) string {
		return "local f = " + strings.Repeat("function() return ", n) + "1" + strings.Repeat(" end", n) + "\n"
	}},
	{"ifs", 1, func(n int) string { return strings.Repeat("if x then ", n) + "f()" + strings.Repeat(" end", n) + "\n" }},
	{"whiles", 1, func(n int) string { return strings.Repeat("while x do ", n) + "f()" + strings.Repeat(" end", n) + "\n" }},
	{"dos", 1, func(n int) string {
		return "local y = 1 " + strings.Repeat("do ", n) + "f(y)" + strings.Repeat(" end", n) + "\n"
	}},
}

func analyzeFile(code string) *Result {
	return Analyze(&nginxconf.LuaChunk{Code: code, Pos: nginxconf.Pos{File: "deep.lua", Line: 1, Column: 1},
		Origin: nginxconf.LuaFile, Context: "balancer_by_lua"}, Options{})
}

// TestDeepNesting feeds every nesting shape 100,000 levels deep (200 KB to
// 2 MB). Before the depth check each of them overflowed the Go stack in
// the recursive passes after parsing, a fatal error no recover catches
// (issue 14 item 4 needed 4 MB under Go's default 1 GB stack; this test
// caps the stack at 16 MB so that a few hundred KB show the same crash).
// Now each is a syntax error at line 1 that names the limit, with no other
// fact.
func TestDeepNesting(t *testing.T) {
	defer debug.SetMaxStack(debug.SetMaxStack(16 << 20))
	for _, sh := range deepShapes {
		t.Run(sh.name, func(t *testing.T) {
			res := analyzeFile(sh.code(100000))
			if len(res.InternalErrors) > 0 {
				t.Fatalf("internal error: %.200s", res.InternalErrors[0])
			}
			if len(res.SyntaxErrors) != 1 {
				t.Fatalf("want one syntax error, got %+v", res.SyntaxErrors)
			}
			e := res.SyntaxErrors[0]
			if !strings.Contains(e.Message, "too many syntax levels") || !strings.Contains(e.Message, "at most 5000") {
				t.Errorf("message %q does not say the chunk is too deep for the limit", e.Message)
			}
			if e.Pos.Line != 1 || e.Pos.Column < 1 || e.Token == "" {
				t.Errorf("position %v token %q, want line 1 and a token", e.Pos, e.Token)
			}
			if len(res.Warnings)+len(res.APIUses) > 0 || res.Balancer != nil {
				t.Errorf("facts from a chunk that was not analysed: %d warnings, %d API uses", len(res.Warnings), len(res.APIUses))
			}
		})
	}
}

// TestDeepNestingAtLimit analyses every shape as deep as the limit allows:
// it must pass the depth check and be analysed under the same 16 MB stack
// cap, which is the margin luadepth.Limit's comment promises for the
// recursive passes (one shape one level deeper must not).
func TestDeepNestingAtLimit(t *testing.T) {
	defer debug.SetMaxStack(debug.SetMaxStack(16 << 20))
	for _, sh := range deepShapes {
		t.Run(sh.name, func(t *testing.T) {
			n := (luadepth.Limit - 4) / sh.perLevel
			res := analyzeFile(sh.code(n))
			if len(res.InternalErrors) > 0 || len(res.SyntaxErrors) > 0 {
				t.Fatalf("n=%d: internal %v syntax %+v", n, res.InternalErrors, res.SyntaxErrors)
			}
			res = analyzeFile(sh.code(n + 5))
			if len(res.SyntaxErrors) != 1 || !strings.Contains(res.SyntaxErrors[0].Message, "too many syntax levels") {
				t.Fatalf("n=%d: want the depth error, got %+v", n+5, res.SyntaxErrors)
			}
		})
	}
}
