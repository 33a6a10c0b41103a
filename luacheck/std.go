package luacheck

import "strings"

// stdDef describes a standard global or one of its fields, with luacheck's
// meaning: a defined field may have fields of its own; other means any
// field is acceptable; readOnly tells whether assigning it is allowed.
type stdDef struct {
	fields   map[string]*stdDef
	other    bool
	readOnly int8 // 0 inherit, 1 read-only, -1 writable
}

func leaf() *stdDef { return &stdDef{} }

func fieldsOf(names string) *stdDef {
	d := &stdDef{fields: map[string]*stdDef{}}
	for _, n := range strings.Fields(names) {
		d.fields[n] = leaf()
	}
	return d
}

func openTable(writable bool) *stdDef {
	d := &stdDef{other: true}
	if writable {
		d.readOnly = -1
	}
	return d
}

// buildStd returns the globals of Lua 5.1 + LuaJIT 2.1 (the "luajit" std:
// the Lua 5.1 reference manual §5 plus LuaJIT's extensions: bit, jit,
// table.new/clear, ...) plus the OpenResty globals: ngx (its fields come
// from the embedded API table generated from ngx_lua_api.json, not from
// luacheck's ngx_lua std, which stops at lua-nginx-module 0.10.10), ndk,
// and the table/thread extensions OpenResty's LuaJIT ships. The shape
// mirrors luacheck's "ngx_lua" std so that the differential test compares
// like with like; the differences are listed in DIFFERENCES.md.
func buildStd() *stdDef {
	g := &stdDef{fields: map[string]*stdDef{}}
	f := g.fields
	str := fieldsOf("byte char dump find format gmatch gsub len lower match rep reverse sub upper gfind")
	f["_G"] = openTable(true)
	f["_VERSION"] = str
	f["arg"] = openTable(false)
	for _, n := range strings.Fields("assert collectgarbage dofile error getmetatable ipairs load loadfile next pairs pcall print rawequal rawget rawset require select setmetatable tonumber tostring type xpcall gcinfo getfenv loadstring module newproxy setfenv unpack") {
		f[n] = leaf()
	}
	f["coroutine"] = fieldsOf("create resume running status wrap yield isyieldable")
	f["debug"] = fieldsOf("debug gethook getinfo getlocal getmetatable getregistry getupvalue sethook setlocal setmetatable setupvalue traceback getfenv setfenv upvalueid upvaluejoin")
	file := fieldsOf("__gc __tostring close flush lines read seek setvbuf write")
	file.fields["__index"] = openTable(false)
	io := fieldsOf("close flush input lines open output popen read tmpfile type write")
	io.fields["stderr"], io.fields["stdin"], io.fields["stdout"] = file, file, file
	f["io"] = io
	f["math"] = fieldsOf("abs acos asin atan ceil cos deg exp floor fmod huge log max min modf pi rad random randomseed sin sqrt tan atan2 cosh frexp ldexp log10 mod pow sinh tanh")
	f["os"] = fieldsOf("clock date difftime execute exit getenv remove rename setlocale time tmpname")
	pkg := fieldsOf("loadlib searchpath seeall")
	pkg.fields["config"] = str
	pkg.fields["cpath"] = &stdDef{fields: str.fields, readOnly: -1}
	pkg.fields["path"] = &stdDef{fields: str.fields, readOnly: -1}
	pkg.fields["loaded"] = openTable(true)
	pkg.fields["preload"] = openTable(true)
	pkg.fields["loaders"] = openTable(true)
	// OpenResty's own builds (its Homebrew formula, the docker-openresty
	// images: --with-luajit-xcflags='-DLUAJIT_NUMMODE=2
	// -DLUAJIT_ENABLE_LUA52COMPAT') enable LuaJIT's Lua 5.2 compatibility,
	// which adds package.searchers, table.pack and table.unpack
	// (lib_package.c, lib_table.c under LJ_52); Debian's build does not.
	// Code written for those builds uses them, so they are known fields
	// rather than W143 errors on code that runs.
	pkg.fields["searchers"] = openTable(true)
	f["package"] = pkg
	f["string"] = str
	f["table"] = fieldsOf("concat insert remove sort clear foreach foreachi getn maxn move new clone isarray isempty nkeys pack unpack")
	f["bit"] = fieldsOf("arshift band bnot bor bswap bxor lshift rol ror rshift tobit tohex")
	f["jit"] = openTable(false)
	f["thread"] = fieldsOf("exdata")
	ndk := &stdDef{fields: map[string]*stdDef{"set_var": openTable(false)}}
	f["ndk"] = ndk
	f["ngx"] = ngxStd()
	return g
}

// ngxStd builds the ngx global from the embedded API table: every API
// reachable through the global ngx table (lua-resty-core modules that must
// be require()d, such as ngx.balancer, are not fields of ngx).
func ngxStd() *stdDef {
	root := &stdDef{fields: map[string]*stdDef{}}
	for i := range apiTable {
		a := &apiTable[i]
		if !a.global || !strings.HasPrefix(a.name, "ngx.") {
			continue
		}
		parts := strings.Split(a.name[len("ngx."):], ".")
		d := root
		for j, p := range parts {
			if isPlaceholder(p) {
				// ngx.var.VARIABLE, ngx.header.HEADER, ngx.shared.DICT:
				// any name is acceptable at this level.
				d.other = true
				break
			}
			c := d.fields[p]
			if c == nil {
				c = leaf()
				if d.fields == nil {
					d.fields = map[string]*stdDef{}
				}
				d.fields[p] = c
			}
			if j == len(parts)-1 && a.writable {
				c.readOnly = -1
			}
			d = c
		}
	}
	// ngx.ctx, ngx.arg, ngx.var, ngx.header and ngx.shared are tables
	// whose keys are chosen by the user.
	for _, n := range []string{"ctx", "arg", "var", "header", "shared"} {
		if d := root.fields[n]; d != nil {
			d.other = true
			d.readOnly = -1
		}
	}
	if d := root.fields["status"]; d != nil {
		d.readOnly = -1
	}
	return root
}

func isPlaceholder(p string) bool {
	if p == "" {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'A' && c <= 'Z') && c != '_' {
			return false
		}
	}
	// Constants like ngx.OK / ngx.HTTP_OK are real names, not
	// placeholders; placeholders are the documented VARIABLE, HEADER, DICT.
	return p == "VARIABLE" || p == "HEADER" || p == "DICT" || p == "DIRECTIVE"
}

// keyRes is one key of a resolved indexing: a constant string, a value
// known not to be a string, or unknown.
type keyRes struct {
	kind uint8 // 0 unknown, 1 string, 2 not a string
	s    string
}

// fieldStatus follows luacheck's get_field_status (filter.lua) for a global
// and its keys, looking at the first depth levels (0: all).
func fieldStatus(std *stdDef, global string, keys []keyRes, depth int) string {
	def := std
	readOnly := true
	n := len(keys) + 1
	if depth > 0 && depth < n {
		n = depth
	}
	for i := 0; i < n; i++ {
		var k keyRes
		if i == 0 {
			k = keyRes{kind: 1, s: global}
		} else {
			k = keys[i-1]
		}
		switch k.kind {
		case 0:
			if len(def.fields) > 0 || def.other {
				readOnly = false
			} else {
				return "undefined"
			}
			return status(readOnly)
		case 2:
			if !def.other {
				return "undefined"
			}
			return status(readOnly)
		default:
			c := def.fields[k.s]
			if c == nil {
				if !def.other {
					return "undefined"
				}
				return status(readOnly)
			}
			def = c
			if def.readOnly != 0 {
				readOnly = def.readOnly > 0
			}
		}
	}
	return status(readOnly)
}

func status(readOnly bool) string {
	if readOnly {
		return "read_only"
	}
	return "global"
}
