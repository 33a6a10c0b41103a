package luacheck

import (
	"github.com/yuin/gopher-lua/ast"
)

// The analysis follows luacheck's design (src/luacheck/stages/linearize.lua,
// resolve_locals.lua, detect_unused_locals.lua, detect_unreachable_code.lua,
// detect_globals.lua in lunarmodules/luacheck 1.1.0) so that our warning
// codes mean what luacheck's mean: each function body becomes a "line", a
// flat list of items (evaluate, local, set, no-op, jump, conditional jump);
// scopes and labels turn control flow into jumps; reaching assignments are
// then found by walking the items.

type varKind uint8

const (
	vkVar varKind = iota
	vkArg
	vkLoop
	vkLoopi
)

type variable struct {
	name       string
	kind       varKind
	self       bool // implicit "self" of a method
	fl         *fline
	decl       span
	scopeStart int
	scopeEnd   int
	values     []*value
	accessed   bool
	mutated    bool
	hintUnused bool
	topVararg  bool
	// scope is the index in linState.scopes of the scope v belongs to.
	scope int
	// closureSet is set when some closure assigns v as an upvalue.
	closureSet bool
}

type secGroup struct{ used bool }

type valueType uint8

const (
	vtVar valueType = iota
	vtFunc
	vtArg
	vtLoop
)

type value struct {
	v       *variable
	node    ast.Expr // assigned expression, nil for "local x" or args
	lhs     span     // the name being assigned
	item    *item
	typ     valueType
	empty   bool
	used    bool
	mutated bool
	// usingLines are the lines whose items use this value, possibly with
	// repeats (only consecutive repeats are dropped); it is read as a set.
	usingLines  []*fline
	secondaries *secGroup
	// overwriting: 0 unknown, 1 = overwriteItem, 2 = false (not dominated)
	overwriting   uint8
	overwriteItem *item
}

type itemKind uint8

const (
	itEval itemKind = iota
	itLocal
	itSet
	itNoop
	itJump
	itCjump
)

type access struct {
	v  *variable
	sp span
	e  ast.Expr
}

type lhsEntry struct {
	v  *variable // nil for globals and indexes
	sp span
	e  ast.Expr // nil for local declarations
}

type item struct {
	kind    itemKind
	to      int
	node    any // ast.Stmt or ast.Expr, for positions
	loopEnd bool
	isRet   bool // the jump of a return statement
	// methodLhs is the target a.m of "function a:m()".
	methodLhs ast.Expr
	// stmtCall marks the Eval item of a call statement (result discarded).
	stmtCall bool
	// retNode is the return statement of an isRet jump.
	retNode   ast.Stmt
	accesses  []access
	mutations []access
	// lines are the closures created in this item's expressions, at any
	// depth, that touch an upvalue the item's line can see (see
	// linState.linkClosures): closures that touch none have nothing to
	// propagate, and listing every nested closure in every enclosing
	// item was quadratic in nesting depth.
	lines   []*fline
	setVars []*value
	lhs     []lhsEntry
	rhs     []ast.Expr
	// used lists, per variable, the values that may reach accesses in this
	// item (luacheck's used_values). Most items touch a few variables, so a
	// slice is cheaper than a map (one was allocated per item); usedIdx
	// indexes it once it grows past usedScanMax entries (a generated
	// "return {f1 = f1, ...}" can name thousands of locals).
	used    []usedValues
	usedIdx map[*variable]int
	// circBase memoizes circularBase once circDone is set.
	circBase ast.Expr
	circDone bool
}

const usedScanMax = 16

type usedValues struct {
	v    *variable
	vals []*value
}

// usedOf returns the values that may reach the accesses of v in it.
func (it *item) usedOf(v *variable) []*value {
	if i := it.usedIndex(v); i >= 0 {
		return it.used[i].vals
	}
	return nil
}

// usedIndex returns the index of v's entry in it.used, or -1.
func (it *item) usedIndex(v *variable) int {
	if it.usedIdx != nil {
		if i, ok := it.usedIdx[v]; ok {
			return i
		}
		return -1
	}
	for i := range it.used {
		if it.used[i].v == v {
			return i
		}
	}
	return -1
}

func (it *item) setValue(v *variable) *value {
	for _, val := range it.setVars {
		if val.v == v {
			return val
		}
	}
	return nil
}

func (it *item) accesses1(v *variable) bool {
	for _, a := range it.accesses {
		if a.v == v {
			return true
		}
	}
	return false
}

func (it *item) mutates(v *variable) bool {
	for _, a := range it.mutations {
		if a.v == v {
			return true
		}
	}
	return false
}

type fline struct {
	fn     *ast.FunctionExpr // nil for the main chunk
	parent *fline
	// creator is the item of parent whose expression defines this
	// closure; depth counts the lines above it (0 for the main chunk).
	creator    *item
	depth      int
	items      []*item
	accessedUp map[*variable][]*item
	mutatedUp  map[*variable][]*item
	setUp      map[*variable][]*item
	// lines, for the main chunk only, lists every other line in the
	// order their bodies end (luacheck's line.lines of the main line).
	lines []*fline
	value *value // the value this closure was assigned as, if any
}

func newLine(fn *ast.FunctionExpr, parent *fline) *fline {
	return &fline{fn: fn, parent: parent}
}

func addUp(m *map[*variable][]*item, v *variable, it *item) {
	if *m == nil {
		*m = make(map[*variable][]*item)
	}
	(*m)[v] = append((*m)[v], it)
}

type pendingGoto struct {
	name string
	jump *item
}

type label struct {
	name  string
	index int
}

type scope struct {
	vars   []*variable
	labels []label
	gotos  []pendingGoto
	fl     *fline
}

// linState builds the lines of one chunk.
type linState struct {
	a *aligner
	// items, values and vars allocate the lines' objects in blocks.
	items  slab[item]
	values slab[value]
	vars   slab[variable]
	// The first elements of items' and variables' lists.
	accesses arena[access]
	lhs      arena[lhsEntry]
	valueLst arena[*value]
	// freeScopes are left scopes, reused by enterScope: nothing refers
	// to a scope once it is left.
	freeScopes []*scope
	lines      []*fline
	scopes     []*scope
	all        []*fline
	// post lists the lines in the order their bodies end.
	post []*fline
	// bindings maps a name to the variables of that name in the open
	// scopes, innermost last: resolving a name is one lookup rather than
	// a walk over every enclosing scope (quadratic in nesting depth).
	bindings map[string][]*variable
	// shadow collects W421-W423 facts as they are found.
	shadow []shadowFact
	// work counts variable lookups and closure-list entries, the steps
	// that nesting depth multiplies (see analysis.work).
	work int
}

type shadowFact struct {
	v, prev *variable
	code    string
}

func (ls *linState) top() *fline { return ls.lines[len(ls.lines)-1] }

func (ls *linState) enterScope() {
	var sc *scope
	if n := len(ls.freeScopes); n > 0 {
		sc = ls.freeScopes[n-1]
		ls.freeScopes = ls.freeScopes[:n-1]
	} else {
		sc = &scope{}
	}
	sc.fl = ls.top()
	ls.scopes = append(ls.scopes, sc)
}

// newItem returns a new item of the given kind and node.
func (ls *linState) newItem(kind itemKind, node any) *item {
	it := ls.items.new()
	it.kind, it.node = kind, node
	return it
}

func (ls *linState) leaveScope() {
	left := ls.scopes[len(ls.scopes)-1]
	ls.scopes = ls.scopes[:len(ls.scopes)-1]
	var prev *scope
	if len(ls.scopes) > 0 {
		prev = ls.scopes[len(ls.scopes)-1]
	}
	for _, g := range left.gotos {
		found := false
		for _, l := range left.labels {
			if l.name == g.name {
				g.jump.to = l.index
				found = true
				break
			}
		}
		if !found && prev != nil && prev.fl == ls.top() {
			prev.gotos = append(prev.gotos, g)
		} else if !found {
			// A goto or break with no target: a syntax error luacheck
			// reports; gopher-lua accepts it. Make it end the function so
			// the walk stays well-defined.
			g.jump.to = len(ls.top().items)
		}
	}
	n := len(ls.top().items) - 1
	for i := len(left.vars) - 1; i >= 0; i-- {
		v := left.vars[i]
		v.scopeEnd = n
		b := ls.bindings[v.name]
		if len(b) == 1 {
			delete(ls.bindings, v.name)
		} else {
			ls.bindings[v.name] = b[:len(b)-1]
		}
	}
	left.vars, left.labels, left.gotos, left.fl = left.vars[:0], left.labels[:0], left.gotos[:0], nil
	ls.freeScopes = append(ls.freeScopes, left)
}

// resolveVar returns the innermost visible variable called name, or nil.
// Scopes nest and a scope only gains variables while it is innermost, so
// the last binding of a name is the innermost, latest one.
func (ls *linState) resolveVar(name string) *variable {
	ls.work++
	if b := ls.bindings[name]; len(b) > 0 {
		return b[len(b)-1]
	}
	return nil
}

func (ls *linState) registerVar(name string, sp span, kind varKind, self bool) *variable {
	fl := ls.top()
	v := ls.vars.new()
	*v = variable{name: name, kind: kind, self: self, fl: fl, decl: sp, scopeStart: len(fl.items), scope: len(ls.scopes) - 1}
	if kind == vkArg && len(name) >= 2 && name[0] == '_' && isLetter(name[1]) {
		v.hintUnused = true
	}
	if prev := ls.resolveVar(name); prev != nil {
		same := prev.scope == v.scope
		if name != "..." {
			code := "W4"
			switch {
			case same:
				code += "1"
			case prev.fl == fl:
				code += "2"
			default:
				code += "3"
			}
			switch prev.kind {
			case vkVar:
				code += "1"
			case vkArg:
				code += "2"
			default:
				code += "3"
			}
			ls.shadow = append(ls.shadow, shadowFact{v: v, prev: prev, code: code})
		}
		if same {
			prev.scopeEnd = len(fl.items) - 1
		}
	}
	sc := ls.scopes[len(ls.scopes)-1]
	sc.vars = append(sc.vars, v)
	if ls.bindings == nil {
		ls.bindings = map[string][]*variable{}
	}
	ls.bindings[name] = append(ls.bindings[name], v)
	return v
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func (ls *linState) registerLabel(name string) {
	sc := ls.scopes[len(ls.scopes)-1]
	sc.labels = append(sc.labels, label{name: name, index: len(ls.top().items)})
}

func (ls *linState) emit(it *item) { fl := ls.top(); fl.items = append(fl.items, it) }

func (ls *linState) emitGoto(name string, cond bool) *item {
	it := ls.newItem(itJump, nil)
	if cond {
		it.kind = itCjump
	}
	ls.emit(it)
	sc := ls.scopes[len(ls.scopes)-1]
	sc.gotos = append(sc.gotos, pendingGoto{name: name, jump: it})
	return it
}

// constTruth returns 1 for an always-true literal, -1 for nil/false, 0 else
// (luacheck's tag_to_boolean).
func constTruth(e ast.Expr) int {
	switch e.(type) {
	case *ast.NilExpr, *ast.FalseExpr:
		return -1
	case *ast.TrueExpr, *ast.NumberExpr, *ast.StringExpr, *ast.TableExpr, *ast.FunctionExpr:
		return 1
	}
	return 0
}

// emitCondGoto jumps to name when cond is false.
func (ls *linState) emitCondGoto(name string, cond ast.Expr) {
	t := constTruth(cond)
	if t != 1 {
		ls.emitGoto(name, t != -1)
	}
}

func (ls *linState) noop(n any, loopEnd bool) {
	it := ls.newItem(itNoop, n)
	it.loopEnd = loopEnd
	ls.emit(it)
}

func (ls *linState) block(stmts []ast.Stmt) {
	ls.enterScope()
	ls.stmts(stmts)
	ls.leaveScope()
}

func (ls *linState) stmts(stmts []ast.Stmt) {
	for _, s := range stmts {
		ls.stmt(s)
	}
}

func nameSpan(spans []span, i int) span {
	if i < len(spans) {
		return spans[i]
	}
	return span{-1, -1}
}

func (ls *linState) stmt(s ast.Stmt) {
	switch s := s.(type) {
	case *ast.DoBlockStmt:
		ls.noop(s, false)
		ls.block(s.Stmts)
	case *ast.WhileStmt:
		ls.noop(s, false)
		ls.enterScope()
		ls.registerLabel("do")
		ls.evalExpr(s.Condition)
		ls.emitCondGoto("break", s.Condition)
		ls.block(s.Stmts)
		ls.noop(s, true)
		ls.emitGoto("do", false)
		ls.registerLabel("break")
		ls.leaveScope()
	case *ast.RepeatStmt:
		ls.noop(s, false)
		ls.enterScope()
		ls.registerLabel("do")
		ls.enterScope()
		ls.stmts(s.Stmts)
		ls.evalExpr(s.Condition)
		ls.leaveScope()
		ls.emitCondGoto("do", s.Condition)
		ls.registerLabel("break")
		ls.leaveScope()
	case *ast.NumberForStmt:
		ls.noop(s, false)
		ls.evalExpr(s.Init)
		ls.evalExpr(s.Limit)
		if s.Step != nil {
			ls.evalExpr(s.Step)
		}
		ls.loop(s, []string{s.Name}, vkLoopi, s.Stmts)
	case *ast.GenericForStmt:
		ls.noop(s, false)
		for _, e := range s.Exprs {
			ls.evalExpr(e)
		}
		ls.loop(s, s.Names, vkLoop, s.Stmts)
	case *ast.IfStmt:
		ls.noop(s, false)
		ls.enterScope()
		cur := s
		for {
			ls.enterScope()
			ls.evalExpr(cur.Condition)
			ls.emitCondGoto("else", cur.Condition)
			ls.block(cur.Then)
			ls.emitGoto("end", false)
			ls.registerLabel("else")
			ls.leaveScope()
			if len(cur.Else) == 1 {
				if inner, ok := cur.Else[0].(*ast.IfStmt); ok && ls.a.ofStmt(inner).elseif {
					cur = inner
					continue
				}
			}
			break
		}
		if len(cur.Else) > 0 {
			ls.block(cur.Else)
		}
		ls.registerLabel("end")
		ls.leaveScope()
	case *ast.LabelStmt:
		ls.registerLabel(s.Name)
	case *ast.GotoStmt:
		ls.noop(s, false)
		ls.emitGoto(s.Label, false)
	case *ast.BreakStmt:
		ls.emitGoto("break", false)
	case *ast.ReturnStmt:
		ls.noop(s, false)
		for _, e := range s.Exprs {
			ls.evalExpr(e)
		}
		j := ls.emitGoto("return", false)
		j.isRet = true
		j.retNode = s
	case *ast.FuncCallStmt:
		ls.evalExpr(s.Expr)
		fl := ls.top()
		fl.items[len(fl.items)-1].stmtCall = true
	case *ast.LocalAssignStmt:
		ni := ls.a.ofStmt(s)
		it := ls.newItem(itLocal, s)
		it.rhs = s.Exprs
		if ni.localFunc {
			v := ls.registerVar(s.Names[0], nameSpan(ls.a.namesOf(ni), 0), vkVar, false)
			it.lhs = []lhsEntry{{v: v, sp: v.decl}}
			ls.emit(it)
			ls.scanExprs(it, s.Exprs)
			return
		}
		ls.emit(it)
		ls.scanExprs(it, s.Exprs)
		for i, name := range s.Names {
			v := ls.registerVar(name, nameSpan(ls.a.namesOf(ni), i), vkVar, false)
			it.lhs = ls.lhs.push(it.lhs, len(s.Names), lhsEntry{v: v, sp: v.decl})
		}
	case *ast.AssignStmt:
		it := ls.newItem(itSet, s)
		it.rhs = s.Rhs
		ls.scanExprs(it, s.Rhs)
		for _, e := range s.Lhs {
			it.lhs = ls.lhs.push(it.lhs, len(s.Lhs), ls.lhsTarget(it, e))
		}
		ls.emit(it)
	case *ast.FuncDefStmt:
		it := ls.newItem(itSet, s)
		it.rhs = []ast.Expr{s.Func}
		if s.Name.Func == nil {
			ls.a.ofExpr(s.Func).method = true
		}
		ls.scanExpr(it, s.Func)
		var target ast.Expr
		if s.Name.Func != nil {
			target = s.Name.Func
		} else {
			target = s.Name.Receiver
		}
		if s.Name.Func != nil {
			it.lhs = append(it.lhs, ls.lhsTarget(it, target))
		} else {
			// function a:m() sets field m of a: a mutation of a,
			// which luacheck sees as the assignment target a.m.
			ls.scanLhsIndexBase(it, target)
			ml := &ast.AttrGetExpr{Object: target, Key: &ast.StringExpr{Value: s.Name.Method}}
			ml.SetLine(s.Line())
			mi := ls.a.ofExpr(ml)
			mi.span = span{ls.a.ofExpr(target).off, ls.a.ofStmt(s).key().end}
			it.methodLhs = ml
			it.lhs = append(it.lhs, lhsEntry{sp: ls.a.ofStmt(s).key()})
		}
		ls.emit(it)
	}
}

func (ls *linState) lhsTarget(it *item, e ast.Expr) lhsEntry {
	ni := ls.a.ofExpr(e)
	sp := ni.span
	switch e := e.(type) {
	case *ast.IdentExpr:
		v := ls.resolveVar(e.Value)
		if v != nil {
			ni.local = v
			ls.upvalueAction(it, v, 2)
		}
		return lhsEntry{v: v, sp: sp, e: e}
	case *ast.AttrGetExpr:
		ls.scanLhsIndexBase(it, e.Object)
		ls.scanExpr(it, e.Key)
	}
	return lhsEntry{sp: sp, e: e}
}

// scanLhsIndexBase handles the base of an assigned index: a local base is
// mutated, not accessed (luacheck's scan_lhs_index).
func (ls *linState) scanLhsIndexBase(it *item, base ast.Expr) {
	switch b := base.(type) {
	case *ast.IdentExpr:
		if v := ls.resolveVar(b.Value); v != nil {
			bi := ls.a.ofExpr(b)
			bi.local = v
			v.mutated = true
			it.mutations = ls.accesses.push(it.mutations, 2, access{v: v, sp: bi.span, e: b})
			ls.upvalueAction(it, v, 1)
		}
	case *ast.AttrGetExpr:
		ls.scanLhsIndexBase(it, b.Object)
		ls.scanExpr(it, b.Key)
	default:
		ls.scanExpr(it, base)
	}
}

func (ls *linState) loop(s ast.Stmt, names []string, kind varKind, body []ast.Stmt) {
	ni := ls.a.ofStmt(s)
	ls.enterScope()
	ls.registerLabel("do")
	ls.emitGoto("break", true)
	ls.enterScope()
	it := ls.newItem(itLocal, s)
	ls.emit(it)
	for i, n := range names {
		v := ls.registerVar(n, nameSpan(ls.a.namesOf(ni), i), kind, false)
		it.lhs = ls.lhs.push(it.lhs, len(names), lhsEntry{v: v, sp: v.decl})
	}
	ls.stmts(body)
	ls.leaveScope()
	ls.noop(s, true)
	ls.emitGoto("do", false)
	ls.registerLabel("break")
	ls.leaveScope()
}

func (ls *linState) evalExpr(e ast.Expr) {
	it := ls.newItem(itEval, e)
	ls.scanExpr(it, e)
	ls.emit(it)
}

// upvalueAction records an access (0), mutation (1) or set (2) of v in every
// enclosing closure between the current one and v's own.
func (ls *linState) upvalueAction(it *item, v *variable, kind int) {
	for i := len(ls.lines) - 1; i >= 0; i-- {
		fl := ls.lines[i]
		if fl == v.fl {
			break
		}
		switch kind {
		case 0:
			addUp(&fl.accessedUp, v, it)
		case 1:
			addUp(&fl.mutatedUp, v, it)
		default:
			addUp(&fl.setUp, v, it)
		}
	}
}

func (ls *linState) scanExprs(it *item, es []ast.Expr) {
	for _, e := range es {
		ls.scanExpr(it, e)
	}
}

func (ls *linState) scanExpr(it *item, e ast.Expr) {
	switch e := e.(type) {
	case *ast.IdentExpr:
		if v := ls.resolveVar(e.Value); v != nil {
			ni := ls.a.ofExpr(e)
			ni.local = v
			v.accessed = true
			it.accesses = ls.accesses.push(it.accesses, 4, access{v: v, sp: ni.span, e: e})
			ls.upvalueAction(it, v, 0)
		}
	case *ast.Comma3Expr:
		if v := ls.resolveVar("..."); v != nil {
			v.accessed = true
			it.accesses = ls.accesses.push(it.accesses, 4, access{v: v, sp: ls.a.ofExpr(e).span, e: e})
			ls.upvalueAction(it, v, 0)
		}
	case *ast.AttrGetExpr:
		ls.scanExpr(it, e.Object)
		ls.scanExpr(it, e.Key)
	case *ast.FuncCallExpr:
		if e.Func != nil {
			ls.scanExpr(it, e.Func)
		} else {
			ls.scanExpr(it, e.Receiver)
		}
		ls.scanExprs(it, e.Args)
	case *ast.TableExpr:
		for _, f := range e.Fields {
			if f.Key != nil {
				ls.scanExpr(it, f.Key)
			}
			ls.scanExpr(it, f.Value)
		}
	case *ast.LogicalOpExpr, *ast.RelationalOpExpr, *ast.StringConcatOpExpr, *ast.ArithmeticOpExpr,
		*ast.UnaryMinusOpExpr, *ast.UnaryNotOpExpr, *ast.UnaryLenOpExpr:
		ops, nops := operands(e)
		for _, o := range ops[:nops] {
			ls.scanExpr(it, o)
		}
	case *ast.FunctionExpr:
		fl := ls.buildLine(e, false)
		fl.creator = it
	}
}

// buildLine linearizes one function body. method marks "function a:m()"
// bodies, which get an implicit first parameter "self".
func (ls *linState) buildLine(fn *ast.FunctionExpr, top bool) *fline {
	var parent *fline
	if len(ls.lines) > 0 {
		parent = ls.top()
	}
	fl := newLine(fn, parent)
	fl.depth = len(ls.lines)
	ls.lines = append(ls.lines, fl)
	ls.all = append(ls.all, fl)
	ls.enterScope()
	args := ls.newItem(itLocal, nil)
	ls.emit(args)
	ls.enterScope()
	if top {
		v := ls.registerVar("...", span{-1, -1}, vkArg, false)
		v.topVararg = true
		args.lhs = append(args.lhs, lhsEntry{v: v, sp: v.decl})
	} else {
		fi := ls.a.ofExpr(fn)
		names := ls.a.namesOf(fi)
		i := 0
		if ls.isMethod(fn) {
			v := ls.registerVar("self", fi.span, vkArg, true)
			// luacheck reports the implicit self at the colon of
			// "function a:m()".
			v.decl = fi.key()
			if !v.decl.valid() {
				v.decl = span{fi.off, fi.off + len("function")}
			}
			args.lhs = append(args.lhs, lhsEntry{v: v, sp: v.decl})
		}
		if fn.ParList != nil {
			for _, p := range fn.ParList.Names {
				v := ls.registerVar(p, nameSpan(names, i), vkArg, false)
				args.lhs = append(args.lhs, lhsEntry{v: v, sp: v.decl})
				i++
			}
			if fn.ParList.HasVargs {
				v := ls.registerVar("...", nameSpan(names, i), vkArg, false)
				args.lhs = append(args.lhs, lhsEntry{v: v, sp: v.decl})
			}
		}
	}
	ls.stmts(fn.Stmts)
	ls.leaveScope()
	ls.registerLabel("return")
	ls.leaveScope()
	ls.registerSetVariables(fl)
	ls.lines = ls.lines[:len(ls.lines)-1]
	ls.post = append(ls.post, fl)
	if top {
		ls.linkClosures(fl)
	}
	return fl
}

// linkClosures fills top.lines and every item's lines once the whole
// chunk is linearized.
//
// luacheck lists, in each item, every closure its expressions create at
// any depth, and the propagation then looks at each listed closure's
// upvalue accesses. A closure c matters to an item of an enclosing line L
// only if it touches a variable of L or of a line above L (reaching values
// of L's variables), or takes part in closure-to-closure propagation (it
// sets an upvalue, or touches one that some closure sets): for any other c
// every step of propagateMain and propagateClosures finds nothing under
// L. So c is listed in the creating items from its parent line up to the
// highest line owning one of its upvalues (up to the main chunk in the
// closure-to-closure case): the lists are as long as the upvalue chains
// upvalueAction already records, instead of nesting depth squared.
func (ls *linState) linkClosures(top *fline) {
	top.lines = ls.post[:len(ls.post)-1]
	for _, fl := range ls.post {
		for v := range fl.setUp {
			v.closureSet = true
		}
	}
	for _, c := range top.lines {
		if c.accessedUp == nil && c.mutatedUp == nil && c.setUp == nil {
			continue
		}
		hi := c.parent
		if c.setUp != nil {
			hi = top
		}
		for _, m := range [2]map[*variable][]*item{c.accessedUp, c.mutatedUp} {
			for v := range m {
				ls.work++
				if v.closureSet {
					hi = top
				} else if v.fl.depth < hi.depth {
					hi = v.fl
				}
			}
		}
		for cur := c; ; cur = cur.parent {
			cur.creator.lines = append(cur.creator.lines, c)
			ls.work++
			if cur.parent == hi {
				break
			}
		}
	}
}

func (ls *linState) isMethod(fn *ast.FunctionExpr) bool {
	return ls.a.ofExpr(fn).method
}

func isUnpacking(e ast.Expr) bool {
	switch e.(type) {
	case *ast.FuncCallExpr, *ast.Comma3Expr:
		return true
	}
	return false
}

func (ls *linState) registerSetVariables(fl *fline) {
	for _, it := range fl.items {
		if it.kind != itLocal && it.kind != itSet {
			continue
		}
		isInit := it.kind == itLocal
		var unpack ast.Expr
		if len(it.rhs) > 0 && isUnpacking(it.rhs[len(it.rhs)-1]) {
			unpack = it.rhs[len(it.rhs)-1]
		}
		var sec *secGroup
		if unpack != nil && len(it.lhs) > len(it.rhs) {
			sec = &secGroup{}
		}
		for i, l := range it.lhs {
			var val *value
			if l.v != nil {
				var node ast.Expr
				if i < len(it.rhs) {
					node = it.rhs[i]
				} else {
					node = unpack
				}
				val = ls.values.new()
				*val = value{v: l.v, node: node, lhs: l.sp, item: it, typ: vtVar}
				if isInit {
					switch l.v.kind {
					case vkArg:
						val.typ = vtArg
					case vkLoop, vkLoopi:
						val.typ = vtLoop
					}
					val.empty = node == nil && l.v.kind == vkVar
				}
				if fn, ok := node.(*ast.FunctionExpr); ok {
					val.typ = vtFunc
					ls.a.ofExpr(fn).fnValue = val
				}
				it.setVars = ls.valueLst.push(it.setVars, len(it.lhs), val)
				l.v.values = ls.valueLst.push(l.v.values, 2, val)
			}
			if sec != nil && i+1 >= len(it.rhs) {
				if val != nil {
					val.secondaries = sec
				} else {
					sec.used = true
				}
			}
		}
	}
}
