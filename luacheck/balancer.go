package luacheck

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/yuin/gopher-lua/ast"
)

// BalancerFacts are the ngx.balancer facts of one chunk.
type BalancerFacts struct {
	// IsBalancerContext is set for balancer_by_lua* chunks.
	IsBalancerContext bool
	// SetCurrentPeer lists every set_current_peer call.
	SetCurrentPeer []PeerCall
	// PathsWithoutPeer are the places where a path of the main chunk ends
	// (a return, or the end of the chunk) without having called
	// set_current_peer; computed for balancer_by_lua* chunks only. A path
	// that calls error(), ngx.exit(), or a function containing a
	// set_current_peer call counts as handled.
	PathsWithoutPeer []PathEnd
	// OpaqueCalls counts calls to functions that are neither OpenResty APIs
	// nor Lua builtins in the main chunk: such a callee may set the peer
	// itself, which weakens PathsWithoutPeer.
	OpaqueCalls int
	// OpaqueModuleCalls counts those of OpaqueCalls that are ModuleCalls:
	// once the modules are followed (Reach), what they do is known.
	OpaqueModuleCalls int
	// MoreTries lists set_more_tries calls.
	MoreTries []MoreTriesCall
	// Other balancer and flow calls with their literal arguments.
	GetLastFailure  []APIUse
	SetTimeouts     []APIUse
	EnableKeepalive []APIUse
	RecreateRequest []APIUse
	Exits           []APIUse
}

// PeerCall is one set_current_peer call.
type PeerCall struct {
	Call APIUse
	// HostLiteral is set when the first argument is a string literal.
	HostLiteral bool
	Host        string
	// HostIsIP reports whether that literal is an IPv4/IPv6 address
	// (set_current_peer only accepts addresses: with a name it returns
	// nil, "no host allowed", lua-resty-core lib/ngx/balancer.lua).
	HostIsIP bool
	// ResultIgnored: the call is a statement, or all the locals its result
	// is assigned to are never read (local ok, err = ... with ok unused).
	ResultIgnored bool
}

// PathEnd is where a path ends without set_current_peer.
type PathEnd struct {
	Pos nginxconf.Pos
	// Return is set when the path ends at a return statement, false at the
	// end of the chunk.
	Return bool
	// ViaModuleCall is set when every path to this end calls a function
	// of a required module on the way (Result.ModuleCalls): if those
	// functions set the peer, the end is not reached without one.
	ViaModuleCall bool
}

// MoreTriesCall is one set_more_tries call.
type MoreTriesCall struct {
	Call APIUse
	// Guarded: executed only under a condition that depends on
	// get_last_failure() (directly or through a local holding its result)
	// or on an ngx.ctx field, or after an early exit taken under such a
	// condition. Unguarded calls run on every attempt, so every retry
	// grants more tries.
	Guarded  bool
	GuardPos nginxconf.Pos
}

func (an *analysis) balancer(res *Result, g *globalState, top *fline, al *aligner) *BalancerFacts {
	isBal := res.Context == "balancer_by_lua*"
	bf := &BalancerFacts{IsBalancerContext: isBal}
	any := false
	// byCall is only needed for the path analysis of balancer chunks:
	// building it for every chunk copied every API use into a map.
	var byCall map[*ast.FuncCallExpr]APIUse
	if isBal {
		byCall = map[*ast.FuncCallExpr]APIUse{}
	}
	moreTries := map[*ast.FuncCallExpr]bool{}
	glf := map[*ast.FuncCallExpr]bool{}
	for i, u := range g.uses {
		if u.call != nil {
			if byCall != nil {
				byCall[u.call] = res.APIUses[i]
			}
			switch u.name {
			case "ngx.balancer.set_more_tries":
				moreTries[u.call] = true
			case "ngx.balancer.get_last_failure":
				glf[u.call] = true
			}
		}
	}
	var guardOf map[*ast.FuncCallExpr]ast.Expr
	if len(moreTries) > 0 {
		guardOf = an.guards(g, moreTries, glf)
	}
	for i, u := range res.APIUses {
		if !u.Call {
			continue
		}
		switch u.Name {
		case "ngx.balancer.set_current_peer":
			pc := PeerCall{Call: u, ResultIgnored: !u.ResultUsed}
			if len(u.Args) > 0 && u.Args[0].Kind == ArgString {
				pc.HostLiteral = true
				pc.Host = u.Args[0].Value
				pc.HostIsIP = isIPLiteral(pc.Host)
			}
			bf.SetCurrentPeer = append(bf.SetCurrentPeer, pc)
		case "ngx.balancer.set_more_tries":
			mt := MoreTriesCall{Call: u}
			if ge := guardOf[g.uses[i].call]; ge != nil {
				mt.Guarded = true
				mt.GuardPos, _ = an.spanPos(g.a.ofExpr(ge).span, ge.Line())
			}
			bf.MoreTries = append(bf.MoreTries, mt)
		case "ngx.balancer.get_last_failure":
			bf.GetLastFailure = append(bf.GetLastFailure, u)
		case "ngx.balancer.set_timeouts":
			bf.SetTimeouts = append(bf.SetTimeouts, u)
		case "ngx.balancer.enable_keepalive":
			bf.EnableKeepalive = append(bf.EnableKeepalive, u)
		case "ngx.balancer.recreate_request":
			bf.RecreateRequest = append(bf.RecreateRequest, u)
		case "ngx.exit":
			bf.Exits = append(bf.Exits, u)
		default:
			continue
		}
		any = true
	}
	if isBal {
		an.pathsWithoutPeer(bf, g, top, al, byCall)
	}
	if !any && !isBal {
		return nil
	}
	return bf
}

func isIPLiteral(s string) bool {
	// set_current_peer parses its address with ngx_parse_url (no_resolve):
	// an IP, an IP with its port ("127.0.0.3:12345", "[::1]:8080", as
	// lua-resty-core's t/balancer.t passes them) and a unix: path are
	// addresses; only a host name is refused ("no host allowed").
	if _, err := netip.ParseAddrPort(s); err == nil {
		return true
	}
	if strings.HasPrefix(s, "unix:") {
		return true
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	_, err := netip.ParseAddr(s)
	return err == nil
}

// itemCalls reports whether an item calls set_current_peer (directly, or
// in a closure it creates) and whether it terminates the path (error(),
// ngx.exit(), ngx.redirect(), ngx.exec()).
func itemCalls(it *item, g *globalState, byCall map[*ast.FuncCallExpr]APIUse, modCalls map[*ast.FuncCallExpr]bool) (peer, terminates bool, opaque, opaqueMod int) {
	itemExprs(it, func(root ast.Expr, _ bool) {
		walkExpr(root, func(x ast.Expr) bool {
			if fn, ok := x.(*ast.FunctionExpr); ok {
				if containsPeerCall(fn, byCall, g) {
					peer = true
				}
				return false
			}
			c, ok := x.(*ast.FuncCallExpr)
			if !ok {
				return true
			}
			if u, ok := byCall[c]; ok {
				switch u.Name {
				case "ngx.balancer.set_current_peer":
					peer = true
				case "ngx.exit", "ngx.redirect", "ngx.exec":
					terminates = true
				}
				return true
			}
			if id, ok := c.Func.(*ast.IdentExpr); ok && g.a.ofExpr(id).local == nil {
				if id.Value == "error" {
					terminates = true
					return true
				}
				if stdGlobals.fields[id.Value] != nil {
					return true
				}
			}
			if c.Func != nil {
				if r := g.a.ofExpr(c.Func).res; r != nil && r.kind == resIndex && stdGlobals.fields[r.global] != nil && !r.require {
					return true
				}
			}
			opaque++
			if modCalls[c] {
				opaqueMod++
			}
			return true
		})
	})
	return
}

func containsPeerCall(fn *ast.FunctionExpr, byCall map[*ast.FuncCallExpr]APIUse, g *globalState) bool {
	found := false
	var stmts func([]ast.Stmt)
	visit := func(e ast.Expr) {
		walkExpr(e, func(x ast.Expr) bool {
			if c, ok := x.(*ast.FuncCallExpr); ok {
				if u, ok := byCall[c]; ok && u.Name == "ngx.balancer.set_current_peer" {
					found = true
				}
			}
			if f, ok := x.(*ast.FunctionExpr); ok {
				stmts(f.Stmts)
				return false
			}
			return !found
		})
	}
	stmts = func(list []ast.Stmt) {
		for _, s := range list {
			forStmtExprs(s, visit, stmts)
		}
	}
	stmts(fn.Stmts)
	return found
}

// forStmtExprs calls fe on the expressions of s and fs on its blocks.
func forStmtExprs(s ast.Stmt, fe func(ast.Expr), fs func([]ast.Stmt)) {
	switch s := s.(type) {
	case *ast.AssignStmt:
		for _, e := range s.Lhs {
			fe(e)
		}
		for _, e := range s.Rhs {
			fe(e)
		}
	case *ast.LocalAssignStmt:
		for _, e := range s.Exprs {
			fe(e)
		}
	case *ast.FuncCallStmt:
		fe(s.Expr)
	case *ast.DoBlockStmt:
		fs(s.Stmts)
	case *ast.WhileStmt:
		fe(s.Condition)
		fs(s.Stmts)
	case *ast.RepeatStmt:
		fs(s.Stmts)
		fe(s.Condition)
	case *ast.IfStmt:
		fe(s.Condition)
		fs(s.Then)
		fs(s.Else)
	case *ast.NumberForStmt:
		fe(s.Init)
		fe(s.Limit)
		if s.Step != nil {
			fe(s.Step)
		}
		fs(s.Stmts)
	case *ast.GenericForStmt:
		for _, e := range s.Exprs {
			fe(e)
		}
		fs(s.Stmts)
	case *ast.FuncDefStmt:
		fs(s.Func.Stmts)
	case *ast.ReturnStmt:
		for _, e := range s.Exprs {
			fe(e)
		}
	}
}

// pathsWithoutPeer walks the main chunk's flow graph from its start and
// records where a path ends before any set_current_peer call.
func (an *analysis) pathsWithoutPeer(bf *BalancerFacts, g *globalState, top *fline, al *aligner, byCall map[*ast.FuncCallExpr]APIUse) {
	var modCalls map[*ast.FuncCallExpr]bool
	if len(g.modCalls) > 0 {
		modCalls = make(map[*ast.FuncCallExpr]bool, len(g.modCalls))
		for _, mc := range g.modCalls {
			modCalls[mc.call] = true
		}
	}
	stop := make([]bool, len(top.items))
	var modStop []bool
	for i, it := range top.items {
		peer, term, opaque, opaqueMod := itemCalls(it, g, byCall, modCalls)
		bf.OpaqueCalls += opaque
		bf.OpaqueModuleCalls += opaqueMod
		stop[i] = peer || term
		if opaqueMod > 0 {
			if modStop == nil {
				modStop = make([]bool, len(top.items))
			}
			modStop[i] = true
		}
	}
	// ends walks the flow graph with the items in stopAt ending a path,
	// and returns where paths end without a peer.
	ends := func(stopAt func(i int) bool) (out []PathEnd) {
		visited := make([]bool, len(top.items)+1)
		endReached := false
		top.walk(visited, 0, func(i int, it *item) bool {
			if it == nil {
				endReached = true
				return true
			}
			if stopAt(i) {
				return true
			}
			if it.isRet {
				p, _ := an.spanPos(al.ofStmt(it.retNode).span, it.retNode.Line())
				out = append(out, PathEnd{Pos: p, Return: true})
				return true
			}
			return false
		})
		if endReached {
			out = append(out, PathEnd{Pos: an.pm.end()})
		}
		return out
	}
	bf.PathsWithoutPeer = ends(func(i int) bool { return stop[i] })
	if modStop == nil || len(bf.PathsWithoutPeer) == 0 {
		return
	}
	// The ends still reached when every module call counts as setting
	// the peer do not depend on the modules; the others do.
	direct := map[int]bool{}
	for _, e := range ends(func(i int) bool { return stop[i] || modStop[i] }) {
		direct[e.Pos.Offset] = true
	}
	for i := range bf.PathsWithoutPeer {
		bf.PathsWithoutPeer[i].ViaModuleCall = !direct[bf.PathsWithoutPeer[i].Pos.Offset]
	}
}

// guards finds, in one pass over the chunk, the guarding condition of every
// set_more_tries call (nil when unguarded).
func (an *analysis) guards(g *globalState, calls map[*ast.FuncCallExpr]bool, glf map[*ast.FuncCallExpr]bool) map[*ast.FuncCallExpr]ast.Expr {
	gs := &guardSearch{a: g.a, calls: calls, glf: glf, out: map[*ast.FuncCallExpr]ast.Expr{}, prune: true}
	for c := range calls {
		sp := g.a.ofExpr(c).span
		if !sp.valid() {
			gs.prune = false
		}
		gs.offs = append(gs.offs, sp.off)
	}
	slices.Sort(gs.offs)
	if top := g.ls.all; len(top) > 0 && top[0].fn != nil {
		gs.search(top[0].fn.Stmts, nil)
	}
	return gs.out
}

// guardSearch is the state of guards' walk over the chunk.
type guardSearch struct {
	a     *aligner
	calls map[*ast.FuncCallExpr]bool // the set_more_tries calls
	glf   map[*ast.FuncCallExpr]bool // the get_last_failure calls
	out   map[*ast.FuncCallExpr]ast.Expr
	// offs are the sorted offsets of the calls; prune is set when all
	// are known, so that a function whose span holds none of them can be
	// skipped (it would only record guards of calls it contains).
	offs  []int
	prune bool
}

// skip reports whether the function with nodeInfo fi contains none of the
// calls. Every token of a function lies in its span, which the aligner
// recorded from its "function" keyword to its "end".
func (gs *guardSearch) skip(fi *nodeInfo) bool {
	if !gs.prune || !fi.valid() || fi.end < fi.off {
		return false
	}
	i, _ := slices.BinarySearch(gs.offs, fi.off)
	return i == len(gs.offs) || gs.offs[i] >= fi.end
}

func (gs *guardSearch) search(list []ast.Stmt, guardE ast.Expr) {
	for _, s := range list {
		switch s := s.(type) {
		case *ast.AssignStmt:
			gs.exprs(s.Lhs, guardE)
			gs.exprs(s.Rhs, guardE)
		case *ast.LocalAssignStmt:
			gs.exprs(s.Exprs, guardE)
		case *ast.FuncCallStmt:
			gs.expr(s.Expr, guardE)
		case *ast.IfStmt:
			gs.expr(s.Condition, guardE)
			g2 := guardE
			isG := gs.isGuardCond(s.Condition, 0)
			if isG {
				g2 = s.Condition
			}
			gs.search(s.Then, g2)
			gs.search(s.Else, g2)
			// if <guard> then return end: what follows runs only
			// when the guard is false.
			if isG && endsPath(s.Then) && guardE == nil {
				guardE = s.Condition
			}
		case *ast.WhileStmt:
			gs.expr(s.Condition, guardE)
			gs.search(s.Stmts, guardE)
		case *ast.RepeatStmt:
			gs.expr(s.Condition, guardE)
			gs.search(s.Stmts, guardE)
		case *ast.DoBlockStmt:
			gs.search(s.Stmts, guardE)
		case *ast.NumberForStmt:
			gs.expr(s.Init, guardE)
			gs.expr(s.Limit, guardE)
			if s.Step != nil {
				gs.expr(s.Step, guardE)
			}
			gs.search(s.Stmts, guardE)
		case *ast.GenericForStmt:
			gs.exprs(s.Exprs, guardE)
			gs.search(s.Stmts, guardE)
		case *ast.FuncDefStmt:
			if !gs.skip(gs.a.ofExpr(s.Func)) {
				gs.search(s.Func.Stmts, guardE)
			}
		case *ast.ReturnStmt:
			gs.exprs(s.Exprs, guardE)
		}
	}
}

func (gs *guardSearch) exprs(list []ast.Expr, guardE ast.Expr) {
	for _, e := range list {
		gs.expr(e, guardE)
	}
}

// expr records the guard of the calls in e, and searches the bodies of the
// functions e defines under the same guard.
func (gs *guardSearch) expr(e ast.Expr, guardE ast.Expr) {
	switch x := e.(type) {
	case *ast.FuncCallExpr:
		if gs.calls[x] {
			gs.out[x] = guardE
		}
		if x.Func != nil {
			gs.expr(x.Func, guardE)
		} else {
			gs.expr(x.Receiver, guardE)
		}
		gs.exprs(x.Args, guardE)
	case *ast.FunctionExpr:
		if !gs.skip(gs.a.ofExpr(x)) {
			gs.search(x.Stmts, guardE)
		}
	case *ast.AttrGetExpr:
		gs.expr(x.Object, guardE)
		gs.expr(x.Key, guardE)
	case *ast.TableExpr:
		for _, f := range x.Fields {
			if f.Key != nil {
				gs.expr(f.Key, guardE)
			}
			gs.expr(f.Value, guardE)
		}
	case *ast.LogicalOpExpr, *ast.RelationalOpExpr, *ast.StringConcatOpExpr, *ast.ArithmeticOpExpr,
		*ast.UnaryMinusOpExpr, *ast.UnaryNotOpExpr, *ast.UnaryLenOpExpr:
		ops, nops := operands(x)
		for _, o := range ops[:nops] {
			gs.expr(o, guardE)
		}
	}
}

func endsPath(list []ast.Stmt) bool {
	if len(list) == 0 {
		return false
	}
	switch s := list[len(list)-1].(type) {
	case *ast.ReturnStmt:
		return true
	case *ast.FuncCallStmt:
		if c, ok := s.Expr.(*ast.FuncCallExpr); ok {
			if id, ok := c.Func.(*ast.IdentExpr); ok && id.Value == "error" {
				return true
			}
			if ag, ok := c.Func.(*ast.AttrGetExpr); ok {
				if id, ok := ag.Object.(*ast.IdentExpr); ok && id.Value == "ngx" {
					if k, ok := ag.Key.(*ast.StringExpr); ok && k.Value == "exit" {
						return true
					}
				}
			}
		}
	}
	return false
}

// maxGuardDepth bounds how many local assignments isGuardCond follows.
const maxGuardDepth = 4

// isGuardCond reports whether e, a condition (depth 0) or the value of a
// local it reads (depth > 0), reads get_last_failure() (or a local holding
// its result) or an ngx.ctx field. It does not look into function bodies.
// The answer for the value of a local is memoized per depth: every "if"
// reading a local would otherwise follow all its assignments again.
func (gs *guardSearch) isGuardCond(e ast.Expr, depth int) bool {
	switch x := e.(type) {
	case *ast.FuncCallExpr:
		if gs.glf[x] {
			return true
		}
		if x.Func != nil {
			if gs.isGuardCond(x.Func, depth) {
				return true
			}
		} else if gs.isGuardCond(x.Receiver, depth) {
			return true
		}
		for _, a := range x.Args {
			if gs.isGuardCond(a, depth) {
				return true
			}
		}
	case *ast.IdentExpr:
		ni := gs.a.ofExpr(x)
		if isNgxCtx(ni.res) {
			return true
		}
		if v := ni.local; v != nil && depth < maxGuardDepth {
			for _, val := range v.values {
				if val.node != nil && gs.valueIsGuard(val.node, depth+1) {
					return true
				}
			}
		}
	case *ast.AttrGetExpr:
		if isNgxCtx(gs.a.ofExpr(x).res) {
			return true
		}
		return gs.isGuardCond(x.Object, depth) || gs.isGuardCond(x.Key, depth)
	case *ast.TableExpr:
		for _, f := range x.Fields {
			if f.Key != nil && gs.isGuardCond(f.Key, depth) {
				return true
			}
			if gs.isGuardCond(f.Value, depth) {
				return true
			}
		}
	case *ast.LogicalOpExpr, *ast.RelationalOpExpr, *ast.StringConcatOpExpr, *ast.ArithmeticOpExpr,
		*ast.UnaryMinusOpExpr, *ast.UnaryNotOpExpr, *ast.UnaryLenOpExpr:
		ops, nops := operands(x)
		for _, o := range ops[:nops] {
			if gs.isGuardCond(o, depth) {
				return true
			}
		}
	}
	return false
}

// valueIsGuard is isGuardCond for the value of a local, memoized in the
// value's nodeInfo (one bit per depth).
func (gs *guardSearch) valueIsGuard(e ast.Expr, depth int) bool {
	ni := gs.a.ofExpr(e)
	bit := uint8(1) << depth
	if ni.guardDone&bit == 0 {
		if gs.isGuardCond(e, depth) {
			ni.guardHit |= bit
		}
		ni.guardDone |= bit
	}
	return ni.guardHit&bit != 0
}

// isNgxCtx reports whether a resolution is ngx.ctx or a field of it.
func isNgxCtx(r *resolution) bool {
	return r != nil && r.kind == resIndex && r.global == "ngx" && len(r.keys) >= 1 && r.keys[0].kind == 1 && r.keys[0].s == "ctx"
}
