package emulator

import (
	"testing"
	"testing/fstest"
)

// TestFileReadFormats checks file:read's formats as LuaJIT reads them
// (lib_io.c io_file_read: one letter after an optional '*', "L" keeps the
// newline). The expected values are what Debian's nginx 1.22.1 with
// lua-nginx-module 0.10.23 printed for the same reads in init_by_lua;
// yumchina's pulsar proxy reads its configuration with read("*all").
func TestFileReadFormats(t *testing.T) {
	c := workerConfig(t, `
local f = assert(io.open("/data.txt", "rb"))
local a, b, c, d = f:read("*line"), f:read("L"), f:read("*Line"), f:read("a")
assert(a == "line1", a)
assert(b == "line2\n", b)
assert(c == "line3\n", c)
assert(d == "rest\n", d)
f = assert(io.open("/data.txt"))
assert(#f:read("*all") == 23)
assert(f:read("*a") == "")
local ok, err = pcall(f.read, f, "*x")
assert(not ok and err:find("invalid format", 1, true), err)
ok, err = pcall(f.read, f, "x")
assert(not ok and err:find("invalid format", 1, true), err)`+setPeer, 1)
	c.Lua.Files = fstest.MapFS{"data.txt": {Data: []byte("line1\nline2\nline3\nrest\n")}}
	res := runCfg(t, c)
	if e := res.Requests[0].LuaError; e != "" {
		t.Fatal(e)
	}
	if p := res.Requests[0].Attempts[0].Peer; p != "10.0.0.5:80" {
		t.Errorf("peer %s", p)
	}
}

// TestDebugGetinfo checks the part of the debug library the sandbox gives:
// getinfo describes the caller as log helpers read it (APIcast's
// resty/log/log.lua: short_src, currentline, name of getinfo(2, "Snl")),
// and traceback lists the frames, with no function handed out.
func TestDebugGetinfo(t *testing.T) {
	c := workerConfig(t, `
local log = require "applog"
local where = log.where()
assert(where == "nginx.conf:22 in caller", where)
local i = debug.getinfo(1, "Sln")
assert(i.currentline == 24 and i.name == nil and i.what == "main" and i.func == nil, tostring(i.currentline))
local f = debug.getinfo(log.where, "S")
assert(f.linedefined == 2 and f.short_src == "lua/applog.lua", f.short_src)
assert(debug.getinfo(100) == nil)
assert(not pcall(debug.getinfo, 1, "x"))
local tb = debug.traceback("boom")
assert(tb:find("^boom\nstack traceback:\n"), tb)
assert(debug.traceback(nil):find("^stack traceback:"))
local t = {} assert(debug.traceback(t) == t)
assert(debug.getlocal == nil and debug.sethook == nil and debug.getregistry == nil and debug.setupvalue == nil)
assert(not pcall(require, "debug"))`+setPeer, 1)
	c.Lua.Modules = map[string]LuaSource{"applog": {Code: `local M = {}
function M.where()
  local i = debug.getinfo(2, "Snl")
  return i.short_src:match("[^/]*$") .. ":" .. i.currentline .. " in " .. (i.name or "caller")
end
return M`, File: "lua/applog.lua", Line: 1, Column: 1, Name: "applog"}}
	res := runCfg(t, c)
	if e := res.Requests[0].LuaError; e != "" {
		t.Fatal(e)
	}
}

// TestFileLines checks f:lines() and io.lines() in a generic for, which calls the
// iterator with (nil, nil) and then (nil, previous line); ingress-nginx's
// util/resolv_conf.lua reads /etc/resolv.conf this way.
func TestFileLines(t *testing.T) {
	c := workerConfig(t, `
local f = assert(io.open("/etc/resolv.conf"))
local got = {}
for line in f:lines() do got[#got + 1] = line end
f:close()
assert(#got == 2 and got[1] == "nameserver 10.96.0.10" and got[2] == "options ndots:5", table.concat(got, "|"))
local n = 0
for line in io.lines("/etc/resolv.conf") do n = n + 1 end
assert(n == 2, n)`+setPeer, 1)
	c.Lua.Files = fstest.MapFS{"etc/resolv.conf": {Data: []byte("nameserver 10.96.0.10\noptions ndots:5\n")}}
	res := runCfg(t, c)
	if e := res.Requests[0].LuaError; e != "" {
		t.Fatal(e)
	}
}
