package emulator

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io/fs"
	"net"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint/nginxconf"
	lua "github.com/yuin/gopher-lua"
)

// This file is the ngx API beyond ngx.balancer: what balancers and their
// helper modules use, with lua-nginx-module's phase restrictions and error
// texts (the context masks of ngx_http_lua_*.c and lua-resty-core's
// "no request found" checks), plus the sandbox's os and io.

// disabledIn raises LNM's error when the current phase is one of phases.
func (e *luaEngine) disabledIn(L *lua.LState, phases ...string) {
	for _, p := range phases {
		if e.phase == p {
			L.RaiseError("API disabled in the context of %s", p)
		}
	}
}

// needRequest raises lua-resty-core's error outside a request.
func (e *luaEngine) needRequest(L *lua.LState) {
	if e.u == nil && (e.phase == phInit || e.phase == "") {
		L.RaiseError("no request found")
	}
}

func (e *luaEngine) setFn(t *lua.LTable, name string, f lua.LGFunction) {
	t.RawSetString(name, e.L.NewFunction(f))
}

// installWorkerAPI adds the worker-level API to ngx and the globals.
func (e *luaEngine) installWorkerAPI() {
	L := e.L
	ngx := e.ngx
	g := e.g

	// package: package.loaded is the require cache, shared with the
	// builtins a real VM preloads.
	pkg := L.NewTable()
	e.loaded = L.NewTable()
	for _, n := range []string{"string", "table", "math", "ngx", "os", "io", "bit", "_G", "coroutine"} {
		if v := g.RawGetString(n); v != lua.LNil {
			e.loaded.RawSetString(n, v)
		}
	}
	pkg.RawSetString("loaded", e.loaded)
	pkg.RawSetString("preload", L.NewTable())
	pkg.RawSetString("path", lua.LString(e.r.cfg.Lua.PackagePath))
	pkg.RawSetString("cpath", lua.LString(""))
	g.RawSetString("package", pkg)

	// Output and flow control by phase (ngx_http_lua_output.c,
	// ngx_http_lua_control.c, ngx_http_lua_sleep.c context checks).
	say := func(L *lua.LState) int {
		e.needRequest(L)
		e.disabledIn(L, phInitWorker, phTimer, phBalancer)
		if e.answered == "" {
			e.answered, e.answerStatus = "ngx.say", 200
		}
		L.Push(lua.LTrue)
		return 1
	}
	for _, n := range []string{"say", "print", "flush", "eof", "send_headers"} {
		e.setFn(ngx, n, say)
	}
	e.setFn(ngx, "sleep", func(L *lua.LState) int {
		e.disabledIn(L, phInit, phInitWorker, phBalancer)
		L.CheckNumber(1)
		return 0
	})
	e.setFn(ngx, "exit", func(L *lua.LState) int {
		switch e.phase {
		case phBalancer:
			return e.ngxExit(L)
		case phInit, "":
			L.RaiseError("no request found")
		case phInitWorker:
			L.RaiseError("API disabled in the context of %s", e.phase)
		}
		code := L.CheckInt(1)
		if e.phase == phRewrite || e.phase == phAccess || e.phase == phPreread {
			switch {
			case code >= 200 || code == ngxError:
				if code == ngxError {
					code = 500
				}
				e.answered, e.answerStatus = fmt.Sprintf("ngx.exit(%d)", L.CheckInt(1)), code
			case e.answered != "":
				// ngx.exit(ngx.OK) after output ends the request.
			}
		}
		L.RaiseError("%s", exitSentinel)
		return 0
	})
	e.setFn(ngx, "redirect", func(L *lua.LState) int {
		e.needRequest(L)
		e.disabledIn(L, phInitWorker, phTimer, phBalancer)
		uri := L.CheckString(1)
		st := L.OptInt(2, 302)
		e.answered, e.answerStatus = "ngx.redirect("+truncate(uri, 80)+")", st
		L.RaiseError("%s", exitSentinel)
		return 0
	})
	e.setFn(ngx, "exec", func(L *lua.LState) int {
		e.needRequest(L)
		e.disabledIn(L, phInitWorker, phTimer, phBalancer)
		uri := L.CheckString(1)
		e.answered, e.answerStatus = "ngx.exec("+truncate(uri, 80)+"): the internal redirect is not emulated", 0
		L.RaiseError("%s", exitSentinel)
		return 0
	})

	e.re = e.buildRe()
	ngx.RawSetString("re", e.re)
	e.installVar()
	e.installReq()
	e.installTime()
	e.installCodecs()
	e.installTimers()
	e.installSockets()
	e.installThreads()

	e.setFn(ngx, "get_phase", func(L *lua.LState) int {
		names := map[string]string{phInit: "init", phInitWorker: "init_worker", phTimer: "timer",
			phRewrite: "rewrite", phAccess: "access", phBalancer: "balancer", phPreread: "preread"}
		L.Push(lua.LString(names[e.phase]))
		return 1
	})
	ngx.RawSetString("headers_sent", lua.LFalse)
	ngx.RawSetString("status", lua.LNumber(0))
	ngx.RawSetString("header", L.NewTable())
	ngx.RawSetString("arg", L.NewTable())
	e.setFn(ngx, "is_subrequest", func(L *lua.LState) int { L.Push(lua.LFalse); return 1 })
	// ngx.HTTP_GET ... as lua-nginx-module's ngx_http_lua_consts.c (the
	// NGX_HTTP_* method bits).
	for k, v := range map[string]int{"HTTP_GET": 2, "HTTP_HEAD": 4, "HTTP_POST": 8, "HTTP_PUT": 16, "HTTP_DELETE": 32,
		"HTTP_MKCOL": 64, "HTTP_COPY": 128, "HTTP_MOVE": 256, "HTTP_OPTIONS": 512, "HTTP_PROPFIND": 1024,
		"HTTP_PROPPATCH": 2048, "HTTP_LOCK": 4096, "HTTP_UNLOCK": 8192, "HTTP_PATCH": 16384, "HTTP_TRACE": 32768} {
		ngx.RawSetString(k, lua.LNumber(v))
	}
	for k, v := range map[string]int{"HTTP_CONTINUE": 100, "HTTP_SWITCHING_PROTOCOLS": 101, "HTTP_ACCEPTED": 202,
		"HTTP_PARTIAL_CONTENT": 206, "HTTP_SPECIAL_RESPONSE": 300, "HTTP_SEE_OTHER": 303, "HTTP_TEMPORARY_REDIRECT": 307,
		"HTTP_PERMANENT_REDIRECT": 308, "HTTP_PAYMENT_REQUIRED": 402, "HTTP_NOT_ACCEPTABLE": 406,
		"HTTP_REQUEST_TIMEOUT": 408, "HTTP_CONFLICT": 409, "HTTP_GONE": 410, "HTTP_UPGRADE_REQUIRED": 426,
		"HTTP_CLOSE": 444, "HTTP_ILLEGAL": 451, "HTTP_METHOD_NOT_IMPLEMENTED": 501, "HTTP_VERSION_NOT_SUPPORTED": 505,
		"HTTP_INSUFFICIENT_STORAGE": 507} {
		ngx.RawSetString(k, lua.LNumber(v))
	}

	// ngx.config.prefix() is the prefix the configuration was written
	// for; io.open maps it onto the checked tree.
	if cfg, ok := ngx.RawGetString("config").(*lua.LTable); ok {
		e.setFn(cfg, "prefix", func(L *lua.LState) int { L.Push(lua.LString(e.prefixPath())); return 1 })
		e.setFn(cfg, "nginx_configure", func(L *lua.LState) int {
			L.Push(lua.LString("--prefix=" + strings.TrimSuffix(e.prefixPath(), "/") + " --with-http_ssl_module"))
			return 1
		})
	}
	e.installOS()
	e.installIO()
	e.installDebug()
}

// prefixPath is what ngx.config.prefix() returns.
func (e *luaEngine) prefixPath() string {
	if p := e.r.cfg.Lua.PrefixPath; p != "" {
		return strings.TrimSuffix(p, "/") + "/"
	}
	return "/usr/local/openresty/nginx/"
}

// ---- ngx.var ----

func (e *luaEngine) installVar() {
	L := e.L
	vars := L.NewTable()
	mt := L.NewTable()
	e.setFn(mt, "__index", func(L *lua.LState) int {
		e.needRequest(L)
		name := strings.ToLower(L.CheckString(2))
		if e.u == nil {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(e.variable(e.u, name))
		return 1
	})
	e.setFn(mt, "__newindex", func(L *lua.LState) int {
		e.needRequest(L)
		name := strings.ToLower(L.CheckString(2))
		if e.u == nil {
			L.RaiseError("no request found")
		}
		var val string
		switch v := L.Get(3).(type) {
		case lua.LString:
			val = string(v)
		case lua.LNumber:
			val = v.String()
		case *lua.LNilType:
		default:
			L.RaiseError("bad variable value type %s", v.Type())
		}
		_, defined := e.r.cfg.Lua.Vars[name]
		if _, fx := e.r.cfg.Fixtures.Vars[name]; fx {
			defined = true
		}
		if _, w := e.u.vars[name]; w {
			defined = true
		}
		if !defined {
			if name == "args" || name == "limit_rate" {
				defined = true
			} else if builtinVar(name) {
				// ngx_http_lua_ffi_var_set: a built-in variable without
				// a set_handler.
				L.RaiseError("variable \"%s\" not changeable", name)
			}
		}
		if !defined {
			L.RaiseError("variable \"%s\" not found for writing; maybe it is a built-in variable that is not changeable or you forgot to use \"set $%s '';\" in the config file to define it first", name, name)
		}
		if e.u.vars == nil {
			e.u.vars = map[string]*string{}
		}
		if L.Get(3) == lua.LNil {
			e.u.vars[name] = nil
		} else {
			e.u.vars[name] = &val
		}
		return 0
	})
	L.SetMetatable(vars, mt)
	e.ngx.RawSetString("var", vars)
}

var builtinVarNames = map[string]bool{
	"request_method": true, "uri": true, "document_uri": true, "request_uri": true, "query_string": true,
	"is_args": true, "host": true, "server_name": true, "remote_addr": true, "binary_remote_addr": true,
	"remote_port": true, "server_addr": true, "server_port": true, "scheme": true, "server_protocol": true,
	"request_id": true, "content_type": true, "content_length": true, "hostname": true, "nginx_version": true,
	"pid": true, "msec": true, "request_length": true, "https": true, "connection": true,
	"connection_requests": true, "proxy_host": true, "request_time": true,
}

func builtinVar(name string) bool {
	return builtinVarNames[name] || strings.HasPrefix(name, "http_") || strings.HasPrefix(name, "arg_") ||
		strings.HasPrefix(name, "cookie_") || strings.HasPrefix(name, "upstream_")
}

// variable is the value of nginx variable $name for request u (ngx.var.NAME,
// a hash key): values Lua code wrote, fixtures, the
// location's `set` values, then nginx's variables from the emulated
// request. An unknown variable is nil, as ngx_http_lua_ffi_var_get
// returns for a name nginx does not know.
func (r *run) variable(u *ureq, name string) (string, bool) {
	if v, ok := u.vars[name]; ok {
		if v == nil {
			return "", false
		}
		return *v, true
	}
	if v, ok := r.cfg.Fixtures.Vars[name]; ok {
		return v, true
	}
	if v, ok := r.cfg.Lua.Vars[name]; ok {
		return v, true
	}
	uri, query, hasQ := strings.Cut(u.path, "?")
	switch name {
	case "request_uri":
		return u.path, true
	case "uri", "document_uri":
		if d, err := url.PathUnescape(uri); err == nil {
			return d, true
		}
		return uri, true
	case "args", "query_string":
		if hasQ {
			return query, true
		}
		return "", false
	case "is_args":
		if hasQ && query != "" {
			return "?", true
		}
		return "", true
	case "host":
		h := u.header("Host")
		if h == "" {
			return "emulated.test", true
		}
		if i := strings.LastIndexByte(h, ':'); i > 0 && !strings.HasSuffix(h, "]") {
			h = h[:i]
		}
		return strings.ToLower(h), true
	case "server_name":
		return "emulated.test", true
	case "remote_addr":
		return u.remoteAddr(), true
	case "server_addr":
		return "127.0.0.1", true
	case "binary_remote_addr":
		if ip := net.ParseIP(u.remoteAddr()); ip != nil {
			if v4 := ip.To4(); v4 != nil {
				return string(v4), true
			}
			return string(ip.To16()), true
		}
		return "", false
	case "remote_port":
		return "40000", true
	case "request_method":
		return u.method, true
	case "scheme":
		return "http", true
	case "https":
		return "", true
	case "server_protocol":
		return "HTTP/1.1", true
	case "server_port":
		return "80", true
	case "hostname":
		return "emulated", true
	case "nginx_version":
		return r.prof.Nginx.String(), true
	case "pid":
		return "4242", true
	case "connection_requests":
		return "1", true
	case "connection":
		return strconv.Itoa(u.seq + 1), true
	case "request_id":
		return fmt.Sprintf("%032x", u.seq+1), true
	case "msec":
		return fmt.Sprintf("%.3f", float64(r.now().UnixMilli())/1000), true
	case "content_type":
		if v := u.header("Content-Type"); v != "" {
			return v, true
		}
		return "", false
	case "content_length":
		if v := u.header("Content-Length"); v != "" {
			return v, true
		}
		return "", false
	case "proxy_host":
		return r.hostHeader(), true
	}
	switch {
	case strings.HasPrefix(name, "http_"):
		want := strings.ReplaceAll(name[5:], "_", "-")
		if name == "http_host" && u.header("Host") == "" {
			return "emulated.test", true
		}
		if v, ok := u.headerOK(want); ok {
			return v, true
		}
	case strings.HasPrefix(name, "arg_"):
		for _, kv := range strings.Split(query, "&") {
			k, v, _ := strings.Cut(kv, "=")
			if strings.EqualFold(k, name[4:]) {
				return v, true
			}
		}
	case strings.HasPrefix(name, "cookie_"):
		for _, h := range u.headers {
			if !strings.EqualFold(h[0], "Cookie") {
				continue
			}
			for _, c := range strings.Split(h[1], ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(c), "=")
				if strings.EqualFold(k, name[7:]) {
					return v, true
				}
			}
		}
	}
	return "", false
}

// variable is ngx.var.NAME: run.variable as a Lua value.
func (e *luaEngine) variable(u *ureq, name string) lua.LValue {
	if v, ok := e.r.variable(u, name); ok {
		return lua.LString(v)
	}
	return lua.LNil
}

// header returns the first value of a request header ("" if none).
func (u *ureq) header(name string) string {
	v, _ := u.headerOK(name)
	return v
}

func (u *ureq) headerOK(name string) (string, bool) {
	for _, h := range u.headers {
		if strings.EqualFold(h[0], name) {
			return h[1], true
		}
	}
	return "", false
}

// ---- ngx.req ----

func (e *luaEngine) installReq() {
	L := e.L
	req := L.NewTable()
	needReq := func(L *lua.LState) *ureq {
		if e.u == nil {
			L.RaiseError("no request found")
		}
		return e.u
	}
	e.setFn(req, "get_method", func(L *lua.LState) int { L.Push(lua.LString(needReq(L).method)); return 1 })
	e.setFn(req, "http_version", func(L *lua.LState) int { needReq(L); L.Push(lua.LNumber(1.1)); return 1 })
	e.setFn(req, "is_internal", func(L *lua.LState) int { needReq(L); L.Push(lua.LFalse); return 1 })
	e.setFn(req, "start_time", func(L *lua.LState) int {
		u := needReq(L)
		L.Push(lua.LNumber(float64(u.start.UnixMilli()) / 1000))
		return 1
	})
	e.setFn(req, "get_headers", func(L *lua.LState) int {
		u := needReq(L)
		raw := L.OptBool(2, false)
		t := L.NewTable()
		for _, h := range u.headers {
			k := h[0]
			if !raw {
				k = strings.ToLower(k)
			}
			switch cur := t.RawGetString(k).(type) {
			case *lua.LNilType:
				t.RawSetString(k, lua.LString(h[1]))
			case lua.LString:
				l := L.NewTable()
				l.Append(cur)
				l.Append(lua.LString(h[1]))
				t.RawSetString(k, l)
			case *lua.LTable:
				cur.Append(lua.LString(h[1]))
			}
		}
		if !raw {
			// The table's __index finds "Content_Type" as
			// "content-type" (ngx_http_lua_req_get_headers'
			// metatable, lowercasing and turning '_' into '-').
			mt := L.NewTable()
			e.setFn(mt, "__index", func(L *lua.LState) int {
				k := strings.ReplaceAll(strings.ToLower(L.CheckString(2)), "_", "-")
				L.Push(L.CheckTable(1).RawGetString(k))
				return 1
			})
			L.SetMetatable(t, mt)
		}
		L.Push(t)
		return 1
	})
	e.setFn(req, "raw_header", func(L *lua.LState) int {
		u := needReq(L)
		e.disabledIn(L, phBalancer)
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", u.method, u.path)
		for _, h := range u.headers {
			fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
		}
		b.WriteString("\r\n")
		L.Push(lua.LString(b.String()))
		return 1
	})
	e.setFn(req, "get_uri_args", func(L *lua.LState) int {
		u := needReq(L)
		_, q, _ := strings.Cut(u.path, "?")
		L.Push(decodeArgs(L, q, L.OptInt(1, 100)))
		return 1
	})
	e.setFn(req, "get_post_args", func(L *lua.LState) int {
		needReq(L)
		L.Push(lua.LNil)
		L.Push(lua.LString("requesting body not read"))
		return 2
	})
	e.setFn(req, "read_body", func(L *lua.LState) int {
		needReq(L)
		e.disabledIn(L, phBalancer, phTimer)
		return 0
	})
	e.setFn(req, "get_body_data", func(L *lua.LState) int { needReq(L); L.Push(lua.LNil); return 1 })
	e.setFn(req, "discard_body", func(L *lua.LState) int { needReq(L); return 0 })
	e.setFn(req, "set_header", func(L *lua.LState) int {
		u := needReq(L)
		name := L.CheckString(1)
		u.delHeader(name)
		switch v := L.Get(2).(type) {
		case lua.LString, lua.LNumber:
			u.headers = append(u.headers, [2]string{name, lua.LVAsString(v)})
		case *lua.LTable:
			v.ForEach(func(_, x lua.LValue) { u.headers = append(u.headers, [2]string{name, lua.LVAsString(x)}) })
		}
		return 0
	})
	e.setFn(req, "clear_header", func(L *lua.LState) int { needReq(L).delHeader(L.CheckString(1)); return 0 })
	e.setFn(req, "set_uri_args", func(L *lua.LState) int {
		u := needReq(L)
		var q string
		switch v := L.Get(1).(type) {
		case lua.LString:
			q = string(v)
		case *lua.LTable:
			q = encodeArgs(v)
		default:
			L.ArgError(1, "string or table expected")
		}
		uri, _, _ := strings.Cut(u.path, "?")
		u.path = uri + "?" + q
		return 0
	})
	e.setFn(req, "set_uri", func(L *lua.LState) int {
		u := needReq(L)
		e.disabledIn(L, phBalancer, phAccess)
		p := L.CheckString(1)
		_, q, hasQ := strings.Cut(u.path, "?")
		u.path = p
		if hasQ {
			u.path += "?" + q
		}
		return 0
	})
	e.setFn(req, "set_method", func(L *lua.LState) int { needReq(L); return 0 })
	e.ngx.RawSetString("req", req)
}

func (u *ureq) delHeader(name string) {
	kept := u.headers[:0]
	for _, h := range u.headers {
		if !strings.EqualFold(h[0], strings.ReplaceAll(name, "_", "-")) && !strings.EqualFold(h[0], name) {
			kept = append(kept, h)
		}
	}
	u.headers = kept
}

// decodeArgs is ngx.decode_args / get_uri_args: repeated keys give a
// list, a key without '=' is true.
func decodeArgs(L *lua.LState, q string, max int) *lua.LTable {
	t := L.NewTable()
	n := 0
	for _, kv := range strings.Split(q, "&") {
		if kv == "" {
			continue
		}
		if max > 0 && n >= max {
			break
		}
		n++
		k, v, hasV := strings.Cut(kv, "=")
		k = unescapeURI(k)
		var val lua.LValue = lua.LTrue
		if hasV {
			val = lua.LString(unescapeURI(v))
		}
		switch cur := t.RawGetString(k).(type) {
		case *lua.LNilType:
			t.RawSetString(k, val)
		case *lua.LTable:
			cur.Append(val)
		default:
			l := L.NewTable()
			l.Append(cur)
			l.Append(val)
			t.RawSetString(k, l)
		}
	}
	return t
}

// encodeArgs is ngx.encode_args, with keys in sorted order (LNM walks the
// table with lua_next, whose order Lua leaves unspecified).
func encodeArgs(t *lua.LTable) string {
	type kv struct{ k, v string }
	var out []kv
	var keys []string
	vals := map[string]lua.LValue{}
	t.ForEach(func(k, v lua.LValue) {
		ks := lua.LVAsString(k)
		keys = append(keys, ks)
		vals[ks] = v
	})
	sort.Strings(keys)
	add := func(k string, v lua.LValue) {
		switch x := v.(type) {
		case lua.LBool:
			if x {
				out = append(out, kv{escapeURI(k, 2), ""})
			}
		case lua.LString, lua.LNumber:
			out = append(out, kv{escapeURI(k, 2), "=" + escapeURI(lua.LVAsString(x), 2)})
		}
	}
	for _, k := range keys {
		if l, ok := vals[k].(*lua.LTable); ok {
			for i := 1; i <= l.Len(); i++ {
				add(k, l.RawGetInt(i))
			}
			continue
		}
		add(k, vals[k])
	}
	parts := make([]string, len(out))
	for i, p := range out {
		parts[i] = p.k + p.v
	}
	return strings.Join(parts, "&")
}

// escapeURI is ngx.escape_uri: type 2 (the default, a URI component)
// keeps only RFC 3986 unreserved bytes; type 0 escapes what a URI
// cannot hold (blank, '#', '%', '?', controls and bytes >= 0x7f).
func escapeURI(s string, typ int) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		keep := false
		switch typ {
		case 0:
			keep = c > ' ' && c < 0x7f && c != '#' && c != '%' && c != '?'
		default:
			keep = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0
		}
		if keep {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// unescapeURI is ngx.unescape_uri: %XX decoded, '+' turned into a blank,
// a malformed escape kept as written.
func unescapeURI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s)+0 && i+2 <= len(s)-1 && isHex(s[i+1]) && isHex(s[i+2]):
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(v))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// ---- time ----

// The emulator's clock is UTC: ngx.localtime and ngx.today read the
// server's time zone in nginx, which the sandbox does not reveal.
func (e *luaEngine) installTime() {
	ngx := e.ngx
	now := func(layout string) lua.LGFunction {
		return func(L *lua.LState) int { L.Push(lua.LString(e.r.now().UTC().Format(layout))); return 1 }
	}
	e.setFn(ngx, "today", now("2006-01-02"))
	e.setFn(ngx, "localtime", now("2006-01-02 15:04:05"))
	e.setFn(ngx, "utctime", now("2006-01-02 15:04:05"))
	at := func(layout string) lua.LGFunction {
		return func(L *lua.LState) int {
			n, ok := L.Get(1).(lua.LNumber)
			if !ok {
				L.RaiseError("number argument only")
			}
			L.Push(lua.LString(time.Unix(int64(n), 0).UTC().Format(layout)))
			return 1
		}
	}
	e.setFn(ngx, "http_time", at("Mon, 02 Jan 2006 15:04:05 GMT"))
	e.setFn(ngx, "cookie_time", at("Mon, 02-Jan-06 15:04:05 GMT"))
	e.setFn(ngx, "parse_http_time", func(L *lua.LState) int {
		s, ok := L.Get(1).(lua.LString)
		if !ok {
			L.RaiseError("string argument only")
		}
		for _, layout := range []string{time.RFC1123, "Monday, 02-Jan-06 15:04:05 MST", time.ANSIC, "Mon, 02-Jan-06 15:04:05 MST"} {
			if t, err := time.Parse(layout, string(s)); err == nil {
				L.Push(lua.LNumber(t.Unix()))
				return 1
			}
		}
		L.Push(lua.LNil)
		return 1
	})
}

// ---- codecs and hashes ----

func (e *luaEngine) installCodecs() {
	ngx := e.ngx
	str := func(L *lua.LState, i int) string {
		switch v := L.Get(i).(type) {
		case lua.LString:
			return string(v)
		case lua.LNumber:
			return v.String()
		case *lua.LNilType:
			return ""
		default:
			L.RaiseError("string argument only")
		}
		return ""
	}
	e.setFn(ngx, "crc32_short", func(L *lua.LState) int { L.Push(lua.LNumber(crc32.ChecksumIEEE([]byte(str(L, 1))))); return 1 })
	e.setFn(ngx, "crc32_long", func(L *lua.LState) int { L.Push(lua.LNumber(crc32.ChecksumIEEE([]byte(str(L, 1))))); return 1 })
	e.setFn(ngx, "md5", func(L *lua.LState) int {
		s := md5.Sum([]byte(str(L, 1)))
		L.Push(lua.LString(hex.EncodeToString(s[:])))
		return 1
	})
	e.setFn(ngx, "md5_bin", func(L *lua.LState) int { s := md5.Sum([]byte(str(L, 1))); L.Push(lua.LString(s[:])); return 1 })
	e.setFn(ngx, "sha1_bin", func(L *lua.LState) int { s := sha1.Sum([]byte(str(L, 1))); L.Push(lua.LString(s[:])); return 1 })
	e.setFn(ngx, "hmac_sha1", func(L *lua.LState) int {
		m := hmac.New(sha1.New, []byte(str(L, 1)))
		m.Write([]byte(str(L, 2)))
		L.Push(lua.LString(m.Sum(nil)))
		return 1
	})
	e.setFn(ngx, "encode_base64", func(L *lua.LState) int {
		s := str(L, 1)
		enc := base64.StdEncoding
		if v := L.Get(2); v != lua.LNil {
			if _, ok := v.(lua.LBool); !ok {
				L.RaiseError("bad no_padding: boolean expected, got %s", v.Type())
			}
			if lua.LVAsBool(v) {
				enc = base64.RawStdEncoding
			}
		}
		L.Push(lua.LString(enc.EncodeToString([]byte(s))))
		return 1
	})
	e.setFn(ngx, "decode_base64", func(L *lua.LState) int {
		s, ok := L.Get(1).(lua.LString)
		if !ok {
			L.RaiseError("string argument only")
		}
		d, err := base64.StdEncoding.DecodeString(string(s))
		if err != nil {
			d, err = base64.RawStdEncoding.DecodeString(string(s))
		}
		if err != nil {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(lua.LString(d))
		return 1
	})
	e.setFn(ngx, "escape_uri", func(L *lua.LState) int {
		typ := L.OptInt(2, 2)
		if typ < 0 || typ > 10 {
			L.RaiseError("\"type\" %d out of range", typ)
		}
		L.Push(lua.LString(escapeURI(str(L, 1), typ)))
		return 1
	})
	e.setFn(ngx, "unescape_uri", func(L *lua.LState) int { L.Push(lua.LString(unescapeURI(str(L, 1)))); return 1 })
	e.setFn(ngx, "encode_args", func(L *lua.LState) int { L.Push(lua.LString(encodeArgs(L.CheckTable(1)))); return 1 })
	e.setFn(ngx, "decode_args", func(L *lua.LState) int { L.Push(decodeArgs(L, L.CheckString(1), L.OptInt(2, 100))); return 1 })
	e.setFn(ngx, "quote_sql_str", func(L *lua.LState) int {
		s := str(L, 1)
		var b strings.Builder
		b.WriteByte('\'')
		for i := 0; i < len(s); i++ {
			switch c := s[i]; c {
			case 0:
				b.WriteString(`\0`)
			case '\b':
				b.WriteString(`\b`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			case 26:
				b.WriteString(`\Z`)
			case '\\', '\'', '"':
				b.WriteByte('\\')
				b.WriteByte(c)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('\'')
		L.Push(lua.LString(b.String()))
		return 1
	})
}

// ---- timers ----

func (e *luaEngine) installTimers() {
	L := e.L
	timer := L.NewTable()
	add := func(every bool) lua.LGFunction {
		return func(L *lua.LState) int {
			if e.phase == phInit || e.phase == "" {
				// ngx_http_lua_ngx_timer_at finds no request in
				// init_by_lua (the master has no event loop).
				L.RaiseError("no request")
			}
			d := L.CheckNumber(1)
			fn := L.CheckFunction(2)
			if every && d <= 0 {
				L.ArgError(1, "bad delay argument")
			}
			if d < 0 {
				L.RaiseError("bad delay argument")
			}
			if len(e.timers) >= 1024 {
				L.Push(lua.LNil)
				L.Push(lua.LString("too many pending timers"))
				return 2
			}
			var args []lua.LValue
			for i := 3; i <= L.GetTop(); i++ {
				args = append(args, L.Get(i))
			}
			e.timers = append(e.timers, luaTimer{fn: fn, args: args, delay: float64(d), every: every,
				where: strings.TrimSuffix(L.Where(1), ":")})
			L.Push(lua.LTrue)
			return 1
		}
	}
	e.setFn(timer, "at", add(false))
	e.setFn(timer, "every", add(true))
	e.setFn(timer, "running_count", func(L *lua.LState) int { L.Push(lua.LNumber(0)); return 1 })
	e.setFn(timer, "pending_count", func(L *lua.LState) int { L.Push(lua.LNumber(len(e.timers))); return 1 })
	e.ngx.RawSetString("timer", timer)
}

// ---- the outside world: cosockets and subrequests ----

// installSockets gives ngx.socket.* objects whose connect fails as a
// refused connection would; nothing is dialled. The context mask is that
// of ngx_http_lua_socket_tcp (rewrite, access, content, timer, ssl_*):
// init_by_lua*, init_worker_by_lua* and balancer_by_lua* raise.
func (e *luaEngine) installSockets() {
	L := e.L
	sock := L.NewTable()
	newSock := func(kind string) lua.LGFunction {
		return func(L *lua.LState) int {
			e.disabledIn(L, phInit, phInitWorker, phBalancer)
			L.Push(e.refusedSocket(kind))
			return 1
		}
	}
	e.setFn(sock, "tcp", newSock("tcp"))
	e.setFn(sock, "udp", newSock("udp"))
	e.setFn(sock, "stream", newSock("unix"))
	e.setFn(sock, "connect", func(L *lua.LState) int {
		e.disabledIn(L, phInit, phInitWorker, phBalancer)
		e.noteExternal(L, "ngx.socket.connect "+lua.LVAsString(L.Get(1))+portSuffix(L.Get(2)))
		L.Push(lua.LNil)
		L.Push(lua.LString("connection refused"))
		return 2
	})
	e.ngx.RawSetString("socket", sock)

	loc := L.NewTable()
	capture := func(L *lua.LState) int {
		e.needRequest(L)
		e.disabledIn(L, phInitWorker, phTimer, phBalancer)
		e.noteExternal(L, "ngx.location.capture "+truncate(lua.LVAsString(L.Get(1)), 80))
		res := L.NewTable()
		res.RawSetString("status", lua.LNumber(502))
		res.RawSetString("body", lua.LString(""))
		res.RawSetString("header", L.NewTable())
		res.RawSetString("truncated", lua.LFalse)
		L.Push(res)
		return 1
	}
	e.setFn(loc, "capture", capture)
	e.setFn(loc, "capture_multi", func(L *lua.LState) int {
		reqs := L.CheckTable(1)
		n := 0
		reqs.ForEach(func(_, v lua.LValue) {
			if t, ok := v.(*lua.LTable); ok && n < 200 {
				L.Push(t.RawGetInt(1))
				n++
			}
		})
		for i := 0; i < n; i++ {
			e.noteExternal(L, "ngx.location.capture_multi "+truncate(lua.LVAsString(L.Get(-n+i)), 80))
		}
		L.Pop(n)
		for i := 0; i < n; i++ {
			res := L.NewTable()
			res.RawSetString("status", lua.LNumber(502))
			res.RawSetString("body", lua.LString(""))
			res.RawSetString("header", L.NewTable())
			L.Push(res)
		}
		return n
	})
	e.ngx.RawSetString("location", loc)
}

func portSuffix(v lua.LValue) string {
	if v == lua.LNil {
		return ""
	}
	if _, ok := v.(*lua.LTable); ok {
		return ""
	}
	return ":" + lua.LVAsString(v)
}

// refusedSocket is a cosocket object whose every network operation fails
// as after a refused connection.
func (e *luaEngine) refusedSocket(kind string) *lua.LTable {
	L := e.L
	s := L.NewTable()
	fail := func(err string) lua.LGFunction {
		return func(L *lua.LState) int {
			L.Push(lua.LNil)
			L.Push(lua.LString(err))
			return 2
		}
	}
	ok := func(L *lua.LState) int { L.Push(lua.LNumber(1)); return 1 }
	e.setFn(s, "connect", func(L *lua.LState) int {
		e.noteExternal(L, "ngx.socket."+kind+" connect "+truncate(lua.LVAsString(L.Get(2)), 80)+portSuffix(L.Get(3)))
		L.Push(lua.LNil)
		L.Push(lua.LString("connection refused"))
		return 2
	})
	e.setFn(s, "setpeername", func(L *lua.LState) int {
		e.noteExternal(L, "ngx.socket."+kind+" setpeername "+truncate(lua.LVAsString(L.Get(2)), 80)+portSuffix(L.Get(3)))
		L.Push(lua.LNil)
		L.Push(lua.LString("connection refused"))
		return 2
	})
	for _, n := range []string{"send", "receive", "receiveany", "receiveuntil", "sslhandshake", "setkeepalive", "close", "peek", "tlshandshake"} {
		e.setFn(s, n, fail("closed"))
	}
	for _, n := range []string{"settimeout", "settimeouts", "setoption", "bind"} {
		e.setFn(s, n, ok)
	}
	e.setFn(s, "getreusedtimes", func(L *lua.LState) int { L.Push(lua.LNumber(0)); return 1 })
	return s
}

// ---- os and io ----

// installOS gives an os table with the clock functions and an os.getenv
// that sees Config.Fixtures.Env only: never the real environment, and
// nothing that runs, removes or renames.
func (e *luaEngine) installOS() {
	L := e.L
	tmp := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer tmp.Close()
	o := L.NewTable()
	e.setFn(o, "time", func(L *lua.LState) int {
		if t, ok := L.Get(1).(*lua.LTable); ok {
			get := func(k string, d int) int {
				if n, ok := t.RawGetString(k).(lua.LNumber); ok {
					return int(n)
				}
				return d
			}
			tm := time.Date(get("year", 1970), time.Month(get("month", 1)), get("day", 1), get("hour", 12), get("min", 0), get("sec", 0), 0, time.UTC)
			L.Push(lua.LNumber(tm.Unix()))
			return 1
		}
		L.Push(lua.LNumber(e.r.now().Unix()))
		return 1
	})
	start := time.Now()
	e.setFn(o, "clock", func(L *lua.LState) int { L.Push(lua.LNumber(time.Since(start).Seconds())); return 1 })
	e.setFn(o, "difftime", func(L *lua.LState) int { L.Push(L.CheckNumber(1) - L.OptNumber(2, 0)); return 1 })
	e.setFn(o, "date", func(L *lua.LState) int {
		f := L.OptString(1, "%c")
		t := e.r.now().UTC()
		if n, ok := L.Get(2).(lua.LNumber); ok {
			t = time.Unix(int64(n), 0).UTC()
		}
		f = strings.TrimPrefix(f, "!")
		if strings.HasPrefix(f, "*t") {
			r := L.NewTable()
			for k, v := range map[string]int{"year": t.Year(), "month": int(t.Month()), "day": t.Day(), "hour": t.Hour(),
				"min": t.Minute(), "sec": t.Second(), "wday": int(t.Weekday()) + 1, "yday": t.YearDay()} {
				r.RawSetString(k, lua.LNumber(v))
			}
			r.RawSetString("isdst", lua.LFalse)
			L.Push(r)
			return 1
		}
		L.Push(lua.LString(strftime(f, t)))
		return 1
	})
	e.setFn(o, "getenv", func(L *lua.LState) int {
		name := L.CheckString(1)
		if v, ok := e.r.cfg.Fixtures.Env[name]; ok {
			L.Push(lua.LString(v))
			return 1
		}
		e.noteExternal(L, "os.getenv "+truncate(name, 80)+" (unset: give it in the fixtures' env)")
		L.Push(lua.LNil)
		return 1
	})
	e.g.RawSetString("os", o)
	e.loaded.RawSetString("os", o)
}

// strftime formats the conversions os.date code uses.
func strftime(f string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'c':
			b.WriteString(t.Format("Mon Jan  2 15:04:05 2006"))
		case 'x':
			b.WriteString(t.Format("01/02/06"))
		case 'X':
			b.WriteString(t.Format("15:04:05"))
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case 'b':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'p':
			b.WriteString(t.Format("PM"))
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'Z':
			b.WriteString("UTC")
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

// installIO gives a read-only io.open / io.lines over Config.Lua.Files.
func (e *luaEngine) installIO() {
	L := e.L
	iot := L.NewTable()
	e.setFn(iot, "open", func(L *lua.LState) int {
		name := L.CheckString(1)
		mode := L.OptString(2, "r")
		if strings.ContainsAny(mode, "wa+") {
			L.Push(lua.LNil)
			L.Push(lua.LString(name + ": Read-only file system"))
			L.Push(lua.LNumber(30))
			return 3
		}
		data, err := e.readFile(name)
		if err != "" {
			e.noteExternal(L, "io.open "+truncate(name, 120)+": "+err+" in the checked tree")
			L.Push(lua.LNil)
			L.Push(lua.LString(name + ": " + err))
			L.Push(lua.LNumber(2))
			return 3
		}
		L.Push(e.fileObject(data))
		return 1
	})
	e.setFn(iot, "lines", func(L *lua.LState) int {
		name := L.CheckString(1)
		data, err := e.readFile(name)
		if err != "" {
			L.RaiseError("%s: %s", name, err)
		}
		f := e.fileObject(data)
		L.Push(L.NewClosure(func(L *lua.LState) int {
			L.SetTop(0) // the generic for's state and control values
			L.Push(f)
			L.Push(lua.LString("*l"))
			return e.fileRead(L)
		}))
		return 1
	})
	e.setFn(iot, "write", func(L *lua.LState) int { return 0 })
	e.setFn(iot, "close", func(L *lua.LState) int { return 0 })
	e.g.RawSetString("io", iot)
	e.loaded.RawSetString("io", iot)
}

// readFile reads name from the checked tree, as io.open would find it.
// The tree's root is nginx's "/" (as for nginxconf.Load); a relative name
// is taken from ngx.config.prefix() (nginx's working directory is its
// prefix here), and Config.Lua.PathMap maps deployment paths onto the
// tree. Files outside the tree and files named like credentials are
// missing.
func (e *luaEngine) readFile(name string) ([]byte, string) {
	const missing = "No such file or directory"
	fsys := e.r.cfg.Lua.Files
	if fsys == nil {
		return nil, missing
	}
	abs := name
	if !strings.HasPrefix(abs, "/") {
		abs = e.prefixPath() + abs
	}
	abs = path.Clean(abs)
	if e.r.cfg.Lua.PrefixPath == "" && e.r.cfg.Lua.Prefix != "" {
		// The default prefix stands for Config.Lua.Prefix.
		if pp := strings.TrimSuffix(e.prefixPath(), "/"); abs == pp || strings.HasPrefix(abs, pp+"/") {
			abs = path.Join("/", e.r.cfg.Lua.Prefix, strings.TrimPrefix(abs, pp))
		}
	}
	best := -1
	for i, m := range e.r.cfg.Lua.PathMap {
		from := strings.TrimSuffix(m.From, "/")
		if (abs == from || strings.HasPrefix(abs, from+"/")) && (best < 0 || len(from) > len(e.r.cfg.Lua.PathMap[best].From)) {
			best = i
		}
	}
	if best >= 0 {
		m := e.r.cfg.Lua.PathMap[best]
		abs = path.Join("/", m.To, strings.TrimPrefix(abs, strings.TrimSuffix(m.From, "/")))
	}
	rel := strings.TrimPrefix(path.Clean(abs), "/")
	if rel == "" {
		rel = "."
	}
	if !fs.ValidPath(rel) || nginxconf.CredentialLike(rel) {
		return nil, missing
	}
	st, err := fs.Stat(fsys, rel)
	if err != nil || !st.Mode().IsRegular() {
		return nil, missing
	}
	if st.Size() > luaMaxString {
		return nil, "File too large for the emulator"
	}
	data, err := fs.ReadFile(fsys, rel)
	if err != nil {
		return nil, missing
	}
	return data, ""
}

// fileObject is a read-only file handle over data.
func (e *luaEngine) fileObject(data []byte) *lua.LTable {
	L := e.L
	f := L.NewTable()
	ud := L.NewUserData()
	ud.Value = &fileState{data: data}
	f.RawSetString("\x00state", ud)
	e.setFn(f, "read", e.fileRead)
	e.setFn(f, "lines", func(L *lua.LState) int {
		self := L.CheckTable(1)
		L.Push(L.NewClosure(func(L *lua.LState) int {
			// A generic for calls the iterator with its state and
			// control values (nil, then the last line); read looks at
			// its own arguments only.
			L.SetTop(0)
			L.Push(self)
			L.Push(lua.LString("*l"))
			return e.fileRead(L)
		}))
		return 1
	})
	e.setFn(f, "close", func(L *lua.LState) int { L.Push(lua.LTrue); return 1 })
	e.setFn(f, "seek", func(L *lua.LState) int {
		st := fileStateOf(L)
		whence := L.OptString(2, "cur")
		off := L.OptInt(3, 0)
		switch whence {
		case "set":
			st.pos = off
		case "end":
			st.pos = len(st.data) + off
		default:
			st.pos += off
		}
		st.pos = min(max(st.pos, 0), len(st.data))
		L.Push(lua.LNumber(st.pos))
		return 1
	})
	e.setFn(f, "write", func(L *lua.LState) int {
		L.Push(lua.LNil)
		L.Push(lua.LString("Bad file descriptor"))
		return 2
	})
	e.setFn(f, "setvbuf", func(L *lua.LState) int { L.Push(lua.LTrue); return 1 })
	return f
}

type fileState struct {
	data []byte
	pos  int
}

func fileStateOf(L *lua.LState) *fileState {
	ud, _ := L.CheckTable(1).RawGetString("\x00state").(*lua.LUserData)
	if ud == nil {
		L.RaiseError("bad file")
	}
	return ud.Value.(*fileState)
}

// fileRead is file:read with Lua 5.1's formats.
func (e *luaEngine) fileRead(L *lua.LState) int {
	st := fileStateOf(L)
	n := L.GetTop()
	if n < 2 {
		L.Push(lua.LString("*l"))
		n = 2
	}
	out := 0
	for i := 2; i <= n; i++ {
		rest := st.data[st.pos:]
		switch f := L.Get(i).(type) {
		case lua.LNumber:
			if len(rest) == 0 && f > 0 {
				L.Push(lua.LNil)
				return out + 1
			}
			k := min(int(f), len(rest))
			L.Push(lua.LString(rest[:k]))
			st.pos += k
		default:
			// LuaJIT's io_file_read looks at one letter after an
			// optional '*': "*all" is "*a", "*line" is "*l", and "L"
			// (any case but 'l') keeps the newline (lib_io.c; checked
			// against Debian's nginx 1.22.1 + LNM 0.10.23 LuaJIT).
			fmtc := strings.TrimPrefix(lua.LVAsString(f), "*")
			if fmtc != "" {
				fmtc = fmtc[:1]
			}
			keepNL := fmtc == "L"
			switch fmtc {
			case "a":
				L.Push(lua.LString(rest))
				st.pos = len(st.data)
			case "l", "L":
				if len(rest) == 0 {
					L.Push(lua.LNil)
					return out + 1
				}
				line := rest
				if j := strings.IndexByte(string(rest), '\n'); j >= 0 {
					line = rest[:j]
					if keepNL {
						line = rest[:j+1]
					}
					st.pos += j + 1
				} else {
					st.pos = len(st.data)
				}
				L.Push(lua.LString(line))
			case "n":
				s := strings.TrimLeft(string(rest), " \t\r\n")
				j := 0
				for j < len(s) && strings.IndexByte("0123456789+-.eExXabcdefABCDEF", s[j]) >= 0 {
					j++
				}
				v, err := strconv.ParseFloat(s[:j], 64)
				if err != nil {
					L.Push(lua.LNil)
					return out + 1
				}
				st.pos += len(rest) - len(s) + j
				L.Push(lua.LNumber(v))
			default:
				L.ArgError(i, "invalid format")
			}
		}
		out++
	}
	return out
}

// installThreads gives ngx.thread: a "light thread" runs to its end when
// spawned (nothing in the sandbox ever yields: sleeps return at once and
// sockets fail at once), so spawn runs it, and wait returns what it
// returned, as ngx_http_lua_uthread.c does for a finished thread (true and
// the results, or false and the error).
func (e *luaEngine) installThreads() {
	L := e.L
	th := L.NewTable()
	e.setFn(th, "spawn", func(L *lua.LState) int {
		e.disabledIn(L, phInit, phInitWorker, phBalancer)
		fn := L.CheckFunction(1)
		top := L.GetTop()
		res := L.NewTable()
		L.Push(fn)
		for i := 2; i <= top; i++ {
			L.Push(L.Get(i))
		}
		if err := L.PCall(top-1, lua.MultRet, nil); err != nil {
			res.RawSetInt(1, lua.LFalse)
			res.RawSetInt(2, lua.LString(firstLine(err.Error())))
		} else {
			res.RawSetInt(1, lua.LTrue)
			for i := top + 1; i <= L.GetTop(); i++ {
				res.RawSetInt(i-top+1, L.Get(i))
			}
			L.SetTop(top)
		}
		L.Push(res)
		return 1
	})
	e.setFn(th, "wait", func(L *lua.LState) int {
		res := L.CheckTable(1)
		n := res.Len()
		for i := 1; i <= n; i++ {
			L.Push(res.RawGetInt(i))
		}
		return n
	})
	e.setFn(th, "kill", func(L *lua.LState) int {
		L.Push(lua.LNil)
		L.Push(lua.LString("already waited or killed"))
		return 2
	})
	e.ngx.RawSetString("thread", th)
}
