package emulator

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// This file is the worker side of the Lua VM: the life of one nginx
// worker's VM before and around the balancer. Before the first request the
// http block's init_by_lua* chunks run (in nginx the master runs them and
// the workers inherit the VM at fork), then init_worker_by_lua*, then the
// timers init_worker created with a zero delay and the first tick of every
// ngx.timer.every, once each, in creation order (what a worker does in its
// first event loop iterations). Globals and package.loaded persist from
// there on, as in a real worker. For each request the location's
// rewrite_by_lua* and access_by_lua* run before the balancer, sharing the
// request's ngx.ctx and global environment with it.
//
// Every chunk and module is compiled with its lines at their place in the
// user's file (compileSource), so that a runtime error reads
// "nginx.conf:14: attempt to index a nil value" with the line of the
// user's file, for an inline block too. LuaJIT and gopher-lua report no
// column for runtime errors; syntax errors carry one.

// Context names as lua-nginx-module's ngx_http_lua_context_name() spells
// them in "API disabled in the context of %s".
const (
	phInit       = "init_by_lua*"
	phInitWorker = "init_worker_by_lua*"
	phTimer      = "ngx.timer"
	phRewrite    = "rewrite_by_lua*"
	phAccess     = "access_by_lua*"
	phBalancer   = "balancer_by_lua*"
	phPreread    = "preread_by_lua*"
)

// maxTimersRun bounds the timers run after init_worker.
const maxTimersRun = 100

// compileSource compiles one chunk so that its line numbers are those of
// the user's file: Code is preceded by as many newlines and blanks as put
// its first byte at File:Line:Column. The chunk is named by File (or by
// Name when File is empty).
func compileSource(src LuaSource, def string) (*lua.FunctionProto, error) {
	name := src.File
	code := src.Code
	lines := 0
	if name != "" {
		// The chunk is compiled at its place in the user's file: its
		// lines shifted after parsing (luadepth.ShiftLines), its first
		// line's column by padding.
		lines = max(src.Line-1, 0)
		if pad := max(src.Column-1, 0); pad > 0 {
			code = strings.Repeat(" ", pad) + code
		}
	} else {
		name = src.Name
	}
	if name == "" {
		name = def
	}
	return compileLuaAt(code, name, lines)
}

// timer is one ngx.timer.at / ngx.timer.every registration.
type luaTimer struct {
	fn    *lua.LFunction
	args  []lua.LValue
	delay float64
	every bool
	where string
}

// WorkerResult is what the worker's start-up (init_by_lua*,
// init_worker_by_lua*, its first timers) did.
type WorkerResult struct {
	// StartError is set when an init_by_lua* chunk failed: nginx would not
	// start ("init_by_lua error"), so no request was sent.
	StartError string `json:"start_error,omitempty"`
	// Errors are init_worker_by_lua* and timer errors: nginx logs them and
	// the worker goes on.
	Errors []string `json:"errors,omitempty"`
	// TimersRun counts the timers run after init_worker; TimersPending
	// those left (a positive delay, or created after start-up).
	TimersRun     int `json:"timers_run"`
	TimersPending int `json:"timers_pending"`
	// Log holds ngx.log lines of the start-up.
	Log []string `json:"-"`
}

// ExternalDep is one attempt of the Lua code to reach the outside world
// (a cosocket connect, resty.http, a subrequest, os.getenv of an unset
// name): the emulator refused it as a refused connection would fail, and
// what the peers depend on it is not observed.
type ExternalDep struct {
	What  string `json:"what"`
	Where string `json:"where"`
	Phase string `json:"phase"`
}

// startWorker runs the worker's start-up. It returns a non-nil error only
// for code that does not compile (a configuration error).
func (e *luaEngine) startWorker(ctx context.Context) (*WorkerResult, error) {
	w := &WorkerResult{}
	e.worker = w
	cfg := &e.r.cfg
	e.fillFixtureDicts()
	run := func(phase string, srcs []LuaSource) error {
		for _, s := range srcs {
			proto, err := compileSource(s, strings.TrimSuffix(phase, "*"))
			if err != nil {
				return err
			}
			fn := e.L.NewFunctionFromProto(proto)
			fn.Env = e.g
			res := e.call(ctx, phase, nil, nil, fn)
			if res.err != nil {
				msg := cleanLuaError(res.err.Error())
				if phase == phInit {
					w.StartError = "init_by_lua error: " + msg
					return nil
				}
				w.Errors = append(w.Errors, phase+" error: "+msg)
			}
		}
		return nil
	}
	if err := run(phInit, cfg.Lua.Init); err != nil {
		return w, err
	}
	if w.StartError != "" {
		return w, nil
	}
	if err := run(phInitWorker, cfg.Lua.InitWorker); err != nil {
		return w, err
	}
	// Timers due now, in creation order; timers they create wait.
	due := e.timers
	e.timers = nil
	for i, t := range due {
		if t.delay > 0 && !t.every || i >= maxTimersRun {
			e.timers = append(e.timers, t)
			continue
		}
		if t.every {
			// The first tick of ngx.timer.every comes after its delay;
			// it is run here as the worker's first state, and the timer
			// stays pending.
			e.timers = append(e.timers, t)
		}
		w.TimersRun++
		args := append([]lua.LValue{lua.LFalse}, t.args...) // premature = false
		res := e.call(ctx, phTimer, nil, nil, t.fn, args...)
		if res.err != nil {
			w.Errors = append(w.Errors, "lua entry thread aborted: runtime error: "+cleanLuaError(res.err.Error())+" (timer created at "+t.where+")")
		}
	}
	w.TimersPending = len(e.timers)
	return w, nil
}

// runPhase runs the location's rewrite or access code for request u. It
// returns a non-empty answer when the code ended the request itself
// (ngx.exit with a status, ngx.say, ngx.redirect, ngx.exec) and the status
// the client gets.
func (e *luaEngine) runPhase(u *ureq, phase string, proto *lua.FunctionProto) (answer string, status int, err error) {
	e.prepareRequest(u)
	fn := e.L.NewFunctionFromProto(proto)
	fn.Env = u.luaEnv
	e.answered, e.answerStatus = "", 0
	res := e.call(u.ctx, phase, u, nil, fn)
	if res.err != nil && !res.exitPhase {
		return "", 500, res.err
	}
	if res.exitPhase && e.answered == "" {
		// ngx.exit(ngx.OK) and friends end the phase handler only.
		return "", 0, nil
	}
	if e.answered != "" {
		return e.answered, e.answerStatus, nil
	}
	return "", 0, nil
}

// prepareRequest gives u its global environment and ngx.ctx on first use.
func (e *luaEngine) prepareRequest(u *ureq) {
	L := e.L
	if u.luaEnv == nil {
		// A fresh global environment per client request (falling back to
		// the shared globals), and a fresh ngx.ctx that persists across
		// the phases and attempts of this request.
		env := L.NewTable()
		mt := L.NewTable()
		mt.RawSetString("__index", e.g)
		L.SetMetatable(env, mt)
		u.luaEnv = env
		u.luaCtx = L.NewTable()
	}
	e.ngx.RawSetString("ctx", u.luaCtx)
}

// exitSentinel is raised by ngx.exit / ngx.redirect / ngx.exec in a
// rewrite or access phase to end the chunk, as the real calls do by
// yielding out of the request's coroutine.
const exitSentinel = "\x00ngxlint_exit"

// ---- require ----

// builtinModule builds one of the modules the emulator provides itself.
type builtinModule func(e *luaEngine) lua.LValue

// require is Lua 5.1's ll_require over the emulator's loaders:
// package.loaded first, then fixture stubs, then the modules of the
// checked tree (Config.Lua.Modules), then the modules the emulator
// provides (OpenResty's own and a few common libraries); anything else
// fails with Lua's "module 'x' not found:" and the paths tried.
func (e *luaEngine) require(L *lua.LState) int {
	name := L.CheckString(1)
	if v := e.loaded.RawGetString(name); v != lua.LNil && v != lua.LFalse {
		if v == e.loadingMark {
			L.RaiseError("loop or previous error loading module '%s'", name)
		}
		L.Push(v)
		return 1
	}
	src, ok := e.r.cfg.Fixtures.Modules[name]
	if !ok {
		src, ok = e.r.cfg.Lua.Modules[name]
	}
	if _, builtin := builtinModules[name]; !ok && !builtin {
		src, ok = e.searchModule(name)
	}
	var result lua.LValue = lua.LNil
	switch {
	case ok:
		proto, err := e.moduleProto(name, src)
		if err != nil {
			L.RaiseError("error loading module '%s' from file '%s':\n\t%s", name, src.File, err.Error())
		}
		fn := L.NewFunctionFromProto(proto)
		fn.Env = e.g
		e.loaded.RawSetString(name, e.loadingMark)
		L.Push(fn)
		L.Push(lua.LString(name))
		if err := L.PCall(1, 1, nil); err != nil {
			e.loaded.RawSetString(name, lua.LNil)
			// Re-raise the module's own error unchanged: it already
			// names the module file's line.
			var ae *lua.ApiError
			if errors.As(err, &ae) && ae.Object != nil {
				L.Error(ae.Object, 0)
			}
			L.RaiseError("%s", err.Error())
		}
		result = L.Get(-1)
		L.Pop(1)
	default:
		b, isBuiltin := builtinModules[name]
		if !isBuiltin {
			e.missing(L, name)
		}
		if name == "resty.core" {
			// Loading resty.core replaces ngx.exit with the FFI version
			// for the rest of the worker's life.
			e.restyCore = true
		}
		result = b(e)
	}
	if cur := e.loaded.RawGetString(name); result == lua.LNil && cur != e.loadingMark && cur != lua.LNil {
		// The module stored itself in package.loaded.
		result = cur
	}
	if result == lua.LNil {
		result = lua.LTrue
	}
	e.loaded.RawSetString(name, result)
	L.Push(result)
	return 1
}

// searchModule finds a module the loader did not follow on the search
// path, in the checked tree (readFile: roots, credentials and size limits
// apply), as package.searchpath would: the first template whose file
// exists wins.
func (e *luaEngine) searchModule(name string) (LuaSource, bool) {
	if name == "" || strings.ContainsAny(name, "/\\\x00") || strings.Contains(name, "..") {
		return LuaSource{}, false
	}
	file := strings.ReplaceAll(name, ".", "/")
	for _, t := range e.r.cfg.Lua.SearchPath {
		p := strings.ReplaceAll(t, "?", file)
		if data, why := e.readFile(p); why == "" {
			return LuaSource{Code: string(data), File: p, Line: 1, Column: 1, Name: name}, true
		}
	}
	return LuaSource{}, false
}

func (e *luaEngine) moduleProto(name string, src LuaSource) (*lua.FunctionProto, error) {
	if p, ok := e.modProtos[name]; ok {
		return p, nil
	}
	if src.Name == "" {
		src.Name = name
	}
	p, err := compileSource(src, name)
	if err != nil {
		return nil, err
	}
	e.modProtos[name] = p
	return p, nil
}

// missing raises Lua's not-found error for module name, with the paths
// the resolver tried, and remembers the name for the Result.
func (e *luaEngine) missing(L *lua.LState, name string) {
	why, known := e.r.cfg.Lua.MissingModules[name]
	if !contains(e.missingMods, name) {
		e.missingMods = append(e.missingMods, name)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "module '%s' not found:\n\tno field package.preload['%s']", name, name)
	switch {
	case known && why != "":
		for _, l := range strings.Split(why, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				if !strings.HasPrefix(l, "no ") {
					l = "no file '" + l + "'"
				}
				b.WriteString("\n\t" + l)
			}
		}
	case unavailableModules[name] != "":
		b.WriteString("\n\t" + unavailableModules[name])
	default:
		fmt.Fprintf(&b, "\n\tno module '%s' in the checked tree (lua_package_path %q) and none built into the emulator", name, e.r.cfg.Lua.PackagePath)
	}
	L.RaiseError("%s", b.String())
}

// unavailableModules are modules the emulator cannot provide at all.
var unavailableModules = map[string]string{
	"jit.util":    "LuaJIT's bytecode introspection is not available in the emulator",
	"jit.profile": "LuaJIT's profiler is not available in the emulator",
	"debug":       "require \"debug\" is not available in the emulator's sandbox (the global debug has getinfo and traceback only)",
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

// noteExternal records an attempt to reach the outside world.
func (e *luaEngine) noteExternal(L *lua.LState, what string) {
	// The innermost frame of the user's code: Go functions have no
	// position and the emulator's own Lua libraries are skipped.
	where := ""
	for level := 1; level < 20; level++ {
		w := strings.TrimSuffix(L.Where(level), ":")
		if w != "" && !strings.HasPrefix(w, libChunk) {
			where = w
			break
		}
	}
	for _, d := range e.external {
		if d.What == what && d.Where == where {
			return
		}
	}
	if len(e.external) < 100 {
		e.external = append(e.external, ExternalDep{What: what, Where: where, Phase: e.phase})
	}
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// luaPhases runs the location's rewrite_by_lua* and access_by_lua* code
// for u. answered is true when the code ended the request itself or
// failed (nginx answers 500 then); the upstream is not reached.
func (r *run) luaPhases(u *ureq) (finalStatus, bool) {
	if r.lua == nil {
		return finalStatus{}, false
	}
	u.start = r.now()
	for _, ph := range []struct {
		name   string
		protos []*lua.FunctionProto
	}{{phRewrite, r.lua.rewrite}, {phAccess, r.lua.access}} {
		for _, p := range ph.protos {
			answer, status, err := r.lua.runPhase(u, ph.name, p)
			switch {
			case err != nil:
				msg := cleanLuaError(err.Error())
				u.luaErr = ph.name + ": " + firstLine(msg)
				u.log = append(u.log, "[error] failed to run "+ph.name+": "+msg)
				return r.finalize(u, 500, "failed to run "+ph.name+": finalize 500"), true
			case answer != "" && status == 0:
				u.luaErr = ph.name + ": " + answer
				u.answeredBy = ph.name + " " + answer
				return r.finalize(u, 500, u.answeredBy), true
			case answer != "":
				u.answeredBy = ph.name + " " + answer
				return r.finalize(u, status, fmt.Sprintf("answered by %s with %d: the upstream is not reached", u.answeredBy, status)), true
			}
		}
	}
	return finalStatus{}, false
}

// firstLine is s up to its first newline (a Lua error without its stack
// traceback).
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
