package apigen

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Verdict is where one API may run at one lua-nginx-module release (with
// the lua-resty-core release it pairs with).
type Verdict struct {
	Contexts []string `json:"contexts"`
	// Impl names the code whose checks decided: "C <function>" for a
	// lua-nginx-module Lua C function, "core <file>:<function>" for a
	// lua-resty-core function, "value" for a constant.
	Impl string `json:"impl"`
	// Sources are the checks that restrict it, as "file:line <what>".
	Sources []string `json:"sources,omitempty"`
}

// reValue matches a plain value set as a field: lua_pushinteger(L, X);
// lua_setfield(L, -2, "NAME").
var reValue = regexp.MustCompile(`lua_push(?:integer|number|string|literal|lightuserdata|boolean)\([^;]*\);\s*lua_setfield\(\s*L\s*,\s*-2\s*,\s*"(\w+)"\s*\)`)

type cInfo struct {
	f      CFunc
	checks []Check
	calls  []string
}

type luaInfo struct {
	f      LuaFunc
	checks []Check
	ffi    []string
	calls  []string
}

// versionModel is what one lua-nginx-module tag (and its lua-resty-core
// pair) says about contexts.
type versionModel struct {
	phases       []string          // every phase the version knows, init_by_lua* included
	phasesSource string            // where the phase names are read
	bit          map[string]uint64 // phase -> context bit
	fake         map[string]string // phase -> where its fake connection is made
	cfuncs       map[string]*cInfo
	classic      map[string]Registration      // API -> registration
	lua          map[string]*luaInfo          // "file\x00func" -> info
	luaExposed   map[string][2]string         // API -> file, func
	values       map[string]string            // field name -> "file:line" of a plain value registration
	imports      map[string]map[string]string // file -> local name -> module.field it was taken from
	coreLoaded   bool                         // resty.core overrides the C functions (mandatory since v0.10.16)
}

func newVersionModel(lnmTag string, lnm map[string]string, core map[string]string, coreMandatoryFrom string) (*versionModel, error) {
	if coreMandatoryFrom == "" {
		coreMandatoryFrom = "v0.10.16"
	}
	var headers []string
	var utilH, utilHName string
	for _, name := range sortedKeys(lnm) {
		if strings.HasSuffix(name, ".h") {
			headers = append(headers, lnm[name])
			if strings.Contains(lnm[name], "ngx_http_lua_context_name(c)") {
				utilH, utilHName = lnm[name], name
			}
		}
	}
	macros := ContextMacros(headers...)
	names := ContextNames(utilH)
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no ngx_http_lua_context_name", lnmTag)
	}
	m := &versionModel{bit: map[string]uint64{}, fake: map[string]string{}, cfuncs: map[string]*cInfo{},
		classic: map[string]Registration{}, lua: map[string]*luaInfo{}, luaExposed: map[string][2]string{},
		values: map[string]string{}, imports: map[string]map[string]string{}}
	for mac, ph := range names {
		if v, ok := macros[mac]; ok {
			m.bit[ph] = v
			m.phases = append(m.phases, ph)
		}
	}
	m.phases = append(m.phases, "init_by_lua*")
	m.phasesSource = utilHName + ":" + strconv.Itoa(1+strings.Count(utilH[:strings.Index(utilH, "ngx_http_lua_context_name(c)")], "\n"))
	sort.Strings(m.phases)
	for mac, src := range FakeRequestContexts(lnm) {
		if ph, ok := names[mac]; ok {
			m.fake[ph] = src
		}
	}
	for _, name := range sortedKeys(lnm) {
		if !strings.HasSuffix(name, ".c") {
			continue
		}
		src := lnm[name]
		for _, f := range ParseCFuncs(name, src) {
			if _, dup := m.cfuncs[f.Name]; dup {
				continue
			}
			ch, calls := CFuncChecks(f, macros)
			m.cfuncs[f.Name] = &cInfo{f: f, checks: ch, calls: calls}
		}
		for _, r := range Registrations(name, src) {
			if api := APIOfRegistration(r); api != "" {
				if _, ok := m.classic[api]; !ok {
					m.classic[api] = r
				}
			}
		}
		for _, loc := range reValue.FindAllStringSubmatchIndex(src, -1) {
			field := src[loc[2]:loc[3]]
			if _, ok := m.values[field]; !ok {
				m.values[field] = name + ":" + strconv.Itoa(1+strings.Count(src[:loc[0]], "\n"))
			}
		}
	}
	if core != nil {
		m.coreLoaded = !versionLess(lnmTag, coreMandatoryFrom)
		reGetter := regexp.MustCompile(`register_getter\(\s*"(\w+)"\s*,\s*(\w+)\s*\)`)
		for _, name := range sortedKeys(core) {
			if !strings.HasSuffix(name, ".lua") || !strings.HasPrefix(name, "lib/") {
				continue
			}
			src := core[name]
			funcs := ParseLuaFuncs(name, src)
			aliases := LuaFFIAliases(src)
			for _, f := range funcs {
				key := name + "\x00" + f.Name
				ch, ffi, calls := LuaFuncChecks(f, aliases, getPhaseNames)
				if old, ok := m.lua[key]; ok { // http and stream variants: keep both's facts
					old.checks = append(old.checks, ch...)
					old.ffi = append(old.ffi, ffi...)
					old.calls = append(old.calls, calls...)
					continue
				}
				m.lua[key] = &luaInfo{f: f, checks: ch, ffi: ffi, calls: calls}
			}
			for api, fn := range LuaExposures(name, src, funcs) {
				if _, ok := m.luaExposed[api]; !ok {
					m.luaExposed[api] = [2]string{name, fn}
				}
			}
			m.imports[name] = LuaImports(src)
			for _, g := range reGetter.FindAllStringSubmatch(src, -1) {
				m.luaExposed["ngx."+g[1]] = [2]string{name, g[2]}
			}
		}
	}
	return m, nil
}

// cChecks collects a C function's checks and those of the functions it
// calls (helpers such as ngx_http_lua_ngx_echo behind ngx.say, or
// ngx_http_lua_coroutine_create_helper behind ngx.thread.spawn), three
// calls deep.
func (m *versionModel) cChecks(name string, depth int, seen map[string]bool) []Check {
	ci := m.cfuncs[name]
	if ci == nil || seen[name] || depth > 3 {
		return nil
	}
	seen[name] = true
	out := append([]Check(nil), ci.checks...)
	for _, c := range ci.calls {
		if cc := m.cfuncs[c]; cc != nil {
			out = append(out, m.cChecks(c, depth+1, seen)...)
		}
	}
	return out
}

func (m *versionModel) luaChecks(file, fn string, depth int, seen map[string]bool) []Check {
	key := file + "\x00" + fn
	li := m.lua[key]
	if li == nil || seen[key] || depth > 3 {
		return nil
	}
	seen[key] = true
	out := append([]Check(nil), li.checks...)
	for _, f := range li.ffi {
		out = append(out, m.cChecks(f, 0, map[string]bool{})...)
	}
	for _, c := range li.calls {
		if m.lua[file+"\x00"+c] != nil {
			out = append(out, m.luaChecks(file, c, depth+1, seen)...)
		} else if api, ok := m.imports[file][c]; ok {
			// local set_req_header = require("resty.core.request").set_req_header
			if e, ok := m.luaExposed[api]; ok {
				out = append(out, m.luaChecks(e[0], e[1], depth+1, seen)...)
			}
		}
	}
	return out
}

// allowed applies checks to the version's phases.
func (m *versionModel) allowed(checks []Check) ([]string, []string) {
	var out []string
	for _, ph := range m.phases {
		ok := true
		for _, c := range checks {
			switch c.Kind {
			case "mask":
				ok = ok && ph != "init_by_lua*" && c.Mask&m.bit[ph] != 0
			case "fake":
				_, isFake := m.fake[ph]
				ok = ok && !isFake && ph != "init_by_lua*"
			case "noreq":
				ok = ok && ph != "init_by_lua*"
			case "phase":
				ok = ok && ph == c.Expr
			case "notphase":
				ok = ok && ph != c.Expr
			}
		}
		if ok {
			out = append(out, ph)
		}
	}
	var src []string
	seen := map[string]bool{}
	for _, c := range checks {
		var s string
		switch c.Kind {
		case "mask":
			s = fmt.Sprintf("%s:%d context mask %s", c.File, c.Line, c.Expr)
		case "fake":
			s = fmt.Sprintf("%s:%d refuses a fake request (fd -1)", c.File, c.Line)
		case "noreq":
			s = fmt.Sprintf("%s:%d needs a request", c.File, c.Line)
		case "phase":
			s = fmt.Sprintf("%s:%d get_phase() must be %s", c.File, c.Line, c.Expr)
		case "notphase":
			s = fmt.Sprintf("%s:%d refused when get_phase() is %s", c.File, c.Line, c.Expr)
		}
		if !seen[s] {
			seen[s] = true
			src = append(src, s)
		}
	}
	return out, src
}

// verdict decides one API at this version; ok is false when neither
// implementation was found.
func (m *versionModel) verdict(api string) (Verdict, bool) {
	if o, ok := overrides[api]; ok {
		switch {
		case o.value:
			return Verdict{Contexts: append([]string(nil), m.phases...), Impl: "value", Sources: []string{o.why}}, true
		case len(o.phases) > 0:
			var ctx []string
			for _, ph := range m.phases {
				for _, p := range o.phases {
					if p == ph {
						ctx = append(ctx, ph)
					}
				}
			}
			return Verdict{Contexts: ctx, Impl: "dispatch", Sources: []string{o.why}}, true
		case o.sameAs != "":
			v, ok := m.verdict(o.sameAs)
			if ok {
				v.Sources = append(v.Sources, o.why)
			}
			return v, ok
		}
		if o.coreFile != "" && m.lua[o.coreFile+"\x00"+o.coreFunc] != nil && (m.coreLoaded || o.cFunc == "") {
			ctx, src := m.allowed(m.luaChecks(o.coreFile, o.coreFunc, 0, map[string]bool{}))
			return Verdict{Contexts: ctx, Impl: "core " + o.coreFile + ":" + o.coreFunc, Sources: append(src, o.why)}, true
		}
		if o.cFunc != "" && m.cfuncs[o.cFunc] != nil {
			checks := m.cChecks(o.cFunc, 0, map[string]bool{})
			if o.noMask {
				kept := checks[:0]
				for _, c := range checks {
					if c.Kind != "mask" {
						kept = append(kept, c)
					}
				}
				checks = kept
			}
			ctx, src := m.allowed(checks)
			for _, ph := range o.also {
				if !contains(ctx, ph) && contains(m.phases, ph) {
					ctx = append(ctx, ph)
				}
			}
			sort.Strings(ctx)
			return Verdict{Contexts: ctx, Impl: "C " + o.cFunc, Sources: append(src, o.why)}, true
		}
	}
	if leaf := strings.TrimPrefix(api, "ngx."); leaf != api && !strings.Contains(leaf, ".") && (leaf == "null" || strings.ToUpper(leaf) == leaf) {
		if src, ok := m.values[leaf]; ok {
			return Verdict{Contexts: append([]string(nil), m.phases...), Impl: "value", Sources: []string{src + " a constant set on the ngx table"}}, true
		}
	}
	if e, ok := m.luaExposed[api]; ok && (m.coreLoaded || m.classic[api].CFunc == "" || !strings.HasPrefix(e[0], "lib/resty/core/")) {
		checks := m.luaChecks(e[0], e[1], 0, map[string]bool{})
		checks = append(checks, m.constructorChecks(api)...)
		ctx, src := m.allowed(checks)
		return Verdict{Contexts: ctx, Impl: "core " + e[0] + ":" + e[1], Sources: src}, true
	}
	if r, ok := m.classic[api]; ok && m.cfuncs[r.CFunc] != nil {
		checks := m.cChecks(r.CFunc, 0, map[string]bool{})
		checks = append(checks, m.constructorChecks(api)...)
		ctx, src := m.allowed(checks)
		return Verdict{Contexts: ctx, Impl: "C " + r.CFunc + " (" + r.File + ":" + strconv.Itoa(r.Line) + ")", Sources: src}, true
	}
	return Verdict{}, false
}

// constructorChecks: a cosocket method works only on a socket made by the
// same request (ngx_http_lua_socket_tcp_* refuse "bad request" otherwise),
// so its contexts are at most those of its constructor.
func (m *versionModel) constructorChecks(api string) []Check {
	var ctor string
	switch {
	case strings.HasPrefix(api, "tcpsock:"):
		ctor = "ngx_http_lua_socket_tcp"
	case strings.HasPrefix(api, "udpsock:"):
		ctor = "ngx_http_lua_socket_udp"
	default:
		return nil
	}
	return m.cChecks(ctor, 0, map[string]bool{})
}

// override is a mapping the registration and exposure scan cannot find:
// where an API's code lives, never what it allows (that still comes from
// the checks in that code).
type override struct {
	value    bool     // a plain value set once on the ngx table: usable everywhere
	phases   []string // the phases a dispatch on get_phase() serves
	also     []string // phases a Lua wrapper serves without calling cFunc
	noMask   bool     // cFunc's context masks guard an optional mode only
	sameAs   string   // an alias of another API
	cFunc    string   // the lua-nginx-module C function
	coreFile string
	coreFunc string
	why      string
}

var overrides = map[string]override{
	"ngx.var.VARIABLE": {cFunc: "ngx_http_lua_var_get", coreFile: "lib/resty/core/var.lua", coreFunc: "var_get",
		why: "ngx.var's __index: ngx_http_lua_var_get (ngx_http_lua_variable.c), var_get (resty/core/var.lua)"},
	"ndk.set_var.DIRECTIVE": {cFunc: "ngx_http_lua_run_set_var_directive", coreFile: "lib/resty/core/ndk.lua", coreFunc: "ndk_set_var_get",
		why: "ndk.set_var's __index: ngx_http_lua_ndk.c, ndk_set_var_get (resty/core/ndk.lua)"},
	"ngx.header.HEADER": {cFunc: "ngx_http_lua_ngx_header_get", coreFile: "lib/resty/core/response.lua", coreFunc: "get_resp_header",
		why: "ngx.header's __index: ngx_http_lua_ngx_header_get (ngx_http_lua_headers.c), resty/core/response.lua"},
	"coroutine.create": coroutineOverride("ngx_http_lua_coroutine_create"),
	"coroutine.resume": coroutineOverride("ngx_http_lua_coroutine_resume"),
	"coroutine.yield":  coroutineOverride("ngx_http_lua_coroutine_yield"),
	"coroutine.wrap":   coroutineOverride("ngx_http_lua_coroutine_wrap"),
	"coroutine.status": coroutineOverride("ngx_http_lua_coroutine_status"),
	"print":            {cFunc: "ngx_http_lua_print", why: "print is ngx_http_lua_print, set with lua_setglobal (ngx_http_lua_log.c)"},
	"ngx.arg": {phases: []string{"set_by_lua*", "body_filter_by_lua*"},
		why: "ngx.arg's __index serves set_by_lua* and body_filter_by_lua* only (ngx_http_lua_param_get in ngx_http_lua_util.c; get_param in resty/core/param.lua raises \"API disabled in the current context\" otherwise)"},
	"ngx.req.set_uri": {cFunc: "ngx_http_lua_ngx_req_set_uri", noMask: true,
		why: "ngx_http_lua_ngx_req_set_uri (ngx_http_lua_uri.c) checks the context only when jump is true (rewrite_by_lua*, server_rewrite_by_lua*)"},
	"ngx.socket.stream": {sameAs: "ngx.socket.tcp", why: "ngx.socket.stream is ngx.socket.tcp (ngx_http_lua_socket_tcp.c)"},
	"ngx.socket.connect": {cFunc: "ngx_http_lua_socket_tcp_connect",
		why: "ngx.socket.connect is ngx_http_lua_socket_tcp_connect behind ngx.socket.tcp (ngx_http_lua_socket_tcp.c)"},
	"ngx.shared.DICT":      {value: true, why: "ngx.shared is a table of zones filled at startup (ngx_http_lua_inject_shdict_api, ngx_http_lua_shdict.c)"},
	"ngx.config.subsystem": {value: true, why: "a string set on ngx.config at startup (ngx_http_lua_inject_config_api, ngx_http_lua_config.c)"},
	"ngx.config.debug":     {value: true, why: "a boolean set on ngx.config at startup (ngx_http_lua_inject_config_api, ngx_http_lua_config.c)"},
	"ngx.config.nginx_version": {value: true,
		why: "a number set on ngx.config at startup (ngx_http_lua_inject_config_api, ngx_http_lua_config.c)"},
	"ngx.config.ngx_lua_version": {value: true,
		why: "a number set on ngx.config at startup (ngx_http_lua_inject_config_api, ngx_http_lua_config.c)"},
}

// versionLess orders release tags: v0.10.9 < v0.10.10, v0.5.0rc30 <
// v0.5.0; tags it cannot read sort as equal.
func versionLess(a, b string) bool {
	pa, oka := versionParts(a)
	pb, okb := versionParts(b)
	if !oka || !okb {
		return false
	}
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return len(pa) < len(pb)
}

var reTag = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)(?:rc(\d+))?$`)

func versionParts(v string) ([]int, bool) {
	m := reTag.FindStringSubmatch(v)
	if m == nil {
		return nil, false
	}
	out := make([]int, 4)
	for i := 0; i < 3; i++ {
		out[i], _ = strconv.Atoi(m[i+1])
	}
	out[3] = 1 << 20 // a final release sorts after its rcs
	if m[4] != "" {
		out[3], _ = strconv.Atoi(m[4])
	}
	return out, true
}

// coroutineOverride: ngx_http_lua_inject_coroutine_api (ngx_http_lua_coroutine.c)
// wraps coroutine.* in Lua: with no request (init_by_lua*) and in the header
// and body filters (contexts 0x020, 0x040) it calls the standard coroutine
// function, elsewhere lua-nginx-module's.
func coroutineOverride(cFunc string) override {
	return override{cFunc: cFunc, also: []string{"init_by_lua*", "header_filter_by_lua*", "body_filter_by_lua*"},
		why: "ngx_http_lua_inject_coroutine_api's Lua wrapper uses the standard coroutine without a request and in header/body filters (ngx_http_lua_coroutine.c)"}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
