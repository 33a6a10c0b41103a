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

var unknownRes = &resolution{kind: resUnknown}

type globalState struct {
	ls      *linState
	memo    map[ast.Expr]*resolution
	std     *stdDef
	out     []rawWarn
	callees map[ast.Expr]bool
	uses    []rawUse
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
		return &resolution{kind: resNotString}
	case *ast.FuncCallExpr:
		if m := requireName(e, g.ls); m != "" {
			return &resolution{kind: resIndex, global: m, require: true}
		}
	}
	return unknownRes
}

// requireName returns the module name of a `require "name"` call on the
// global require, or "".
func requireName(c *ast.FuncCallExpr, ls *linState) string {
	id, ok := c.Func.(*ast.IdentExpr)
	if !ok || id.Value != "require" || ls.identVar[id] != nil || len(c.Args) != 1 {
		return ""
	}
	if s, ok := c.Args[0].(*ast.StringExpr); ok {
		return s.Value
	}
	return ""
}

func (g *globalState) deepResolve(e ast.Expr, it *item) *resolution {
	if r, ok := g.memo[e]; ok {
		return r
	}
	g.memo[e] = unknownRes
	base := e
	var keyExprs []ast.Expr
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
		if v := g.ls.identVar[b]; v != nil {
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
		if m := requireName(b, g.ls); m != "" {
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
		cp.keys = append([]keyRes(nil), baseRes.keys...)
		cp.prevLen = prevLen
		for i := len(keyExprs) - 1; i >= 0; i-- {
			kr := g.resolveNode(keyExprs[i], it)
			switch kr.kind {
			case resString:
				cp.keys = append(cp.keys, keyRes{kind: 1, s: kr.s})
			case resNotString:
				cp.keys = append(cp.keys, keyRes{kind: 2})
			default:
				cp.keys = append(cp.keys, keyRes{kind: 0})
			}
		}
		res = &cp
	}
	g.memo[e] = res
	return res
}

// resolveInvoke resolves obj:method as the indexing obj.method.
func (g *globalState) resolveInvoke(c *ast.FuncCallExpr, it *item) *resolution {
	r := g.resolveNode(c.Receiver, it)
	if r.kind != resIndex {
		return unknownRes
	}
	cp := *r
	cp.keys = append(append([]keyRes(nil), r.keys...), keyRes{kind: 1, s: c.Method})
	return &cp
}

func (r *resolution) path() ([]string, bool) {
	parts := []string{r.global}
	for _, k := range r.keys {
		if k.kind != 1 {
			return parts, false
		}
		parts = append(parts, k.s)
	}
	return parts, true
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
		if id, ok := n.(*ast.IdentExpr); ok && g.ls.identVar[id] != nil {
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
			if id, ok := b.(*ast.IdentExpr); !ok || g.ls.identVar[id] == nil {
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
	default:
		walkChildren(e, func(c ast.Expr) { g.detectInNode(it, c, isTop, false) })
	}
}

// walkChildren calls fn on the direct sub-expressions of e.
func walkChildren(e ast.Expr, fn func(ast.Expr)) {
	first := true
	walkExpr(e, func(x ast.Expr) bool {
		if first {
			first = false
			return true
		}
		fn(x)
		return false
	})
}

// warnGlobal applies warn_global plus the std-dependent part of luacheck's
// filter (filter.lua filter_global_related_in_file and passes_filter).
func (g *globalState) warnGlobal(e ast.Expr, r *resolution, isLhs, isTop bool) {
	if r.isAPIRoot() && !g.callees[e] && !isLhs {
		parts, _ := r.path()
		name, known := canonicalAPI(parts)
		if len(parts) > 1 || r.require {
			g.uses = append(g.uses, rawUse{name: name, known: known, sp: g.ls.a.get(e).span, via: r.via()})
		}
	}
	if r.require {
		return
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
	w := rawWarn{code: code, sp: g.ls.a.get(e).span, name: r.global, indirect: indirect}
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
	switch it.kind {
	case itEval:
		if e, ok := it.node.(ast.Expr); ok {
			fn(e, false)
		}
	case itLocal:
		for _, e := range it.rhs {
			fn(e, false)
		}
	case itSet:
		for _, l := range it.lhs {
			if l.e != nil {
				fn(l.e, true)
			}
		}
		if it.methodLhs != nil {
			fn(it.methodLhs, true)
		}
		for _, e := range it.rhs {
			fn(e, false)
		}
	}
}

// collectCalls records API calls of an item (direct, through aliases and
// through required modules) and marks their callees so that warnGlobal
// does not record them a second time as plain references.
func (g *globalState) collectCalls(it *item) {
	itemExprs(it, func(root ast.Expr, lhs bool) {
		walkExpr(root, func(x ast.Expr) bool {
			if _, ok := x.(*ast.FunctionExpr); ok {
				return false
			}
			c, ok := x.(*ast.FuncCallExpr)
			if !ok {
				return true
			}
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
			if r != nil && r.isAPIRoot() && (len(r.keys) > 0 || r.alias) {
				g.callees[callee] = true
				parts, _ := r.path()
				name, known := canonicalAPI(parts)
				u := rawUse{name: name, known: known, sp: g.ls.a.get(c).span, via: r.via(), call: c, it: it,
					resultUsed: resultUsed(it, c, root)}
				g.uses = append(g.uses, u)
			}
			return true
		})
	})
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
