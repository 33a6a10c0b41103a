package rules

import (
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/internal/luadepth"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// LuaBalancerHostLiteral flags set_current_peer with a host name.
var LuaBalancerHostLiteral = &analyzer.Rule{
	ID:       "LUA3002",
	Slug:     "lua-balancer-host-literal",
	Severity: analyzer.Error,
	Doc: analyzer.Doc{
		Title: "set_current_peer with a host name instead of an IP address",
		Text: `set_current_peer does no DNS resolution: given a name it returns nil, "no host allowed" and
sets no peer (lua-resty-core lib/ngx/balancer.lua). The request then goes to the upstream's own server
lines (usually the 0.0.0.1 placeholder): a 502, or a 500 "no peer set" from lua-nginx-module 0.10.27.
Resolve the name beforehand (lua-resty-dns in init_worker or access, cached in a shared dict) and pass
the address.`,
		Bad: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local ok, err = b.set_current_peer("backend.internal", 8080)
            if not ok then return ngx.exit(500) end
        }
    }
}
`,
		Good: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local ok, err = b.set_current_peer("10.0.0.5", 8080)
            if not ok then return ngx.exit(500) end
        }
    }
}
`,
		Since:        "0.1.0",
		References:   []string{"https://github.com/openresty/lua-resty-core/blob/master/lib/ngx/balancer.md#set_current_peer"},
		Confirmation: "not confirmable: what happens next depends on the placeholder address, which the emulator never dials.",
	},
	Run: func(pass *analyzer.Pass) error {
		for _, u := range luaUnits(pass) {
			res := luaFacts(pass, u.Chunk)
			if res.Balancer == nil {
				continue
			}
			for _, pc := range res.Balancer.SetCurrentPeer {
				if pc.HostLiteral && !pc.HostIsIP {
					a := pc.Call.Args[0]
					pass.Report(&analyzer.Diagnostic{Pos: a.Pos, End: a.End,
						Message: fmt.Sprintf("set_current_peer(%q, ...) returns nil, \"no host allowed\": it takes an IP address, not a name", pc.Host)})
				}
			}
		}
		return nil
	},
}

// LuaBalancerNoPeerPath flags balancer code paths that never set a peer.
var LuaBalancerNoPeerPath = &analyzer.Rule{
	ID:       "LUA3003",
	Slug:     "lua-balancer-no-peer-path",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "balancer_by_lua path that ends without set_current_peer",
		Text: `balancer_by_lua must call set_current_peer on every attempt. A path that returns without it (an
early "return" when a lookup misses, an if without else) leaves the peer unset: with lua-nginx-module
<= 0.10.26 nginx falls back to round robin over the upstream's server lines (usually the 0.0.0.1
placeholder: a failed connect and 502); from 0.10.27 the placeholder gives 500 "no peer set" for the
last such upstream and a connect to 0.0.0.1:80 for the others. End such paths with ngx.exit(...) or
error(...) so the failure is explicit.

The rule decides per path. A path that calls a function whose body it cannot see (a global such as
Kong.balancer(), a method of an object built elsewhere, a module that was not read) may have set the
peer there, and is not reported; a path that reaches its end with only calls known not to set the peer
(Lua's builtins, ngx.* APIs, functions of the same chunk or of modules followed completely that never
call set_current_peer) is reported, whatever other paths of the chunk call. An upstream whose server
lines are all real addresses (none in 0.0.0.0/8, the placeholder) is left alone: there a path without
set_current_peer is round robin over those servers, as lua-nginx-module documents.`,
		Bad: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local peer = ngx.ctx.peer
            if peer then
                assert(b.set_current_peer(peer, 8080))
            end
        }
    }
}
`,
		Good: `http {
    upstream backend {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local peer = ngx.ctx.peer
            if not peer then
                return ngx.exit(503)
            end
            assert(b.set_current_peer(peer, 8080))
        }
    }
}
`,
		Since:        "0.1.0",
		References:   []string{"lua-nginx-module t/138-balancer.t TEST 14", "docs/knowledge.md: LNM-NO-PEER-SET-GLOBAL"},
		Confirmation: `http: not confirmable (the outcome depends on the placeholder address, which the emulator never dials). stream: one session against "ok" backends; confirmed when the balancer set no peer and the session's round robin fallback connected to the 0.0.0.0/8 placeholder and failed (stream-lua has no placeholder check: Linux refuses the connect with EINVAL).`,
	},
	Run: func(pass *analyzer.Pass) error {
		for _, ref := range analysableLua(pass.Model) {
			res := luaFactsLinked(pass, ref.Chunk)
			if res.Balancer == nil || !res.Balancer.IsBalancerContext {
				continue
			}
			ends := res.Balancer.PathsWithoutPeer
			if len(ends) > 0 && realServersOnly(pass, ref.Directive) {
				// Falling back to real server lines is lua-nginx-module's
				// documented round robin, not a placeholder failure.
				continue
			}
			if len(ends) > 0 {
				// Decide per path: an end that every path reaches
				// through a call of unknown effect is not reported.
				// luacheck counts a method call on an ngx.ctx object
				// as an API use, not as opaque, so this runs whenever
				// there is an end to judge. A chunk the walk cannot
				// read keeps luacheck's ends only when it makes no
				// opaque call.
				if clear, ok := clearPaths(pass, ref.Chunk, res, ends); ok {
					ends = clear
				} else if res.Balancer.OpaqueCalls > 0 {
					ends = nil
				}
			}
			for _, pe := range ends {
				where := "the end of the balancer code"
				if pe.Return {
					where = "this return"
				}
				d := &analyzer.Diagnostic{Pos: pe.Pos, End: pe.Pos,
					Message: fmt.Sprintf("a path reaches %s without calling set_current_peer or any function that could", where),
					Details: "nginx then uses the upstream's server lines (the placeholder), not a peer you chose; end the path with ngx.exit(...)."}
				if ref.Subsystem == "stream" && ref.Upstream != nil {
					streamNoPeer(pass, d, ref.Upstream)
				}
				pass.Report(d)

			}
		}
		return nil
	},
}

// realServersOnly reports whether the upstream whose balancer is d has
// server lines and none is a placeholder (an address in 0.0.0.0/8, the
// documented "server 0.0.0.1;"): a path without set_current_peer then
// uses round robin over real servers.
func realServersOnly(pass *analyzer.Pass, d *nginxconf.Directive) bool {
	for _, ctx := range []*nginxconf.Context{pass.Model.HTTP, pass.Model.Stream} {
		if ctx == nil {
			continue
		}
		for _, u := range ctx.Upstreams {
			if u.Balancer != d {
				continue
			}
			for _, s := range u.Servers {
				host := s.Address
				if h, _, err := net.SplitHostPort(host); err == nil {
					host = h
				}
				if ip := net.ParseIP(host); ip == nil || ip.To4() == nil || ip.To4()[0] == 0 {
					return false
				}
			}
			return len(u.Servers) > 0
		}
	}
	return false
}

// The per-path decision of LUA3003. luacheck's PathsWithoutPeer are the
// ends a path reaches without set_current_peer, ngx.exit or error(); a
// path that calls a function whose body is unknown on the way (Kong's
// "Kong.balancer()", a method of an object built elsewhere) may have set
// the peer there. clearPaths keeps the ends that some path reaches
// without any such call: only calls known not to set the peer (Lua's
// builtins, ngx.* other than exit/exec/redirect, lua-resty-core's ngx.*
// modules, functions of the chunk whose bodies make only such calls, and
// module functions that luacheck.Reach followed completely without
// finding set_current_peer or ngx.exit) leave a path "clear".

// luaStdLibs are the Lua 5.1 / LuaJIT library tables whose functions never
// reach ngx.balancer.
var luaStdLibs = map[string]bool{"string": true, "table": true, "math": true, "os": true, "io": true,
	"coroutine": true, "bit": true, "jit": true, "utf8": true, "debug": true}

// luaInertBuiltins are global functions that neither set the peer nor end
// the request (error does: it is not here).
var luaInertBuiltins = map[string]bool{"tostring": true, "tonumber": true, "type": true, "pairs": true,
	"ipairs": true, "next": true, "select": true, "unpack": true, "rawget": true, "rawset": true,
	"rawequal": true, "rawlen": true, "setmetatable": true, "getmetatable": true, "print": true,
	"assert": true, "require": true, "collectgarbage": true}

// luaStringMethods are the string library's functions, called as methods
// on strings ("host:lower()").
var luaStringMethods = map[string]bool{"byte": true, "find": true, "format": true, "gmatch": true,
	"gsub": true, "len": true, "lower": true, "match": true, "rep": true, "reverse": true, "sub": true, "upper": true}

// pathScan is the state of clearPaths over one chunk.
type pathScan struct {
	pass *analyzer.Pass
	// lineOf maps a file offset of the chunk to its Lua line.
	lineStarts []int // file offsets where each Lua line starts
	// requires: locals holding require("name"); funcs: functions the
	// chunk defines, by dotted name; ambiguous: names bound more than
	// once.
	requires  map[string]string
	funcs     map[string]*ast.FunctionExpr
	ambiguous map[string]bool
	// modCalls are the chunk's module calls by Lua line.
	modCalls map[int][]luacheck.ModuleCall
	// inertFn memoises function bodies (true = only inert calls);
	// visiting guards recursion.
	inertFn  map[*ast.FunctionExpr]bool
	visiting map[*ast.FunctionExpr]bool
	// clearRet are the Lua lines of returns some clear path reaches;
	// breaks collects, per loop, whether a clear path breaks out.
	clearRet map[int]bool
	breaks   []bool
	failed   bool // goto: the walk below does not follow it
}

// clearPaths returns the ends of ends that a path reaches without any
// call that could set the peer; ok is false when the chunk cannot be
// walked (LuaJIT syntax gopher-lua does not read, goto).
func clearPaths(pass *analyzer.Pass, c *nginxconf.LuaChunk, res *luacheck.Result, ends []luacheck.PathEnd) (clear []luacheck.PathEnd, ok bool) {
	stmts, err := parse.Parse(strings.NewReader(c.Code), "chunk")
	if err != nil || luadepth.Check(stmts, luadepth.Limit) != nil {
		return nil, false
	}
	ps := &pathScan{pass: pass, requires: map[string]string{}, funcs: map[string]*ast.FunctionExpr{},
		ambiguous: map[string]bool{}, modCalls: map[int][]luacheck.ModuleCall{},
		inertFn: map[*ast.FunctionExpr]bool{}, visiting: map[*ast.FunctionExpr]bool{}, clearRet: map[int]bool{}}
	ps.lineStarts = append(ps.lineStarts, c.SourceOffset(0))
	for i := 0; i < len(c.Code); i++ {
		if c.Code[i] == '\n' {
			ps.lineStarts = append(ps.lineStarts, c.SourceOffset(i+1))
		}
	}
	for _, mc := range res.ModuleCalls {
		if l := ps.line(mc.Pos.Offset); l > 0 {
			ps.modCalls[l] = append(ps.modCalls[l], mc)
		}
	}
	ps.bindings(stmts)
	endClear := ps.block(stmts, true)
	if ps.failed {
		return nil, false
	}
	for _, e := range ends {
		if (!e.Return && endClear) || (e.Return && ps.clearRet[ps.line(e.Pos.Offset)]) {
			clear = append(clear, e)
		}
	}
	return clear, true
}

// line is the Lua line (1-based) holding file offset off, 0 if none.
func (ps *pathScan) line(off int) int {
	i := sort.Search(len(ps.lineStarts), func(i int) bool { return ps.lineStarts[i] > off })
	return i
}

// bindings records, over the whole chunk, the locals bound to require()
// and the functions the chunk defines.
func (ps *pathScan) bindings(stmts []ast.Stmt) {
	bind := func(name string, e ast.Expr) {
		if name == "" {
			return
		}
		_, dupF := ps.funcs[name]
		_, dupR := ps.requires[name]
		if dupF || dupR {
			ps.ambiguous[name] = true
		}
		switch x := e.(type) {
		case *ast.FunctionExpr:
			ps.funcs[name] = x
		case *ast.FuncCallExpr:
			if id, ok := x.Func.(*ast.IdentExpr); ok && id.Value == "require" && len(x.Args) == 1 {
				if s, ok := x.Args[0].(*ast.StringExpr); ok {
					ps.requires[name] = s.Value
				}
			}
		}
	}
	var walk func([]ast.Stmt)
	walk = func(list []ast.Stmt) {
		for _, s := range list {
			switch s := s.(type) {
			case *ast.LocalAssignStmt:
				for i, n := range s.Names {
					if i < len(s.Exprs) {
						bind(n, s.Exprs[i])
					}
				}
			case *ast.AssignStmt:
				for i, l := range s.Lhs {
					if i < len(s.Rhs) {
						bind(dottedName(l), s.Rhs[i])
					}
				}
			case *ast.FuncDefStmt:
				if s.Name != nil && s.Name.Method == "" {
					bind(dottedName(s.Name.Func), s.Func)
				}
			}
			forStmtBlocks(s, walk)
		}
	}
	walk(stmts)
}

// forStmtBlocks calls fn on the nested statement lists of s (function
// bodies included).
func forStmtBlocks(s ast.Stmt, fn func([]ast.Stmt)) {
	switch s := s.(type) {
	case *ast.DoBlockStmt:
		fn(s.Stmts)
	case *ast.WhileStmt:
		fn(s.Stmts)
	case *ast.RepeatStmt:
		fn(s.Stmts)
	case *ast.IfStmt:
		fn(s.Then)
		fn(s.Else)
	case *ast.NumberForStmt:
		fn(s.Stmts)
	case *ast.GenericForStmt:
		fn(s.Stmts)
	case *ast.FuncDefStmt:
		fn(s.Func.Stmts)
	case *ast.LocalAssignStmt:
		for _, e := range s.Exprs {
			if f, ok := e.(*ast.FunctionExpr); ok {
				fn(f.Stmts)
			}
		}
	case *ast.AssignStmt:
		for _, e := range s.Rhs {
			if f, ok := e.(*ast.FunctionExpr); ok {
				fn(f.Stmts)
			}
		}
	}
}

// dottedName is "a" or "a.b.c" for an identifier or a chain of string
// keys, "" otherwise.
func dottedName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.IdentExpr:
		return x.Value
	case *ast.AttrGetExpr:
		k, ok := x.Key.(*ast.StringExpr)
		if !ok {
			return ""
		}
		if o := dottedName(x.Object); o != "" {
			return o + "." + k.Value
		}
	}
	return ""
}

// block walks a statement list entered on a clear path (in) and returns
// whether a clear path falls through its end.
func (ps *pathScan) block(list []ast.Stmt, in bool) bool {
	for _, s := range list {
		in = ps.stmt(s, in)
	}
	return in
}

func (ps *pathScan) stmt(s ast.Stmt, in bool) bool {
	switch s := s.(type) {
	case *ast.LocalAssignStmt:
		return in && ps.exprs(s.Exprs)
	case *ast.AssignStmt:
		return in && ps.exprs(s.Lhs) && ps.exprs(s.Rhs)
	case *ast.FuncCallStmt:
		return in && ps.expr(s.Expr)
	case *ast.DoBlockStmt:
		return ps.block(s.Stmts, in)
	case *ast.IfStmt:
		c := in && ps.expr(s.Condition)
		return ps.block(s.Then, c) || ps.block(s.Else, c)
	case *ast.WhileStmt:
		c := in && ps.expr(s.Condition)
		return ps.loop(s.Stmts, c) || c
	case *ast.RepeatStmt:
		ps.breaks = append(ps.breaks, false)
		b := ps.block(s.Stmts, in)
		brk := ps.breaks[len(ps.breaks)-1]
		ps.breaks = ps.breaks[:len(ps.breaks)-1]
		return (b && ps.expr(s.Condition)) || brk
	case *ast.NumberForStmt:
		c := in && ps.expr(s.Init) && ps.expr(s.Limit) && (s.Step == nil || ps.expr(s.Step))
		return ps.loop(s.Stmts, c) || c
	case *ast.GenericForStmt:
		c := in && ps.exprs(s.Exprs)
		return ps.loop(s.Stmts, c) || c
	case *ast.ReturnStmt:
		if in && ps.exprs(s.Exprs) {
			ps.clearRet[s.Line()] = true
		}
		return false
	case *ast.BreakStmt:
		if n := len(ps.breaks); n > 0 && in {
			ps.breaks[n-1] = true
		}
		return false
	case *ast.GotoStmt, *ast.LabelStmt:
		ps.failed = true
		return in
	}
	return in // a function definition calls nothing
}

// loop walks a loop body entered with c and reports whether a clear path
// breaks out of it.
func (ps *pathScan) loop(body []ast.Stmt, c bool) bool {
	ps.breaks = append(ps.breaks, false)
	ps.block(body, c)
	brk := ps.breaks[len(ps.breaks)-1]
	ps.breaks = ps.breaks[:len(ps.breaks)-1]
	return brk
}

func (ps *pathScan) exprs(list []ast.Expr) bool {
	for _, e := range list {
		if !ps.expr(e) {
			return false
		}
	}
	return true
}

// expr reports whether evaluating e makes only calls known not to set the
// peer or end the request.
func (ps *pathScan) expr(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.FuncCallExpr:
		return ps.call(x)
	case *ast.FunctionExpr:
		return true // creating a closure calls nothing
	case *ast.AttrGetExpr:
		return ps.expr(x.Object) && ps.expr(x.Key)
	case *ast.TableExpr:
		for _, f := range x.Fields {
			if (f.Key != nil && !ps.expr(f.Key)) || !ps.expr(f.Value) {
				return false
			}
		}
	case *ast.LogicalOpExpr:
		return ps.expr(x.Lhs) && ps.expr(x.Rhs)
	case *ast.RelationalOpExpr:
		return ps.expr(x.Lhs) && ps.expr(x.Rhs)
	case *ast.StringConcatOpExpr:
		return ps.expr(x.Lhs) && ps.expr(x.Rhs)
	case *ast.ArithmeticOpExpr:
		return ps.expr(x.Lhs) && ps.expr(x.Rhs)
	case *ast.UnaryMinusOpExpr:
		return ps.expr(x.Expr)
	case *ast.UnaryNotOpExpr:
		return ps.expr(x.Expr)
	case *ast.UnaryLenOpExpr:
		return ps.expr(x.Expr)
	}
	return true
}

func (ps *pathScan) call(c *ast.FuncCallExpr) bool {
	for _, a := range c.Args {
		if f, ok := a.(*ast.FunctionExpr); ok {
			// pcall(function() ... end), ngx.timer.at(0, f): the
			// closure may run now.
			if !ps.fnInert(f) {
				return false
			}
		} else if !ps.expr(a) {
			return false
		}
	}
	if c.Receiver != nil {
		return ps.expr(c.Receiver) && luaStringMethods[c.Method]
	}
	name := dottedName(c.Func)
	if name == "" {
		return ps.moduleCallInert(c) && ps.expr(c.Func)
	}
	if ps.ambiguous[name] {
		return false
	}
	root, rest, _ := strings.Cut(name, ".")
	if f := ps.funcs[name]; f != nil {
		return ps.fnInert(f)
	}
	if mod, ok := ps.requires[root]; ok && !ps.ambiguous[root] {
		if strings.HasPrefix(mod, "ngx.") || mod == "cjson" || mod == "cjson.safe" {
			return !strings.HasSuffix(name, ".set_current_peer")
		}
		return ps.moduleCallInert(c)
	}
	switch {
	case rest == "" && root == "error":
		return false
	case rest == "" && (root == "pcall" || root == "xpcall"):
		if len(c.Args) == 0 {
			return true
		}
		if f, ok := c.Args[0].(*ast.FunctionExpr); ok {
			return ps.fnInert(f)
		}
		n := dottedName(c.Args[0])
		if f := ps.funcs[n]; f != nil && !ps.ambiguous[n] {
			return ps.fnInert(f)
		}
		r, _, _ := strings.Cut(n, ".")
		return luaInertBuiltins[n] || luaStdLibs[r]
	case rest == "":
		return luaInertBuiltins[root]
	case root == "ngx":
		switch name {
		case "ngx.exit", "ngx.exec", "ngx.redirect":
			return false
		}
		return !strings.HasSuffix(name, ".set_current_peer")
	case luaStdLibs[root]:
		return true
	}
	return ps.moduleCallInert(c)
}

// moduleCallInert reports a call into a required module that
// luacheck.Reach followed completely without reaching set_current_peer or
// a request-ending API.
func (ps *pathScan) moduleCallInert(c *ast.FuncCallExpr) bool {
	key := ""
	if ag, ok := c.Func.(*ast.AttrGetExpr); ok {
		if k, ok := ag.Key.(*ast.StringExpr); ok {
			key = k.Value
		}
	}
	for _, mc := range ps.modCalls[c.Line()] {
		if mc.Func != key {
			continue
		}
		uses, complete := luacheck.Reach([]luacheck.ModuleCall{mc}, func(m string) *luacheck.Result { return moduleResult(ps.pass, m) })
		if !complete {
			return false
		}
		for _, u := range uses {
			switch u.Use.Name {
			case "ngx.balancer.set_current_peer", "ngx.exit", "ngx.exec", "ngx.redirect":
				return false
			}
		}
		return true
	}
	return false
}

// fnInert reports whether a function of the chunk makes only inert calls
// (a recursive call counts as inert: it adds no new callee).
func (ps *pathScan) fnInert(f *ast.FunctionExpr) bool {
	if v, ok := ps.inertFn[f]; ok {
		return v
	}
	if ps.visiting[f] {
		return true
	}
	ps.visiting[f] = true
	ok := ps.bodyInert(f.Stmts)
	delete(ps.visiting, f)
	ps.inertFn[f] = ok
	return ok
}

// bodyInert reports whether every expression of a statement list (its
// nested blocks included, closures defined in it excluded) is inert.
func (ps *pathScan) bodyInert(list []ast.Stmt) bool {
	for _, s := range list {
		ok := true
		switch s := s.(type) {
		case *ast.LocalAssignStmt:
			ok = ps.exprs(s.Exprs)
		case *ast.AssignStmt:
			ok = ps.exprs(s.Lhs) && ps.exprs(s.Rhs)
		case *ast.FuncCallStmt:
			ok = ps.expr(s.Expr)
		case *ast.IfStmt:
			ok = ps.expr(s.Condition) && ps.bodyInert(s.Then) && ps.bodyInert(s.Else)
		case *ast.WhileStmt:
			ok = ps.expr(s.Condition) && ps.bodyInert(s.Stmts)
		case *ast.RepeatStmt:
			ok = ps.expr(s.Condition) && ps.bodyInert(s.Stmts)
		case *ast.NumberForStmt:
			ok = ps.expr(s.Init) && ps.expr(s.Limit) && (s.Step == nil || ps.expr(s.Step)) && ps.bodyInert(s.Stmts)
		case *ast.GenericForStmt:
			ok = ps.exprs(s.Exprs) && ps.bodyInert(s.Stmts)
		case *ast.DoBlockStmt:
			ok = ps.bodyInert(s.Stmts)
		case *ast.ReturnStmt:
			ok = ps.exprs(s.Exprs)
		}
		if !ok {
			return false
		}
	}
	return true
}
