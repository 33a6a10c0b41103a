package luacheck

import (
	"github.com/yuin/gopher-lua/ast"
)

// TimerContext is the context the callbacks of ngx.timer.at and
// ngx.timer.every run in, whatever phase created them: lua-nginx-module
// runs them later on a fake request of their own, with ctx->context set
// to NGX_HTTP_LUA_CONTEXT_TIMER (ngx_http_lua_timer_handler in
// ngx_http_lua_timer.c), so a cosocket in a timer created from
// log_by_lua* or init_worker_by_lua* works.
const TimerContext = "ngx.timer.*"

// timerFuncs finds the code that runs in the timer context: the
// callbacks (the second argument) of ngx.timer.at / ngx.timer.every calls
// that are function expressions or local functions, and the local
// functions only they call. A local function that other code also calls
// directly (refresh() now, then every 5 seconds) runs in the chunk's phase
// there, and stays in it. The result is the spans of those functions.
// Callbacks that are functions of required modules are recorded as module
// calls marked Timer (recordTimerModuleCallback), so that Reach judges
// what they reach in the timer context.
func (g *globalState) timerFuncs(stmts []ast.Stmt) []span {
	al := g.a
	var cbs []*ast.FunctionExpr
	for i := range g.uses {
		u := &g.uses[i]
		if u.call == nil || (u.name != "ngx.timer.at" && u.name != "ngx.timer.every") || len(u.call.Args) < 2 {
			continue
		}
		cb := u.call.Args[1]
		if f := funcOf(cb, al); f != nil {
			cbs = append(cbs, f)
			continue
		}
		g.recordTimerModuleCallback(cb, u.it)
	}
	if len(cbs) == 0 {
		return nil
	}
	// Every call of a local function in the chunk, with where it is.
	calls := localCalls(stmts, al, func(x *ast.FuncCallExpr) *ast.FunctionExpr {
		if id, ok := x.Func.(*ast.IdentExpr); ok {
			return funcOf(id, al)
		}
		return nil
	})

	in := map[*ast.FunctionExpr]bool{}
	var spans []span
	inSpans := func(off int) bool {
		for _, sp := range spans {
			if off >= sp.off && off < sp.end {
				return true
			}
		}
		return false
	}
	add := func(f *ast.FunctionExpr) {
		if sp := al.ofExpr(f).span; sp.valid() && !in[f] {
			in[f] = true
			spans = append(spans, sp)
		}
	}
	// A named callback called directly elsewhere is not only a timer's.
	calledOutside := func(f *ast.FunctionExpr) bool {
		fsp := al.ofExpr(f).span
		for _, c := range calls {
			if c.target == f && !inSpans(c.off) && !(c.off >= fsp.off && c.off < fsp.end) {
				return true
			}
		}
		return false
	}
	for _, f := range cbs {
		if !calledOutside(f) {
			add(f)
		}
	}
	// The local functions called only from timer code, to a fixpoint.
	for changed := true; changed; {
		changed = false
		for _, c := range calls {
			if in[c.target] || !inSpans(c.off) || calledOutside(c.target) {
				continue
			}
			add(c.target)
			changed = true
		}
	}
	return spans
}

// recordTimerModuleCallback records a timer callback that is a function
// of a required module (ngx.timer.every(5, peers.refresh)) as a module
// call made in the timer context, at the callback's position.
func (g *globalState) recordTimerModuleCallback(cb ast.Expr, it *item) {
	switch cb.(type) {
	case *ast.IdentExpr, *ast.AttrGetExpr:
	default:
		return
	}
	r := g.deepResolve(cb, it)
	if r == nil || r.kind != resIndex || !r.require || r.isAPIRoot() || len(r.keys) != 1 || r.keys[0].kind != 1 {
		return
	}
	g.modCalls = append(g.modCalls, rawModCall{module: r.global, fn: r.keys[0].s, ref: cb, timer: true})
}

// inSpans reports whether off lies inside one of spans.
func inSpans(spans []span, off int) bool {
	for _, sp := range spans {
		if off >= sp.off && off < sp.end {
			return true
		}
	}
	return false
}
