package emulator

import (
	"context"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"
)

// escapeSuite are ways out of the balancer sandbox; each must fail (the
// test asserts the pcall returns false) and the code must then go on to
// pick a peer normally.
var escapeSuite = []string{
	`os.execute("id")`,
	`os.getenv("HOME")`,
	`io.popen("id")`,
	`io.open("/etc/passwd")`,
	`io.lines("/etc/passwd")`,
	`require("os").execute("id")`,
	`require("io").popen("id")`,
	`require("debug")`,
	`require("ffi").C.system("id")`,
	`require("jit").util.funcinfo(print)`,
	`require("package")`,
	`load("return os")`,
	`load(function() return nil end)`,
	`loadstring("return 1")`,
	`dofile("/etc/passwd")`,
	`loadfile("/etc/passwd")`,
	`module("x")`,
	// debug.getinfo describes the stack (log helpers need it) but never
	// hands out a function; the rest of the debug library is absent.
	`debug.getinfo(1, "f").func`,
	`debug.getinfo(print, "f").func`,
	`debug.getlocal(1, 1)`,
	`debug.setlocal(1, 1, nil)`,
	`debug.setupvalue(ngx.log, 1, nil)`,
	`debug.upvaluejoin(print, 1, print, 1)`,
	`debug.setmetatable("", nil)`,
	`debug.getmetatable("").__index.dump(print)`,
	`debug.setfenv(print, {})`,
	`debug.sethook(function() end, "", 1)`,
	`debug.getregistry()`,
	`debug.getupvalue(ngx.log, 1)`,
	`string.dump(function() end)`,
	`("x").dump(function() end)`,
	`getmetatable("").__index.dump(function() end)`,
	`setfenv(1, {})`,
	`getfenv(0)`,
	`getfenv(print).os.execute("id")`,
	`package.loaders[1]("os")`,
	`package.loaded.os.execute("id")`,
	`package.loadlib("/lib/x.so", "f")`,
	`_G.os.execute("id")`,
	`rawget(_G, "io").open("/etc/passwd")`,
	`newproxy(true)`,
	`coroutine.create(function() end)`,
	`coroutine.wrap(function() end)()`,
	// Replacing the string metatable's __index cannot bring back an
	// unwrapped builtin: the sandbox wraps the one table both "x":rep and
	// string.rep reach.
	`getmetatable("").__index.rep("ab", 2^30)`,
	`(function() local mt = getmetatable(""); mt.__index = {rep = string.rep}; return ("ab"):rep(2^30) end)()`,
	`string.format("%9999d", 1)`,
	`string.rep("ab", 2^30)`,
	`table.concat(setmetatable({}, {}), "", 1, 2^40)`,
	`_G["\0ngxlint_concat"]("a", string.rep("b", 4194304))`,
}

func TestSandboxEscapes(t *testing.T) {
	for _, e := range escapeSuite {
		t.Run(e, func(t *testing.T) {
			code := "local ok, err = pcall(function() return " + e + " end)\n" +
				"assert(not ok or err == nil, 'escape worked')\n" +
				"ngx.log(ngx.INFO, 'refused: ', err)\n" +
				`assert(require("ngx.balancer").set_current_peer("10.0.0.5", 80))`
			res := runCfg(t, luaConfig(prof(t, "1.22.1", "0.10.23", ""), code, "ok", 1))
			checkRequests(t, res, []want{{200, 1, 1, false}})
			t.Log(attemptLogs(res.Requests[0]))
		})
	}
}

// bombSuite are resource bombs: each must end within the run's bounds with
// the given attempt outcome (a finding: the request fails with 500), and
// the heap must not grow past bombMemoryCap while it runs.
var bombSuite = []struct {
	name, code string
	outcomes   []string // any of
	log        string   // in the attempt's log
}{
	{"infinite loop", `while true do end`, []string{OutcomeLuaTimeout}, "did not return"},
	{"infinite loop in pcall", `while true do pcall(function() while true do end end) end`, []string{OutcomeLuaTimeout}, ""},
	{"loop in xpcall handler", `xpcall(function() error("x") end, function() while true do end end)`, []string{OutcomeLuaTimeout}, ""},
	{"loop in __tostring", `local x = tostring(setmetatable({}, {__tostring = function() while true do end end}))`, []string{OutcomeLuaTimeout}, ""},
	{"loop in string __index", `getmetatable("").__index = function() while true do end end local x = ("a"):len()`, []string{OutcomeLuaTimeout}, ""},
	{"infinite tail calls", `local function f() return f() end f()`, []string{OutcomeLuaError}, "overflow"},
	{"infinite mutual tail calls", `local g local function f(n) return g(n + 1) end g = function(n) return f(n) end f(0)`, []string{OutcomeLuaError}, "overflow"},
	{"infinite method tail calls", `local o = {} function o:m() return self:m() end o:m()`, []string{OutcomeLuaError}, "overflow"},
	{"deep recursion", `local function f() return 1 + f() end f()`, []string{OutcomeLuaError}, "overflow"},
	{"deep recursion in xpcall", `local function f(...) return 1 + f(1, ...) end xpcall(f, function(e) return e end) f()`, []string{OutcomeLuaError}, "overflow"},
	{"__index chain", `local a = {} setmetatable(a, {__index = a}) local x = a.b`, []string{OutcomeLuaError}, ""},
	{"string.rep of gigabytes", `local s = string.rep("x", 2^31)`, []string{OutcomeLuaError}, "too large"},
	{"string.rep of empty string", `local s = string.rep("", 2^52)`, []string{OutcomeLuaError}, "too large"},
	{"doubling concat", `local s = string.rep("x", 1e6) while true do s = s .. s end`, []string{OutcomeLuaError, OutcomeLuaMemory}, ""},
	{"wide concat", `local s = string.rep("x", 4e6) local u = s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s..s`, []string{OutcomeLuaError}, "string length overflow"},
	{"concat via __concat", `local m = setmetatable({}, {__concat = function(a, b) while true do end end}) local x = m .. "a"`, []string{OutcomeLuaTimeout}, ""},
	{"format of many big strings", `local s = string.rep("x", 4e6) local x = string.format(string.rep("%s", 30), s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s)`, []string{OutcomeLuaError}, "too large"},
	{"gsub with a big replacement function", `local big = string.rep("y", 4e6) local s = string.gsub(string.rep("x", 1e5), "x", function() return big end)`, []string{OutcomeLuaError, OutcomeLuaMemory}, ""},
	// Each match adds 101 bytes: the result crosses luaMaxString after
	// ~40,000 matches, long before the deadline even on a loaded machine
	// (a 4e6-byte subject with a 1-byte replacement needed 2 million
	// steps and sometimes met the deadline first).
	{"gsub on a big subject", `local s = string.gsub(string.rep("x", 1e5), "", string.rep("y", 100))`, []string{OutcomeLuaError}, "too large"},
	{"gmatch on a big subject", `for w in string.gmatch(string.rep("x", 4e6), ".") do end`, []string{OutcomeLuaTimeout}, ""},
	// The pattern bombs end inside the matcher, at the deadline
	// (luapattern.go).
	{"pathological find", `local x = string.find(string.rep("a", 5000), ".-.-.-.-b")`, []string{OutcomeLuaTimeout}, "pattern matching stopped"},
	{"pathological match", `local x = string.match(string.rep("a", 3e6), string.rep("a", 1e6) .. "b")`, []string{OutcomeLuaTimeout}, "pattern matching stopped"},
	{"pathological gsub", `local x = string.gsub(string.rep("a", 2e5), "a*a*a*b", "")`, []string{OutcomeLuaTimeout}, "pattern matching stopped"},
	{"pathological %b", `local x = string.find(string.rep("(", 1e5), "%b()%b()")`, []string{OutcomeLuaTimeout}, "pattern matching stopped"},
	{"gfind bomb", `for w in string.gfind(string.rep("a", 5000), ".-.-.-.-b") do end`, []string{OutcomeLuaTimeout}, "pattern matching stopped"},
	{"gfind method bomb", `for w in string.rep("a", 5000):gfind(".-.-.-.-b") do end`, []string{OutcomeLuaTimeout}, "pattern matching stopped"},
	{"back-reference bomb", `local x = string.find(string.rep("a", 5000), "(.-)%1b")`, []string{OutcomeLuaTimeout, OutcomeLuaError}, "pattern "},
	{"deep pattern", `local x = string.find(string.rep("a", 1e5), string.rep("a?", 1e5))`, []string{OutcomeLuaError}, "pattern too complex"},
	{"unpack of a huge range", `local x = unpack({}, 1, 1e8)`, []string{OutcomeLuaError}, "too many results"},
	{"string.byte of a big string", `local x = string.byte(string.rep("x", 4e6), 1, -1)`, []string{OutcomeLuaError}, "string slice too long"},
	{"huge array", `local t = {} for i = 1, 1e9 do t[i] = i end`, []string{OutcomeLuaTimeout, OutcomeLuaMemory}, ""},
	{"huge hash", `local t = {} for i = 1, 1e9 do t["k" .. i] = i end`, []string{OutcomeLuaTimeout, OutcomeLuaMemory}, ""},
	{"table of big strings", `local t = {} local s = string.rep("x", 4e6) for i = 1, 1e9 do t[i] = s .. i end`, []string{OutcomeLuaTimeout, OutcomeLuaMemory}, ""},
	{"shared dict bomb", `local d = ngx.shared.cache for i = 1, 1e9 do d:set(i, string.rep("v", 1000) .. i) end`, []string{OutcomeLuaTimeout, OutcomeLuaMemory}, ""},
	{"sort of a huge table", `local t = {} for i = 1, 3e5 do t[i] = -i end table.sort(t)`, []string{OutcomeLuaError, OutcomeLuaTimeout}, ""},
	{"coroutine bomb", `while true do coroutine.wrap(function() while true do coroutine.yield() end end)() end`, []string{OutcomeLuaError}, "nil"},
	{"huge error message", `error(string.rep("x", 4e6))`, []string{OutcomeLuaError}, "xxx"},
}

// bombMemoryCap bounds the heap growth (live objects) during one bomb.
const bombMemoryCap = 256 << 20

// heapPeak samples the live heap every millisecond until stop is closed
// and returns the largest value seen.
func heapPeak(stop <-chan struct{}) uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		metrics.Read(s)
		if v := s[0].Value.Uint64(); v > peak {
			peak = v
		}
		select {
		case <-stop:
			return peak
		case <-t.C:
		}
	}
}

func TestSandboxBombs(t *testing.T) {
	before := runtime.NumGoroutine()
	var msBefore, msAfter runtime.MemStats
	runtime.ReadMemStats(&msBefore)
	var worst uint64
	for _, b := range bombSuite {
		t.Run(b.name, func(t *testing.T) {
			c := luaConfig(prof(t, "1.22.1", "0.10.23", ""), b.code, "ok", 1)
			c.LuaTimeout = 500 * time.Millisecond
			if len(b.outcomes) == 1 && b.outcomes[0] == OutcomeLuaTimeout {
				// Only the deadline can end it: a short one keeps the
				// suite quick.
				c.LuaTimeout = 100 * time.Millisecond
			}
			runtime.GC()
			s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
			metrics.Read(s)
			base := s[0].Value.Uint64()
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var peak uint64
			wg.Add(1)
			go func() { defer wg.Done(); peak = heapPeak(stop) }()
			done := make(chan struct{})
			var res *Result
			var err error
			go func() {
				defer close(done)
				res, err = Run(context.Background(), c)
			}()
			select {
			case <-done:
			case <-time.After(2 * time.Minute):
				t.Fatal("Run did not return (hang)")
			}
			close(stop)
			wg.Wait()
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			growth := uint64(0)
			if peak > base {
				growth = peak - base
			}
			worst = max(worst, growth)
			t.Logf("peak heap growth %d MB", growth>>20)
			if growth > bombMemoryCap {
				t.Errorf("heap grew by %d MB (cap %d MB)", growth>>20, bombMemoryCap>>20)
			}
			q := res.Requests[0]
			if q.Status.Code != 500 || len(q.Attempts) == 0 {
				t.Fatalf("request: %+v, want 500 after a failed balancer run", q.Status)
			}
			a := q.Attempts[0]
			found := false
			for _, o := range b.outcomes {
				found = found || a.Outcome == o
			}
			logs := strings.Join(a.Log, "\n")
			if !found {
				t.Errorf("outcome %q, want one of %v\n%s", a.Outcome, b.outcomes, logs)
			}
			if !strings.Contains(logs, b.log) {
				t.Errorf("log lacks %q:\n%.2000s", b.log, logs)
			}
			for _, l := range a.Log {
				if len(l) > luaMaxErrorText+100 {
					t.Errorf("log line of %d bytes", len(l))
				}
			}
		})
	}
	runtime.ReadMemStats(&msAfter)
	t.Logf("largest live-heap growth over all bombs: %d MB; process memory from the Go runtime (Sys) %d MB before, %d MB after",
		worst>>20, msBefore.Sys>>20, msAfter.Sys>>20)
	checkGoroutines(t, before)
}

// TestHardeningKeepsSemantics: the rewritten concatenation and tail calls
// and the wrapped builtins behave as Lua 5.1 for ordinary code.
func TestHardeningKeepsSemantics(t *testing.T) {
	code := `
local function two() return 1, 2 end
local function pass() return two() end
local a, b = pass()
assert(a == 1 and b == 2, "tail call results")
assert(select("#", pass()) == 2, "tail call result count")
local o = {v = 5}
function o:get(x) return self.v + x end
function o:tail(x) return self:get(x) end
assert(o:tail(1) == 6, "method tail call")
assert(1 .. 2 == "12", "number concat")
assert("a" .. "b" .. 1.5 .. "c" == "ab1.5c", "chain")
local m = setmetatable({}, {__concat = function(x, y) return "M" end})
assert(m .. "x" == "M" and "x" .. m == "M", "__concat")
local ok, err = pcall(function() return "a" .. nil end)
assert(not ok and err:find("concat"), "nil concat error: " .. tostring(err))
assert(string.gsub("a-b", "%a", {a = "x"}) == "x-b", "gsub table")
assert(string.gsub("a-b", "%a", function(c) if c == "b" then return false end return c:upper() end) == "A-b", "gsub function")
assert(select(2, string.gsub("abc", "(%a)", "%1%1")) == 3, "gsub count")
assert(string.find("host:8080", ":", 1, true) == 5, "plain find")
assert(string.match("10.0.0.1:80", "^(.-):(%d+)$") == "10.0.0.1", "match")
assert(#{unpack({1, 2, 3})} == 3, "unpack")
assert(string.byte("AB", 1, -1) == 65, "byte")
assert(string.format("%5.2f|%s", 1.5, "x") == " 1.50|x", "format")
local t = {3, 1, 2} table.sort(t) assert(t[1] == 1 and t[3] == 3, "sort")
assert(require("ngx.balancer").set_current_peer("10.0.0.5", 80))
`
	res := runCfg(t, luaConfig(prof(t, "1.22.1", "0.10.23", ""), code, "ok", 1))
	if q := res.Requests[0]; q.Status.Code != 200 {
		t.Fatalf("status %v:\n%s", q.Status, attemptLogs(q))
	}
	// An error inside a rewritten concatenation reads as the user's code.
	code = "local function f() return 'a' .. nil end\nlocal function g() return f() end\ng()"
	res = runCfg(t, luaConfig(prof(t, "1.22.1", "0.10.23", ""), code, "ok", 1))
	logs := attemptLogs(res.Requests[0])
	if !strings.Contains(logs, "balancer_by_lua:1: cannot perform concat operation between string and nil") ||
		!strings.Contains(logs, "balancer_by_lua:2: in function 'g'") || strings.Contains(logs, "ngxlint_") {
		t.Errorf("error trace:\n%q", logs)
	}
}

// TestHardenEverySyntax compiles code with every statement and expression
// form and checks that no OP_CONCAT is left anywhere, including nested
// functions: each concatenation goes through the bounded helper.
func TestHardenEverySyntax(t *testing.T) {
	code := `
local a, b = "x" .. 1, {["k" .. 2] = "v" .. 3, "p" .. 4, f = function(...) return ... .. "" end}
a = a .. b[1]
b.k = b["k2"] .. a
local function f(x, ...) if x .. "" == "a" then return x .. "" elseif #(x .. "") < 5 then return f(x .. "y", ...) else return (x .. "z") end end
function b.g(self) return self.k .. "" end
function b:h() return self.k .. "" end
while a .. "" == "" do break end
repeat a = a .. "" until a .. "" ~= ""
for i = #(a .. ""), #(a .. "") + 1, 1 do a = a .. i end
for k, v in pairs({[a .. ""] = a .. ""}) do a = k .. v end
do local c = not (a .. "" == "") and -(#(a .. "")) or (a .. "") end
goto done
::done::
print(f(a .. "", a .. ""), b:h() .. b.g(b))
return a .. b.k
`
	proto, err := compileLua(code, "all")
	if err != nil {
		t.Fatal(err)
	}
	if dis := proto.String(); strings.Contains(dis, "CONCAT") {
		t.Errorf("OP_CONCAT left in the compiled code:\n%s", dis)
	}
	c := luaConfig(prof(t, "1.22.1", "0.10.23", ""), code+"\n", "ok", 1)
	c.Upstream.BalancerLua = strings.Replace(code, "return a .. b.k", "assert(a ~= nil)", 1)
	res := runCfg(t, c)
	if q := res.Requests[0]; q.Status.Code != 200 {
		t.Errorf("status %v:\n%s", q.Status, attemptLogs(q))
	}
}
