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

func (w *walker) addResolution(fl *fline, it *item, v *variable, val *value, mutation bool) {
	if val == nil {
		return
	}
	if i := it.usedIndex(v); i >= 0 {
		it.used[i].vals = append(it.used[i].vals, val)
	} else {
		it.used = w.used.push(it.used, 2, usedValues{v: v, vals: w.vals.push(nil, 1, val)})
		switch n := len(it.used); {
		case it.usedIdx != nil:
			it.usedIdx[v] = n - 1
		case n > usedScanMax:
			it.usedIdx = make(map[*variable]int, 2*n)
			for j, u := range it.used {
				it.usedIdx[u.v] = j
			}
		}
	}
	if mutation {
		val.mutated = true
	} else {
		val.used = true
	}
	if n := len(val.usingLines); n == 0 || val.usingLines[n-1] != fl {
		val.usingLines = w.lines.push(val.usingLines, 1, fl)
	}
	if val.secondaries != nil {
		val.secondaries.used = true
	}
}

func (w *walker) addResolutions(fl *fline, items []*item, v *variable, val *value, mutation bool) {
	for _, it := range items {
		w.addResolution(fl, it, v, val, mutation)
	}
}

func (w *walker) crossResolveClosures(accessLine, setLine *fline) {
	for v, setters := range setLine.setUp {
		for _, s := range setters {
			val := s.setValue(v)
			w.addResolutions(accessLine, accessLine.accessedUp[v], v, val, false)
			w.addResolutions(accessLine, accessLine.mutatedUp[v], v, val, true)
		}
	}
}

// containsCall reports whether e calls a function, not counting the bodies
// of the functions it defines.
// operands returns the operands of an operator expression, Lhs before
// Rhs (n is 2 for the binary operators, 1 for the unary ones, 0 for any
// other expression). gopher-lua has a node type per operator kind with the
// same fields; the walks share this instead of a case per type.
func operands(e ast.Expr) (ops [2]ast.Expr, n int) {
	switch x := e.(type) {
	case *ast.LogicalOpExpr:
		return [2]ast.Expr{x.Lhs, x.Rhs}, 2
	case *ast.RelationalOpExpr:
		return [2]ast.Expr{x.Lhs, x.Rhs}, 2
	case *ast.StringConcatOpExpr:
		return [2]ast.Expr{x.Lhs, x.Rhs}, 2
	case *ast.ArithmeticOpExpr:
		return [2]ast.Expr{x.Lhs, x.Rhs}, 2
	case *ast.UnaryMinusOpExpr:
		return [2]ast.Expr{x.Expr}, 1
	case *ast.UnaryNotOpExpr:
		return [2]ast.Expr{x.Expr}, 1
	case *ast.UnaryLenOpExpr:
		return [2]ast.Expr{x.Expr}, 1
	}
	return ops, 0
}

func containsCall(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.FuncCallExpr:
		return true
	case *ast.AttrGetExpr:
		return containsCall(e.Object) || containsCall(e.Key)
	case *ast.TableExpr:
		for _, f := range e.Fields {
			if (f.Key != nil && containsCall(f.Key)) || containsCall(f.Value) {
				return true
			}
		}
	case *ast.LogicalOpExpr, *ast.RelationalOpExpr, *ast.StringConcatOpExpr, *ast.ArithmeticOpExpr,
		*ast.UnaryMinusOpExpr, *ast.UnaryNotOpExpr, *ast.UnaryLenOpExpr:
		ops, nops := operands(e)
		for _, o := range ops[:nops] {
			if containsCall(o) {
				return true
			}
		}
	}
	return false
}

// isCircularReference reports `x = x.y`-style items (luacheck 1.1's
// is_circular_reference): the access of x on the right does not count as a
// use of x's previous value when the first target is x itself and no call
// is involved.
func isCircularReference(it *item, v *variable) bool {
	base := it.circularBase()
	if base == nil {
		return false
	}
	for _, m := range it.mutations {
		if m.e == base && m.v == v {
			return true
		}
	}
	return false
}

// circularBase returns the part of isCircularReference that does not
// depend on the variable, computed once per item: the name t of a first
// target t.x when the item can be circular, else nil.
func (it *item) circularBase() ast.Expr {
	if it.circDone {
		return it.circBase
	}
	it.circDone = true
	if it.kind != itSet && it.kind != itLocal {
		return nil
	}
	if len(it.rhs) == 0 || len(it.lhs) == 0 {
		return nil
	}
	if containsCall(it.rhs[0]) {
		return nil
	}
	l := it.lhs[0]
	if l.e != nil && containsCall(l.e) {
		return nil
	}
	// luacheck compares the first child of the lhs node with v: for
	// t.x = ... that is t; for a plain name it is the name string, which
	// never matches, so x = x + 1 is not circular.
	if ag, ok := l.e.(*ast.AttrGetExpr); ok {
		if _, ok := ag.Object.(*ast.IdentExpr); ok {
			it.circBase = ag.Object
		}
	}
	return it.circBase
}

// walker holds the scratch state of repeated walks over one chunk's lines:
// visited and candidate marks are epoch-stamped so that a walk costs what it
// visits, not the length of the line (allocating a fresh visited slice per
// walk made propagation quadratic in allocation alone).
type walker struct {
	visited []uint32
	mark    []uint32
	epoch   uint32
	stack   []int
	abort   bool
	// work counts closures visited per item (see analysis.work).
	work int
	// vals holds the one-value slices of item.used entries, used and
	// lines the first elements of item.used and value.usingLines.
	vals  arena[*value]
	used  arena[usedValues]
	lines arena[*fline]
}

// begin starts a walk over a line of n items.
func (w *walker) begin(n int) {
	if len(w.visited) < n+1 {
		w.visited = make([]uint32, n+1)
		w.mark = make([]uint32, n+1)
		w.epoch = 0
	}
	w.epoch++
	if w.epoch == 0 {
		clear(w.visited)
		clear(w.mark)
		w.epoch = 1
	}
	w.abort = false
}

// walk is fl.walk with w's marks; cb may also set w.abort to end the whole
// walk, not just the current path.
func (w *walker) walk(fl *fline, index int, cb func(index int, it *item) bool) {
	w.stack = append(w.stack[:0], index)
	for len(w.stack) > 0 && !w.abort {
		i := w.stack[len(w.stack)-1]
		w.stack = w.stack[:len(w.stack)-1]
		for !w.abort {
			if i < 0 || i > len(fl.items) || w.visited[i] == w.epoch {
				break
			}
			w.visited[i] = w.epoch
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
				w.stack = append(w.stack, it.to)
			}
			i++
		}
	}
}

func (fl *fline) propagateMain(w *walker) {
	for i, it := range fl.items {
		for _, val := range it.setVars {
			if val.v.fl != fl {
				continue
			}
			w.begin(len(fl.items))
			// w.walk, written out: this is the analysis' innermost loop,
			// and a callback closure cost an allocation per value and an
			// indirect call per item visited.
			w.stack = append(w.stack[:0], i+1)
			for len(w.stack) > 0 {
				j := w.stack[len(w.stack)-1]
				w.stack = w.stack[:len(w.stack)-1]
				for j >= 0 && j <= len(fl.items) && w.visited[j] != w.epoch {
					w.visited[j] = w.epoch
					var x *item
					if j < len(fl.items) {
						x = fl.items[j]
					}
					if w.reach(fl, val, j, x) || x == nil {
						break
					}
					if x.kind == itJump {
						j = x.to
						continue
					}
					if x.kind == itCjump {
						w.stack = append(w.stack, x.to)
					}
					j++
				}
			}
		}
	}
}

// reach records what reaching item x (at index idx, nil past the end)
// means for val, and reports whether the path stops there.
func (w *walker) reach(fl *fline, val *value, idx int, x *item) bool {
	v := val.v
	if idx < v.scopeStart || idx > v.scopeEnd {
		val.overwriting = 2
		return true
	}
	if x.accesses1(v) && !isCircularReference(x, v) {
		w.addResolution(fl, x, v, val, false)
	}
	if x.mutates(v) {
		w.addResolution(fl, x, v, val, true)
	}
	w.work += len(x.lines)
	for _, cl := range x.lines {
		if !isCircularReference(x, v) {
			w.addResolutions(cl, cl.accessedUp[v], v, val, false)
		}
		w.addResolutions(cl, cl.mutatedUp[v], v, val, true)
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
}

// upIndex lists, per variable, the items of a line that closure propagation
// can act on, so that each closure visits only the items touching the
// variables it captures (luacheck's resolve_locals walks every reachable
// item for every closure, which is quadratic in a module with thousands of
// top-level functions).
type upIndex struct {
	setBy   map[*variable][]int // items whose setVars assign v
	clSetBy map[*variable][]int // items creating a closure that sets upvalue v
	clAMBy  map[*variable][]int // items creating a closure that accesses or mutates upvalue v
	touchBy map[*variable][]int // items accessing or mutating v
	// minBack[i] is the smallest target of a backward jump at index >= i
	// (len(items) when there is none).
	minBack []int
}

func (fl *fline) buildUpIndex() *upIndex {
	ix := &upIndex{setBy: map[*variable][]int{}, clSetBy: map[*variable][]int{},
		clAMBy: map[*variable][]int{}, touchBy: map[*variable][]int{}}
	// Only variables some closure of this line captures matter.
	am, set := map[*variable]bool{}, map[*variable]bool{}
	for _, it := range fl.items {
		for _, cl := range it.lines {
			for v := range cl.accessedUp {
				am[v] = true
			}
			for v := range cl.mutatedUp {
				am[v] = true
			}
			for v := range cl.setUp {
				set[v] = true
			}
		}
	}
	for i, it := range fl.items {
		for _, val := range it.setVars {
			if am[val.v] {
				ix.setBy[val.v] = append(ix.setBy[val.v], i)
			}
		}
		for _, cl := range it.lines {
			for v := range cl.setUp {
				if am[v] {
					ix.clSetBy[v] = append(ix.clSetBy[v], i)
				}
			}
			for v := range cl.accessedUp {
				if set[v] {
					ix.clAMBy[v] = append(ix.clAMBy[v], i)
				}
			}
			for v := range cl.mutatedUp {
				if set[v] {
					ix.clAMBy[v] = append(ix.clAMBy[v], i)
				}
			}
		}
		for _, a := range it.accesses {
			if set[a.v] {
				ix.touchBy[a.v] = append(ix.touchBy[a.v], i)
			}
		}
		for _, a := range it.mutations {
			if set[a.v] {
				ix.touchBy[a.v] = append(ix.touchBy[a.v], i)
			}
		}
	}
	n := len(fl.items)
	ix.minBack = make([]int, n+1)
	ix.minBack[n] = n
	for j := n - 1; j >= 0; j-- {
		m := ix.minBack[j+1]
		if it := fl.items[j]; (it.kind == itJump || it.kind == itCjump) && it.to >= 0 && it.to <= j && it.to < m {
			m = it.to
		}
		ix.minBack[j] = m
	}
	return ix
}

// lowest returns a bound below which no item is reachable from index i:
// every backward jump taken from an index >= lo lands at or above
// minBack[lo], so iterating to a fixpoint bounds all paths.
func (ix *upIndex) lowest(i int) int {
	lo := i
	for lo < len(ix.minBack) && ix.minBack[lo] < lo {
		lo = ix.minBack[lo]
	}
	return lo
}

// markCandidates marks (in w.mark) the items at index lo or above on which
// propagating created can have an effect, reachable or not, and returns how
// many it marked.
func (ix *upIndex) markCandidates(w *walker, created *fline, lo int) int {
	n := 0
	mark := func(list []int) {
		for _, x := range list {
			if x >= lo && w.mark[x] != w.epoch {
				w.mark[x] = w.epoch
				n++
			}
		}
	}
	for v := range created.accessedUp {
		mark(ix.setBy[v])
		mark(ix.clSetBy[v])
	}
	for v := range created.mutatedUp {
		mark(ix.setBy[v])
		mark(ix.clSetBy[v])
	}
	for v := range created.setUp {
		mark(ix.clAMBy[v])
		mark(ix.touchBy[v])
	}
	return n
}

func (fl *fline) propagateClosures(w *walker) {
	var ix *upIndex
	for i, it := range fl.items {
		w.work += len(it.lines)
		for _, created := range it.lines {
			if created.accessedUp == nil && created.mutatedUp == nil && created.setUp == nil {
				continue
			}
			if ix == nil {
				ix = fl.buildUpIndex()
			}
			w.begin(len(fl.items))
			remaining := ix.markCandidates(w, created, ix.lowest(i))
			if remaining == 0 {
				continue
			}
			// Items that are not candidates have no effect (every action
			// below is keyed by a variable the index covers), so the walk
			// only needs to reach the candidates, and can stop once all
			// have been visited.
			w.walk(fl, i, func(idx int, x *item) bool {
				if x == nil {
					return true
				}
				if w.mark[idx] != w.epoch {
					return false
				}
				for _, val := range x.setVars {
					w.addResolutions(created, created.accessedUp[val.v], val.v, val, false)
					w.addResolutions(created, created.mutatedUp[val.v], val.v, val, true)
				}
				for _, cl := range x.lines {
					w.crossResolveClosures(created, cl)
					w.crossResolveClosures(cl, created)
				}
				for v, setters := range created.setUp {
					if x.accesses1(v) {
						for _, s := range setters {
							w.addResolution(fl, x, v, s.setValue(v), false)
						}
					}
					if x.mutates(v) {
						for _, s := range setters {
							w.addResolution(fl, x, v, s.setValue(v), true)
						}
					}
				}
				if remaining--; remaining == 0 {
					w.abort = true
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
	case *ast.LogicalOpExpr, *ast.RelationalOpExpr, *ast.StringConcatOpExpr, *ast.ArithmeticOpExpr,
		*ast.UnaryMinusOpExpr, *ast.UnaryNotOpExpr, *ast.UnaryLenOpExpr:
		ops, nops := operands(e)
		for _, o := range ops[:nops] {
			walkExpr(o, fn)
		}
	}
}
