package rules

import (
	"fmt"
	"slices"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// The Lua rules follow modules (issue 15): every module a chunk reaches
// through require (nginxconf.Config.Modules, when the configuration was
// loaded with Options.Requires) is checked once, with positions in its
// own file, and what a chunk's module calls reach counts as if it were
// written inline.

// luaUnit is one piece of Lua the Lua rules check: the chunk of a
// *_by_lua* directive, or a module file.
type luaUnit struct {
	Chunk *nginxconf.LuaChunk
	// Ref is the directive's chunk; nil for a module.
	Ref *nginxconf.LuaRef
	// Module is the module; nil for a directive's chunk.
	Module *nginxconf.Module
	// Where names it in messages: the directive's name, or
	// `module "name"`.
	Where string
	// Pos is where it starts: the directive, or the module file.
	Pos nginxconf.Pos
}

// luaUnits lists the analysable chunks (analysableLua) and then the
// modules read, in first-required order. A module file that is also a
// *_by_lua_file file is checked as that file already.
func luaUnits(pass *analyzer.Pass) []luaUnit {
	type key struct{}
	return pass.Fact(key{}, func() any {
		var out []luaUnit
		for _, ref := range analysableLua(pass.Model) {
			out = append(out, luaUnit{Chunk: ref.Chunk, Ref: ref, Where: ref.Directive.Name, Pos: ref.Directive.Pos})
		}
		if pass.Config == nil {
			return out
		}
		for _, m := range pass.Config.Modules {
			if m.Chunk == nil || slices.Contains(pass.Config.LuaFiles, m.File) {
				continue
			}
			out = append(out, luaUnit{Chunk: m.Chunk, Module: m, Where: fmt.Sprintf("module %q", m.Name), Pos: m.Chunk.Pos})
		}
		return out
	}).([]luaUnit)
}

// moduleResult returns the facts of the module required as name; nil when
// it was not read (missing, builtin, refused).
func moduleResult(pass *analyzer.Pass, name string) *luacheck.Result {
	if pass.Config == nil {
		return nil
	}
	m := pass.Config.Module(name)
	if m == nil || m.Chunk == nil {
		return nil
	}
	return luaFacts(pass, m.Chunk)
}

// reached is what the module calls of c reach (luacheck.Reach), once per
// run; complete is false when some call led to code that could not be
// followed.
type reached struct {
	uses     []luacheck.Reached
	complete bool
}

func reachOf(pass *analyzer.Pass, c *nginxconf.LuaChunk) reached {
	res := luaFacts(pass, c)
	if len(res.ModuleCalls) == 0 {
		return reached{complete: true}
	}
	type key struct{ c *nginxconf.LuaChunk }
	return pass.Fact(key{c}, func() any {
		uses, complete := luacheck.Reach(res.ModuleCalls, func(m string) *luacheck.Result { return moduleResult(pass, m) })
		return reached{uses, complete}
	}).(reached)
}

// luaFactsLinked is luaFacts with the balancer facts that the chunk's
// module calls reach added as if the code were inline: set_more_tries
// and set_current_peer calls in a required module (at their positions
// in the module's file; a set_more_tries is guarded when the module
// guards it or the chunk guards the call), paths that end without a
// peer only because a module function sets it are dropped, and calls
// into modules that were followed are no longer opaque. A chunk without
// module calls gets luaFacts' own result.
func luaFactsLinked(pass *analyzer.Pass, c *nginxconf.LuaChunk) *luacheck.Result {
	res := luaFacts(pass, c)
	if len(res.ModuleCalls) == 0 || len(res.SyntaxErrors) > 0 {
		return res
	}
	type key struct{ c *nginxconf.LuaChunk }
	return pass.Fact(key{c}, func() any { return linkBalancer(pass, res, reachOf(pass, c)) }).(*luacheck.Result)
}

// linkBalancer builds luaFactsLinked's result.
func linkBalancer(pass *analyzer.Pass, res *luacheck.Result, r reached) *luacheck.Result {
	var add luacheck.BalancerFacts
	found := false
	for _, u := range r.uses {
		if !u.Use.Call || u.Facts.Balancer == nil {
			continue
		}
		bf := u.Facts.Balancer
		switch u.Use.Name {
		case "ngx.balancer.set_more_tries":
			for _, mt := range bf.MoreTries {
				if mt.Call.Pos == u.Use.Pos {
					if u.Call.Guarded && !mt.Guarded {
						mt.Guarded, mt.GuardPos = true, u.Call.Pos
					}
					add.MoreTries = append(add.MoreTries, mt)
					found = true
				}
			}
		case "ngx.balancer.set_current_peer":
			for _, pc := range bf.SetCurrentPeer {
				if pc.Call.Pos == u.Use.Pos {
					add.SetCurrentPeer = append(add.SetCurrentPeer, pc)
					found = true
				}
			}
		case "ngx.balancer.get_last_failure":
			add.GetLastFailure, found = append(add.GetLastFailure, u.Use), true
		case "ngx.balancer.set_timeouts":
			add.SetTimeouts, found = append(add.SetTimeouts, u.Use), true
		case "ngx.balancer.enable_keepalive":
			add.EnableKeepalive, found = append(add.EnableKeepalive, u.Use), true
		case "ngx.balancer.recreate_request":
			add.RecreateRequest, found = append(add.RecreateRequest, u.Use), true
		}
	}
	if !found && !r.complete {
		return res
	}
	out := *res
	var bf luacheck.BalancerFacts
	if res.Balancer != nil {
		bf = *res.Balancer
	} else if !found {
		return res
	}
	bf.MoreTries = append(slices.Clip(bf.MoreTries), add.MoreTries...)
	bf.SetCurrentPeer = append(slices.Clip(bf.SetCurrentPeer), add.SetCurrentPeer...)
	bf.GetLastFailure = append(slices.Clip(bf.GetLastFailure), add.GetLastFailure...)
	bf.SetTimeouts = append(slices.Clip(bf.SetTimeouts), add.SetTimeouts...)
	bf.EnableKeepalive = append(slices.Clip(bf.EnableKeepalive), add.EnableKeepalive...)
	bf.RecreateRequest = append(slices.Clip(bf.RecreateRequest), add.RecreateRequest...)
	if r.complete {
		bf.OpaqueCalls -= bf.OpaqueModuleCalls
		bf.OpaqueModuleCalls = 0
	}
	// A path end that only module calls lead to is not reached without
	// a peer when every module call of the main function sets one (or
	// ends the request).
	if len(bf.PathsWithoutPeer) > 0 && allTopCallsSetPeer(pass, res) {
		var keep []luacheck.PathEnd
		for _, pe := range bf.PathsWithoutPeer {
			if !pe.ViaModuleCall {
				keep = append(keep, pe)
			}
		}
		bf.PathsWithoutPeer = keep
	}
	out.Balancer = &bf
	return &out
}

// allTopCallsSetPeer reports whether every module call of res's main
// function reaches set_current_peer or ends the request (ngx.exit).
func allTopCallsSetPeer(pass *analyzer.Pass, res *luacheck.Result) bool {
	any := false
	for _, c := range res.ModuleCalls {
		if !c.Top {
			continue
		}
		any = true
		uses, _ := luacheck.Reach([]luacheck.ModuleCall{c}, func(m string) *luacheck.Result { return moduleResult(pass, m) })
		ok := false
		for _, u := range uses {
			if u.Use.Call && (u.Use.Name == "ngx.balancer.set_current_peer" || u.Use.Name == "ngx.exit") {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return any
}

// initDefinedGlobals collects the globals that init_by_lua* and
// init_worker_by_lua* code defines: plain assignments (W111), _G.name
// and rawset(_G, "name", ...) in those chunks and in the modules they
// require (a module's top level runs when it is first required). They
// exist in every later phase's environment, as lua-nginx-module runs
// every chunk with the same globals table.
func initDefinedGlobals(pass *analyzer.Pass) map[string]bool {
	type key struct{}
	return pass.Fact(key{}, func() any {
		m := map[string]bool{}
		addFacts := func(res *luacheck.Result) {
			for _, w := range res.Warnings {
				if w.Code == "W111" {
					m[w.Name] = true
				}
			}
			for _, g := range res.DefinedGlobals {
				m[g] = true
			}
		}
		seen := map[string]bool{}
		follow := func(names []string) {
			for len(names) > 0 {
				n := names[0]
				names = names[1:]
				if seen[n] || pass.Config == nil {
					continue
				}
				seen[n] = true
				mod := pass.Config.Module(n)
				if mod == nil || mod.Chunk == nil {
					continue
				}
				addFacts(luaFacts(pass, mod.Chunk))
				names = append(names, mod.Requires...)
			}
		}
		for _, ref := range analysableLua(pass.Model) {
			if !isInitChunk(ref) {
				continue
			}
			addFacts(luaFacts(pass, ref.Chunk))
			follow(luacheck.Requires(ref.Chunk.Code))
		}
		return m
	}).(map[string]bool)
}
