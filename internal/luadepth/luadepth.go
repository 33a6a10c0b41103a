package luadepth

import (
	"fmt"

	"github.com/yuin/gopher-lua/ast"
)

// Limit is the deepest syntax tree ngxlint analyses or runs, counted in
// nodes from a top-level statement (depth 1) down: every statement and
// every expression is one level, a block's statements sit one level below
// the statement that owns them, a table's fields one level below the
// table.
//
// LuaJIT refuses a chunk that nests more than LJ_MAX_XLEVEL = 200 syntax
// levels ("chunk has too many syntax levels", LJ_ERR_XLEVELS; lj_def.h,
// synlevel_begin in lj_parse.c): nested tables, parentheses, calls,
// function bodies, blocks, right-associative ".." and "^" chains and
// repeated unary operators all count. So no chunk that OpenResty can load
// nests those deeper than 200. gopher-lua's tree is deeper than LuaJIT's
// level count only where LuaJIT loops instead of recursing: left-associative
// operator chains (a + b + c, x and y and z, a == b), which gopher-lua
// builds as a left-deep tree of one node per operator; "elseif" chains,
// each a nested IfStmt in the Else of the previous one; and suffix chains
// (a.b.c, f()(), obj:m():n()). Those are where real files go deep:
// generated dispatch code with hundreds of elseif branches, long sums. A
// limit of 5,000 is 25 times LuaJIT's own and well above any such file we
// know of, and it keeps every recursive walker far from Go's 1 GB maximum
// stack: the deepest of them (gopher-lua's compiler, luacheck's scanExpr)
// use well under 1 KB of stack per level, so under 5 MB at the limit
// (luadepth's tests run luacheck at the limit under a 64 MB stack cap).
const Limit = 5000

// TooDeepError reports a chunk whose syntax tree nests deeper than the
// limit. It quotes nothing from the chunk.
type TooDeepError struct {
	// Line is the line (1-based, in the chunk as parsed) of the first
	// node, in source order, that lies deeper than Limit.
	Line int
	// Column is the node's column, or 0: gopher-lua's tree records lines
	// only, so Check always leaves it 0 and callers that tokenize the
	// chunk themselves may fill it in.
	Column int
	// Depth is the depth of the deepest node of the whole chunk.
	Depth int
	// Limit is the limit that was exceeded.
	Limit int
}

func (e *TooDeepError) Error() string {
	return fmt.Sprintf("line %d: the code nests %d levels deep, deeper than the %d levels ngxlint analyses (LuaJIT itself refuses more than %d nested syntax levels)",
		e.Line, e.Depth, e.Limit, LuaJITMaxLevels)
}

// LuaJITMaxLevels is LuaJIT's LJ_MAX_XLEVEL (lj_def.h), quoted in
// TooDeepError's message.
const LuaJITMaxLevels = 200

// frame is one pending node of the walk: a statement or an expression
// (exactly one is set) and its depth.
type frame struct {
	stmt  ast.Stmt
	expr  ast.Expr
	depth int32
}

// Check walks chunk and returns nil when no node is deeper than limit, or a
// *TooDeepError naming the first deeper node in source order and the depth
// of the deepest one. A limit <= 0 means Limit. The walk uses an explicit
// stack (no recursion) and visits every node once.
func Check(chunk []ast.Stmt, limit int) error {
	if limit <= 0 {
		limit = Limit
	}
	w := walk{limit: int32(limit)}
	w.stmts(chunk, 1)
	for len(w.stack) > 0 {
		f := w.stack[len(w.stack)-1]
		w.stack = w.stack[:len(w.stack)-1]
		if f.stmt != nil {
			w.visitStmt(f.stmt, f.depth)
		} else {
			w.visitExpr(f.expr, f.depth)
		}
	}
	if w.err == nil {
		return nil
	}
	w.err.Depth = int(w.max)
	return w.err
}

type walk struct {
	stack []frame
	limit int32
	max   int32
	err   *TooDeepError
	// shift, when not 0, is added to every node's line and last line
	// (ShiftLines).
	shift int
}

// ShiftLines adds delta to the line and last line of every node of chunk,
// with the same explicit-stack walk as Check. A chunk that lives at line N
// of a larger file (a *_by_lua_block body) can be parsed on its own and
// then report that file's lines: padding it with N-1 newlines instead made
// the parser scan every line before it, a third of a large check --confirm.
func ShiftLines(chunk []ast.Stmt, delta int) {
	if delta == 0 {
		return
	}
	w := walk{limit: 1<<31 - 1, shift: delta}
	w.stmts(chunk, 1)
	for len(w.stack) > 0 {
		f := w.stack[len(w.stack)-1]
		w.stack = w.stack[:len(w.stack)-1]
		if f.stmt != nil {
			w.visitStmt(f.stmt, f.depth)
		} else {
			w.visitExpr(f.expr, f.depth)
		}
	}
}

// The push helpers add children in reverse so that the stack pops them in
// source order: the first node past the limit is then the earliest one.

func (w *walk) stmts(list []ast.Stmt, depth int32) {
	for i := len(list) - 1; i >= 0; i-- {
		if list[i] != nil {
			w.stack = append(w.stack, frame{stmt: list[i], depth: depth})
		}
	}
}

func (w *walk) exprs(list []ast.Expr, depth int32) {
	for i := len(list) - 1; i >= 0; i-- {
		w.expr(list[i], depth)
	}
}

func (w *walk) expr(e ast.Expr, depth int32) {
	if e != nil {
		w.stack = append(w.stack, frame{expr: e, depth: depth})
	}
}

func (w *walk) note(n ast.PositionHolder, depth int32) {
	if w.shift != 0 {
		n.SetLine(n.Line() + w.shift)
		n.SetLastLine(n.LastLine() + w.shift)
	}
	if depth > w.max {
		w.max = depth
	}
	if depth > w.limit && w.err == nil {
		w.err = &TooDeepError{Line: n.Line(), Limit: int(w.limit)}
	}
}

func (w *walk) visitStmt(s ast.Stmt, d int32) {
	w.note(s, d)
	c := d + 1
	switch s := s.(type) {
	case *ast.AssignStmt:
		w.exprs(s.Rhs, c)
		w.exprs(s.Lhs, c)
	case *ast.LocalAssignStmt:
		w.exprs(s.Exprs, c)
	case *ast.FuncCallStmt:
		w.expr(s.Expr, c)
	case *ast.DoBlockStmt:
		w.stmts(s.Stmts, c)
	case *ast.WhileStmt:
		w.stmts(s.Stmts, c)
		w.expr(s.Condition, c)
	case *ast.RepeatStmt:
		w.expr(s.Condition, c)
		w.stmts(s.Stmts, c)
	case *ast.IfStmt:
		w.stmts(s.Else, c)
		w.stmts(s.Then, c)
		w.expr(s.Condition, c)
	case *ast.NumberForStmt:
		w.stmts(s.Stmts, c)
		w.expr(s.Step, c)
		w.expr(s.Limit, c)
		w.expr(s.Init, c)
	case *ast.GenericForStmt:
		w.stmts(s.Stmts, c)
		w.exprs(s.Exprs, c)
	case *ast.FuncDefStmt:
		if s.Func != nil {
			w.expr(s.Func, c)
		}
		if s.Name != nil {
			w.expr(s.Name.Receiver, c)
			w.expr(s.Name.Func, c)
		}
	case *ast.ReturnStmt:
		w.exprs(s.Exprs, c)
	case *ast.BreakStmt, *ast.LabelStmt, *ast.GotoStmt:
	}
}

func (w *walk) visitExpr(e ast.Expr, d int32) {
	w.note(e, d)
	c := d + 1
	switch e := e.(type) {
	case *ast.AttrGetExpr:
		w.expr(e.Key, c)
		w.expr(e.Object, c)
	case *ast.TableExpr:
		for i := len(e.Fields) - 1; i >= 0; i-- {
			if f := e.Fields[i]; f != nil {
				w.expr(f.Value, c)
				w.expr(f.Key, c)
			}
		}
	case *ast.FuncCallExpr:
		w.exprs(e.Args, c)
		w.expr(e.Receiver, c)
		w.expr(e.Func, c)
	case *ast.LogicalOpExpr:
		w.expr(e.Rhs, c)
		w.expr(e.Lhs, c)
	case *ast.RelationalOpExpr:
		w.expr(e.Rhs, c)
		w.expr(e.Lhs, c)
	case *ast.StringConcatOpExpr:
		w.expr(e.Rhs, c)
		w.expr(e.Lhs, c)
	case *ast.ArithmeticOpExpr:
		w.expr(e.Rhs, c)
		w.expr(e.Lhs, c)
	case *ast.UnaryMinusOpExpr:
		w.expr(e.Expr, c)
	case *ast.UnaryNotOpExpr:
		w.expr(e.Expr, c)
	case *ast.UnaryLenOpExpr:
		w.expr(e.Expr, c)
	case *ast.FunctionExpr:
		w.stmts(e.Stmts, c)
	case *ast.TrueExpr, *ast.FalseExpr, *ast.NilExpr, *ast.NumberExpr, *ast.StringExpr,
		*ast.Comma3Expr, *ast.IdentExpr:
	}
}
