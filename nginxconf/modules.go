package nginxconf

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// This file follows Lua modules: the require "name" calls of every chunk,
// resolved on lua_package_path as lua-nginx-module sets package.path, and
// read with the limits, roots and refusals of every other file. It does
// not look into Lua itself: Options.Requires (luacheck.Requires in the
// CLI) says which literal names a chunk requires.

// PathMapping maps an absolute deployment path prefix (From, e.g.
// "/usr/local/openresty/nginx") to where that tree lies in the checked
// files (To). See Options.PathMap.
type PathMapping struct{ From, To string }

// Module is one Lua module some chunk (or another module) requires with a
// literal name, resolved once per configuration.
type Module struct {
	// Name is the name passed to require ("resty.balancer", "app.peers").
	Name string
	// File is the module's file; nil when it was not read.
	File *File
	// Path is the display path of the file read ("" when none was).
	Path string
	// Tried are the display paths looked at, in lua_package_path order,
	// up to and including the one read. Paths outside the checked tree
	// are listed too, but were not looked at.
	Tried []string
	// Err says why the module was not read: not found on
	// lua_package_path (naming what was tried), refused (outside the
	// checked tree once links are resolved, named like credentials, over
	// a limit), or "not in this checkout" when the only places it could
	// be are outside the checked tree (an absolute install path that no
	// PathMap entry maps). It is "" when the module was read and for
	// Builtin modules.
	Err string
	// Builtin is set for a module that OpenResty itself provides
	// (ngx.balancer, resty.core, cjson, ...; see builtinModules) and that
	// is not in the checked tree: not finding it is no error.
	Builtin bool
	// Chunk is the module's code as a file chunk (Origin LuaFile, Context
	// "": a module runs in the phase of whoever requires it), so that it
	// is analysed like a *_by_lua_file file, with positions in its own
	// file; nil when the module was not read. A file that is also a
	// *_by_lua_file file shares its File but has its own Chunk.
	Chunk *LuaChunk
	// Requires are the literal module names the module itself requires,
	// as Options.Requires returned them.
	Requires []string
	// Subsystem is "http" or "stream": whose lua_package_path resolved
	// the module (the first to require it).
	Subsystem string
}

// Module returns the module required under name, nil when none was.
func (c *Config) Module(name string) *Module {
	return c.modules[name]
}

// builtinModules are the modules an OpenResty installation provides
// without the application shipping them, by where they come from:
//
//   - lua-nginx-module registers "ngx" and "ndk" in package.loaded
//     (ngx_http_lua_init_globals);
//   - lua-resty-core 0.1.x lib/: ngx.* and resty.core.* (the modules
//     Debian's lua-resty-core 0.1.25 installs in /usr/share/lua/5.1);
//   - lua-upstream-nginx-module preloads ngx.upstream;
//   - lua-resty-lrucache, lua-resty-string, lua-resty-lock,
//     lua-resty-limit-traffic, lua-resty-upstream-healthcheck,
//     lua-resty-dns, lua-resty-mysql, lua-resty-redis,
//     lua-resty-memcached, lua-resty-upload, lua-resty-websocket,
//     lua-resty-shell, lua-resty-signal, lua-tablepool and lua-cjson are
//     bundled in the OpenResty release tarball (openresty.org/en/components.html);
//   - LuaJIT's own libraries (bit, ffi, jit.*, string.buffer, table.new,
//     table.clear) and OpenResty LuaJIT's table.* extensions;
//   - the Lua 5.1 standard libraries, which require also returns.
//
// lua-resty-balancer (resty.roundrobin, resty.chash) and lua-resty-http
// are not part of the bundle: an application ships or installs them.
var builtinModules = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`
		ngx ndk
		ngx.balancer ngx.base64 ngx.errlog ngx.ocsp ngx.pipe ngx.process ngx.re
		ngx.req ngx.resp ngx.semaphore ngx.ssl ngx.ssl.clienthello ngx.ssl.session
		ngx.upstream
		resty.core resty.core.base resty.core.base64 resty.core.coroutine resty.core.ctx
		resty.core.exit resty.core.hash resty.core.misc resty.core.ndk resty.core.param
		resty.core.phase resty.core.regex resty.core.request resty.core.response
		resty.core.shdict resty.core.socket resty.core.time resty.core.uri
		resty.core.utils resty.core.var resty.core.worker
		resty.lrucache resty.lrucache.pureffi
		resty.string resty.sha resty.sha1 resty.sha224 resty.sha256 resty.sha384 resty.sha512
		resty.md5 resty.aes resty.random
		resty.lock resty.limit.req resty.limit.conn resty.limit.count resty.limit.traffic
		resty.upstream.healthcheck resty.dns.resolver resty.mysql resty.redis resty.memcached
		resty.upload resty.websocket.server resty.websocket.client resty.websocket.protocol
		resty.shell resty.signal tablepool
		cjson cjson.safe
		bit ffi jit jit.util jit.profile jit.opt string.buffer thread.exdata thread.exdata2
		table.new table.clear table.clone table.isarray table.isempty table.nkeys
		string table math io os coroutine debug package
	`) {
		m[n] = true
	}
	return m
}()

// IsBuiltinModule reports whether OpenResty itself provides the module
// name (see builtinModules).
func IsBuiltinModule(name string) bool { return builtinModules[name] }

// plainModuleName reports whether name looks like a module name: letters,
// digits, '_', '-' and '.', at most 200 bytes. Other literal names are
// not followed: they would be echoed into messages, and nothing real is
// named so.
func plainModuleName(name string) bool {
	if name == "" || len(name) > 200 || name[0] == '.' || name[len(name)-1] == '.' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// defaultLuaPath is the package.path an OpenResty nginx starts with,
// relative to its prefix ($prefix is <openresty>/nginx): what
// `resty -e 'print(package.path)'` prints in the official
// openresty/docker-openresty images. OpenResty's build defines
// LUA_DEFAULT_PATH as the site/lualib and lualib entries (which
// ngx_http_lua_new_state prepends to LuaJIT's default), and LuaJIT's
// own default (luaconf.h LUA_PATH_DEFAULT with its install root
// <openresty>/luajit) follows. The ?.ljbc bytecode entries are left out:
// bytecode is a binary file, which is never read.
var defaultLuaPath = []string{
	"$prefix/../site/lualib/?.lua", "$prefix/../site/lualib/?/init.lua",
	"$prefix/../lualib/?.lua", "$prefix/../lualib/?/init.lua",
	"./?.lua",
	"$prefix/../luajit/share/luajit-2.1/?.lua",
	"/usr/local/share/lua/5.1/?.lua", "/usr/local/share/lua/5.1/?/init.lua",
	"$prefix/../luajit/share/lua/5.1/?.lua", "$prefix/../luajit/share/lua/5.1/?/init.lua",
}

// luaSearchPath turns a lua_package_path value into search templates as
// lua-nginx-module sets package.path (ngx_http_lua_set_path, called
// from ngx_http_lua_new_state): ";;" stands for the default path, and
// "$prefix" and "${prefix}" are replaced by the nginx prefix (which
// ends in "/" there: "$prefix/lua" gives "<prefix>//lua", the same
// file). value == "" means no lua_package_path: the default path.
// Templates are made absolute: nginx's working directory is unknown, so
// a relative template ("./?.lua", "lua/?.lua") is taken from the prefix,
// where nginx is usually started.
func luaSearchPath(value, prefix string) []string {
	def := strings.Join(defaultLuaPath, ";")
	if value == "" {
		value = def
	} else {
		value = strings.ReplaceAll(value, ";;", ";"+def+";")
	}
	var out []string
	for _, t := range strings.Split(value, ";") {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		t = strings.ReplaceAll(t, "${prefix}", prefix+"/")
		t = strings.ReplaceAll(t, "$prefix", prefix+"/")
		if !strings.HasPrefix(t, "/") {
			t = prefix + "/" + t
		}
		out = append(out, t)
	}
	return out
}

// mapPath applies the longest matching Options.PathMap entry to the
// absolute path abs.
func (l *loader) mapPath(abs string) string {
	best := -1
	for i, m := range l.pathMap {
		if (abs == m.From || strings.HasPrefix(abs, m.From+"/") || m.From == "/") && (best < 0 || len(m.From) > len(l.pathMap[best].From)) {
			best = i
		}
	}
	if best < 0 {
		return abs
	}
	m := l.pathMap[best]
	rest := strings.TrimPrefix(abs, m.From)
	return path.Clean(m.To + "/" + rest)
}

// setPathMap records Options.PathMap with From cleaned and To made
// absolute by toAbs.
func (l *loader) setPathMap(maps []PathMapping, toAbs func(string) string) {
	for _, m := range maps {
		if m.From == "" || !strings.HasPrefix(m.From, "/") {
			continue
		}
		l.pathMap = append(l.pathMap, PathMapping{From: path.Clean(m.From), To: path.Clean(toAbs(m.To))})
	}
}

// luaPathDirective returns, per subsystem, the lua_package_path value
// written at the top level of the http or stream block ("" when none).
func (c *Config) luaPathValues(name string) map[string]string {
	out := map[string]string{}
	c.Walk(func(d *Directive, parents []*Directive) bool {
		if len(parents) > 1 {
			return false
		}
		if len(parents) == 1 && d.Name == name && len(d.Args) == 1 {
			sub := parents[0].Name
			if _, dup := out[sub]; !dup && (sub == "http" || sub == "stream") {
				out[sub] = d.Args[0].Value
			}
		}
		return true
	})
	return out
}

// followModules reads, for every chunk in nginx order, the modules it
// requires, and theirs, each once. It runs when the configuration is
// loaded, so that every *_by_lua_file file is known.
func (l *loader) followModules() {
	c := l.cfg
	values := c.luaPathValues("lua_package_path")
	c.LuaPath = luaSearchPath(values["http"], c.Prefix)
	if v, ok := values["stream"]; ok {
		c.StreamLuaPath = luaSearchPath(v, c.Prefix)
	} else {
		c.StreamLuaPath = luaSearchPath("", c.Prefix)
	}
	c.modules = map[string]*Module{}
	type origin struct {
		d   *Directive
		sub string
	}
	var chunks []origin
	c.Walk(func(d *Directive, parents []*Directive) bool {
		if d.Lua == nil || d.Lua.LoadError != "" || d.Lua.Unresolved || d.Lua.Code == "" {
			return true
		}
		// A file with syntax errors may be no configuration at all;
		// nothing it names is followed (see follow).
		if d.File != nil && d.File.tainted {
			return true
		}
		sub := "http"
		for _, p := range parents {
			if p.Name == "stream" {
				sub = "stream"
			}
		}
		chunks = append(chunks, origin{d, sub})
		return true
	})
	for _, o := range chunks {
		l.requireAll(o.d, o.sub, l.opts.Requires(o.d.Lua.Code))
	}
}

// requireAll resolves names, required by the chunk of d or by a module
// it reaches, depth first as require runs them: a module's own requires
// are followed before the next name of its requirer, so Config.Modules
// is in first-required order. An explicit stack bounds the Go stack
// whatever the chain's length.
func (l *loader) requireAll(d *Directive, sub string, names []string) {
	type frame struct {
		names []string
		i     int
	}
	stack := []frame{{names: names}}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.i >= len(top.names) {
			stack = stack[:len(stack)-1]
			continue
		}
		name := top.names[top.i]
		top.i++
		if !plainModuleName(name) || l.cfg.modules[name] != nil {
			continue
		}
		m := l.resolveModule(d, sub, name)
		l.cfg.modules[name] = m
		l.cfg.Modules = append(l.cfg.Modules, m)
		if m.Chunk != nil {
			m.Requires = l.opts.Requires(m.Chunk.Code)
			if len(m.Requires) > 0 {
				stack = append(stack, frame{names: m.Requires})
			}
		}
	}
}

// resolveModule finds name on the subsystem's search path as Lua's
// package.searchpath does (each template's "?" replaced by the name with
// "." turned into "/", first readable file wins), after Options.PathMap,
// and reads it like any other file. Templates outside the checked tree
// are not looked at.
func (l *loader) resolveModule(d *Directive, sub, name string) *Module {
	m := &Module{Name: name, Subsystem: sub}
	templates := l.cfg.LuaPath
	if sub == "stream" {
		templates = l.cfg.StreamLuaPath
	}
	file := strings.ReplaceAll(name, ".", "/")
	var outside []string
	for _, t := range templates {
		abs := l.mapPath(path.Clean(strings.ReplaceAll(t, "?", file)))
		m.Tried = append(m.Tried, l.display(abs))
		if _, ok := l.root(abs); !ok {
			outside = append(outside, l.display(abs))
			continue
		}
		if lf, ok := l.luaFiles[abs]; ok {
			l.setModuleFile(m, lf)
			return m
		}
		if msg, ok := l.luaErrs[abs]; ok {
			m.Err = msg
			return m
		}
		rel := strings.TrimPrefix(abs, "/")
		if rel == "" || !fs.ValidPath(rel) {
			continue
		}
		// Whether the candidate exists is asked only of a path inside
		// the roots, after its links are resolved (admit); what it is
		// then is decided by read.
		refused, _ := l.admit(abs)
		if fi, err := fs.Stat(l.fsys, rel); err != nil || fi.IsDir() {
			continue
		}
		if refused != nil {
			m.Err = "refused: " + refused.Error()
			return m
		}
		if l.bytesOut || l.tooMany {
			m.Err = "not read: a limit of this load (--max-total-bytes or --max-files) was reached before it"
			return m
		}
		data, err := l.read(abs)
		if err != nil {
			m.Err = "cannot read: " + err.Error()
			var re *readErr
			if errors.As(err, &re) && re.refused {
				m.Err = "refused: " + err.Error()
			}
			l.luaErrs[abs] = m.Err
			if errors.As(err, &re) && re.budget || l.tooMany {
				// A limit ends the load: say so where the chunk that
				// led here is written.
				l.errorAt(d.File, d.Pos, "Lua module %q: %s", name, err.Error())
			}
			return m
		}
		lf := &File{Path: l.display(abs), AbsPath: abs, Data: data}
		lf.indexLines()
		l.luaFiles[abs] = lf
		l.setModuleFile(m, lf)
		return m
	}
	if builtinModules[name] {
		m.Builtin = true
		return m
	}
	var inside []string
	for _, t := range m.Tried {
		if !contains(outside, t) {
			inside = append(inside, t)
		}
	}
	switch {
	case len(outside) == 0:
		m.Err = "not found on lua_package_path (tried " + listPaths(m.Tried, 6) + ")"
	case len(inside) == 0:
		m.Err = fmt.Sprintf("not in this checkout: every place lua_package_path gives for it is outside the checked tree (%s); map the install path with path_map, or pass --allow-path", listPaths(outside, 3))
	default:
		m.Err = fmt.Sprintf("not in this checkout: not found on lua_package_path inside the checked tree (tried %s); %d places outside it were not looked at (%s): map the install path with path_map, or pass --allow-path", listPaths(inside, 6), len(outside), listPaths(outside, 2))
	}
	return m
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// setModuleFile makes lf the module's file.
func (l *loader) setModuleFile(m *Module, lf *File) {
	m.File, m.Path = lf, lf.Path
	m.Chunk = &LuaChunk{Code: string(lf.Data), Pos: Pos{File: lf.Path, Line: 1, Column: 1}, End: lf.PosAt(len(lf.Data)), Origin: LuaFile, Path: lf.Path}
}

// listPaths joins the first n paths, saying how many more there are.
func listPaths(ps []string, n int) string {
	if len(ps) <= n {
		return strings.Join(ps, ", ")
	}
	return strings.Join(ps[:n], ", ") + fmt.Sprintf(" and %d more", len(ps)-n)
}
