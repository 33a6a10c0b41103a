package luacheck

import (
	"cmp"
	"slices"

	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/yuin/gopher-lua/ast"
)

// This file gives the facts that cross modules: the calls a chunk makes
// into the modules it requires (ModuleCall), the functions a module
// exports (Export) with the API uses and module calls each reaches, and
// the globals a chunk defines. Reach joins them across modules; the
// rules package does the joining, since only it knows which file a
// module name resolves to (nginxconf.Config.Module).

// ModuleCall is a call of a function of a module the chunk requires with
// a literal name (not an OpenResty API module): m.f(...) or m:f(...)
// where m = require "x" (through a local or directly), or f(...) where
// f = require("x").f.
type ModuleCall struct {
	// Module is the required name, Func the function called ("" when the
	// module's value itself is called).
	Module, Func string
	Pos, End     nginxconf.Pos
	// Guarded is set, in balancer_by_lua* chunks, when the call runs only
	// under a get_last_failure() / ngx.ctx condition (as
	// MoreTriesCall.Guarded), so that a set_more_tries the function
	// makes is guarded by its caller.
	Guarded bool
	// Top is set when the call is made by the chunk's main function
	// (not inside a function it defines).
	Top bool
	// Timer is set when the call runs in a timer callback
	// (TimerContext), or is itself the callback: a module function
	// passed to ngx.timer.at / ngx.timer.every, whose position is then
	// the callback argument's.
	Timer bool
	off   int
}

// Export is a function of the table a module returns: "function M.f()",
// "function M:f()", "M.f = function" / "M.f = f", or a field of the
// returned table constructor, where M is the local the module returns.
type Export struct {
	Name     string
	Pos, End nginxconf.Pos
	// Uses are indexes into Result.APIUses: the uses inside the function
	// (and the closures it creates), and inside the local functions and
	// other exports it calls, transitively.
	Uses []int
	// Calls are indexes into Result.ModuleCalls reached the same way.
	Calls []int
}

// Export returns the export named name, nil when there is none.
func (r *Result) Export(name string) *Export {
	for i := range r.Exports {
		if r.Exports[i].Name == name {
			return &r.Exports[i]
		}
	}
	return nil
}

// rawModCall is a ModuleCall with its call node, converted later.
type rawModCall struct {
	module, fn string
	call       *ast.FuncCallExpr
	// ref is the callback expression of a timer callback (call is nil).
	ref   ast.Expr
	top   bool
	timer bool
}

// recordModuleCall records c when its callee resolves into a required
// module that is not an OpenResty API root.
func (g *globalState) recordModuleCall(c *ast.FuncCallExpr, r *resolution) {
	if r == nil || r.kind != resIndex || !r.require || r.isAPIRoot() {
		return
	}
	fn := ""
	switch {
	case len(r.keys) == 1 && r.keys[0].kind == 1:
		fn = r.keys[0].s
	case len(r.keys) != 0:
		return
	}
	g.modCalls = append(g.modCalls, rawModCall{module: r.global, fn: fn, call: c, top: g.inTop})
}

// recordDefinedGlobal records the global a rawset(_G, "name", v) call
// defines.
func (g *globalState) recordDefinedGlobal(c *ast.FuncCallExpr) {
	id, ok := c.Func.(*ast.IdentExpr)
	if !ok || id.Value != "rawset" || g.a.ofExpr(id).local != nil || len(c.Args) < 2 {
		return
	}
	t, ok := c.Args[0].(*ast.IdentExpr)
	if !ok || t.Value != "_G" || g.a.ofExpr(t).local != nil {
		return
	}
	if k, ok := c.Args[1].(*ast.StringExpr); ok {
		g.defGlobals = append(g.defGlobals, k.Value)
	}
}

// moduleFacts fills res.ModuleCalls, res.Exports and res.DefinedGlobals.
func (an *analysis) moduleFacts(res *Result, g *globalState, stmts []ast.Stmt) {
	seen := map[string]bool{}
	for _, n := range g.defGlobals {
		if !seen[n] {
			seen[n] = true
			res.DefinedGlobals = append(res.DefinedGlobals, n)
		}
	}
	slices.Sort(res.DefinedGlobals)
	var guardOf map[*ast.FuncCallExpr]ast.Expr
	if res.Context == "balancer_by_lua*" && len(g.modCalls) > 0 {
		calls := map[*ast.FuncCallExpr]bool{}
		for _, mc := range g.modCalls {
			if mc.call != nil {
				calls[mc.call] = true
			}
		}
		glf := map[*ast.FuncCallExpr]bool{}
		for _, u := range g.uses {
			if u.call != nil && u.name == "ngx.balancer.get_last_failure" {
				glf[u.call] = true
			}
		}
		guardOf = an.guards(g, calls, glf)
	}
	for _, mc := range g.modCalls {
		node := ast.Expr(mc.call)
		if mc.call == nil {
			node = mc.ref
		}
		sp := g.a.ofExpr(node).span
		c := ModuleCall{Module: mc.module, Func: mc.fn, off: sp.off, Top: mc.top, Timer: mc.timer || inSpans(an.timer, sp.off)}
		c.Pos, c.End = an.spanPos(sp, node.Line())
		if mc.call != nil && guardOf != nil && guardOf[mc.call] != nil {
			c.Guarded = true
		}
		res.ModuleCalls = append(res.ModuleCalls, c)
	}
	an.exports(res, g, stmts)
}

// exports finds the module table's functions and what each reaches.
func (an *analysis) exports(res *Result, g *globalState, stmts []ast.Stmt) {
	if len(stmts) == 0 {
		return
	}
	ret, ok := stmts[len(stmts)-1].(*ast.ReturnStmt)
	if !ok || len(ret.Exprs) != 1 {
		return
	}
	al := g.a
	fns := map[string]*ast.FunctionExpr{}
	var order []string
	add := func(name string, e ast.Expr) {
		if f := funcOf(e, al); f != nil && fns[name] == nil {
			fns[name] = f
			order = append(order, name)
		}
	}
	fields := func(t *ast.TableExpr) {
		for _, f := range t.Fields {
			if k, ok := f.Key.(*ast.StringExpr); ok {
				add(k.Value, f.Value)
			}
		}
	}
	var modVar *variable
	switch x := ret.Exprs[0].(type) {
	case *ast.TableExpr:
		fields(x)
	case *ast.IdentExpr:
		modVar = al.ofExpr(x).local
	}
	if modVar != nil {
		isMod := func(e ast.Expr) bool {
			id, ok := e.(*ast.IdentExpr)
			return ok && al.ofExpr(id).local == modVar
		}
		for _, v := range modVar.values {
			if t, ok := v.node.(*ast.TableExpr); ok {
				fields(t)
			}
		}
		for _, s := range stmts {
			switch s := s.(type) {
			case *ast.FuncDefStmt:
				if s.Name == nil {
					continue
				}
				if ag, ok := s.Name.Func.(*ast.AttrGetExpr); ok && isMod(ag.Object) {
					if k, ok := ag.Key.(*ast.StringExpr); ok {
						add(k.Value, s.Func)
					}
				}
				if s.Name.Receiver != nil && isMod(s.Name.Receiver) {
					add(s.Name.Method, s.Func)
				}
			case *ast.AssignStmt:
				for i, l := range s.Lhs {
					if ag, ok := l.(*ast.AttrGetExpr); ok && isMod(ag.Object) && i < len(s.Rhs) {
						if k, ok := ag.Key.(*ast.StringExpr); ok {
							add(k.Value, s.Rhs[i])
						}
					}
				}
			}
		}
	}
	if len(order) == 0 {
		return
	}
	// The calls of the chunk, by offset, with what each calls inside
	// the chunk: a local function or an export.
	calls := localCalls(stmts, al, func(x *ast.FuncCallExpr) *ast.FunctionExpr {
		isSelfOrMod := func(e ast.Expr) bool {
			id, ok := e.(*ast.IdentExpr)
			return ok && (id.Value == "self" || modVar != nil && al.ofExpr(id).local == modVar)
		}
		if x.Receiver != nil { // self:f() and M:f() call an export
			if isSelfOrMod(x.Receiver) {
				return fns[x.Method]
			}
			return nil
		}
		switch f := x.Func.(type) {
		case *ast.IdentExpr:
			return funcOf(f, al)
		case *ast.AttrGetExpr:
			if k, ok := f.Key.(*ast.StringExpr); ok && isSelfOrMod(f.Object) {
				return fns[k.Value]
			}
		}
		return nil
	})
	// Each function's uses, module calls and local calls are those whose
	// offset falls in its span. Indexes sorted by offset let every span
	// find them by binary search: scanning all of them per function was
	// quadratic (22% of a 50k-line file's analysis).
	useIdx := newOffsetIndex(len(g.uses), func(i int) int { return g.uses[i].sp.off })
	callIdx := newOffsetIndex(len(res.ModuleCalls), func(i int) int { return res.ModuleCalls[i].off })
	localIdx := newOffsetIndex(len(calls), func(i int) int { return calls[i].off })
	for _, name := range order {
		f := fns[name]
		fsp := al.ofExpr(f).span
		if !fsp.valid() {
			continue
		}
		ex := Export{Name: name}
		ex.Pos, ex.End = an.spanPos(fsp, f.Line())
		seen := map[*ast.FunctionExpr]bool{f: true}
		work := []*ast.FunctionExpr{f}
		usesSeen := map[int]bool{}
		callsSeen := map[int]bool{}
		for len(work) > 0 {
			cur := work[len(work)-1]
			work = work[:len(work)-1]
			sp := al.ofExpr(cur).span
			if !sp.valid() {
				continue
			}
			for _, i := range useIdx.within(sp.off, sp.end) {
				if !usesSeen[i] {
					usesSeen[i] = true
					ex.Uses = append(ex.Uses, i)
				}
			}
			for _, i := range callIdx.within(sp.off, sp.end) {
				if !callsSeen[i] {
					callsSeen[i] = true
					ex.Calls = append(ex.Calls, i)
				}
			}
			for _, i := range localIdx.within(sp.off, sp.end) {
				if c := calls[i]; !seen[c.target] {
					seen[c.target] = true
					work = append(work, c.target)
				}
			}
		}
		res.Exports = append(res.Exports, ex)
	}
}

// funcOf returns the function an expression is: a function expression,
// or a local whose only value is one (local function f / local f =
// function).
func funcOf(e ast.Expr, al *aligner) *ast.FunctionExpr {
	switch x := e.(type) {
	case *ast.FunctionExpr:
		return x
	case *ast.IdentExpr:
		v := al.ofExpr(x).local
		if v == nil {
			return nil
		}
		var f *ast.FunctionExpr
		for _, val := range v.values {
			if fe, ok := val.node.(*ast.FunctionExpr); ok {
				if f != nil {
					return nil
				}
				f = fe
			}
		}
		return f
	}
	return nil
}

// Reached is one API use a chunk reaches through module calls.
type Reached struct {
	// Call is the chunk's own call that leads there.
	Call ModuleCall
	// Module is the module whose code holds Use; Use's positions are in
	// that module's file.
	Module string
	Use    APIUse
	// Facts are the facts of Module (for its balancer facts).
	Facts *Result
	// Timer is set when Use runs in a timer callback (TimerContext): the
	// chunk's call, a call on the way, or the use itself is in one, or a
	// module function on the way was passed to ngx.timer.at/every.
	Timer bool
}

// Reach follows the chunk's module calls (calls) through the exports of
// the modules facts returns (nil for a module that was not read or not
// analysed), across modules, each module function once, and returns the
// API uses they reach. complete is false when some call led to a module
// or function that could not be followed (not read, not an export, a
// syntax error): what that code does is unknown.
func Reach(calls []ModuleCall, facts func(module string) *Result) (out []Reached, complete bool) {
	complete = true
	// A function is followed once per context kind: reached from the
	// phase and from a timer, its uses run in both.
	type key struct {
		mod, fn string
		timer   bool
	}
	seen := map[key]bool{}
	type job struct {
		root  ModuleCall
		mod   string
		fn    string
		timer bool
	}
	var work []job
	for _, c := range calls {
		work = append(work, job{c, c.Module, c.Func, c.Timer})
	}
	for len(work) > 0 {
		j := work[0]
		work = work[1:]
		k := key{j.mod, j.fn, j.timer}
		if seen[k] {
			continue
		}
		seen[k] = true
		res := facts(j.mod)
		if res == nil || len(res.SyntaxErrors) > 0 {
			complete = false
			continue
		}
		ex := res.Export(j.fn)
		if ex == nil {
			complete = false
			continue
		}
		for _, i := range ex.Uses {
			u := res.APIUses[i]
			out = append(out, Reached{Call: j.root, Module: j.mod, Use: u, Facts: res, Timer: j.timer || u.Context == TimerContext})
		}
		for _, i := range ex.Calls {
			c := res.ModuleCalls[i]
			work = append(work, job{j.root, c.Module, c.Func, j.timer || c.Timer})
		}
	}
	return out, complete
}

// AnalyzeFile analyses a Lua file on its own, as a module that no
// configuration loads (the CLI checks a .lua file named on the command
// line this way): its phase is unknown (Result.Context is ""), so
// nothing is judged against a phase, and positions name file. The
// caller reads the file, with the limits of docs/security.md.
func AnalyzeFile(file, code string, opts Options) *Result {
	c := &nginxconf.LuaChunk{Code: code, Pos: nginxconf.Pos{File: file, Line: 1, Column: 1}, Origin: nginxconf.LuaFile, Path: file}
	c.End = c.Pos.Advance(code)
	return Analyze(c, opts)
}

// offsetIndex lists indexes of a slice by the offset of their element.
type offsetIndex struct {
	idx  []int
	offs []int // offs[k] is the offset of element idx[k], ascending
}

func newOffsetIndex(n int, off func(int) int) offsetIndex {
	x := offsetIndex{idx: make([]int, n), offs: make([]int, n)}
	for i := range x.idx {
		x.idx[i] = i
	}
	slices.SortStableFunc(x.idx, func(a, b int) int { return cmp.Compare(off(a), off(b)) })
	for k, i := range x.idx {
		x.offs[k] = off(i)
	}
	return x
}

// within returns the indexes, ascending, of the elements whose offset is
// in [from, to).
func (x offsetIndex) within(from, to int) []int {
	lo, _ := slices.BinarySearch(x.offs, from)
	hi, _ := slices.BinarySearch(x.offs, to)
	if lo >= hi {
		return nil
	}
	out := slices.Clone(x.idx[lo:hi])
	slices.Sort(out)
	return out
}

// localCall is a call in a chunk, at offset off, of a function the chunk
// defines.
type localCall struct {
	off    int
	target *ast.FunctionExpr
}

// localCalls walks stmts, nested functions included, and lists every call
// that resolve maps to a function of the chunk.
func localCalls(stmts []ast.Stmt, al *aligner, resolve func(*ast.FuncCallExpr) *ast.FunctionExpr) []localCall {
	var calls []localCall
	var walkStmts func([]ast.Stmt)
	visit := func(e ast.Expr) {
		walkExpr(e, func(x ast.Expr) bool {
			switch x := x.(type) {
			case *ast.FunctionExpr:
				walkStmts(x.Stmts)
				return false
			case *ast.FuncCallExpr:
				if t := resolve(x); t != nil {
					if sp := al.ofExpr(x).span; sp.valid() {
						calls = append(calls, localCall{sp.off, t})
					}
				}
			}
			return true
		})
	}
	walkStmts = func(list []ast.Stmt) {
		for _, s := range list {
			forStmtExprs(s, visit, walkStmts)
		}
	}
	walkStmts(stmts)
	return calls
}
