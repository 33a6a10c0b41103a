package emulator

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// installDebug gives the global debug table the two functions log helpers
// and error handlers call: debug.getinfo, answering with where code runs
// (3scale APIcast's resty/log/log.lua prefixes every line with
// short_src:currentline of getinfo(2, "Snl")), and debug.traceback. They
// only describe the call stack: no function, local, upvalue, hook, registry
// or metatable of the VM is handed out, so nothing of the sandbox can be
// reached or changed through them. The rest of the debug library stays
// absent, and so does require "debug".
func (e *luaEngine) installDebug() {
	d := e.L.NewTable()
	e.setFn(d, "getinfo", e.debugGetinfo)
	e.setFn(d, "traceback", e.debugTraceback)
	e.g.RawSetString("debug", d)
}

// debugGetinfo is debug.getinfo([thread,] f [, what]) without the 'f'
// (the function) and 'L' (active lines) fields: a table with source,
// short_src, what, linedefined, lastlinedefined, currentline, name,
// namewhat and nups, as lj_debug_getinfo fills them, or nil for a level
// beyond the stack. A function argument describes the function itself.
func (e *luaEngine) debugGetinfo(L *lua.LState) int {
	arg := 1
	if _, ok := L.Get(1).(*lua.LState); ok {
		arg = 2 // a thread argument: coroutines do not exist here
	}
	what := L.OptString(arg+1, "flnSu")
	for _, c := range what {
		if !strings.ContainsRune(">flnSuL", c) {
			L.ArgError(arg+1, "invalid option")
		}
	}
	what = strings.NewReplacer("f", "", "L", "", ">", "").Replace(what)
	var dbg *lua.Debug
	var err error
	// 'S' is always asked for: a main chunk has no name in Lua, which
	// gopher-lua calls "main chunk".
	switch v := L.Get(arg).(type) {
	case *lua.LFunction:
		dbg = &lua.Debug{}
		_, err = L.GetInfo(">S"+what, dbg, v)
	case lua.LNumber:
		var ok bool
		// Level 0 is getinfo itself, as in Lua.
		if dbg, ok = L.GetStack(int(v)); !ok {
			L.Push(lua.LNil)
			return 1
		}
		_, err = L.GetInfo("S"+what, dbg, lua.LNil)
	default:
		L.ArgError(arg, "function or level expected")
	}
	if err != nil {
		L.Push(lua.LNil)
		return 1
	}
	t := L.NewTable()
	if strings.ContainsRune(what, 'S') {
		t.RawSetString("source", lua.LString(dbg.Source))
		t.RawSetString("short_src", lua.LString(shortSrc(dbg.Source)))
		w := dbg.What
		if w == "G" {
			w = "C" // a Go builtin stands for a C function
		}
		t.RawSetString("what", lua.LString(w))
		t.RawSetString("linedefined", lua.LNumber(dbg.LineDefined))
		t.RawSetString("lastlinedefined", lua.LNumber(dbg.LastLineDefined))
	}
	if strings.ContainsRune(what, 'l') {
		t.RawSetString("currentline", lua.LNumber(dbg.CurrentLine))
	}
	if strings.ContainsRune(what, 'u') {
		t.RawSetString("nups", lua.LNumber(dbg.NUpvalues))
	}
	if strings.ContainsRune(what, 'n') {
		if dbg.Name != "" && dbg.What != "main" {
			t.RawSetString("name", lua.LString(dbg.Name))
			t.RawSetString("namewhat", lua.LString("global"))
		} else {
			t.RawSetString("namewhat", lua.LString(""))
		}
	}
	L.Push(t)
	return 1
}

// shortSrc is Lua's luaO_chunkid for a chunk name: "@file" is the file,
// "=name" the name (LUA_IDSIZE 60, the start cut with "..."). The
// emulator names every chunk by its file ("lua/app.lua", "nginx.conf"),
// where lua-nginx-module writes "@/path/app.lua" for a file and
// "=balancer_by_lua(nginx.conf:12)" for a block; both read as a file name.
func shortSrc(src string) string {
	const max = 60
	s := strings.TrimLeft(src, "@=")
	if s == "" {
		return "?"
	}
	if len(s) > max-1 {
		s = "..." + s[len(s)-(max-4):]
	}
	return s
}

// debugTraceback is debug.traceback([thread,] [msg [, level]]): msg and
// the Lua frames from level (default 1) outwards, one line each, at most
// 22 lines as LuaJIT prints (the first 12 and the last 10). A msg that is
// neither a string nor nil is returned as it is.
func (e *luaEngine) debugTraceback(L *lua.LState) int {
	arg := 1
	if _, ok := L.Get(1).(*lua.LState); ok {
		arg = 2
	}
	msg := L.Get(arg)
	if _, isStr := msg.(lua.LString); !isStr && msg != lua.LNil {
		if _, isNum := msg.(lua.LNumber); !isNum {
			L.Push(msg)
			return 1
		}
	}
	level := L.OptInt(arg+1, 1)
	var lines []string
	for lv := level; lv < level+1000; lv++ {
		dbg, ok := L.GetStack(lv)
		if !ok {
			break
		}
		if _, err := L.GetInfo("Sln", dbg, lua.LNil); err != nil {
			break
		}
		var b strings.Builder
		b.WriteString("\t")
		if dbg.What == "G" {
			b.WriteString("[C]")
		} else {
			b.WriteString(shortSrc(dbg.Source))
			if dbg.CurrentLine > 0 {
				b.WriteString(":" + lua.LNumber(dbg.CurrentLine).String())
			}
		}
		switch {
		case dbg.Name != "" && dbg.What != "main":
			b.WriteString(": in function '" + dbg.Name + "'")
		case dbg.What == "main":
			b.WriteString(": in main chunk")
		default:
			b.WriteString(": in function <" + shortSrc(dbg.Source) + ":" + lua.LNumber(dbg.LineDefined).String() + ">")
		}
		lines = append(lines, b.String())
	}
	if len(lines) > 22 {
		lines = append(append(lines[:12:12], "\t..."), lines[len(lines)-10:]...)
	}
	out := "stack traceback:\n" + strings.Join(lines, "\n")
	if msg != lua.LNil {
		out = lua.LVAsString(msg) + "\n" + out
	}
	L.Push(lua.LString(out))
	return 1
}
