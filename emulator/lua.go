package emulator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"regexp"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint/internal/luadepth"
	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// This file runs the user's balancer_by_lua* code in gopher-lua, inside a
// sandbox, with the parts of the ngx API a balancer uses, by
// lua-nginx-module version.
//
// Sandbox: only the base library (without dofile, loadfile, load,
// loadstring, module, getfenv, setfenv, collectgarbage, newproxy), table,
// string (without dump) and math are opened; require knows only the
// emulated modules. Each run has a deadline (Config.LuaTimeout) enforced
// through the LState context, a bounded call stack and data stack, builtins
// that could allocate unbounded memory in one call are wrapped with size
// limits, a watchdog cancels the run when the heap grows by more than
// luaMemoryLimit, and what the VM keeps across runs is bounded by
// luaVMMemoryLimit (luamem.go). What one instruction or builtin call could do before
// either check runs is bounded in luasafe.go.

const (
	luaMaxString   = 4 << 20  // string.rep / gsub / table.concat result bound
	luaMemoryLimit = 64 << 20 // heap growth allowed during one balancer run
	luaMaxLogLines = 50       // ngx.log lines kept per attempt
	luaMaxLogLine  = 512      // bytes kept per log line
	luaCallStack   = 200
	luaRegistry    = 1 << 14
	luaRegistryMax = 1 << 18
)

var errLuaMemory = errors.New("balancer code exceeded the memory bound")

// luaEngine is one Lua VM (one nginx worker's), used for every attempt of
// every client request of a Run.
type luaEngine struct {
	r     *run
	L     *lua.LState
	proto *lua.FunctionProto
	g     *lua.LTable // sandbox globals
	ngx   *lua.LTable
	bal   *lua.LTable // the ngx.balancer module

	// The request and attempt being run and the phase (a context name as
	// in "API disabled in the context of ..."); set around each call.
	u      *ureq
	a      *Attempt
	phase  string
	exited bool
	exitRC int
	nlog   int
	// answered / answerStatus: a rewrite or access chunk ended the
	// request itself (ngx.exit >= 200, ngx.say, ngx.redirect, ngx.exec).
	answered     string
	answerStatus int

	// The worker (luaworker.go): its start-up result, package.loaded, the
	// marker of a module being loaded, compiled modules and phase code,
	// pending timers, what the code tried to reach outside, modules that
	// were required and not found.
	worker      *WorkerResult
	loaded      *lua.LTable
	loadingMark *lua.LUserData
	modProtos   map[string]*lua.FunctionProto
	rewrite     []*lua.FunctionProto
	preread     []*lua.FunctionProto
	access      []*lua.FunctionProto
	timers      []luaTimer
	external    []ExternalDep
	missingMods []string
	cjson       *lua.LTable
	re          *lua.LTable
	reCache     map[string]*regexp.Regexp
	cjsonSafe   *lua.LTable

	// restyCore: lua-resty-core is loaded in this VM, so ngx.exit is the
	// FFI one (Config.RestyCoreLoaded, LNM >= 0.10.16, or a require run by
	// the balancer code).
	restyCore bool

	// What the VM may hold across runs (luamem.go): vmBase is its
	// footprint when created, vmLimit the growth allowed on top, and
	// vmErr, once set, fails every later run before it starts.
	vmBase  int64
	vmLimit int64
	vmErr   error
	// The last walk's total and the process's cumulative allocation count
	// when it started: walks are skipped while they cannot find the bound
	// crossed (luamem.go, mayExceed).
	vmHeld    int64
	vmAllocAt uint64
}

// luaPeer is ngx_http_lua_balancer_peer_data_t: per client request.
type luaPeer struct {
	sockaddr   string
	name       string
	host       string
	portZero   bool
	moreTries  uint64
	totalTries uint64
	lastState  int
	keepalive  bool
	kaIdle     time.Duration
	kaMaxReq   int
}

// compileLua parses and compiles the balancer code once per Run, as nginx
// does at configuration load; a syntax error is a configuration error. A
// panic anywhere in parsing, hardening or compiling is turned into an
// error too: the code comes from the configuration under test.
func compileLua(src, name string) (proto *lua.FunctionProto, err error) {
	return compileLuaAt(src, name, 0)
}

// compileLuaAt is compileLua for code whose first line is line lines+1 of
// the file named name: parse errors and the compiled code's line numbers
// name that line.
func compileLuaAt(src, name string, lines int) (proto *lua.FunctionProto, err error) {
	if name == "" {
		name = "balancer_by_lua"
	}
	defer func() {
		if p := recover(); p != nil {
			proto, err = nil, fmt.Errorf("failed to compile Lua code %s: %v", name, p)
		}
	}()
	chunk, err := parse.Parse(strings.NewReader(src), name)
	if err != nil {
		var perr *parse.Error
		if errors.As(err, &perr) && perr.Pos.Line > 0 {
			perr.Pos.Line += lines
		}
		return nil, fmt.Errorf("failed to load inlined Lua code %s: %w", name, err)
	}
	// gopher-lua's compiler and hardenChunk recurse once per level of the
	// tree: a deep enough chunk would exhaust the Go stack, a fatal error
	// no recover catches. LuaJIT refuses such code too.
	if err := luadepth.Check(chunk, luadepth.Limit); err != nil {
		var deep *luadepth.TooDeepError
		if errors.As(err, &deep) {
			deep.Line += lines
		}
		return nil, fmt.Errorf("failed to load inlined Lua code %s: %w", name, err)
	}
	luadepth.ShiftLines(chunk, lines)
	hardenChunk(chunk)
	proto, err = lua.Compile(chunk, name)
	if err != nil {
		return nil, fmt.Errorf("failed to compile Lua code %s: %w", name, err)
	}
	return proto, nil
}

func newLuaEngine(r *run, proto *lua.FunctionProto) *luaEngine {
	L := lua.NewState(lua.Options{
		SkipOpenLibs:        true,
		CallStackSize:       luaCallStack,
		RegistrySize:        luaRegistry,
		RegistryMaxSize:     luaRegistryMax,
		MinimizeStackMemory: true,
	})
	// lua-nginx-module >= 0.10.16 cannot run without lua-resty-core and
	// loads it at start-up (OpenResty bundles from 1.15.8.1).
	e := &luaEngine{r: r, L: L, proto: proto,
		restyCore: r.cfg.RestyCoreLoaded || r.prof.LNM.AtLeast("0.10.16")}
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	g := L.G.Global
	for _, name := range []string{"dofile", "loadfile", "load", "loadstring", "module", "getfenv", "setfenv",
		"collectgarbage", "newproxy", "_printregs", "_GOPHER_LUA_VERSION", "require", "print"} {
		g.RawSetString(name, lua.LNil)
	}
	e.g = g
	e.modProtos = map[string]*lua.FunctionProto{}
	e.loadingMark = L.NewUserData()
	e.wrapBuiltins()
	e.installHardening()
	e.ngx = e.buildNgx()
	g.RawSetString("ngx", e.ngx)
	e.bal = e.buildBalancer()
	g.RawSetString("require", L.NewFunction(e.require))
	g.RawSetString("print", L.NewFunction(func(L *lua.LState) int {
		e.log(6, argsString(L, 1))
		return 0
	}))
	e.installShared()
	e.installWorkerAPI()
	// collectgarbage is harmless and common in init code; the sandbox
	// keeps its own memory bounds, so every option is a no-op and
	// "count" reports nothing.
	g.RawSetString("collectgarbage", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(0))
		return 1
	}))
	e.vmLimit = luaVMMemoryLimit
	if r.cfg.luaVMMemory > 0 {
		e.vmLimit = r.cfg.luaVMMemory
	}
	e.vmAllocAt = heapAllocs()
	e.vmBase = e.footprint(nil, math.MaxInt64)
	e.vmHeld = e.vmBase
	return e
}

func (e *luaEngine) close() { e.L.Close() }

// wrapBuiltins bounds the builtins that can allocate without limit in a
// single call, where the per-instruction deadline check cannot stop them.
func (e *luaEngine) wrapBuiltins() {
	L := e.L
	str, _ := e.g.RawGetString("string").(*lua.LTable)
	if str == nil {
		return
	}
	str.RawSetString("dump", lua.LNil)
	// string.sub returns a slice of its argument in gopher-lua; a copy
	// keeps a short result from holding a long string that the VM's
	// memory accounting (luamem.go) would not see.
	sub := str.RawGetString("sub").(*lua.LFunction)
	str.RawSetString("sub", L.NewFunction(func(L *lua.LState) int {
		n := callGo(L, sub)
		if r, ok := L.Get(-1).(lua.LString); ok && n == 1 && len(r) < len(L.CheckString(1)) {
			L.Replace(-1, lua.LString(strings.Clone(string(r))))
		}
		return n
	}))
	rep := str.RawGetString("rep").(*lua.LFunction)
	str.RawSetString("rep", L.NewFunction(func(L *lua.LState) int {
		s := L.CheckString(1)
		n := L.CheckInt(2)
		if n > 0 && (len(s) == 0 && n > luaMaxString || len(s) > 0 && n > luaMaxString/len(s)) {
			L.RaiseError("resulting string too large")
		}
		return callGo(L, rep)
	}))
	tbl, _ := e.g.RawGetString("table").(*lua.LTable)
	if tbl == nil {
		return
	}
	concat := tbl.RawGetString("concat").(*lua.LFunction)
	tbl.RawSetString("concat", L.NewFunction(func(L *lua.LState) int {
		t := L.CheckTable(1)
		sep := len(L.OptString(2, ""))
		i := L.OptInt(3, 1)
		j := L.OptInt(4, t.Len())
		if j-i > luaMaxString {
			L.RaiseError("resulting string too large")
		}
		total := 0
		for k := i; k <= j; k++ {
			switch v := t.RawGetInt(k).(type) {
			case lua.LString:
				total += len(v) + sep
			case lua.LNumber:
				total += 24 + sep
			}
			if total > luaMaxString {
				L.RaiseError("resulting string too large")
			}
		}
		return callGo(L, concat)
	}))
}

// callGo calls a Go builtin with the current arguments and returns its
// results.
func callGo(L *lua.LState, fn *lua.LFunction) int {
	n := L.GetTop()
	L.Push(fn)
	for i := 1; i <= n; i++ {
		L.Push(L.Get(i))
	}
	L.Call(n, lua.MultRet)
	return L.GetTop() - n
}

// checkFormat enforces Lua 5.1's limit of two digits for a format's width
// and precision ("invalid format (width or precision too long)").
func checkFormat(f string) string {
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
			i++
		}
		d := 0
		for i < len(f) && f[i] >= '0' && f[i] <= '9' {
			i, d = i+1, d+1
		}
		if d > 2 {
			return "invalid format (width or precision too long)"
		}
		if i < len(f) && f[i] == '.' {
			i++
			d = 0
			for i < len(f) && f[i] >= '0' && f[i] <= '9' {
				i, d = i+1, d+1
			}
			if d > 2 {
				return "invalid format (width or precision too long)"
			}
		}
	}
	return ""
}

func argsString(L *lua.LState, from int) string {
	var b strings.Builder
	for i := from; i <= L.GetTop(); i++ {
		v := L.Get(i)
		switch v.Type() {
		case lua.LTString, lua.LTNumber:
			b.WriteString(v.String())
		case lua.LTNil:
			b.WriteString("nil")
		case lua.LTBool:
			b.WriteString(v.String())
		default:
			b.WriteString(v.Type().String())
		}
		if b.Len() > luaMaxLogLine {
			break
		}
	}
	s := b.String()
	if len(s) > luaMaxLogLine {
		s = s[:luaMaxLogLine] + "..."
	}
	return s
}

var logLevels = []string{"stderr", "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"}

func (e *luaEngine) log(level int, msg string) {
	sink := e.logSink()
	if sink == nil {
		return
	}
	e.nlog++
	if e.nlog > luaMaxLogLines {
		if e.nlog == luaMaxLogLines+1 {
			*sink = append(*sink, "(further ngx.log lines dropped)")
		}
		return
	}
	name := "level" + strconv.Itoa(level)
	if level >= 0 && level < len(logLevels) {
		name = logLevels[level]
	}
	line := fmt.Sprintf("[%s] [lua] %s", name, msg)
	if e.a == nil && e.phase != "" {
		line += ", context: " + e.phase
	}
	*sink = append(*sink, line)
}

// logSink is where ngx.log writes: the attempt being run, else the
// request's own log (rewrite / access), else the worker's start-up log.
func (e *luaEngine) logSink() *[]string {
	switch {
	case e.a != nil:
		return &e.a.Log
	case e.u != nil:
		return &e.u.log
	case e.worker != nil:
		return &e.worker.Log
	}
	return nil
}

// luaVersionNumber is ngx.config.ngx_lua_version: 0.10.26 -> 10026.
func luaVersionNumber(parts [3]int) int { return parts[0]*1000000 + parts[1]*1000 + parts[2] }

func versionParts(s string) [3]int {
	var p [3]int
	for i, f := range strings.SplitN(s, ".", 4) {
		if i >= 3 {
			break
		}
		j := 0
		for j < len(f) && f[j] >= '0' && f[j] <= '9' {
			j++
		}
		p[i], _ = strconv.Atoi(f[:j])
	}
	return p
}

func (e *luaEngine) buildNgx() *lua.LTable {
	L := e.L
	ngx := L.NewTable()
	consts := map[string]int{
		"OK": 0, "ERROR": -1, "AGAIN": -2, "DONE": -4, "DECLINED": -5,
		"STDERR": 0, "EMERG": 1, "ALERT": 2, "CRIT": 3, "ERR": 4, "WARN": 5, "NOTICE": 6, "INFO": 7, "DEBUG": 8,
		"HTTP_OK": 200, "HTTP_CREATED": 201, "HTTP_NO_CONTENT": 204, "HTTP_MOVED_PERMANENTLY": 301,
		"HTTP_MOVED_TEMPORARILY": 302, "HTTP_NOT_MODIFIED": 304, "HTTP_BAD_REQUEST": 400,
		"HTTP_UNAUTHORIZED": 401, "HTTP_FORBIDDEN": 403, "HTTP_NOT_FOUND": 404, "HTTP_NOT_ALLOWED": 405,
		"HTTP_TOO_MANY_REQUESTS": 429, "HTTP_INTERNAL_SERVER_ERROR": 500, "HTTP_BAD_GATEWAY": 502,
		"HTTP_SERVICE_UNAVAILABLE": 503, "HTTP_GATEWAY_TIMEOUT": 504,
	}
	for k, v := range consts {
		ngx.RawSetString(k, lua.LNumber(v))
	}
	ngx.RawSetString("null", L.NewUserData())
	ngx.RawSetString("log", L.NewFunction(func(L *lua.LState) int {
		lvl := L.CheckInt(1)
		if lvl < 0 || lvl > 8 {
			L.ArgError(1, "bad log level")
		}
		e.log(lvl, argsString(L, 2))
		return 0
	}))
	ngx.RawSetString("now", L.NewFunction(func(L *lua.LState) int {
		t := e.r.now()
		L.Push(lua.LNumber(float64(t.UnixMilli()) / 1000))
		return 1
	}))
	ngx.RawSetString("time", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(e.r.now().Unix()))
		return 1
	}))
	ngx.RawSetString("update_time", L.NewFunction(func(L *lua.LState) int { return 0 }))
	disabled := L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("API disabled in the context of balancer_by_lua*")
		return 0
	})
	for _, n := range []string{"sleep", "say", "print", "exec", "redirect", "flush", "eof"} {
		ngx.RawSetString(n, disabled)
	}
	ngx.RawSetString("exit", L.NewFunction(e.ngxExit))

	np := versionParts(e.r.prof.Nginx.String())
	lp := versionParts(e.r.prof.LNM.String())
	cfg := L.NewTable()
	cfg.RawSetString("nginx_version", lua.LNumber(luaVersionNumber(np)))
	cfg.RawSetString("ngx_lua_version", lua.LNumber(luaVersionNumber(lp)))
	cfg.RawSetString("subsystem", lua.LString("http"))
	cfg.RawSetString("debug", lua.LFalse)
	cfg.RawSetString("is_console", lua.LFalse)
	cfg.RawSetString("prefix", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("/usr/local/openresty/nginx/"))
		return 1
	}))
	ngx.RawSetString("config", cfg)

	worker := L.NewTable()
	for k, v := range map[string]int{"id": 0, "pid": 4242, "count": 1} {
		v := v
		worker.RawSetString(k, L.NewFunction(func(L *lua.LState) int { L.Push(lua.LNumber(v)); return 1 }))
	}
	worker.RawSetString("exiting", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LFalse); return 1 }))
	ngx.RawSetString("worker", worker)

	return ngx
}

// ngxExit is ngx.exit in the balancer. LNM's ffi exit returns NGX_DONE in
// the balancer context, so resty.core's ngx.exit simply returns and the
// code after it still runs; get_peer then looks at the recorded code.
func (e *luaEngine) ngxExit(L *lua.LState) int {
	code := L.CheckInt(1)
	// Before v0.10.3 the FFI exit (ngx_http_lua_ffi_exit, what resty.core
	// installs as ngx.exit) did not list the balancer context, so the call
	// was rejected; the C ngx_http_lua_ngx_exit of v0.10.0-v0.10.2 already
	// accepted it (22566ed9, LNM-EXIT-FFI).
	if e.restyCore && e.r.prof.LNM.Less("0.10.3") {
		L.RaiseError("API disabled in the context of balancer_by_lua*")
	}
	if code == ngxAgain || code == ngxDone {
		L.RaiseError("bad argument to 'ngx.exit': does not accept NGX_AGAIN or NGX_DONE")
	}
	e.exited = true
	e.exitRC = code
	return 0
}

// buildBalancer builds ngx.balancer with the functions lua-resty-core had
// for the emulated version; a missing one is nil, so calling it raises
// "attempt to call a nil value", as it would.
func (e *luaEngine) buildBalancer() *lua.LTable {
	if e.r.stream {
		return e.buildStreamBalancer()
	}
	L := e.L
	lnm := e.r.prof.LNM
	m := L.NewTable()
	m.RawSetString("version", lua.LString(e.r.prof.LNM.String()))
	m.RawSetString("set_current_peer", L.NewFunction(e.setCurrentPeer))
	m.RawSetString("set_more_tries", L.NewFunction(e.setMoreTries))
	m.RawSetString("get_last_failure", L.NewFunction(e.getLastFailure))
	if lnm.AtLeast("0.10.6") {
		m.RawSetString("set_timeouts", L.NewFunction(e.setTimeouts))
	}
	if lnm.AtLeast("0.10.18") {
		m.RawSetString("recreate_request", L.NewFunction(func(L *lua.LState) int {
			L.Push(lua.LTrue)
			return 1
		}))
	}
	if lnm.AtLeast("0.10.27") {
		m.RawSetString("enable_keepalive", L.NewFunction(e.enableKeepalive))
		m.RawSetString("set_upstream_tls", L.NewFunction(func(L *lua.LState) int {
			L.Push(lua.LTrue)
			return 1
		}))
		m.RawSetString("bind_to_local_addr", L.NewFunction(func(L *lua.LState) int {
			L.CheckString(1)
			L.Push(lua.LTrue)
			return 1
		}))
	}
	return m
}

func (e *luaEngine) setCurrentPeer(L *lua.LState) int {
	if e.u == nil {
		L.RaiseError("no request found")
	}
	addr, ok := L.Get(1).(lua.LString)
	if !ok {
		L.RaiseError("attempt to get length of local 'addr' (a %s value)", L.Get(1).Type())
	}
	port := 0
	switch p := L.Get(2).(type) {
	case lua.LNumber:
		port = int(p)
	case lua.LString:
		if n, err := strconv.Atoi(string(p)); err == nil {
			port = n
		}
	}
	host := ""
	if e.r.prof.LNM.AtLeast("0.10.27") {
		switch h := L.Get(3).(type) {
		case lua.LString:
			host = string(h)
		case *lua.LNilType:
		default:
			L.RaiseError("bad argument #3 to 'set_current_peer' (string expected, got %s)", h.Type())
		}
	}
	key, zero, err := parsePeerAddr(string(addr), port)
	if err != "" {
		L.Push(lua.LNil)
		L.Push(lua.LString(err))
		return 2
	}
	bp := &e.u.bp
	bp.sockaddr, bp.name, bp.host, bp.portZero = key, string(addr), host, zero
	L.Push(lua.LTrue)
	return 1
}

// parsePeerAddr is ngx_parse_url with no_resolve: an IP literal (with an
// optional port) or a unix: path; a host name gives "no host allowed".
func parsePeerAddr(a string, port int) (key string, portZero bool, err string) {
	if strings.HasPrefix(a, "unix:") {
		return a, false, ""
	}
	if port < 0 || port > 65535 {
		return "", false, "invalid port"
	}
	host, p := a, port
	if ip := net.ParseIP(strings.Trim(a, "[]")); ip == nil {
		h, ps, e := net.SplitHostPort(a)
		if e != nil {
			return "", false, "no host allowed"
		}
		n, e := strconv.Atoi(ps)
		if e != nil || n < 1 || n > 65535 {
			return "", false, "invalid port"
		}
		host, p = h, n
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	if ip == nil {
		return "", false, "no host allowed"
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(p)), p == 0, ""
}

// setMoreTries is ngx_http_lua_ffi_balancer_set_more_tries, with nginx's
// unsigned arithmetic: count is a C int, more_tries and the tries counters
// are ngx_uint_t.
func (e *luaEngine) setMoreTries(L *lua.LState) int {
	if e.u == nil {
		L.RaiseError("no request found")
	}
	n := L.CheckNumber(1)
	count := int32(int64(n)) // the FFI converts the Lua number to a C int
	u := e.u
	bp := &u.bp
	maxTries := uint64(e.r.cfg.Location.NextUpstreamTries.V)
	if e.r.stream && !e.r.triesPatch {
		// stream-lua reads the limit only through OpenResty's nginx patch.
		maxTries = 0
	}
	var warn string
	if e.r.prof.LNM.Less("0.10.8") && !e.r.stream {
		// v0.10.0 .. v0.10.7 (fixed by da11870d, LNM-MORETRIES-ZERO-LIMIT):
		// the limit is compared even when it is 0 (unlimited), and the
		// remaining peer.tries are ignored.
		if bp.totalTries+uint64(int64(count)) > maxTries {
			count = int32(maxTries - bp.totalTries)
			warn = "reduced tries due to limit"
		}
	} else {
		// v0.10.8+: total = total_tries + tries - 1; once total exceeds the
		// limit (cached failures do not consume tries), max_tries - total is
		// negative and wraps when stored in more_tries (LNM-MORETRIES-WRAP,
		// PR #2524, not in the source history the knowledge file read).
		total := bp.totalTries + u.tries - 1
		if maxTries != 0 && total+uint64(int64(count)) > maxTries {
			count = int32(maxTries - total)
			warn = "reduced tries due to limit"
		}
	}
	bp.moreTries = uint64(int64(count))
	L.Push(lua.LTrue)
	if warn != "" {
		L.Push(lua.LString(warn))
		return 2
	}
	return 1
}

func (e *luaEngine) getLastFailure(L *lua.LState) int {
	if e.u == nil {
		L.RaiseError("no request found")
	}
	u := e.u
	if u.bp.lastState == 0 {
		L.Push(lua.LNil)
		return 1
	}
	name := "unknown"
	switch u.bp.lastState {
	case peerKeepalive:
		name = "keepalive"
	case peerNext:
		name = "next"
	case peerFailed:
		name = "failed"
	}
	status := 0
	if n := len(u.states); n > 1 {
		status = u.states[n-2]
	}
	L.Push(lua.LString(name))
	L.Push(lua.LNumber(status))
	return 2
}

func (e *luaEngine) setTimeouts(L *lua.LState) int {
	if e.u == nil {
		L.RaiseError("no request found")
	}
	var d [3]time.Duration
	for i, what := range []string{"connect", "send", "read"} {
		v := L.Get(i + 1)
		if v == lua.LNil {
			continue
		}
		n, ok := v.(lua.LNumber)
		if !ok || n <= 0 {
			L.RaiseError("bad %s timeout", what)
		}
		d[i] = time.Duration(float64(n) * float64(time.Second))
	}
	if d[0] > 0 {
		e.u.connectTimeout = d[0]
	}
	if d[1] > 0 {
		e.u.sendTimeout = d[1]
	}
	if d[2] > 0 {
		e.u.readTimeout = d[2]
	}
	L.Push(lua.LTrue)
	return 1
}

func (e *luaEngine) enableKeepalive(L *lua.LState) int {
	if e.u == nil {
		L.RaiseError("no request found")
	}
	idle := 60 * time.Second
	maxReq := 100
	switch v := L.Get(1).(type) {
	case *lua.LNilType:
	case lua.LNumber:
		if v < 0 {
			L.RaiseError("bad argument #1 to 'enable_keepalive' (expected >= 0)")
		}
		idle = time.Duration(float64(v) * float64(time.Second))
	default:
		L.RaiseError("bad argument #1 to 'enable_keepalive' (number expected, got %s)", v.Type())
	}
	switch v := L.Get(2).(type) {
	case *lua.LNilType:
	case lua.LNumber:
		if v < 0 {
			L.RaiseError("bad argument #2 to 'enable_keepalive' (expected >= 0)")
		}
		maxReq = int(v)
	default:
		L.RaiseError("bad argument #2 to 'enable_keepalive' (number expected, got %s)", v.Type())
	}
	bp := &e.u.bp
	if bp.sockaddr == "" {
		L.Push(lua.LNil)
		L.Push(lua.LString("no current peer set"))
		return 2
	}
	bp.keepalive, bp.kaIdle, bp.kaMaxReq = true, idle, maxReq
	L.Push(lua.LTrue)
	return 1
}

// luaRunResult is how one run of Lua code ended.
type luaRunResult struct {
	err     error  // Lua error, deadline or memory bound
	outcome string // OutcomeLuaError / OutcomeLuaTimeout / OutcomeLuaMemory when err != nil
	exited  bool
	exitRC  int
	// exitPhase: ngx.exit (or redirect, exec) ended a rewrite, access or
	// timer chunk; not an error.
	exitPhase bool
}

// run executes the balancer code once for attempt a of request u.
func (e *luaEngine) run(ctx context.Context, u *ureq, a *Attempt) luaRunResult {
	e.prepareRequest(u)
	fn := e.L.NewFunctionFromProto(e.proto)
	fn.Env = u.luaEnv
	return e.call(ctx, phBalancer, u, a, fn)
}

// call runs fn in phase for request u (nil outside a request) and
// attempt a (nil outside the balancer), under the run's deadline and the
// memory bounds.
func (e *luaEngine) call(ctx context.Context, phase string, u *ureq, a *Attempt, fn *lua.LFunction, args ...lua.LValue) luaRunResult {
	L := e.L
	if e.vmErr != nil {
		return luaRunResult{err: e.vmErr, outcome: OutcomeLuaMemory}
	}
	e.u, e.a, e.phase, e.exited, e.exitRC, e.nlog = u, a, phase, false, 0, 0
	defer func() { e.u, e.a, e.phase = nil, nil, "" }()
	if u == nil {
		// Outside a request ngx.ctx is a table of its own (init_worker's
		// fake request has one; init_by_lua's code rarely touches it).
		e.ngx.RawSetString("ctx", L.NewTable())
	}

	cctx, cancel := context.WithCancelCause(ctx)
	tctx, tcancel := context.WithTimeout(cctx, e.r.luaTimeout)
	defer tcancel()
	defer cancel(nil)
	stop := make(chan struct{})
	done := make(chan struct{})
	go memoryWatch(cancel, stop, done)
	L.SetContext(tctx)
	L.Push(fn)
	for _, v := range args {
		L.Push(v)
	}
	err := L.PCall(len(args), 0, nil)
	L.RemoveContext()
	close(stop)
	<-done
	L.SetTop(0)
	if u != nil {
		if c, ok := e.ngx.RawGetString("ctx").(*lua.LTable); ok {
			u.luaCtx = c // ngx.ctx = {...} replaces the request's table
		}
	}
	res := luaRunResult{exited: e.exited, exitRC: e.exitRC}
	if held, walked := e.heldAfterRun(u); walked && held > e.vmBase+e.vmLimit {
		// This run took the VM past its bound; the VM keeps that memory
		// until the Run ends, so no later run starts (luamem.go).
		e.vmErr = errLuaVMMemory{e.vmLimit}
		return luaRunResult{err: e.vmErr, outcome: OutcomeLuaMemory}
	}
	if err != nil && strings.Contains(err.Error(), exitSentinel) && ctx.Err() == nil && tctx.Err() == nil {
		res.exitPhase = true
		return res
	}
	if err != nil {
		res.err = err
		res.outcome = OutcomeLuaError
		switch {
		case errors.Is(context.Cause(cctx), errLuaMemory):
			res.outcome = OutcomeLuaMemory
			res.err = errLuaMemory
		case tctx.Err() != nil && ctx.Err() == nil:
			res.outcome = OutcomeLuaTimeout
			res.err = fmt.Errorf("the Lua code did not return within %s", e.r.luaTimeout)
			if phase == phBalancer {
				res.err = fmt.Errorf("balancer code did not return within %s", e.r.luaTimeout)
			}
			if strings.Contains(err.Error(), patternStopped) {
				// Say where the time went: in one pattern function call.
				res.err = fmt.Errorf("%s (%s in a string function)", res.err, patternStopped)
			}
		}
	}
	return res
}

// memoryWatch cancels the run when the heap grows by more than
// luaMemoryLimit while the balancer code runs.
func memoryWatch(cancel context.CancelCauseFunc, stop, done chan struct{}) {
	defer close(done)
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return sample[0].Value.Uint64()
	}
	base := read()
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if read() > base+luaMemoryLimit {
				cancel(errLuaMemory)
				return
			}
		}
	}
}
