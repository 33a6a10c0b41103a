package emulator

import (
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
)

// This file bounds what gopher-lua cannot stop from outside. The VM checks
// the run's context before each instruction, so loops end at the deadline,
// but one instruction or one builtin call runs to its end:
//
//   - `a .. b .. c` is one OP_CONCAT whose result can be hundreds of times
//     the largest string (gigabytes from a few megabytes), so the chunk is
//     rewritten to call concatFn, which refuses results over luaMaxString;
//   - `return f()` is a tail call that gopher-lua counts per frame, and the
//     stack traceback of the error that ends it prints one line per call
//     (millions after a second of an infinite tail-call loop, hundreds of
//     megabytes), so tail calls are rewritten to `return tailFn(f())`:
//     f is then an ordinary call, limited by luaCallStack, and tailFn
//     passes every result through;
//   - the pattern functions backtrack without bound (string.find(s,
//     ".-.-.-x") is O(n^4)), so they all run on the emulator's own
//     matcher, which watches the run's deadline (luapattern.go);
//   - unpack and string.byte push one value per element and string.format
//     builds its result in one call, so their sizes are checked first
//     (Lua 5.1's lbaselib.c and lstrlib.c have the same two stack checks,
//     "too many results to unpack" and "string slice too long", at
//     LUAI_MAXCSTACK = 8000);
//   - table.sort sorts in one call (its comparator runs Lua, which stops,
//     but the default comparison does not).
//
// Real LuaJIT has none of these limits; the emulator reports hitting one as
// a Lua error whose message names the bound, which is still a finding
// (the code is pathological) rather than a hang or an out-of-memory crash.

const (
	// Names of the helpers the rewritten chunk calls. A NUL byte cannot
	// appear in a Lua identifier, so no user code names them by accident;
	// code that reaches them through _G["\0..."] can only break its own
	// concatenation, not lift a bound.
	concatName = "\x00ngxlint_concat"
	tailName   = "\x00ngxlint_tail"

	luaMaxStackResults = 8000        // LUAI_MAXCSTACK
	luaMaxPatternWork  = 200_000_000 // matcher steps allowed per call (luapattern.go)
	luaMaxSortLen      = 1 << 17     // table.sort length bound
	luaMaxErrorText    = 4096        // bytes of a Lua error message kept in the trace
)

// hardenChunk rewrites the parsed chunk in place (see the file comment).
func hardenChunk(stmts []ast.Stmt) {
	for _, s := range stmts {
		hardenStmt(s)
	}
}

func hardenStmts(ss []ast.Stmt) {
	for _, s := range ss {
		hardenStmt(s)
	}
}

func hardenExprs(es []ast.Expr) {
	for i := range es {
		es[i] = hardenExpr(es[i])
	}
}

func hardenStmt(s ast.Stmt) {
	switch s := s.(type) {
	case *ast.AssignStmt:
		hardenExprs(s.Lhs)
		hardenExprs(s.Rhs)
	case *ast.LocalAssignStmt:
		hardenExprs(s.Exprs)
	case *ast.FuncCallStmt:
		s.Expr = hardenExpr(s.Expr)
	case *ast.DoBlockStmt:
		hardenStmts(s.Stmts)
	case *ast.WhileStmt:
		s.Condition = hardenExpr(s.Condition)
		hardenStmts(s.Stmts)
	case *ast.RepeatStmt:
		s.Condition = hardenExpr(s.Condition)
		hardenStmts(s.Stmts)
	case *ast.IfStmt:
		s.Condition = hardenExpr(s.Condition)
		hardenStmts(s.Then)
		hardenStmts(s.Else)
	case *ast.NumberForStmt:
		s.Init = hardenExpr(s.Init)
		s.Limit = hardenExpr(s.Limit)
		s.Step = hardenExpr(s.Step)
		hardenStmts(s.Stmts)
	case *ast.GenericForStmt:
		hardenExprs(s.Exprs)
		hardenStmts(s.Stmts)
	case *ast.FuncDefStmt:
		if s.Name != nil {
			s.Name.Func = hardenExpr(s.Name.Func)
			s.Name.Receiver = hardenExpr(s.Name.Receiver)
		}
		hardenExpr(s.Func)
	case *ast.ReturnStmt:
		hardenExprs(s.Exprs)
		if len(s.Exprs) == 1 {
			// The compiler emits OP_TAILCALL for exactly this shape (a
			// parenthesised call has AdjustRet and is not a tail call).
			if call, ok := s.Exprs[0].(*ast.FuncCallExpr); ok && !call.AdjustRet {
				s.Exprs[0] = helperCall(tailName, call, call)
			}
		}
	case *ast.BreakStmt, *ast.LabelStmt, *ast.GotoStmt, nil:
	default:
		// A statement type this walk does not know could hide a concat
		// or tail call; the parser has no others (ast/stmt.go).
		panic(fmt.Sprintf("hardenStmt: unknown statement %T", s))
	}
}

func hardenExpr(e ast.Expr) ast.Expr {
	switch x := e.(type) {
	case nil:
		return nil
	case *ast.StringConcatOpExpr:
		l, r := hardenExpr(x.Lhs), hardenExpr(x.Rhs)
		return helperCall(concatName, x, l, r)
	case *ast.AttrGetExpr:
		x.Object = hardenExpr(x.Object)
		x.Key = hardenExpr(x.Key)
	case *ast.TableExpr:
		for _, f := range x.Fields {
			f.Key = hardenExpr(f.Key)
			f.Value = hardenExpr(f.Value)
		}
	case *ast.FuncCallExpr:
		x.Func = hardenExpr(x.Func)
		x.Receiver = hardenExpr(x.Receiver)
		hardenExprs(x.Args)
	case *ast.LogicalOpExpr:
		x.Lhs, x.Rhs = hardenExpr(x.Lhs), hardenExpr(x.Rhs)
	case *ast.RelationalOpExpr:
		x.Lhs, x.Rhs = hardenExpr(x.Lhs), hardenExpr(x.Rhs)
	case *ast.ArithmeticOpExpr:
		x.Lhs, x.Rhs = hardenExpr(x.Lhs), hardenExpr(x.Rhs)
	case *ast.UnaryMinusOpExpr:
		x.Expr = hardenExpr(x.Expr)
	case *ast.UnaryNotOpExpr:
		x.Expr = hardenExpr(x.Expr)
	case *ast.UnaryLenOpExpr:
		x.Expr = hardenExpr(x.Expr)
	case *ast.FunctionExpr:
		hardenStmts(x.Stmts)
	case *ast.TrueExpr, *ast.FalseExpr, *ast.NilExpr, *ast.NumberExpr, *ast.StringExpr,
		*ast.Comma3Expr, *ast.IdentExpr:
	default:
		panic(fmt.Sprintf("hardenExpr: unknown expression %T", e))
	}
	return e
}

// helperCall is name(args...) placed at at's lines, so that errors and
// tracebacks keep pointing at the user's line.
func helperCall(name string, at ast.Expr, args ...ast.Expr) ast.Expr {
	fn := &ast.IdentExpr{Value: name}
	fn.SetLine(at.Line())
	fn.SetLastLine(at.LastLine())
	c := &ast.FuncCallExpr{Func: fn, Args: args}
	c.SetLine(at.Line())
	c.SetLastLine(at.LastLine())
	return c
}

// installHardening defines the helpers hardenChunk's calls use and wraps
// the builtins listed in the file comment.
func (e *luaEngine) installHardening() {
	L := e.L
	e.g.RawSetString(tailName, L.NewFunction(func(L *lua.LState) int { return L.GetTop() }))
	e.g.RawSetString(concatName, L.NewFunction(luaConcat))

	if unpack, ok := e.g.RawGetString("unpack").(*lua.LFunction); ok {
		e.g.RawSetString("unpack", L.NewFunction(func(L *lua.LState) int {
			t := L.CheckTable(1)
			i := L.OptInt(2, 1)
			j := L.OptInt(3, t.Len())
			if i <= j && int64(j)-int64(i) >= luaMaxStackResults {
				L.RaiseError("too many results to unpack")
			}
			return callGo(L, unpack)
		}))
	}
	str, _ := e.g.RawGetString("string").(*lua.LTable)
	if str == nil {
		return
	}
	if byteFn, ok := str.RawGetString("byte").(*lua.LFunction); ok {
		str.RawSetString("byte", L.NewFunction(func(L *lua.LState) int {
			s := L.CheckString(1)
			i := strIndex(L.OptInt(2, 1), len(s))
			j := strIndex(L.OptInt(3, i), len(s))
			if i < 1 {
				i = 1
			}
			if j > len(s) {
				j = len(s)
			}
			if i <= j && j-i >= luaMaxStackResults {
				L.RaiseError("string slice too long")
			}
			return callGo(L, byteFn)
		}))
	}
	if format, ok := str.RawGetString("format").(*lua.LFunction); ok {
		str.RawSetString("format", L.NewFunction(func(L *lua.LState) int {
			f := L.CheckString(1)
			if err := checkFormat(f); err != "" {
				L.RaiseError("%s", err)
			}
			// Each directive adds at most its argument's text plus a
			// width of at most 99 (checkFormat).
			size := len(f)
			for i := 2; i <= L.GetTop(); i++ {
				size += 100
				if s, ok := L.Get(i).(lua.LString); ok {
					size += len(s)
				}
				if size > luaMaxString {
					L.RaiseError("resulting string too large")
				}
			}
			return callGo(L, format)
		}))
	}
	e.installPatterns(str)
	if tbl, ok := e.g.RawGetString("table").(*lua.LTable); ok {
		if sortFn, ok := tbl.RawGetString("sort").(*lua.LFunction); ok {
			tbl.RawSetString("sort", L.NewFunction(func(L *lua.LState) int {
				if n := L.CheckTable(1).Len(); n > luaMaxSortLen {
					L.RaiseError("table too long for table.sort in the emulator (%d elements, bound %d)", n, luaMaxSortLen)
				}
				return callGo(L, sortFn)
			}))
		}
	}
}

// cleanLuaError prepares a Lua error for the trace: the traceback frames
// of the helpers hardenChunk inserted are dropped (users did not write
// them, and their names hold a NUL byte), and the text is cut to
// luaMaxErrorText, since the code controls the message
// (error(string.rep("x", 4e6))).
func cleanLuaError(s string) string {
	if strings.Contains(s, "\x00ngxlint_") {
		lines := strings.Split(s, "\n")
		kept := lines[:0]
		for _, l := range lines {
			if !strings.Contains(l, "\x00ngxlint_") {
				kept = append(kept, l)
			}
		}
		s = strings.Join(kept, "\n")
	}
	return truncate(s, luaMaxErrorText)
}

// strIndex turns a Lua string index (negative counts from the end) into a
// 1-based one.
func strIndex(i, n int) int {
	if i < 0 {
		return n + i + 1
	}
	return i
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// luaConcat is `a .. b` (Lua 5.1 luaV_concat): strings and numbers are
// joined, anything else goes to a __concat metamethod of either operand,
// and the error otherwise is gopher-lua's own. The result is bounded by
// luaMaxString.
func luaConcat(L *lua.LState) int {
	a, b := L.Get(1), L.Get(2)
	if canConcat(a) && canConcat(b) {
		sa, sb := lua.LVAsString(a), lua.LVAsString(b)
		if len(sa)+len(sb) > luaMaxString {
			L.RaiseError("string length overflow: concatenation of %d and %d bytes exceeds the emulator's bound of %d", len(sa), len(sb), luaMaxString)
		}
		L.Push(lua.LString(sa + sb))
		return 1
	}
	mm := L.GetMetaField(a, "__concat")
	if mm == lua.LNil {
		mm = L.GetMetaField(b, "__concat")
	}
	if mm == lua.LNil {
		L.RaiseError("cannot perform concat operation between %v and %v", a.Type().String(), b.Type().String())
	}
	L.Push(mm)
	L.Push(a)
	L.Push(b)
	L.Call(2, 1)
	return 1
}

func canConcat(v lua.LValue) bool {
	switch v.(type) {
	case lua.LString, lua.LNumber:
		return true
	}
	return false
}
