package luacheck

import (
	"fmt"
	"strings"

	"github.com/yuin/gopher-lua/ast"
)

const (
	resUnknown uint8 = iota
	resNotString
	resString
	resIndex
)

// resolution is what an expression is known to be, as in luacheck's
// detect_globals.lua deep_resolve: a string constant, a non-string
// literal, an indexing of a global (or of a module returned by require)
// with its keys, or unknown. Aliases through locals are followed when
// exactly one assignment reaches the use.
type resolution struct {
	kind    uint8
	s       string
	global  string
	require bool // global is a module name returned by require
	alias   bool // reached through a local
	keys    []keyRes
	prevLen int
}

// unknownRes and notStringRes are shared: resolutions are never modified
// once made (deepResolve and resolveInvoke copy before extending one).
var (
	unknownRes   = &resolution{kind: resUnknown}
	notStringRes = &resolution{kind: resNotString}
)

type globalState struct {
	ls   *linState
	a    *aligner // nodeInfos: which local a name is, memoized resolutions
	std  *stdDef
	out  []rawWarn
	uses []rawUse
	// roots is scratch space for item.roots.
	roots []rootExpr
	// nameBuf is scratch space for apiName.
	nameBuf []byte
	// modCalls are the calls into required modules, defGlobals the
	// globals defined through _G (see modules.go); inTop is set while
	// collectCalls visits the main function's items.
	modCalls   []rawModCall
	defGlobals []string
	inTop      bool
}

// rawUse is an APIUse with chunk spans, converted later.
type rawUse struct {
	name       string
	known      bool
	sp         span
	via        string
	call       *ast.FuncCallExpr
	it         *item
	resultUsed bool
}

func (g *globalState) resolveNode(e ast.Expr, it *item) *resolution {
	switch e := e.(type) {
	case *ast.IdentExpr, *ast.AttrGetExpr:
		return g.deepResolve(e, it)
	case *ast.StringExpr:
		return &resolution{kind: resString, s: e.Value}
	case *ast.NilExpr, *ast.TrueExpr, *ast.FalseExpr, *ast.NumberExpr, *ast.TableExpr, *ast.FunctionExpr:
		return notStringRes
	case *ast.FuncCallExpr:
		if m := requireName(e, g.a); m != "" {
			return &resolution{kind: resIndex, global: m, require: true}
		}
	}
	return unknownRes
}

// keyOf resolves an index key as deepResolve records it: resolveNode's
// kind, without allocating a resolution for the literal keys that make up
// nearly all of them.
func (g *globalState) keyOf(e ast.Expr, it *item) keyRes {
	switch e := e.(type) {
	case *ast.StringExpr:
		return keyRes{kind: 1, s: e.Value}
	case *ast.NilExpr, *ast.TrueExpr, *ast.FalseExpr, *ast.NumberExpr, *ast.TableExpr, *ast.FunctionExpr:
		return keyRes{kind: 2}
	}
	switch kr := g.resolveNode(e, it); kr.kind {
	case resString:
		return keyRes{kind: 1, s: kr.s}
	case resNotString:
		return keyRes{kind: 2}
	}
	return keyRes{kind: 0}
}

// requireName returns the module name of a `require "name"` call on the
// global require, or "".
func requireName(c *ast.FuncCallExpr, a *aligner) string {
	id, ok := c.Func.(*ast.IdentExpr)
	if !ok || id.Value != "require" || a.ofExpr(id).local != nil || len(c.Args) != 1 {
		return ""
	}
	if s, ok := c.Args[0].(*ast.StringExpr); ok {
		return s.Value
	}
	return ""
}

func (g *globalState) deepResolve(e ast.Expr, it *item) *resolution {
	ni := g.a.ofExpr(e)
	if ni.res != nil {
		return ni.res
	}
	ni.res = unknownRes
	base := e
	var keyBuf [8]ast.Expr
	keyExprs := keyBuf[:0]
	for {
		ag, ok := base.(*ast.AttrGetExpr)
		if !ok {
			break
		}
		keyExprs = append(keyExprs, ag.Key)
		base = ag.Object
	}
	var baseRes *resolution
	prevLen := 0
	switch b := base.(type) {
	case *ast.IdentExpr:
		if v := g.a.ofExpr(b).local; v != nil {
			vals := it.usedOf(v)
			if len(vals) != 1 || vals[0].node == nil {
				return unknownRes
			}
			r := g.resolveNode(vals[0].node, vals[0].item)
			if r.kind == resIndex {
				prevLen = 1 + len(r.keys)
				cp := *r
				cp.alias = true
				r = &cp
			}
			baseRes = r
		} else {
			baseRes = &resolution{kind: resIndex, global: b.Value}
		}
	case *ast.FuncCallExpr:
		if m := requireName(b, g.a); m != "" {
			baseRes = &resolution{kind: resIndex, global: m, require: true}
		} else {
			return unknownRes
		}
	default:
		return unknownRes
	}
	var res *resolution
	switch {
	case len(keyExprs) == 0:
		res = baseRes
	case baseRes.kind != resIndex:
		res = unknownRes
	default:
		cp := *baseRes
		cp.keys = make([]keyRes, len(baseRes.keys), len(baseRes.keys)+len(keyExprs))
		copy(cp.keys, baseRes.keys)
		cp.prevLen = prevLen
		for i := len(keyExprs) - 1; i >= 0; i-- {
			cp.keys = append(cp.keys, g.keyOf(keyExprs[i], it))
		}
		res = &cp
	}
	ni.res = res
	return res
}

// resolveInvoke resolves obj:method as the indexing obj.method.
func (g *globalState) resolveInvoke(c *ast.FuncCallExpr, it *item) *resolution {
	r := g.resolveNode(c.Receiver, it)
	if r.kind != resIndex {
		return unknownRes
	}
	cp := *r
	cp.keys = make([]keyRes, len(r.keys), len(r.keys)+1)
	copy(cp.keys, r.keys)
	cp.keys = append(cp.keys, keyRes{kind: 1, s: c.Method})
	return &cp
}

// pathLen is the length of a resolution's path: the global (or module)
// and the string keys that follow it up to the first other key.
func (r *resolution) pathLen() int {
	n := 1
	for _, k := range r.keys {
		if k.kind != 1 {
			break
		}
		n++
	}
	return n
}

// pathPart returns the i-th element of the path (see pathLen).
func (r *resolution) pathPart(i int) string {
	if i == 0 {
		return r.global
	}
	return r.keys[i-1].s
}

// isAPIRoot reports whether a resolution names an OpenResty API root.
func (r *resolution) isAPIRoot() bool {
	if r.kind != resIndex {
		return false
	}
	if r.require {
		return strings.HasPrefix(r.global, "ngx.") || strings.HasPrefix(r.global, "resty.core.")
	}
	return r.global == "ngx" || r.global == "ndk"
}

func (r *resolution) via() string {
	switch {
	case r.require:
		return "require"
	case r.alias:
		return "alias"
	}
	return "global"
}

func (g *globalState) detectInNode(it *item, e ast.Expr, isTop, isLhs bool) {
	if e == nil {
		return
	}
	switch n := e.(type) {
	case *ast.IdentExpr, *ast.AttrGetExpr:
		if id, ok := n.(*ast.IdentExpr); ok && g.a.ofExpr(id).local != nil {
			return
		}
		res := g.deepResolve(e, it)
		if ag, ok := n.(*ast.AttrGetExpr); ok {
			var b ast.Expr = ag
			for {
				x, ok := b.(*ast.AttrGetExpr)
				if !ok {
					break
				}
				g.detectInNode(it, x.Key, isTop, false)
				b = x.Object
			}
			if _, ok := b.(*ast.IdentExpr); !ok {
				g.detectInNode(it, b, isTop, false)
			}
		}
		if res.kind == resIndex {
			g.warnGlobal(e, res, isLhs, isTop)
		}
	case *ast.FuncCallExpr:
		if n.Receiver != nil {
			res := g.resolveInvoke(n, it)
			for _, a := range n.Args {
				g.detectInNode(it, a, isTop, false)
			}
			b := n.Receiver
			for {
				x, ok := b.(*ast.AttrGetExpr)
				if !ok {
					break
				}
				g.detectInNode(it, x.Key, isTop, false)
				b = x.Object
			}
			if id, ok := b.(*ast.IdentExpr); !ok || g.a.ofExpr(id).local == nil {
				if !ok {
					g.detectInNode(it, b, isTop, false)
				}
			}
			if res.kind == resIndex {
				g.warnGlobal(n, res, false, isTop)
			}
			return
		}
		g.detectInNode(it, n.Func, isTop, false)
		for _, a := range n.Args {
			g.detectInNode(it, a, isTop, false)
		}
	case *ast.FunctionExpr:
		return
	// The other nodes: detect in their direct sub-expressions (in
	// walkExpr's order).
	case *ast.TableExpr:
		for _, f := range n.Fields {
			if f.Key != nil {
				g.detectInNode(it, f.Key, isTop, false)
			}
			g.detectInNode(it, f.Value, isTop, false)
		}
	case *ast.LogicalOpExpr, *ast.RelationalOpExpr, *ast.StringConcatOpExpr, *ast.ArithmeticOpExpr,
		*ast.UnaryMinusOpExpr, *ast.UnaryNotOpExpr, *ast.UnaryLenOpExpr:
		ops, nops := operands(n)
		for _, o := range ops[:nops] {
			g.detectInNode(it, o, isTop, false)
		}
	}
}

// warnGlobal applies warn_global plus the std-dependent part of luacheck's
// filter (filter.lua filter_global_related_in_file and passes_filter).
func (g *globalState) warnGlobal(e ast.Expr, r *resolution, isLhs, isTop bool) {
	ni := g.a.ofExpr(e)
	if r.isAPIRoot() && !ni.callee && !isLhs {
		if r.pathLen() > 1 || r.require {
			name, known := g.apiName(r)
			g.uses = append(g.uses, rawUse{name: name, known: known, sp: ni.span, via: r.via()})
		}
	}
	if r.require {
		return
	}
	if isLhs && r.global == "_G" && len(r.keys) == 1 && r.keys[0].kind == 1 {
		g.defGlobals = append(g.defGlobals, r.keys[0].s)
	}
	code := "W113"
	if isLhs {
		if len(r.keys) == 0 {
			code = "W111"
		} else {
			code = "W112"
		}
	}
	indirect := r.alias
	if (code == "W111" || code == "W112") && fieldStatus(g.std, r.global, r.keys, 0) == "read_only" {
		code = "W12" + code[3:]
	} else if (code == "W112" || code == "W113") && fieldStatus(g.std, r.global, r.keys, 1) != "undefined" {
		code = "W14" + code[3:]
	}
	if strings.HasPrefix(code, "W11") || strings.HasPrefix(code, "W14") {
		if indirect && fieldStatus(g.std, r.global, r.keys, r.prevLen) == "undefined" {
			return
		}
		if fieldStatus(g.std, r.global, r.keys, 0) != "undefined" {
			return
		}
	}
	w := rawWarn{code: code, sp: ni.span, name: r.global, indirect: indirect}
	if n, ok := e.(interface{ Line() int }); ok {
		w.line = n.Line()
	}
	field := fieldString(r.keys)
	switch code {
	case "W111":
		w.msg = fmt.Sprintf("setting non-standard global variable '%s'", r.global)
	case "W112":
		w.msg = fmt.Sprintf("mutating non-standard global variable '%s'", r.global)
	case "W113":
		w.msg = fmt.Sprintf("accessing undefined variable '%s'", r.global)
	case "W121":
		w.msg = fmt.Sprintf("setting read-only global variable '%s'", r.global)
	case "W122":
		w.field = field
		w.msg = fmt.Sprintf("setting read-only field '%s' of global '%s'", field, r.global)
	case "W142":
		w.field = field
		w.msg = fmt.Sprintf("setting undefined field '%s' of global '%s'", field, r.global)
	case "W143":
		w.field = field
		w.msg = fmt.Sprintf("accessing undefined field '%s' of global '%s'", field, r.global)
	}
	if indirect && w.field != "" {
		w.msg = "indirectly " + w.msg
	}
	g.out = append(g.out, w)
}

func fieldString(keys []keyRes) string {
	var parts []string
	for _, k := range keys {
		switch k.kind {
		case 1:
			parts = append(parts, k.s)
		default:
			parts = append(parts, "?")
		}
	}
	return strings.Join(parts, ".")
}

// itemExprs calls fn(e, lhs) for the expressions an item evaluates, as
// detect_globals_in_line does.
func itemExprs(it *item, fn func(e ast.Expr, lhs bool)) {
	var buf [4]rootExpr
	for _, r := range it.roots(buf[:0]) {
		fn(r.e, r.lhs)
	}
}

// rootExpr is one expression an item evaluates; lhs marks an assignment
// target.
type rootExpr struct {
	e   ast.Expr
	lhs bool
}

// roots appends to buf the expressions an item evaluates, in
// detect_globals_in_line's order. The hot passes loop over them directly
// rather than through itemExprs' callback, whose closures escaped (one
// allocation per item and pass).
func (it *item) roots(buf []rootExpr) []rootExpr {
	switch it.kind {
	case itEval:
		if e, ok := it.node.(ast.Expr); ok {
			buf = append(buf, rootExpr{e, false})
		}
	case itLocal:
		for _, e := range it.rhs {
			buf = append(buf, rootExpr{e, false})
		}
	case itSet:
		for _, l := range it.lhs {
			if l.e != nil {
				buf = append(buf, rootExpr{l.e, true})
			}
		}
		if it.methodLhs != nil {
			buf = append(buf, rootExpr{it.methodLhs, true})
		}
		for _, e := range it.rhs {
			buf = append(buf, rootExpr{e, false})
		}
	}
	return buf
}

// collectCalls records API calls of an item (direct, through aliases and
// through required modules) and marks their callees so that warnGlobal
// does not record them a second time as plain references.
func (g *globalState) collectCalls(it *item) {
	g.roots = it.roots(g.roots[:0])
	for _, r := range g.roots {
		g.collectIn(it, r.e, r.e)
	}
}

// collectIn visits x and its sub-expressions in walkExpr's order, not
// entering function bodies (their items are collected on their own line).
func (g *globalState) collectIn(it *item, root, x ast.Expr) {
	switch x := x.(type) {
	case *ast.FuncCallExpr:
		g.collectCall(it, root, x)
		if x.Func != nil {
			g.collectIn(it, root, x.Func)
		} else {
			g.collectIn(it, root, x.Receiver)
		}
		for _, a := range x.Args {
			g.collectIn(it, root, a)
		}
	case *ast.AttrGetExpr:
		g.collectIn(it, root, x.Object)
		g.collectIn(it, root, x.Key)
	case *ast.TableExpr:
		for _, f := range x.Fields {
			if f.Key != nil {
				g.collectIn(it, root, f.Key)
			}
			g.collectIn(it, root, f.Value)
		}
	case *ast.LogicalOpExpr, *ast.RelationalOpExpr, *ast.StringConcatOpExpr, *ast.ArithmeticOpExpr,
		*ast.UnaryMinusOpExpr, *ast.UnaryNotOpExpr, *ast.UnaryLenOpExpr:
		ops, nops := operands(x)
		for _, o := range ops[:nops] {
			g.collectIn(it, root, o)
		}
	}
}

// collectCall records c when it calls an API.
func (g *globalState) collectCall(it *item, root ast.Expr, c *ast.FuncCallExpr) {
	var r *resolution
	var callee ast.Expr
	if c.Receiver != nil {
		r = g.resolveInvoke(c, it)
		callee = c
	} else {
		switch c.Func.(type) {
		case *ast.IdentExpr, *ast.AttrGetExpr:
			r = g.deepResolve(c.Func, it)
			callee = c.Func
		}
	}
	if r != nil && r.require && !r.isAPIRoot() {
		g.recordModuleCall(c, r)
	} else if c.Receiver == nil {
		g.recordDefinedGlobal(c)
	}
	if r != nil && r.isAPIRoot() && (len(r.keys) > 0 || r.alias) {
		g.a.ofExpr(callee).callee = true
		name, known := g.apiName(r)
		u := rawUse{name: name, known: known, sp: g.a.ofExpr(c).span, via: r.via(), call: c, it: it,
			resultUsed: resultUsed(it, c, root)}
		g.uses = append(g.uses, u)
	}
}

// resultUsed decides whether the values a call returns are used.
func resultUsed(it *item, c *ast.FuncCallExpr, root ast.Expr) bool {
	if it.stmtCall && root == ast.Expr(c) {
		return false
	}
	if it.kind != itLocal && it.kind != itSet {
		return true
	}
	idx := -1
	for i, e := range it.rhs {
		if e == ast.Expr(c) {
			idx = i
		}
	}
	if idx < 0 {
		return true
	}
	any := false
	for i, l := range it.lhs {
		gets := i == idx || (idx == len(it.rhs)-1 && i > idx)
		if !gets {
			continue
		}
		any = true
		if l.v == nil {
			return true
		}
		if val := it.setValue(l.v); val != nil && (val.used || val.mutated) {
			return true
		}
	}
	_ = any
	return false
}
