package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	dirs "github.com/ngxlint/ngxlint/directives"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// The checks of this file follow module handlers across directives, where
// one directive is refused because of another: a listen address twice,
// two default servers, a shared dict or a cache path defined twice, a
// cache zone no *_cache_path declares. What one directive's arguments say
// is directives.CheckHandler's and directives.ParseListen's.

// handlerState is what the walk has seen of those directives so far, in
// the order nginx reads them.
type handlerState struct {
	// listens: the http listen addresses (Listen.Addr) across servers.
	listens map[string]*listenState
	// dicts: lua_shared_dict names, by module (http and stream lua keep
	// their zones apart).
	dicts map[string]*nginxconf.Directive
	// cachePaths: the *_cache_path directories.
	cachePaths map[string]*nginxconf.Directive
	// cacheUses: *_cache directives naming a zone, checked at the end.
	cacheUses []*nginxconf.Directive
}

// listenState is ngx_http_conf_addr_t as far as errors go: the listen
// that set the socket options, and the one that made a default server.
type listenState struct {
	options, defaults *nginxconf.Directive
}

// handlerFacts records d and reports what nginx refuses because of an
// earlier directive (d's own arguments were accepted).
func (w *dirWalker) handlerFacts(d *nginxconf.Directive, fits []*dirs.Directive, seen map[string]*nginxconf.Directive) {
	e := fits[0]
	switch {
	case d.Name == "listen" && (e.Module == "ngx_http_core_module" || e.Module == "ngx_stream_core_module"):
		w.listen(d, e, seen)
	case d.Name == "lua_shared_dict" && len(d.Args) == 2:
		w.sharedDict(d, e)
	case strings.HasSuffix(d.Name, "_cache_path") && cacheModule(d.Name) != "" && len(d.Args) > 0:
		w.cachePath(d)
	case cacheModule(d.Name+"_path") != "" && len(d.Args) == 1:
		w.handlers.cacheUses = append(w.handlers.cacheUses, d)
	}
}

func args(d *nginxconf.Directive) []string {
	out := make([]string, len(d.Args))
	for i, a := range d.Args {
		out[i] = a.Value
	}
	return out
}

// listen follows ngx_http_add_listen / ngx_http_add_addresses (nginx
// src/http/ngx_http.c, the same checks from 1.0.0 on): an address a
// server already listens on is "a duplicate listen"; across servers, two
// listens of one address may not both set socket options, nor both be
// the default server. The stream module refuses the same address twice
// in one server (ngx_stream_core_listen; across servers too before
// 1.25.5, which is not modelled).
func (w *dirWalker) listen(d *nginxconf.Directive, e *dirs.Directive, seen map[string]*nginxconf.Directive) {
	l, prob := dirs.ParseListen(*e, args(d), w.pass.Profile)
	if prob != nil || l.Addr == "" {
		return
	}
	stream := e.Module == "ngx_stream_core_module"
	key := "\x00listen " + l.Addr
	if stream && l.UDP {
		key += " udp"
	}
	if prev := seen[key]; prev != nil {
		msg := fmt.Sprintf("a duplicate listen %s", l.Addr)
		if stream && !(w.pass.Profile.HasNginx() && w.pass.Profile.Nginx.AtLeast("1.25.5")) {
			msg = fmt.Sprintf("duplicate %q address and port pair", l.Addr)
		}
		f := w.report("NGX3005", analyzer.Error, d.Pos, d.End, "%s", msg)
		f.details = "This server already listens on this address and port (8080, *:8080 and 0.0.0.0:8080 are one address): nginx refuses the second listen. Remove one."
		f.related = []analyzer.Related{{Pos: prev.Pos, End: prev.End, Message: "first listen here"}}
		return
	}
	seen[key] = d
	if stream {
		return
	}
	if w.handlers.listens == nil {
		w.handlers.listens = map[string]*listenState{}
	}
	st := w.handlers.listens[l.Addr]
	if st == nil {
		st = &listenState{}
		w.handlers.listens[l.Addr] = st
		if l.Options {
			st.options = d
		}
		if l.DefaultServer {
			st.defaults = d
		}
		return
	}
	if l.Options {
		if st.options != nil {
			f := w.report("NGX3005", analyzer.Error, d.Pos, d.End, "duplicate listen options for %s", l.Addr)
			f.details = "Socket options (bind, backlog=, rcvbuf=, sndbuf=, reuseport, deferred, so_keepalive=, ipv6only=, fastopen=...) belong to the socket, which all servers on this address share: nginx accepts them on one listen of the address only."
			f.related = []analyzer.Related{{Pos: st.options.Pos, End: st.options.End, Message: "options set here"}}
			return
		}
		st.options = d
	}
	if l.DefaultServer {
		if st.defaults != nil {
			f := w.report("NGX3005", analyzer.Error, d.Pos, d.End, "a duplicate default server for %s", l.Addr)
			f.details = "Only one server can be the default_server of an address and port: nginx refuses a second one. Remove default_server from one of them."
			f.related = []analyzer.Related{{Pos: st.defaults.Pos, End: st.defaults.End, Message: "default server set here"}}
			return
		}
		st.defaults = d
	}
}

// sharedDict follows ngx_http_lua_shared_dict (lua-nginx-module
// src/ngx_http_lua_directive.c, every tag read; stream-lua's
// ngx_stream_lua_shared_dict): a zone name defined twice is refused
// wherever the two are in http{}. ngx_shared_memory_add (nginx
// src/core/ngx_cycle.c) refuses a second size first; the same size gets
// lua-nginx-module's "already defined".
func (w *dirWalker) sharedDict(d *nginxconf.Directive, e *dirs.Directive) {
	name := d.Args[0].Value
	key := e.Module + "\x00" + name
	if w.handlers.dicts == nil {
		w.handlers.dicts = map[string]*nginxconf.Directive{}
	}
	prev := w.handlers.dicts[key]
	if prev == nil {
		w.handlers.dicts[key] = d
		return
	}
	shown := fmt.Sprintf("%q", name)
	if !safeValue(name) {
		shown = fmt.Sprintf("(a name of %d bytes, not quoted)", len(name))
	}
	var f *dirFinding
	size, _ := dirs.ParseSize(d.Args[1].Value)
	prevSize, _ := dirs.ParseSize(prev.Args[1].Value)
	if size != prevSize {
		f = w.report("NGX3005", analyzer.Error, d.Pos, d.End, "the size %d of shared memory zone %s conflicts with already declared size %d", size, shown, prevSize)
	} else {
		f = w.report("NGX3005", analyzer.Error, d.Pos, d.End, "lua_shared_dict %s is already defined as %s", shown, shown)
	}
	f.details = "Each lua_shared_dict names a shared memory zone; a second one with the same name is refused, whatever its size. Rename one, or remove it."
	f.related = []analyzer.Related{{Pos: prev.Pos, End: prev.End, Message: "first defined here"}}
}

// cacheModule is the module prefix of a *_cache_path directive ("proxy"
// for proxy_cache_path), "" for any other name.
func cacheModule(name string) string {
	switch name {
	case "proxy_cache_path", "fastcgi_cache_path", "scgi_cache_path", "uwsgi_cache_path":
		return strings.TrimSuffix(name, "_cache_path")
	}
	return ""
}

// cachePath follows ngx_http_file_cache_set_slot and ngx_add_path (nginx
// src/http/ngx_http_file_cache.c, src/core/ngx_file.c): a directory may
// be used by one cache only.
func (w *dirWalker) cachePath(d *nginxconf.Directive) {
	// nginx drops one trailing "/" from the length but compares the
	// names with ngx_strcmp, which reads on to the NUL: "/c" and "/c/"
	// are two paths, and a path is the same only when written the same.
	// A relative one is made absolute against the prefix, which may make
	// two spellings one: not compared.
	p := d.Args[0].Value
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "$") {
		return
	}
	if w.handlers.cachePaths == nil {
		w.handlers.cachePaths = map[string]*nginxconf.Directive{}
	}
	prev := w.handlers.cachePaths[p]
	if prev == nil {
		w.handlers.cachePaths[p] = d
		return
	}
	shown := fmt.Sprintf("%q", p)
	if !safePath(p) {
		shown = fmt.Sprintf("(a path of %d bytes, not quoted)", len(p))
	}
	f := w.report("NGX3005", analyzer.Error, d.Pos, d.End, "the same path name %s used in %s:%d and here", shown, prev.Pos.File, prev.Pos.Line)
	f.details = "Two caches cannot share a directory: nginx refuses a *_cache_path whose directory another one already uses. Give each cache its own directory."
	f.related = []analyzer.Related{{Pos: prev.Pos, End: prev.End, Message: "first used here"}}
}

// safePath is safeValue for file paths: a path is quoted when it is made
// of the characters paths are written with.
func safePath(p string) bool {
	return len(p) <= 128 && safeValue(strings.ReplaceAll(strings.ReplaceAll(p, "/", ""), "-", ""))
}

// cacheZones reports the *_cache directives whose zone no *_cache_path
// declares: ngx_http_proxy_cache (and its fastcgi, scgi, uwsgi twins)
// adds a shared memory zone of size 0 under the name, which only a
// keys_zone= of the module's *_cache_path sizes and marks; nginx refuses
// it when it merges the location (ngx_http_proxy_merge_loc_conf: "zone
// is unknown", at the end of http{}), or else when it creates the zones
// (ngx_init_cycle: "zero size shared memory zone"). "off" and names with
// variables are resolved per request. It is said only when the whole
// configuration was read (complete): a main file with every include
// found.
func (w *dirWalker) cacheZones(complete bool) {
	uses := w.handlers.cacheUses
	if len(uses) == 0 || !complete || len(w.pass.Config.Errors) > 0 {
		return
	}
	declared := map[string]bool{}
	allRead := true
	for _, f := range w.pass.Config.Files {
		var visit func(ds []*nginxconf.Directive)
		visit = func(ds []*nginxconf.Directive) {
			for _, d := range ds {
				if d.Name == "include" && len(d.Included) == 0 && d.Stock == nil {
					allRead = false
				}
				if cacheModule(d.Name+"_path") == "" {
					// Any word of another directive that could name a
					// zone (keys_zone=NAME:10m, zone=NAME:1m,
					// lua_shared_dict NAME, zone NAME) counts as
					// declared: a zone of another module under the same
					// name is another error, not this one.
					for _, a := range d.Args {
						for _, tok := range strings.FieldsFunc(a.Value, func(r rune) bool { return r == '=' || r == ':' }) {
							declared[tok] = true
						}
					}
				}
				visit(d.Block)
			}
		}
		visit(f.Directives)
	}
	if !allRead {
		return
	}
	for _, d := range uses {
		name := d.Args[0].Value
		if name == "off" || strings.Contains(name, "$") || declared[name] {
			continue
		}
		a := d.Args[0]
		shown := fmt.Sprintf("%q", name)
		if !safeValue(name) {
			shown = fmt.Sprintf("(a name of %d bytes, not quoted)", len(name))
		}
		f := w.report("NGX3004", analyzer.Error, a.Pos, a.End(), "%q zone %s is unknown", d.Name, shown)
		f.details = fmt.Sprintf("%s names a cache zone that no %s_cache_path keys_zone= declares, so the zone has no size and nginx refuses to start (it says so at the end of http{}, or says zero size shared memory zone). Declare it with %s_cache_path ... keys_zone=NAME:10m in http{}, or write off.",
			d.Name, d.Name[:len(d.Name)-len("_cache")], d.Name[:len(d.Name)-len("_cache")])
	}
}
