package luadepth

import (
	"errors"
	"strings"
	"testing"

	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

func mustParse(t *testing.T, code string) []ast.Stmt {
	t.Helper()
	stmts, err := parse.Parse(strings.NewReader(code), "test")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return stmts
}

// TestDepth checks the depth Check counts for each kind of node: a
// top-level statement is 1, each expression or nested statement one more.
func TestDepth(t *testing.T) {
	for _, tc := range []struct {
		code  string
		depth int
	}{
		{"x = 1", 2},
		{"local t = {{{}}}", 4},
		{"local t = {a = {b = 1}}", 4},
		{"local x = 1 + 1 + 1", 4},   // left-deep: ((1+1)+1)
		{"local s = a .. a .. a", 4}, // right-deep
		{"local b = not not x", 4},
		{"local r = f(f(1))", 4},
		{"local r = a.b.c", 4},
		{"local r = o:m():n()", 4},
		{"local f = function() return function() end end", 4},
		{"function a.b:c() return 1 end", 4},
		{"if x then if y then z() end end", 5},
		{"if a then elseif b then elseif c then f() end", 6},
		{"while x do repeat f() until y end", 5},
		{"for i = 1, 2, 3 do for k, v in pairs(t) do f() end end", 5},
		{"do do do ::l:: goto l end end end", 4},
		{"return -#x", 4},
	} {
		err := Check(mustParse(t, tc.code), tc.depth)
		if err != nil {
			t.Errorf("%q: limit %d: %v", tc.code, tc.depth, err)
			continue
		}
		var e *TooDeepError
		if err := Check(mustParse(t, tc.code), tc.depth-1); !errors.As(err, &e) || e.Depth != tc.depth || e.Limit != tc.depth-1 {
			t.Errorf("%q: limit %d: got %v, want depth %d", tc.code, tc.depth-1, err, tc.depth)
		}
	}
}

// TestFirstInSourceOrder: the error names the first node past the limit in
// source order, and the depth of the deepest node anywhere.
func TestFirstInSourceOrder(t *testing.T) {
	code := "local a = 1\n\nlocal t = {{{{}}}}\nf()\n\nlocal u = {{{{{{{{}}}}}}}}\n"
	var e *TooDeepError
	if err := Check(mustParse(t, code), 3); !errors.As(err, &e) {
		t.Fatalf("got %v, want a TooDeepError", err)
	}
	if e.Line != 3 || e.Depth != 9 || e.Column != 0 {
		t.Errorf("got line %d depth %d column %d, want line 3 depth 9 column 0", e.Line, e.Depth, e.Column)
	}
	if msg := e.Error(); !strings.Contains(msg, "line 3") || !strings.Contains(msg, "200") || !strings.Contains(msg, " 3 levels") {
		t.Errorf("message %q", msg)
	}
}

// TestDeepAndWide: a tree 300,000 levels deep is measured without
// recursion (a recursive walk of it would need far more stack than the
// goroutine starts with), and a flat chunk of many statements and fields
// passes at the default limit.
func TestDeepAndWide(t *testing.T) {
	const n = 300000
	deep := mustParse(t, "local t = "+strings.Repeat("{", n)+strings.Repeat("}", n))
	var e *TooDeepError
	if err := Check(deep, 0); !errors.As(err, &e) || e.Depth != n+1 || e.Limit != Limit || e.Line != 1 {
		t.Fatalf("got %v, want depth %d at line 1 over the default limit", err, n+1)
	}
	wide := mustParse(t, strings.Repeat("f(1, 2, {3, 4, x = 5})\n", 20000)+"return {"+strings.Repeat("1, ", 100000)+"}")
	if err := Check(wide, 0); err != nil {
		t.Fatalf("wide chunk: %v", err)
	}
}

// TestShiftLines: every node, at any depth, reports the shifted line.
func TestShiftLines(t *testing.T) {
	chunk, err := parse.Parse(strings.NewReader("local a = 1\nif a then\n  local f = function()\n    return {a, {a}}\n  end\nend\n"), "x")
	if err != nil {
		t.Fatal(err)
	}
	var before []int
	collect := func() []int {
		var out []int
		w := walk{limit: 1<<31 - 1}
		w.stmts(chunk, 1)
		for len(w.stack) > 0 {
			f := w.stack[len(w.stack)-1]
			w.stack = w.stack[:len(w.stack)-1]
			if f.stmt != nil {
				out = append(out, f.stmt.Line())
				w.visitStmt(f.stmt, f.depth)
			} else {
				out = append(out, f.expr.Line())
				w.visitExpr(f.expr, f.depth)
			}
		}
		return out
	}
	before = collect()
	ShiftLines(chunk, 100)
	after := collect()
	if len(before) != len(after) || len(before) < 8 {
		t.Fatalf("walks differ: %v vs %v", before, after)
	}
	for i := range before {
		if after[i] != before[i]+100 {
			t.Errorf("node %d: line %d, want %d", i, after[i], before[i]+100)
		}
	}
}
