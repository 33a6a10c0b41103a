package apigen

// This file reads lua-nginx-module's C sources and lua-resty-core's Lua
// sources (as text, one release tag at a time) and derives where each API
// may run. It models the three ways lua-nginx-module refuses a call:
//
//   - a context mask: ngx_http_lua_check_context(L, ctx, MASK) and
//     ngx_http_lua_ffi_check_context(ctx, MASK, ...) (ngx_http_lua_util.h),
//     or an open-coded `!(ctx->context & MASK)` / `(ctx->context & MASK) == 0`,
//     raising "API disabled in the context of <phase>";
//   - a fake request: ngx_http_lua_check_fake_request[2] or an open-coded
//     `r->connection->fd == (ngx_socket_t) -1` test (FFI functions then
//     return NGX_HTTP_LUA_FFI_BAD_CONTEXT and lua-resty-core raises "API
//     disabled in the current context"). The phases whose handler runs on
//     ngx_http_lua_create_fake_connection (init_worker, exit_worker, timers,
//     the ssl_* phases) have such a request;
//   - no request at all: init_by_lua* runs in the master before any request
//     exists, so an API that needs one fails with "no request found" /
//     "no request object found".
//
// Facts are read, never code: the extractor keeps names, masks and the
// file:line@tag each came from.

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// CFunc is one C function definition in nginx style (return type on its own
// line, name at column 0, body between a "{" line and a "}" line).
type CFunc struct {
	Name string
	File string
	Line int // line of the name
	body []string
	from int // line number of body[0]
}

var cFuncHead = regexp.MustCompile(`^([A-Za-z_]\w*)\(`)

// ParseCFuncs returns the function definitions of one C file.
func ParseCFuncs(file, src string) []CFunc {
	lines := strings.Split(src, "\n")
	var out []CFunc
	for i := 0; i < len(lines); i++ {
		m := cFuncHead.FindStringSubmatch(lines[i])
		if m == nil || i == 0 || strings.TrimSpace(lines[i-1]) == "" || strings.HasPrefix(lines[i-1], "#") {
			continue
		}
		// Find the opening brace line (the parameter list may wrap).
		j := i
		for j < len(lines) && j < i+12 && lines[j] != "{" {
			if strings.HasSuffix(strings.TrimSpace(lines[j]), ";") {
				break // a prototype
			}
			j++
		}
		if j >= len(lines) || lines[j] != "{" {
			continue
		}
		k := j + 1
		for k < len(lines) && lines[k] != "}" {
			k++
		}
		out = append(out, CFunc{Name: m[1], File: file, Line: i + 1, body: lines[j+1 : k], from: j + 2})
		i = k
	}
	return out
}

// ContextNames maps each NGX_HTTP_LUA_CONTEXT_* macro to the phase name of
// ngx_http_lua_context_name (ngx_http_lua_util.h), in the table's spelling
// ("ngx.timer" becomes "ngx.timer.*").
func ContextNames(utilH string) map[string]string {
	re := regexp.MustCompile(`\(c\) == (NGX_HTTP_LUA_CONTEXT_\w+) \?\s*(?:\\\s*)?"([^"]+)"`)
	out := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(utilH, -1) {
		name := m[2]
		if name == "ngx.timer" {
			name = "ngx.timer.*"
		}
		out[m[1]] = name
	}
	return out
}

// ContextMacros evaluates the #define NGX_HTTP_LUA_CONTEXT_* macros of the
// headers, including composite ones (NGX_HTTP_LUA_CONTEXT_YIELDABLE).
func ContextMacros(headers ...string) map[string]uint64 {
	defs := map[string]string{}
	re := regexp.MustCompile(`(?m)^#define\s+(NGX_HTTP_LUA_CONTEXT_\w+)\s+((?:[^\n\\]|\\\n)*)`)
	for _, h := range headers {
		for _, m := range re.FindAllStringSubmatch(h, -1) {
			defs[m[1]] = strings.ReplaceAll(m[2], "\\\n", " ")
		}
	}
	vals := map[string]uint64{}
	for i := 0; i < 4; i++ { // composites refer to simple ones
		for name, expr := range defs {
			if _, ok := vals[name]; ok {
				continue
			}
			if v, ok := EvalMask(expr, vals); ok {
				vals[name] = v
			}
		}
	}
	return vals
}

// EvalMask evaluates a C mask expression made of context macros, integer
// literals, |, & and ~ and parentheses.
func EvalMask(expr string, vals map[string]uint64) (uint64, bool) {
	p := &maskParser{toks: maskTokens(expr), vals: vals}
	v, ok := p.or()
	if !ok || p.i != len(p.toks) {
		return 0, false
	}
	return v & 0xffffffff, true
}

var maskTok = regexp.MustCompile(`0[xX][0-9a-fA-F]+|\d+|[A-Za-z_]\w*|[|&~()]`)

func maskTokens(s string) []string {
	s = stripCComments(s)
	return maskTok.FindAllString(s, -1)
}

type maskParser struct {
	toks []string
	i    int
	vals map[string]uint64
}

func (p *maskParser) or() (uint64, bool) {
	v, ok := p.and()
	for ok && p.i < len(p.toks) && p.toks[p.i] == "|" {
		p.i++
		var w uint64
		w, ok = p.and()
		v |= w
	}
	return v, ok
}

func (p *maskParser) and() (uint64, bool) {
	v, ok := p.unary()
	for ok && p.i < len(p.toks) && p.toks[p.i] == "&" {
		p.i++
		var w uint64
		w, ok = p.unary()
		v &= w
	}
	return v, ok
}

func (p *maskParser) unary() (uint64, bool) {
	if p.i >= len(p.toks) {
		return 0, false
	}
	t := p.toks[p.i]
	p.i++
	switch {
	case t == "~":
		v, ok := p.unary()
		return ^v, ok
	case t == "(":
		v, ok := p.or()
		if !ok || p.i >= len(p.toks) || p.toks[p.i] != ")" {
			return 0, false
		}
		p.i++
		return v, true
	case t[0] >= '0' && t[0] <= '9':
		n, err := strconv.ParseUint(t, 0, 64)
		return n, err == nil
	}
	v, ok := p.vals[t]
	return v, ok
}

var cComment = regexp.MustCompile(`(?s)/\*.*?\*/`)

func stripCComments(s string) string { return cComment.ReplaceAllString(s, " ") }

// Check is one refusal found in a function body.
type Check struct {
	Kind string // "mask", "fake", "noreq", "phase"
	Mask uint64 // for "mask": the contexts allowed
	Line int
	File string
	Expr string // the mask expression or the Lua phase test, as written
}

var (
	reCheckCtx    = regexp.MustCompile(`ngx_http_lua_check_context\(\s*L\s*,\s*\(?\w+\)?\s*,`)
	reFFICheckCtx = regexp.MustCompile(`ngx_http_lua_ffi_check_context\(\s*\*?\w+\s*,`)
	reCtxAnd      = regexp.MustCompile(`->context\s*&\s*`)
	reFake        = regexp.MustCompile(`ngx_http_lua_check_fake_request2?\(|r->connection->fd\s*==\s*\(ngx_socket_t\)\s*-1`)
	reNoReq       = regexp.MustCompile(`(?:luaL_error\(\s*L\s*,\s*|\*err\w*\s*=\s*|ngx_snprintf\([^"]*)"(?:no request|request object not found)`)
	reCCall       = regexp.MustCompile(`\b(ngx_http_lua_\w+)\s*\(`)
)

// CFuncChecks returns the refusals written in the function body itself and
// the ngx_http_lua_* functions it calls.
func CFuncChecks(f CFunc, macros map[string]uint64) (checks []Check, calls []string) {
	text := stripCComments(strings.Join(f.body, "\n"))
	lineOf := func(off int) int { return f.from + strings.Count(text[:off], "\n") }
	for _, loc := range reCheckCtx.FindAllStringIndex(text, -1) {
		expr, ok := balancedUntil(text[loc[1]:], ')')
		if v, ok2 := EvalMask(expr, macros); ok && ok2 {
			checks = append(checks, Check{Kind: "mask", Mask: v, Line: lineOf(loc[0]), File: f.File, Expr: squash(expr)})
		}
	}
	for _, loc := range reFFICheckCtx.FindAllStringIndex(text, -1) {
		expr, ok := balancedUntil(text[loc[1]:], ',')
		if v, ok2 := EvalMask(expr, macros); ok && ok2 {
			checks = append(checks, Check{Kind: "mask", Mask: v, Line: lineOf(loc[0]), File: f.File, Expr: squash(expr)})
		}
	}
	for _, loc := range reCtxAnd.FindAllStringIndex(text, -1) {
		rest := text[loc[1]:]
		var operand string
		if strings.HasPrefix(rest, "(") {
			inner, ok := balancedUntil(rest[1:], ')')
			if !ok {
				continue
			}
			operand = "(" + inner + ")"
		} else {
			operand = regexp.MustCompile(`^\w+`).FindString(rest)
		}
		if operand == "" {
			continue
		}
		before := strings.ReplaceAll(text[max(0, loc[0]-12):loc[0]], " ", "")
		after := rest[len(operand):]
		negated := strings.HasSuffix(before, "!(ctx") || strings.HasSuffix(before, "!((ctx)") ||
			strings.HasSuffix(before, "!(*ctx)") ||
			regexp.MustCompile(`^\s*\)\s*==\s*0`).MatchString(after)
		if !negated {
			continue // a branch on the phase, not a refusal (ngx_http_lua_ctx.c)
		}
		if v, ok := EvalMask(operand, macros); ok {
			checks = append(checks, Check{Kind: "mask", Mask: v, Line: lineOf(loc[0]), File: f.File, Expr: squash(operand)})
		}
	}
	if loc := reFake.FindStringIndex(text); loc != nil {
		checks = append(checks, Check{Kind: "fake", Line: lineOf(loc[0]), File: f.File})
	}
	// An FFI function gets its request from lua-resty-core, which refuses
	// to call it without one; its own "no request" branches are for a
	// missing ctx, so only the Lua side says whether a request is needed.
	if loc := reNoReq.FindStringIndex(text); loc != nil && !strings.Contains(f.Name, "_ffi_") {
		checks = append(checks, Check{Kind: "noreq", Line: lineOf(loc[0]), File: f.File})
	}
	seen := map[string]bool{}
	for _, m := range reCCall.FindAllStringSubmatch(text, -1) {
		if !seen[m[1]] && m[1] != f.Name {
			seen[m[1]] = true
			calls = append(calls, m[1])
		}
	}
	return checks, calls
}

// balancedUntil returns the text up to the first stop rune at parenthesis
// depth 0.
func balancedUntil(s string, stop rune) (string, bool) {
	depth := 0
	for i, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case r == stop && depth == 0:
			return s[:i], true
		}
	}
	return "", false
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// Registration is one lua_pushcfunction(L, F); lua_setfield(L, -2, "name").
type Registration struct {
	Leaf  string
	CFunc string
	File  string
	Line  int
}

// The second form registers one function under two names
// (stream-lua-nginx-module's ngx.socket.tcp and ngx.socket.stream):
// lua_pushcfunction; lua_pushvalue(L, -1); lua_setfield(L, -3, "tcp").
var reReg = regexp.MustCompile(`lua_pushcfunction\(\s*L\s*,\s*(\w+)\s*\);\s*(?:lua_pushvalue\(\s*L\s*,\s*-1\s*\);\s*lua_setfield\(\s*L\s*,\s*-3\s*,|lua_setfield\(\s*L\s*,\s*-2\s*,)\s*"(\w+)"\s*\)`)

// Registrations lists the C functions a file registers as Lua fields.
func Registrations(file, src string) []Registration {
	var out []Registration
	for _, m := range reReg.FindAllStringSubmatchIndex(src, -1) {
		out = append(out, Registration{CFunc: src[m[2]:m[3]], Leaf: src[m[4]:m[5]], File: file,
			Line: 1 + strings.Count(src[:m[0]], "\n")})
	}
	return out
}

// cPrefixes maps a C function name prefix to the Lua table its
// registrations land in, longest first. lua-nginx-module names its API
// functions after the Lua path (ngx_http_lua_ngx_req_* for ngx.req.*), so
// the prefix of the function plus the registered field name gives the API.
var cPrefixes = []struct{ c, lua string }{
	{"ngx_http_lua_ngx_location_", "ngx.location."},
	{"ngx_http_lua_ngx_timer_", "ngx.timer."},
	{"ngx_http_lua_ngx_resp_", "ngx.resp."},
	{"ngx_http_lua_ngx_req_", "ngx.req."},
	{"ngx_http_lua_ngx_worker_", "ngx.worker."},
	{"ngx_http_lua_ngx_re_", "ngx.re."},
	{"ngx_http_lua_ngx_", "ngx."},
	{"ngx_http_lua_socket_tcp_", "tcpsock:"},
	{"ngx_http_lua_socket_udp_", "udpsock:"},
	{"ngx_http_lua_shdict_", "ngx.shared.DICT."},
	{"ngx_http_lua_uthread_", "ngx.thread."},
	{"ngx_http_lua_coroutine_", "coroutine."},
	{"ngx_http_lua_config_", "ngx.config."},
	{"ngx_http_lua_worker_", "ngx.worker."},
}

// cExact are registrations whose C name does not follow the prefixes.
var cExact = map[string]string{
	"ngx_http_lua_socket_tcp":        "ngx.socket.tcp",
	"ngx_http_lua_socket_udp":        "ngx.socket.udp",
	"ngx_http_lua_req_socket":        "ngx.req.socket",
	"ngx_http_lua_run_worker_thread": "ngx.run_worker_thread",
	"ngx_http_lua_print":             "print",
	"ngx_http_lua_ngx_get_phase":     "ngx.get_phase",
	"ngx_http_lua_on_abort":          "ngx.on_abort",
}

// APIOfRegistration names the Lua API a registration defines; "" when the
// C name follows no known prefix.
func APIOfRegistration(r Registration) string {
	if n, ok := cExact[r.CFunc]; ok {
		// ngx.socket.connect shares ngx_http_lua_socket_tcp_connect's
		// prefix; the exact names win only for their own field.
		if strings.HasSuffix(n, "."+r.Leaf) || n == r.Leaf {
			return n
		}
	}
	for _, p := range cPrefixes {
		if strings.HasPrefix(r.CFunc, p.c) {
			// ngx_http_lua_inject_coroutine_api registers its functions
			// as coroutine.__create ... and renames them.
			return p.lua + strings.TrimPrefix(r.Leaf, "__")
		}
	}
	return ""
}

// LuaFunc is one Lua function definition of a lua-resty-core file.
type LuaFunc struct {
	Name string
	File string
	Line int
	Body string
	from int
}

var (
	reLuaFuncDef  = regexp.MustCompile(`^(\s*)(?:local\s+)?function\s+([\w.:]+)\s*\(`)
	reLuaFuncAsg  = regexp.MustCompile(`^(\s*)(?:local\s+)?([\w.]+)\s*=\s*function\s*\(`)
	reLuaAssign   = regexp.MustCompile(`(?m)^\s*([\w.]+)\s*=\s*([A-Za-z_]\w*)\s*,?\s*$`)
	reLuaFFIAlias = regexp.MustCompile(`([A-Za-z_]\w*)\s*=\s*C\.(ngx_http_lua_ffi_\w+)\b`)
	reLuaFFICall  = regexp.MustCompile(`\bC\.(ngx_http_lua_ffi_\w+)\s*\(`)
	reLuaCall     = regexp.MustCompile(`\b([A-Za-z_]\w*)\s*\(`)
	reLuaNoReq    = regexp.MustCompile(`"no request found"`)
	reLuaPhaseIf  = regexp.MustCompile(`(?s)\bif\s+([^\n]*(?:\n[^\n]*){0,2}?)\s+then\s*\n\s*(?:return\s+nil\s*,\s*|error\()"API disabled`)
	reLuaPhaseCmp = regexp.MustCompile(`\b(?:get_phase|ngx_phase|ngx\.get_phase)\(\)\s*(~=|==)\s*"(\w+)"`)
)

// ParseLuaFuncs returns the function definitions of a Lua file: named
// functions and functions assigned to a name, each up to the "end" at its
// own indentation.
func ParseLuaFuncs(file, src string) []LuaFunc {
	lines := strings.Split(src, "\n")
	var out []LuaFunc
	for i, l := range lines {
		m := reLuaFuncDef.FindStringSubmatch(l)
		if m == nil {
			m = reLuaFuncAsg.FindStringSubmatch(l)
		}
		if m == nil {
			continue
		}
		indent := m[1]
		end := i
		if !strings.Contains(l, " end") || !strings.HasSuffix(strings.TrimSpace(l), "end") {
			for end = i + 1; end < len(lines); end++ {
				t := lines[end]
				if strings.HasPrefix(t, indent+"end") && (len(t) == len(indent)+3 || !isIdent(t[len(indent)+3])) {
					break
				}
			}
		}
		if end >= len(lines) {
			continue
		}
		out = append(out, LuaFunc{Name: m[2], File: file, Line: i + 1, Body: strings.Join(lines[i:end+1], "\n"), from: i + 1})
	}
	return out
}

func isIdent(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// LuaModuleOf names the module a lua-resty-core file defines:
// lib/ngx/ssl/session.lua -> ngx.ssl.session.
func LuaModuleOf(file string) string {
	f := strings.TrimSuffix(strings.TrimPrefix(file, "lib/"), ".lua")
	return strings.ReplaceAll(f, "/", ".")
}

// luaObjectPrefixes are the method tables a file fills under another name
// than its module: resty.core.shdict sets the methods of every
// ngx.shared.DICT on the zone's metatable ("mt.get = shdict_get").
var luaObjectPrefixes = map[string]map[string]string{
	"lib/resty/core/shdict.lua": {"mt.": "ngx.shared.DICT."},
}

// LuaExposures maps API names to the Lua function names of the file that
// implement them: `function ngx.req.get_headers(`, `function _M.f(`,
// `_M.f = f`, `ngx.f = f`, a method table entry `f = function(` (named
// module.f), and the file's object prefixes.
func LuaExposures(file, src string, funcs []LuaFunc) map[string]string {
	mod := LuaModuleOf(file)
	names := map[string]bool{}
	out := map[string]string{}
	expose := func(lhs, fn string) {
		switch {
		case strings.HasPrefix(lhs, "ngx.") && strings.Count(lhs, ".") >= 1:
			out[lhs] = fn
		case strings.HasPrefix(lhs, "_M."):
			out[mod+"."+strings.TrimPrefix(lhs, "_M.")] = fn
		case !strings.Contains(lhs, ".") && !strings.Contains(lhs, ":") && strings.HasPrefix(mod, "ngx."):
			if _, ok := out[mod+"."+lhs]; !ok {
				out[mod+"."+lhs] = fn
			}
		}
		for p, api := range luaObjectPrefixes[file] {
			if strings.HasPrefix(lhs, p) {
				out[api+strings.TrimPrefix(lhs, p)] = fn
			}
		}
	}
	for _, f := range funcs {
		names[f.Name] = true
		if strings.Contains(f.Name, ".") {
			expose(f.Name, f.Name)
		}
	}
	for _, f := range funcs {
		if !strings.Contains(f.Name, ".") && strings.HasPrefix(mod, "ngx.") {
			// method tables: `pid = function (proc)` inside a table constructor
			if !strings.Contains(f.Body[:strings.Index(f.Body, "function")], "local") {
				expose(f.Name, f.Name)
			}
		}
	}
	for _, m := range reLuaAssign.FindAllStringSubmatch(src, -1) {
		if names[m[2]] {
			expose(m[1], m[2])
		}
	}
	return out
}

// LuaFFIAliases maps local names to the http FFI function they stand for
// (`local ngx_lua_ffi_sema_new = C.ngx_http_lua_ffi_sema_new`).
func LuaFFIAliases(src string) map[string]string {
	out := map[string]string{}
	for _, m := range reLuaFFIAlias.FindAllStringSubmatch(src, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// LuaFuncChecks returns the refusals in a Lua function body (a "no request
// found" error, a get_phase() test) and the FFI functions and the local
// functions it calls.
func LuaFuncChecks(f LuaFunc, aliases map[string]string, phaseNames map[string]string) (checks []Check, ffi, calls []string) {
	body := f.Body
	lineOf := func(off int) int { return f.from + strings.Count(body[:off], "\n") }
	if loc := reLuaNoReq.FindStringIndex(body); loc != nil {
		checks = append(checks, Check{Kind: "noreq", Line: lineOf(loc[0]), File: f.File})
	}
	// `if get_phase() ~= "init" then return nil, "API disabled ..."`
	// allows one phase; `if get_phase() == "init" or ... then error(...)`
	// refuses the phases named.
	for _, m := range reLuaPhaseIf.FindAllStringSubmatchIndex(body, -1) {
		cond := body[m[2]:m[3]]
		for _, c := range reLuaPhaseCmp.FindAllStringSubmatch(cond, -1) {
			n, ok := phaseNames[c[2]]
			if !ok {
				continue
			}
			kind := "phase"
			if c[1] == "==" {
				kind = "notphase"
			}
			checks = append(checks, Check{Kind: kind, Line: lineOf(m[0]), File: f.File, Expr: n})
		}
	}
	seen := map[string]bool{}
	for _, m := range reLuaFFICall.FindAllStringSubmatch(body, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			ffi = append(ffi, m[1])
		}
	}
	for _, m := range reLuaCall.FindAllStringSubmatch(body, -1) {
		if c, ok := aliases[m[1]]; ok && !seen[c] {
			seen[c] = true
			ffi = append(ffi, c)
		} else if !ok && m[1] != f.Name && !seen["lua:"+m[1]] {
			seen["lua:"+m[1]] = true
			calls = append(calls, m[1])
		}
	}
	sort.Strings(ffi)
	return checks, ffi, calls
}

// getPhaseNames maps ngx.get_phase() results to the table's phase names
// (the strings of ngx_http_lua_ffi_get_phase / ngx_http_lua_ngx_get_phase).
var getPhaseNames = map[string]string{
	"init": "init_by_lua*", "init_worker": "init_worker_by_lua*", "exit_worker": "exit_worker_by_lua*",
	"set": "set_by_lua*", "rewrite": "rewrite_by_lua*", "server_rewrite": "server_rewrite_by_lua*",
	"access": "access_by_lua*", "content": "content_by_lua*", "precontent": "precontent_by_lua*",
	"header_filter": "header_filter_by_lua*", "body_filter": "body_filter_by_lua*", "log": "log_by_lua*",
	"timer": "ngx.timer.*", "balancer": "balancer_by_lua*", "ssl_cert": "ssl_certificate_by_lua*",
	"ssl_session_fetch": "ssl_session_fetch_by_lua*", "ssl_session_store": "ssl_session_store_by_lua*",
	"ssl_client_hello": "ssl_client_hello_by_lua*",
}

// FakeRequestContexts returns, per context macro, where its phase handler
// builds its request on ngx_http_lua_create_fake_connection (fd -1): the
// file that calls it and sets `ctx->context = NGX_HTTP_LUA_CONTEXT_X`.
func FakeRequestContexts(files map[string]string) map[string]string {
	out := map[string]string{}
	reSet := regexp.MustCompile(`->context\s*=\s*(NGX_HTTP_LUA_CONTEXT_\w+)\s*;`)
	for _, name := range sortedKeys(files) {
		src := files[name]
		i := strings.Index(src, "ngx_http_lua_create_fake_connection(")
		if i < 0 || strings.HasSuffix(name, "_util.c") || strings.HasSuffix(name, ".h") {
			continue
		}
		line := 1 + strings.Count(src[:i], "\n")
		for _, m := range reSet.FindAllStringSubmatch(src, -1) {
			if _, ok := out[m[1]]; !ok {
				out[m[1]] = name + ":" + strconv.Itoa(line)
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var (
	reLuaRequire = regexp.MustCompile(`(?m)^\s*local\s+(\w+)\s*=\s*require\s*\(?\s*["']([\w.]+)["']\s*\)?\s*$`)
	reLuaFrom    = regexp.MustCompile(`(?m)^\s*local\s+(\w+)\s*=\s*(\w+)\.(\w+)\s*$`)
)

// LuaImports maps the locals a file takes from other lua-resty-core modules
// (`local core_request = require "resty.core.request"` then
// `local set_req_header = core_request.set_req_header`) to module.field.
func LuaImports(src string) map[string]string {
	mods := map[string]string{}
	for _, m := range reLuaRequire.FindAllStringSubmatch(src, -1) {
		mods[m[1]] = m[2]
	}
	out := map[string]string{}
	for _, m := range reLuaFrom.FindAllStringSubmatch(src, -1) {
		if mod, ok := mods[m[2]]; ok {
			out[m[1]] = mod + "." + m[3]
		}
	}
	return out
}
