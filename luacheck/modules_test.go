package luacheck

import (
	"slices"
	"testing"

	"github.com/ngxlint/ngxlint/nginxconf"
)

func analyzeAs(file, context, code string) *Result {
	return Analyze(&nginxconf.LuaChunk{Code: code, Pos: nginxconf.Pos{File: file, Line: 1, Column: 1},
		Origin: nginxconf.LuaFile, Context: context}, Options{})
}

func TestModuleFacts(t *testing.T) {
	peers := analyzeAs("lua/peers.lua", "", `local balancer = require "ngx.balancer"
local util = require "app.util"
local _M = {}

local function pick(list)
    util.log("pick")
    return balancer.set_current_peer(list[1], 80)
end

function _M.balance(list)
    if not ngx.ctx.tried then
        ngx.ctx.tried = true
        balancer.set_more_tries(1)
    end
    return pick(list)
end

function _M:method() return self.balance({}) end

_M.alias = pick
_M.sleepy = function() ngx.sleep(1) end

return _M
`)
	var names []string
	for _, e := range peers.Exports {
		names = append(names, e.Name)
	}
	if want := []string{"balance", "method", "alias", "sleepy"}; !slices.Equal(names, want) {
		t.Fatalf("exports %v, want %v", names, want)
	}
	reached := func(ex *Export) (out []string) {
		for _, i := range ex.Uses {
			if peers.APIUses[i].Call {
				out = append(out, peers.APIUses[i].Name)
			}
		}
		return out
	}
	if got := reached(peers.Export("balance")); !slices.Contains(got, "ngx.balancer.set_more_tries") || !slices.Contains(got, "ngx.balancer.set_current_peer") {
		t.Errorf("balance reaches %v (through the local function pick)", got)
	}
	if got := reached(peers.Export("method")); !slices.Contains(got, "ngx.balancer.set_current_peer") {
		t.Errorf("method reaches %v (through self.balance)", got)
	}
	if got := reached(peers.Export("sleepy")); !slices.Equal(got, []string{"ngx.sleep"}) {
		t.Errorf("sleepy reaches %v", got)
	}
	if len(peers.ModuleCalls) != 1 || peers.ModuleCalls[0].Module != "app.util" || peers.ModuleCalls[0].Func != "log" || peers.ModuleCalls[0].Pos.Line != 6 {
		t.Errorf("module calls %+v", peers.ModuleCalls)
	}
	util := analyzeAs("lua/app/util.lua", "", `local M = {} function M.log(s) ngx.log(ngx.ERR, s) end return M`)

	bal := analyzeAs("nginx.conf", "balancer_by_lua", `local peers = require "peers"
local b = require "ngx.balancer"
if b.get_last_failure() then
    peers.balance({"10.0.0.1"})
end
require("peers").missing()
return peers.balance({"10.0.0.2"})
`)
	if len(bal.ModuleCalls) != 3 || !bal.ModuleCalls[0].Guarded || bal.ModuleCalls[2].Guarded || !bal.ModuleCalls[0].Top {
		t.Fatalf("balancer module calls %+v", bal.ModuleCalls)
	}
	if bal.Balancer.OpaqueModuleCalls != 3 || bal.Balancer.OpaqueCalls != 3 {
		t.Errorf("opaque calls %d, module %d", bal.Balancer.OpaqueCalls, bal.Balancer.OpaqueModuleCalls)
	}
	for _, pe := range bal.Balancer.PathsWithoutPeer {
		if !pe.ViaModuleCall {
			t.Errorf("path end %v does not depend on the module calls", pe.Pos)
		}
	}
	facts := map[string]*Result{"peers": peers, "app.util": util}
	out, complete := Reach(bal.ModuleCalls, func(m string) *Result { return facts[m] })
	if complete {
		t.Errorf("peers.missing is no export: Reach must say it is incomplete")
	}
	var got []string
	for _, r := range out {
		if r.Use.Call {
			got = append(got, r.Module+":"+r.Use.Name)
		}
	}
	if !slices.Contains(got, "peers:ngx.balancer.set_more_tries") || !slices.Contains(got, "app.util:ngx.log") {
		t.Errorf("reached %v", got)
	}

	// Globals defined through _G.
	init := analyzeAs("nginx.conf", "init_by_lua", `_G.logger = require "cjson"
rawset(_G, "conf", {})
plain = 1`)
	if !slices.Equal(init.DefinedGlobals, []string{"conf", "logger"}) {
		t.Errorf("defined globals %v", init.DefinedGlobals)
	}
}

func TestAnalyzeFile(t *testing.T) {
	res := AnalyzeFile("lua/lonely.lua", "local M = {}\nfunction M.f() x = ngx.HTTP_FORBIDEN ngx.sleep(1) end\nreturn M\n", Options{})
	if res.Context != "" || len(res.Exports) != 1 {
		t.Fatalf("%+v", res)
	}
	var codes []string
	for _, w := range res.Warnings {
		codes = append(codes, w.Code)
		if w.Pos.File != "lua/lonely.lua" || w.Pos.Line != 2 {
			t.Errorf("warning at %v", w.Pos)
		}
	}
	if !slices.Contains(codes, "W111") || !slices.Contains(codes, "W143") {
		t.Errorf("codes %v", codes)
	}
	for _, u := range res.APIUses {
		if u.Allowed != AllowUnknown {
			t.Errorf("%s judged against a phase: %v", u.Name, u.Allowed)
		}
	}
}
