package emulator

import (
	"strings"
	"testing"
	"testing/fstest"
)

// workerConfig is a balancer upstream whose code is given as a file of the
// tree at line 1, plus the worker parts the test sets.
func workerConfig(t *testing.T, balancer string, n int) Config {
	c := luaConfig(prof(t, "1.22.1", "0.10.23", ""), "", "ok", n)
	c.Upstream.BalancerLua = ""
	c.Upstream.Balancer = LuaSource{Code: balancer, File: "nginx.conf", Line: 20, Column: 30, Name: "balancer_by_lua_block"}
	c.Lua.SharedDicts = map[string]int64{}
	return c
}

const setPeer = "\nassert(require('ngx.balancer').set_current_peer(_G.PEER or '10.0.0.5', 80))"

func TestWorkerStartOrder(t *testing.T) {
	c := workerConfig(t, `ngx.ctx.x = 1 ngx.log(ngx.ERR, table.concat(_G.order, ","))`+setPeer, 2)
	c.Lua.Init = []LuaSource{{Code: `_G.order = {"init"} local m = require "state" m.n = 1`, File: "nginx.conf", Line: 5}}
	c.Lua.InitWorker = []LuaSource{{Code: `
table.insert(_G.order, "init_worker")
ngx.timer.at(0, function(premature)
  local th = ngx.thread.spawn(function(a) return a + 1 end, 1)
  local ok, v = ngx.thread.wait(th)
  assert(ok and v == 2)
  table.insert(_G.order, "timer0:" .. tostring(premature))
end)
ngx.timer.every(5, function() table.insert(_G.order, "every") end)
ngx.timer.at(10, function() table.insert(_G.order, "late") end)
table.insert(_G.order, "state.n=" .. require("state").n)`, File: "nginx.conf", Line: 8}}
	c.Lua.Modules = map[string]LuaSource{"state": {Code: "return {}", File: "lua/state.lua", Line: 1}}
	res := runCfg(t, c)
	if res.Worker == nil || res.Worker.StartError != "" || len(res.Worker.Errors) > 0 {
		t.Fatalf("worker: %+v", res.Worker)
	}
	logs := attemptLogs(res.Requests[0])
	if want := "init,init_worker,state.n=1,timer0:false,every"; !strings.Contains(logs, want) {
		t.Errorf("order: %s, want %s", logs, want)
	}
	if res.Worker.TimersRun != 2 || res.Worker.TimersPending != 2 {
		t.Errorf("timers run %d pending %d, want 2 and 2", res.Worker.TimersRun, res.Worker.TimersPending)
	}
	checkRequests(t, res, []want{{200, 1, 1, false}, {200, 1, 1, false}})
}

// TestLuaErrorPositions: an error in an inline block names its line in
// nginx.conf, one in a module names the module file's line, and the
// request carries it.
func TestLuaErrorPositions(t *testing.T) {
	c := workerConfig(t, "local a = 1\nlocal b = nil\nreturn b.x", 1)
	res := runCfg(t, c)
	if got := res.Requests[0].LuaError; !strings.Contains(got, "nginx.conf:22:") {
		t.Errorf("inline block error %q, want nginx.conf:22", got)
	}
	if !res.LuaFailed || !res.BalancerFailedEverywhere() {
		t.Errorf("LuaFailed %v, BalancerFailedEverywhere %v", res.LuaFailed, res.BalancerFailedEverywhere())
	}

	c = workerConfig(t, `require("app.peers").pick()`, 1)
	c.Lua.Modules = map[string]LuaSource{"app.peers": {Code: "local M = {}\n\nfunction M.pick()\n  return nil + 1\nend\nreturn M\n", File: "lua/app/peers.lua", Line: 1}}
	res = runCfg(t, c)
	if got := res.Requests[0].LuaError; !strings.Contains(got, "lua/app/peers.lua:4:") || !strings.Contains(got, "nil") {
		t.Errorf("module error %q, want lua/app/peers.lua:4: ... nil", got)
	}

	c = workerConfig(t, setPeer, 1)
	c.Lua.Init = []LuaSource{{Code: "\n\nerror('boom')", File: "conf/nginx.conf", Line: 3, Column: 20}}
	res = runCfg(t, c)
	if res.Worker.StartError == "" || !strings.Contains(res.Worker.StartError, "conf/nginx.conf:5:") || len(res.Requests) != 0 {
		t.Errorf("init error: %+v, %d requests", res.Worker, len(res.Requests))
	}
	if !res.BalancerFailedEverywhere() {
		t.Error("a worker that does not start is a failure everywhere")
	}
}

func TestMissingModule(t *testing.T) {
	c := workerConfig(t, `local c = require "resty.consul.client"`+setPeer, 1)
	c.Lua.PackagePath = "/opt/app/?.lua;;"
	c.Lua.MissingModules = map[string]string{"resty.consul.client": "/opt/app/resty/consul/client.lua\nlua/resty/consul/client.lua"}
	res := runCfg(t, c)
	got := res.Requests[0].LuaError
	for _, want := range []string{"module 'resty.consul.client' not found:", "no file '/opt/app/resty/consul/client.lua'", "nginx.conf:20:"} {
		if !strings.Contains(got+attemptLogs(res.Requests[0]), want) {
			t.Errorf("error %q lacks %q", got, want)
		}
	}
	if len(res.MissingModules) != 1 || len(res.Hints) == 0 || !strings.Contains(res.Hints[0], "emulate: modules") {
		t.Errorf("missing %v hints %v", res.MissingModules, res.Hints)
	}
	// A fixture stub lets it run.
	c.Fixtures.Modules = map[string]LuaSource{"resty.consul.client": {Code: "return {}", File: "stub.lua"}}
	res = runCfg(t, c)
	checkRequests(t, res, []want{{200, 1, 1, false}})
}

// TestOutsideRefused: cosockets and outside clients fail as a refused
// connection, nothing is dialled, and the Result lists them with
// positions; a balancer falling back on a fixture still runs.
func TestOutsideRefused(t *testing.T) {
	var dialled []string
	c := workerConfig(t, `
local peer = ngx.shared.peers:get("current") or "10.0.0.9"
assert(require('ngx.balancer').set_current_peer(peer, 80))`, 1)
	c.Lua.SharedDicts = map[string]int64{"peers": 1 << 20}
	c.Lua.InitWorker = []LuaSource{{Code: `
ngx.timer.at(0, function()
  local sock = ngx.socket.tcp()
  local ok, err = sock:connect("10.1.2.3", 8500)
  ngx.log(ngx.ERR, "connect: ", tostring(ok), " ", err)
  local httpc = require("resty.http").new()
  local res, err2 = httpc:request_uri("http://consul:8500/v1/catalog")
  ngx.log(ngx.ERR, "http: ", tostring(res), " ", err2)
  ngx.log(ngx.ERR, "env: ", tostring(os.getenv("CONSUL_ADDR")))
end)`, File: "nginx.conf", Line: 3}}
	c.observeDial = func(a string) { dialled = append(dialled, a) }
	res := runCfg(t, c)
	wl := strings.Join(res.Worker.Log, "\n")
	for _, want := range []string{"connect: nil connection refused", "http: nil connection refused", "env: nil"} {
		if !strings.Contains(wl, want) {
			t.Errorf("worker log lacks %q:\n%s", want, wl)
		}
	}
	var whats []string
	for _, d := range res.ExternalDeps {
		whats = append(whats, d.What+" @"+d.Where)
	}
	joined := strings.Join(whats, "\n")
	for _, want := range []string{"connect 10.1.2.3:8500 @nginx.conf:6", "resty.http request_uri http://consul:8500/v1/catalog @nginx.conf:9", "os.getenv CONSUL_ADDR"} {
		if !strings.Contains(joined, want) {
			t.Errorf("external deps lack %q:\n%s", want, joined)
		}
	}
	for _, a := range dialled {
		if !isLoopbackAddr(a) {
			t.Errorf("dialled %s", a)
		}
	}
	// In the balancer, cosockets are disabled by phase.
	c = workerConfig(t, `local s = ngx.socket.tcp()`, 1)
	res = runCfg(t, c)
	if got := res.Requests[0].LuaError; !strings.Contains(got, "API disabled in the context of balancer_by_lua*") {
		t.Errorf("cosocket in balancer: %q", got)
	}
	// Fixtures fill the dict and the environment.
	c = workerConfig(t, `
local peer = ngx.shared.peers:get("current")
assert(os.getenv("MODE") == "blue")
assert(require('ngx.balancer').set_current_peer(peer, 80))`, 1)
	c.Lua.SharedDicts = map[string]int64{"peers": 1 << 20}
	c.Fixtures.SharedDicts = map[string]map[string]string{"peers": {"current": "10.0.0.7"}}
	c.Fixtures.Env = map[string]string{"MODE": "blue"}
	res = runCfg(t, c)
	checkRequests(t, res, []want{{200, 1, 1, false}})
	if p := res.Requests[0].Attempts[0].Peer; p != "10.0.0.7:80" {
		t.Errorf("peer %s", p)
	}
}

// TestRequestHeadersAndVars: headers of the request syntax reach
// ngx.var.http_*, cookies, args, ngx.req.get_headers and the backend.
func TestRequestHeadersAndVars(t *testing.T) {
	rs, err := ParseRequests("GET /api/v1?x=1&y=two Host:api.example.com:8080 X-Token:abc Cookie:sid=42;lang=en, POST /b")
	if err != nil {
		t.Fatal(err)
	}
	c := workerConfig(t, `
local v = ngx.var
assert(v.host == "api.example.com", v.host)
assert(v.http_x_token == "abc", tostring(v.http_x_token))
assert(v.cookie_sid == "42" and v.cookie_lang == "en")
assert(v.arg_y == "two" and v.args == "x=1&y=two" and v.uri == "/api/v1")
assert(v.request_method == "GET" and v.remote_addr == "127.0.0.1")
assert(v.backend_pool == "blue", tostring(v.backend_pool))
assert(ngx.req.get_headers()["X_Token"] == "abc")
assert(ngx.req.get_uri_args().x == "1")
assert(v.nonexistent == nil)
v.backend_pool = "green"
assert(v.backend_pool == "green")
local ok, err = pcall(function() v.undeclared = "x" end)
assert(not ok and err:find('variable "undeclared" not found for writing', 1, true), err)
ok, err = pcall(function() v.uri = "/x" end)
assert(not ok and err:find('variable "uri" not changeable', 1, true), err)`+setPeer, 0)
	c.Requests = rs[:1]
	c.Lua.Vars = map[string]string{"backend_pool": "blue"}
	res := runCfg(t, c)
	checkRequests(t, res, []want{{200, 1, 1, false}})
	if res.Requests[0].LuaError != "" {
		t.Fatal(res.Requests[0].LuaError)
	}
	for _, bad := range []string{"GET /a Token", "GET /a :v", "G(T /a", "GET a"} {
		if _, err := ParseRequests(bad); err == nil {
			t.Errorf("ParseRequests(%q): no error", bad)
		}
	}
	if rs[1].Method != "POST" || rs[1].Path != "/b" || len(rs[0].Headers) != 3 || rs[0].Headers[0] != (Header{"Host", "api.example.com:8080"}) {
		t.Errorf("parsed %+v", rs)
	}
}

// TestAccessPhase: access_by_lua that sets ctx and variables runs before
// the balancer; one that answers ends the request before the upstream.
func TestAccessPhase(t *testing.T) {
	c := workerConfig(t, `assert(require('ngx.balancer').set_current_peer(ngx.ctx.peer, 80))`, 1)
	c.Lua.Access = []LuaSource{{Code: `ngx.ctx.peer = "10.0.0.8"`, File: "nginx.conf", Line: 30}}
	res := runCfg(t, c)
	checkRequests(t, res, []want{{200, 1, 1, false}})
	if p := res.Requests[0].Attempts[0].Peer; p != "10.0.0.8:80" {
		t.Errorf("peer %s", p)
	}
	c.Lua.Access = []LuaSource{{Code: `if ngx.var.http_x_token ~= "ok" then return ngx.exit(403) end`, File: "nginx.conf", Line: 30}}
	res = runCfg(t, c)
	q := res.Requests[0]
	if q.Status.Code != 403 || len(q.Attempts) != 0 || q.UpstreamConnections != 0 || !strings.Contains(q.AnsweredBy, "access_by_lua* ngx.exit(403)") {
		t.Errorf("answered: %+v", q)
	}
	if res.BalancerFailedEverywhere() {
		t.Error("an access phase answering is not a Lua failure")
	}
}

func TestSharedDictAPI(t *testing.T) {
	c := workerConfig(t, `
local d = ngx.shared.cache
assert(d:set("a", 1) == true)
local ok, err = d:add("a", 2) assert(ok == false and err == "exists", err)
ok, err = d:replace("zz", 1) assert(ok == false and err == "not found")
assert(d:incr("a", 5) == 6)
local v, e2 = d:incr("nope", 1) assert(v == nil and e2 == "not found")
assert(d:incr("nope", 1, 10) == 11)
assert(d:lpush("l", "x") == 1 and d:rpush("l", "y") == 2 and d:llen("l") == 2)
assert(d:lpop("l") == "x" and d:rpop("l") == "y")
local _, e3 = d:lpush("a", "x") assert(e3 == "value not a list")
d:set("f", "v", 0, 7) local fv, flags = d:get("f") assert(fv == "v" and flags == 7)
assert(d:ttl("a") == 0) assert(d:expire("a", 100)) assert(d:ttl("a") > 99)
local _, e4 = d:set(nil, 1) assert(e4 == "nil key")
local _, e5 = d:get("") assert(e5 == "empty key")
assert(select(2, d:set("t", {})) == "bad value type")
assert(d:capacity() == 1048576)
d:delete("f") assert(d:get("f") == nil)
assert(#d:get_keys() == 2)
d:flush_all() assert(d:get("a") == nil)
assert(ngx.shared.undeclared == nil)
`+setPeer, 1)
	c.Lua.SharedDicts = map[string]int64{"cache": 1 << 20}
	res := runCfg(t, c)
	if e := res.Requests[0].LuaError; e != "" {
		t.Fatal(e)
	}
}

func TestBuiltinModules(t *testing.T) {
	c := workerConfig(t, `
local cjson = require "cjson"
assert(cjson.encode({1, 2, 3}) == "[1,2,3]")
assert(cjson.encode({}) == "{}")
assert(cjson.encode({a = 1, b = "x/y"}) == '{"a":1,"b":"x\\/y"}')
assert(cjson.encode(1/3) == "0.33333333333333")
assert(cjson.encode({[1] = 1, [3] = 3}) == "[1,null,3]")
local ok, err = pcall(cjson.encode, {[1] = 1, [20] = 3})
assert(not ok and err:find("Cannot serialise table: excessively sparse array", 1, true), err)
local t = cjson.decode('{"a":[1,2,{"b":null}],"c":1.5e3}')
assert(t.a[3].b == cjson.null and t.c == 1500 and cjson.null == ngx.null)
ok, err = pcall(cjson.decode, "{")
assert(err:find("Expected object key string but found T_END at character 2", 1, true), err)
local safe = require "cjson.safe"
local v, e = safe.decode("[1,]")
assert(v == nil and e == "Expected value but found T_ARR_END at character 4", e)

local m = ngx.re.match("/api/v2/users", [[^/api/v(\d+)/(?<res>\w+)]], "jo")
assert(m[0] == "/api/v2/users" and m[1] == "2" and m.res == "users")
local from, to = ngx.re.find("hello world", "wor", "jo") assert(from == 7 and to == 9)
local s, n = ngx.re.gsub("a1b2", "[0-9]", "<$0>") assert(s == "a<1>b<2>" and n == 2)
local r, rerr = ngx.re.match("abc", "(?<=a)b")
assert(r == nil and rerr:find("lookbehind", 1, true), rerr)
local parts = require("ngx.re").split("a,b,,c", ",")
assert(#parts == 4 and parts[3] == "")

local bit = require "bit"
assert(bit.band(0xffffffff, 0xff) == 255 and bit.bor(0x80000000, 0) == -2147483648)
assert(bit.tohex(255, 4) == "00ff" and bit.lshift(1, 31) == -2147483648 and bit.rshift(-1, 28) == 15)

local lru = require("resty.lrucache").new(2)
lru:set("a", 1) lru:set("b", 2) lru:get("a") lru:set("c", 3)
assert(lru:get("a") == 1 and lru:get("b") == nil and lru:get("c") == 3)

local rr = require("resty.roundrobin"):new({["10.0.0.1:80"] = 2, ["10.0.0.2:80"] = 1})
local seen = {} for i = 1, 6 do local k = rr:find() seen[k] = (seen[k] or 0) + 1 end
assert(seen["10.0.0.1:80"] == 4 and seen["10.0.0.2:80"] == 2)

local ch = require("resty.chash"):new({a = 1, b = 1, c = 1})
assert(ch:find("key1") == ch:find("key1"))

local up = require "ngx.upstream"
local srv = up.get_servers("lua")
assert(srv[1].addr == "0.0.0.1:80" and srv[1].weight == 1)
local _, uerr = up.get_servers("nope") assert(uerr == "upstream not found")
assert(ngx.crc32_long("hello") == 907060870)
assert(ngx.md5("") == "d41d8cd98f00b204e9800998ecf8427e")
assert(ngx.encode_base64("hi") == "aGk=" and ngx.decode_base64("aGk=") == "hi")
assert(ngx.escape_uri("a b/c") == "a%20b%2Fc" and ngx.unescape_uri("a%20b+c") == "a b c")
assert(ngx.encode_args({b = "2", a = true}) == "a&b=2")
assert(ngx.quote_sql_str("it's") == "'it\\'s'")
assert(ngx.http_time(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
assert(require("table.new")(4, 4) and require("resty.core"))
local ok2, e6 = pcall(ngx.sleep, 1)
assert(not ok2 and e6:find("API disabled in the context of balancer_by_lua*", 1, true))
`+setPeer, 1)
	res := runCfg(t, c)
	if e := res.Requests[0].LuaError; e != "" {
		t.Fatalf("%s\n%s", e, attemptLogs(res.Requests[0]))
	}
}

func TestIOOpenInTree(t *testing.T) {
	c := workerConfig(t, `
local f = assert(io.open(ngx.config.prefix() .. "conf/peers.txt"))
local peer = f:read("*l") f:close()
local g, err = io.open("/etc/passwd")
assert(g == nil and err:find("No such file", 1, true))
assert(io.open("conf/.env") == nil)
assert(io.open("/outside.txt"))
assert(io.open("/etc/app/peers.txt"))
assert(io.open("../../../../../../outside.txt"))
assert(io.open("conf/peers.txt", "w") == nil)
assert(require('ngx.balancer').set_current_peer(peer, 80))`, 1)
	c.Lua.Files = fstest.MapFS{"app/conf/peers.txt": {Data: []byte("10.0.0.4\n")}, "app/conf/.env": {Data: []byte("SECRET=1")}, "outside.txt": {Data: []byte("x")}}
	c.Lua.Prefix = "app"
	c.Lua.PathMap = []PathMapping{{From: "/etc/app", To: "app/conf"}}
	res := runCfg(t, c)
	if e := res.Requests[0].LuaError; e != "" {
		t.Fatal(e)
	}
	if p := res.Requests[0].Attempts[0].Peer; p != "10.0.0.4:80" {
		t.Errorf("peer %s", p)
	}
}
