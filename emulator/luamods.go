package emulator

import (
	"embed"
	"fmt"
	"strconv"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"
)

// This file holds the modules the emulator provides itself: OpenResty's
// own (ngx, ngx.balancer, ngx.upstream, ngx.process, ngx.re, resty.core*,
// cjson, table.new / table.clear, bit) and the common libraries balancers
// load (resty.lrucache, resty.roundrobin, resty.chash), plus clients of
// the outside world that fail as a refused connection would. The Lua ones
// live in lualib/, written for the emulator after the libraries' APIs and
// algorithms; they are compiled like user code (hardened, deadline-checked).

//go:embed lualib/*.lua
var lualib embed.FS

var builtinModules map[string]builtinModule

func init() {
	// Set in init: the loaders refer to builtinModules through require.
	builtinModules = map[string]builtinModule{
		"ngx":          func(e *luaEngine) lua.LValue { return e.ngx },
		"ngx.balancer": func(e *luaEngine) lua.LValue { return e.bal },
		"ngx.upstream": (*luaEngine).buildUpstream,
		"ngx.process":  (*luaEngine).buildProcess,
		"ngx.re":       (*luaEngine).buildReModule,
		"ngx.base64":   (*luaEngine).buildBase64,
		"ngx.errlog": func(e *luaEngine) lua.LValue {
			t := e.L.NewTable()
			e.setFn(t, "raw_log", func(L *lua.LState) int { e.log(L.CheckInt(1), L.CheckString(2)); return 0 })
			e.setFn(t, "get_sys_filter_level", func(L *lua.LState) int { L.Push(lua.LNumber(8)); return 1 })
			e.setFn(t, "set_filter_level", func(L *lua.LState) int { L.Push(lua.LTrue); return 1 })
			return t
		},
		"cjson":                  func(e *luaEngine) lua.LValue { return e.buildCJSON(false) },
		"cjson.safe":             func(e *luaEngine) lua.LValue { return e.buildCJSON(true) },
		"bit":                    (*luaEngine).buildBit,
		"table.new":              (*luaEngine).tableNew,
		"table.clear":            (*luaEngine).tableClear,
		"table.nkeys":            (*luaEngine).tableNkeys,
		"table.isempty":          (*luaEngine).tableIsEmpty,
		"resty.lrucache":         luaModule("lrucache.lua"),
		"resty.lrucache.pureffi": luaModule("lrucache.lua"),
		"resty.roundrobin":       luaModule("roundrobin.lua"),
		"resty.chash":            (*luaEngine).buildChash,
		"resty.lock":             luaModule("lock.lua"),
		"resty.random":           (*luaEngine).buildRestyRandom,
		"resty.string":           (*luaEngine).buildRestyString,
		"jit":                    luaModule("jit.lua"),
		"jit.opt": func(e *luaEngine) lua.LValue {
			j, _ := e.require1("jit").(*lua.LTable)
			if j == nil {
				return lua.LNil
			}
			return j.RawGetString("opt")
		},
		"ffi":                    luaModule("ffi.lua"),
		"resty.http":             outsideModule("resty.http"),
		"resty.redis":            outsideModule("resty.redis"),
		"resty.mysql":            outsideModule("resty.mysql"),
		"resty.memcached":        outsideModule("resty.memcached"),
		"resty.dns.resolver":     outsideModule("resty.dns.resolver"),
		"resty.consul":           outsideModule("resty.consul"),
		"resty.websocket.client": outsideModule("resty.websocket.client"),
	}
	// lua-resty-core's modules: loading them changes nothing the emulator
	// models except resty.core itself (ngx.exit, see require).
	for _, n := range []string{"resty.core", "resty.core.base", "resty.core.base64", "resty.core.ctx",
		"resty.core.exit", "resty.core.hash", "resty.core.misc", "resty.core.ndk", "resty.core.param",
		"resty.core.phase", "resty.core.regex", "resty.core.request", "resty.core.response",
		"resty.core.shdict", "resty.core.socket", "resty.core.time", "resty.core.uri", "resty.core.utils",
		"resty.core.var", "resty.core.worker", "resty.core.coroutine"} {
		builtinModules[n] = func(e *luaEngine) lua.LValue { return e.L.NewTable() }
	}
}

// luaModule loads an embedded Lua module with the emulator's clock as its
// first argument.
func luaModule(file string) builtinModule {
	return func(e *luaEngine) lua.LValue {
		return e.runLib(file, e.L.NewFunction(e.nowMillis))
	}
}

func outsideModule(name string) builtinModule {
	return func(e *luaEngine) lua.LValue {
		ext := e.L.NewFunction(func(L *lua.LState) int {
			e.noteExternal(L, L.CheckString(1))
			return 0
		})
		return e.runLib("outside.lua", lua.LString(name), ext)
	}
}

// runLib compiles and runs lualib/file with args and returns its result.
func (e *luaEngine) runLib(file string, args ...lua.LValue) lua.LValue {
	L := e.L
	proto, err := libProto(file)
	if err != nil {
		L.RaiseError("emulator library %s: %v", file, err)
	}
	fn := L.NewFunctionFromProto(proto)
	fn.Env = e.g
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	L.Call(len(args), 1)
	v := L.Get(-1)
	L.Pop(1)
	return v
}

// libChunk prefixes the chunk names of lualib files, so that
// noteExternal can skip their frames to find the user's line.
const libChunk = "ngxlint-builtin/"

func (e *luaEngine) nowMillis(L *lua.LState) int {
	L.Push(lua.LNumber(e.r.now().UnixMilli()))
	return 1
}

// installShared provides ngx.shared: the lua_shared_dict zones of the
// configuration (Config.Lua.SharedDicts; an undeclared name is nil, as in
// nginx). Without any declared zone and no Config.Lua at all (a Config
// built by hand), any name is a 1 MiB zone.
func (e *luaEngine) installShared() {
	L := e.L
	sizes := L.NewTable()
	for name, n := range e.r.cfg.Lua.SharedDicts {
		sizes.RawSetString(name, lua.LNumber(n))
	}
	for name := range e.r.cfg.Fixtures.SharedDicts {
		if _, ok := e.r.cfg.Lua.SharedDicts[name]; !ok {
			sizes.RawSetString(name, lua.LNumber(1<<20))
		}
	}
	strict := lua.LBool(e.r.cfg.Lua.SharedDicts != nil)
	v := e.runLibSafe("shdict.lua", L.NewFunction(e.nowMillis), sizes, strict)
	e.ngx.RawSetString("shared", v)
}

// runLibSafe is runLib outside a protected call (engine set-up).
func (e *luaEngine) runLibSafe(file string, args ...lua.LValue) lua.LValue {
	var out lua.LValue = lua.LNil
	fn := e.L.NewFunction(func(L *lua.LState) int {
		out = e.runLib(file, args...)
		return 0
	})
	e.L.Push(fn)
	if err := e.L.PCall(0, 0, nil); err != nil {
		panic("emulator: " + file + ": " + err.Error())
	}
	return out
}

// fillFixtureDicts stores Config.Fixtures.SharedDicts before init runs;
// a value that reads as a number is stored as one.
func (e *luaEngine) fillFixtureDicts() {
	L := e.L
	shared, _ := e.ngx.RawGetString("shared").(*lua.LTable)
	if shared == nil {
		return
	}
	for _, name := range sortedKeys(e.r.cfg.Fixtures.SharedDicts) {
		d, ok := L.GetField(shared, name).(*lua.LTable)
		if !ok {
			continue
		}
		set := L.GetField(d, "set")
		for _, k := range sortedKeys(e.r.cfg.Fixtures.SharedDicts[name]) {
			v := e.r.cfg.Fixtures.SharedDicts[name][k]
			var lv lua.LValue = lua.LString(v)
			if n, err := parseLuaNumber(v); err == nil {
				lv = lua.LNumber(n)
			}
			L.Push(set)
			L.Push(d)
			L.Push(lua.LString(k))
			L.Push(lv)
			if err := L.PCall(3, 0, nil); err != nil {
				e.worker.Errors = append(e.worker.Errors, "fixture shared dict "+name+": "+err.Error())
			}
		}
	}
}

func parseLuaNumber(s string) (float64, error) {
	return strconv.ParseFloat(strings.TrimSpace(s), 64)
}

// require1 requires name through the VM's require (package.loaded).
func (e *luaEngine) require1(name string) lua.LValue {
	L := e.L
	L.Push(L.NewFunction(e.require))
	L.Push(lua.LString(name))
	L.Call(1, 1)
	v := L.Get(-1)
	L.Pop(1)
	return v
}

// libProtos holds the emulator's own Lua libraries (lualib/), compiled
// once per process: every emulation creates a VM that runs some of them,
// and compiling them per VM was a fifth of a large check --confirm. A
// FunctionProto is immutable once compiled and gopher-lua instantiates
// it per LState (NewFunctionFromProto), so sharing it is safe; the map is
// written only inside the sync.OnceValue.
var libProtos = sync.OnceValue(func() map[string]libCompiled {
	out := map[string]libCompiled{}
	entries, err := lualib.ReadDir("lualib")
	if err != nil {
		return out
	}
	for _, ent := range entries {
		src, err := lualib.ReadFile("lualib/" + ent.Name())
		if err != nil {
			out[ent.Name()] = libCompiled{err: err}
			continue
		}
		p, err := compileLua(string(src), libChunk+ent.Name())
		out[ent.Name()] = libCompiled{proto: p, err: err}
	}
	return out
})

type libCompiled struct {
	proto *lua.FunctionProto
	err   error
}

func libProto(file string) (*lua.FunctionProto, error) {
	c, ok := libProtos()[file]
	if !ok {
		return nil, fmt.Errorf("no such library")
	}
	return c.proto, c.err
}
