package luacheck

import "github.com/yuin/gopher-lua/ast"

// walk visits the items reachable from index (luacheck's Line:walk), calling
// cb for each (with nil past the last item); cb returns true to stop
// following the current path. It is iterative: chunks can be large.
func (fl *fline) walk(visited []bool, index int, cb func(index int, it *item) bool) {
	stack := []int{index}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for {
			if i < 0 || i > len(fl.items) || visited[i] {
				break
			}
			visited[i] = true
			var it *item
			if i < len(fl.items) {
				it = fl.items[i]
			}
			if cb(i, it) || it == nil {
				break
			}
			if it.kind == itJump {
				i = it.to
				continue
			}
			if it.kind == itCjump {
				stack = append(stack, it.to)
			}
			i++
		}
	}
}

func addResolution(fl *fline, it *item, v *variable, val *value, mutation bool) {
	if val == nil {
		return
	}
	if it.used == nil {
		it.used = make(map[*variable][]*value, 1)
	}
	it.used[v] = append(it.used[v], val)
	if mutation {
		val.mutated = true
	} else {
		val.used = true
	}
	if val.usingLines == nil {
		val.usingLines = make(map[*fline]bool, 1)
	}
	val.usingLines[fl] = true
	if val.secondaries != nil {
		val.secondaries.used = true
	}
}

func addResolutions(fl *fline, items []*item, v *variable, val *value, mutation bool) {
	for _, it := range items {
		addResolution(fl, it, v, val, mutation)
	}
}

func crossResolveClosures(accessLine, setLine *fline) {
	for v, setters := range setLine.setUp {
		for _, s := range setters {
			val := s.setValue(v)
			addResolutions(accessLine, accessLine.accessedUp[v], v, val, false)
			addResolutions(accessLine, accessLine.mutatedUp[v], v, val, true)
		}
	}
}

func containsCall(e ast.Expr) bool {
	found := false
	walkExpr(e, func(x ast.Expr) bool {
		if _, ok := x.(*ast.FuncCallExpr); ok {
			found = true
		}
		_, isFn := x.(*ast.FunctionExpr)
		return !found && !isFn
	})
	return found
}

// isCircularReference reports `x = x.y`-style items (luacheck 1.1's
// is_circular_reference): the access of x on the right does not count as a
// use of x's previous value when the first target is x itself and no call
// is involved.
func isCircularReference(it *item, v *variable) bool {
	if it.kind != itSet && it.kind != itLocal {
		return false
	}
	if len(it.rhs) == 0 || len(it.lhs) == 0 {
		return false
	}
	if containsCall(it.rhs[0]) {
		return false
	}
	l := it.lhs[0]
	if l.e != nil && containsCall(l.e) {
		return false
	}
	// luacheck compares the first child of the lhs node with v: for
	// t.x = ... that is t; for a plain name it is the name string, which
	// never matches, so x = x + 1 is not circular.
	if ag, ok := l.e.(*ast.AttrGetExpr); ok {
		if _, ok := ag.Object.(*ast.IdentExpr); ok {
			for _, m := range it.mutations {
				if m.e == ag.Object && m.v == v {
					return true
				}
			}
		}
	}
	return false
}

func (fl *fline) propagateMain() {
	for i, it := range fl.items {
		for _, val := range it.setVars {
			v := val.v
			if v.fl != fl {
				continue
			}
			visited := make([]bool, len(fl.items)+1)
			fl.walk(visited, i+1, func(idx int, x *item) bool {
				if idx < v.scopeStart || idx > v.scopeEnd {
					val.overwriting = 2
					return true
				}
				if x.accesses1(v) && !isCircularReference(x, v) {
					addResolution(fl, x, v, val, false)
				}
				if x.mutates(v) {
					addResolution(fl, x, v, val, true)
				}
				for _, cl := range x.lines {
					if !isCircularReference(x, v) {
						addResolutions(cl, cl.accessedUp[v], v, val, false)
					}
					addResolutions(cl, cl.mutatedUp[v], v, val, true)
				}
				if x.setValue(v) != nil {
					if val.overwriting != 2 {
						if val.overwriting == 1 && val.overwriteItem != x {
							val.overwriting = 2
						} else {
							val.overwriting = 1
							val.overwriteItem = x
						}
					}
					return true
				}
				return false
			})
		}
	}
}

func (fl *fline) propagateClosures() {
	for i, it := range fl.items {
		for _, created := range it.lines {
			if created.accessedUp == nil && created.mutatedUp == nil && created.setUp == nil {
				continue
			}
			visited := make([]bool, len(fl.items)+1)
			fl.walk(visited, i, func(_ int, x *item) bool {
				if x == nil {
					return true
				}
				for _, val := range x.setVars {
					addResolutions(created, created.accessedUp[val.v], val.v, val, false)
					addResolutions(created, created.mutatedUp[val.v], val.v, val, true)
				}
				for _, cl := range x.lines {
					crossResolveClosures(created, cl)
					crossResolveClosures(cl, created)
				}
				for v, setters := range created.setUp {
					if x.accesses1(v) {
						for _, s := range setters {
							addResolution(fl, x, v, s.setValue(v), false)
						}
					}
					if x.mutates(v) {
						for _, s := range setters {
							addResolution(fl, x, v, s.setValue(v), true)
						}
					}
				}
				return false
			})
		}
	}
}

// walkExpr calls fn on e and its sub-expressions in source order while fn
// returns true for the parent.
func walkExpr(e ast.Expr, fn func(ast.Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	switch e := e.(type) {
	case *ast.AttrGetExpr:
		walkExpr(e.Object, fn)
		walkExpr(e.Key, fn)
	case *ast.FuncCallExpr:
		if e.Func != nil {
			walkExpr(e.Func, fn)
		} else {
			walkExpr(e.Receiver, fn)
		}
		for _, a := range e.Args {
			walkExpr(a, fn)
		}
	case *ast.TableExpr:
		for _, f := range e.Fields {
			if f.Key != nil {
				walkExpr(f.Key, fn)
			}
			walkExpr(f.Value, fn)
		}
	case *ast.LogicalOpExpr:
		walkExpr(e.Lhs, fn)
		walkExpr(e.Rhs, fn)
	case *ast.RelationalOpExpr:
		walkExpr(e.Lhs, fn)
		walkExpr(e.Rhs, fn)
	case *ast.StringConcatOpExpr:
		walkExpr(e.Lhs, fn)
		walkExpr(e.Rhs, fn)
	case *ast.ArithmeticOpExpr:
		walkExpr(e.Lhs, fn)
		walkExpr(e.Rhs, fn)
	case *ast.UnaryMinusOpExpr:
		walkExpr(e.Expr, fn)
	case *ast.UnaryNotOpExpr:
		walkExpr(e.Expr, fn)
	case *ast.UnaryLenOpExpr:
		walkExpr(e.Expr, fn)
	}
}
