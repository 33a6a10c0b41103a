package luacheck

import (
	"fmt"

	"github.com/yuin/gopher-lua/ast"
)

// rawWarn is a warning with chunk-relative span, converted to file positions
// at the end.
type rawWarn struct {
	code     string
	sp       span
	line     int // chunk line to use when sp is unknown
	name     string
	field    string
	msg      string
	indirect bool
	prevSp   span
}

func kindCode(k varKind) string {
	switch k {
	case vkArg:
		return "2"
	case vkLoop, vkLoopi:
		return "3"
	}
	return "1"
}

func isFunctionVar(v *variable) bool {
	return (len(v.values) == 1 && v.values[0].typ == vtFunc) ||
		(len(v.values) == 2 && v.values[0].empty && v.values[1].typ == vtFunc)
}

func isExternallyAccessible(val *value) bool {
	if val.typ != vtVar {
		return true
	}
	switch val.node.(type) {
	case *ast.IdentExpr, *ast.AttrGetExpr, *ast.FuncCallExpr, *ast.ArithmeticOpExpr,
		*ast.LogicalOpExpr, *ast.RelationalOpExpr, *ast.StringConcatOpExpr,
		*ast.UnaryMinusOpExpr, *ast.UnaryNotOpExpr, *ast.UnaryLenOpExpr, *ast.Comma3Expr:
		return true
	}
	return false
}

type unusedState struct {
	out []rawWarn
}

func (u *unusedState) warnUnusedVar(val *value, useless bool) {
	v := val.v
	code := "W21" + kindCode(v.kind)
	// luacheck drops [234]xx warnings about "_" unless the whole
	// declaration is useless (filter.lua passes_filter).
	if v.name == "_" && !useless {
		return
	}
	var msg string
	switch {
	case v.kind == vkArg && v.name == "...":
		msg = "unused variable length argument"
	case v.kind == vkArg:
		msg = fmt.Sprintf("unused argument '%s'", v.name)
	case v.kind == vkLoop || v.kind == vkLoopi:
		msg = fmt.Sprintf("unused loop variable '%s'", v.name)
	case val.typ == vtFunc:
		msg = fmt.Sprintf("unused function '%s'", v.name)
	default:
		msg = fmt.Sprintf("unused variable '%s'", v.name)
	}
	u.out = append(u.out, rawWarn{code: code, sp: val.lhs, name: v.name, msg: msg})
}

func (u *unusedState) warnUnaccessed(v *variable, mutated bool) {
	if v.name == "_" {
		return
	}
	code := "W23"
	msg := fmt.Sprintf("variable '%s' is never accessed", v.name)
	if mutated {
		code = "W24"
		msg = fmt.Sprintf("variable '%s' is mutated but never accessed", v.name)
	}
	u.out = append(u.out, rawWarn{code: code + kindCode(v.kind), sp: v.decl, name: v.name, msg: msg})
}

func (u *unusedState) warnUnusedValue(val *value, over span) {
	v := val.v
	if v.name == "_" {
		return
	}
	mid := "1"
	if val.mutated {
		mid = "3"
	}
	tc := "1"
	switch val.typ {
	case vtArg:
		tc = "2"
	case vtLoop:
		tc = "3"
	}
	msg := fmt.Sprintf("value assigned to variable '%s' is unused", v.name)
	if over.valid() {
		msg = fmt.Sprintf("value assigned to variable '%s' is overwritten before use", v.name)
	}
	u.out = append(u.out, rawWarn{code: "W3" + mid + tc, sp: val.lhs, name: v.name, msg: msg})
}

func overwritingLhs(it *item, val *value) span {
	for _, l := range it.lhs {
		if l.v == val.v {
			return l.sp
		}
	}
	return span{-1, -1}
}

func secondOverwritingLhs(it *item, val *value) span {
	after := false
	for _, l := range it.lhs {
		if l.v == val.v {
			if after {
				return l.sp
			}
			if l.sp == val.lhs {
				after = true
			}
		}
	}
	return span{-1, -1}
}

// detectUnusedLocal follows detect_unused_locals.lua's decision tree.
func (u *unusedState) detectUnusedLocal(v *variable) {
	switch {
	case isFunctionVar(v):
		val := v.values[len(v.values)-1]
		if !val.used {
			u.warnUnusedVar(val, false)
		}
	case len(v.values) == 1:
		val := v.values[0]
		if v.hintUnused {
			if val.used {
				u.out = append(u.out, rawWarn{code: "W214", sp: v.decl, name: v.name,
					msg: fmt.Sprintf("used variable '%s' with unused hint", v.name)})
			}
		} else if !val.used {
			if val.mutated {
				if !isExternallyAccessible(val) {
					u.warnUnaccessed(v, true)
				}
			} else {
				u.warnUnusedVar(val, val.empty)
			}
		} else if val.empty {
			if v.name != "_" {
				u.out = append(u.out, rawWarn{code: "W221", sp: v.decl, name: v.name,
					msg: fmt.Sprintf("variable '%s' is never set", v.name)})
			}
		}
	case !v.accessed && !v.mutated:
		u.warnUnaccessed(v, false)
	default:
		noneExt := true
		for _, val := range v.values {
			if isExternallyAccessible(val) {
				noneExt = false
			}
		}
		if !v.accessed && noneExt {
			u.warnUnaccessed(v, true)
		}
		for _, val := range v.values {
			if val.empty || val.used {
				continue
			}
			if !val.mutated {
				over := span{-1, -1}
				if val.overwriting == 1 {
					if val.overwriteItem != val.item {
						over = overwritingLhs(val.overwriteItem, val)
					}
				} else if val.overwriting == 0 {
					over = secondOverwritingLhs(val.item, val)
				}
				u.warnUnusedValue(val, over)
			} else if !isExternallyAccessible(val) && (v.accessed || !noneExt) {
				u.warnUnusedValue(val, span{-1, -1})
			}
		}
	}
}

func (u *unusedState) run(lines []*fline, top *fline) {
	for _, fl := range lines {
		for _, it := range fl.items {
			if it.kind != itLocal {
				continue
			}
			for _, val := range it.setVars {
				if val.v.topVararg || val.item != it {
					continue
				}
				u.detectUnusedLocal(val.v)
			}
		}
	}
	u.unusedRecursive(top)
}

// unusedRecursive reports closures that are only used by themselves or by
// each other (luacheck's detect_unused_rec_funcs).
func (u *unusedState) unusedRecursive(top *fline) {
	fwd := map[*fline]map[*fline]bool{top: {}}
	bwd := map[*fline]map[*fline]bool{top: {}}
	for _, nl := range top.lines {
		fwd[nl] = map[*fline]bool{}
		bwd[nl] = map[*fline]bool{}
	}
	for _, nl := range top.lines {
		if val := nl.value; val != nil {
			for _, using := range val.usingLines {
				if fwd[using] != nil {
					fwd[using][nl] = true
					bwd[nl][using] = true
				}
			}
		} else if nl.parent != nil {
			fwd[nl.parent][nl] = true
			bwd[nl][nl.parent] = true
		}
	}
	mark := func(edges map[*fline]map[*fline]bool, marked map[*fline]bool, fl *fline) {
		stack := []*fline{fl}
		for len(stack) > 0 {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for c := range edges[x] {
				if !marked[c] {
					marked[c] = true
					stack = append(stack, c)
				}
			}
		}
	}
	marked := map[*fline]bool{top: true}
	mark(fwd, marked, top)
	for _, nl := range top.lines {
		if val := nl.value; val != nil && !val.used {
			marked[nl] = true
			mark(fwd, marked, nl)
		}
	}
	for _, nl := range top.lines {
		val := nl.value
		if val == nil || !val.used || marked[nl] {
			continue
		}
		fm := map[*fline]bool{nl: true}
		bm := map[*fline]bool{nl: true}
		for k := range marked {
			fm[k] = true
			bm[k] = true
		}
		fm[nl], bm[nl] = false, false
		mark(fwd, fm, nl)
		mark(bwd, bm, nl)
		for _, cand := range top.lines {
			if marked[cand] || !fm[cand] || !bm[cand] {
				continue
			}
			marked[cand] = true
			cv := cand.value
			if cv == nil {
				continue
			}
			self := fwd[cand][cand]
			if isFunctionVar(cv.v) {
				msg := fmt.Sprintf("unused recursive function '%s'", cv.v.name)
				if !self {
					msg = fmt.Sprintf("unused mutually recursive function '%s'", cv.v.name)
				}
				if cv.v.name != "_" {
					u.out = append(u.out, rawWarn{code: "W211", sp: cv.lhs, name: cv.v.name, msg: msg})
				}
			} else {
				u.warnUnusedValue(cv, span{-1, -1})
			}
		}
	}
}

// unreachable reports the first item of each unreachable region
// (detect_unreachable_code.lua): W511, or W512 for a loop whose end is
// unreachable (its body runs at most once).
func unreachable(fl *fline, a *aligner) []rawWarn {
	var out []rawWarn
	visited := make([]bool, len(fl.items)+1)
	noop := func(int, *item) bool { return false }
	fl.walk(visited, 0, noop)
	for i, it := range fl.items {
		if visited[i] || it.node == nil {
			continue
		}
		code, msg := "W511", "unreachable code"
		if it.loopEnd {
			code, msg = "W512", "loop is executed at most once"
		}
		w := rawWarn{code: code, sp: a.of(it.node).span, msg: msg}
		if n, ok := it.node.(interface{ Line() int }); ok {
			w.line = n.Line()
		}
		out = append(out, w)
		fl.walk(visited, i, noop)
	}
	return out
}
