// Package fromconf builds an emulator.Config from a loaded configuration's
// typed model: one upstream block and one location that proxies to it. It is
// the bridge both the CLI (`ngxlint emulate`), the rules' confirmation
// scenarios and the real-nginx differential tests use, so that every engine
// sees the configuration the same way.
package fromconf

import (
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// Target is the upstream and location a scenario exercises.
type Target struct {
	Upstream *nginxconf.Upstream
	Location *nginxconf.Location
	// Server is the stream server proxying to Upstream (FindStream); nil
	// for an http location.
	Server *nginxconf.Server
	// Config, when set, gives the Lua modules the chunks require
	// (nginxconf.Config.Modules, loaded with Options.Requires) and the
	// prefix; Find sets it. Without it no module of the tree is found.
	Config *nginxconf.Config
	// Files, when set, is the checked tree the Lua code may read with
	// io.open (the same fs.FS the configuration was loaded from, whose
	// root is nginx's "/").
	Files fs.FS
	// PathMap is the loader's Options.PathMap, so that io.open of a
	// deployment path finds the file in Files.
	PathMap []nginxconf.PathMapping
	// Worker, when set, is the part of the Lua worker that depends on the
	// http block and the configuration alone (NewWorker): callers that
	// build many scenarios of one configuration compute it once instead
	// of walking the whole http block per scenario.
	Worker *Worker
}

// Worker is what every scenario of one http block shares: its
// init_by_lua* and init_worker_by_lua* chunks, lua_shared_dict zones,
// lua_package_path, upstream blocks (for ngx.upstream) and the
// configuration's Lua modules. It is read-only once built.
type Worker struct {
	lw  emulator.LuaWorker
	err error
}

// NewWorker computes the shared part of t's Lua worker (t.Upstream's http
// block, t.Config).
func NewWorker(t Target) *Worker {
	w := &Worker{}
	w.err = buildWorker(&w.lw, t)
	return w
}

// Find picks the location that proxies to an upstream. upstream and server
// may be empty: then the first location (in nginx order) whose proxy_pass
// names an upstream block is used. A server is matched by server_name or
// by a listen argument.
func Find(m *nginxconf.Model, upstream, server string) (Target, error) {
	if m != nil && m.Stream != nil && (m.HTTP == nil || server != "" && streamServerNamed(m, server) || upstream != "" && m.Stream.UpstreamByName[upstream] != nil && (m.HTTP == nil || m.HTTP.UpstreamByName[upstream] == nil)) {
		// A stream server chosen by its listen port, a stream-only
		// upstream, or a configuration without http.
		return FindStream(m, upstream, server)
	}
	if m == nil || m.HTTP == nil {
		return Target{}, fmt.Errorf("the configuration has no http block")
	}
	for _, s := range m.HTTP.Servers {
		if server != "" && !serverMatches(s, server) {
			continue
		}
		for _, l := range s.AllLocations {
			pp := l.Proxy.Pass
			if pp == nil || pp.Upstream == nil {
				continue
			}
			if upstream != "" && pp.Upstream.Name != upstream {
				continue
			}
			return Target{Upstream: pp.Upstream, Location: l, Config: m.Config}, nil
		}
	}
	switch {
	case upstream != "" && m.HTTP.UpstreamByName[upstream] == nil:
		return Target{}, fmt.Errorf("no upstream %q in the configuration", upstream)
	case upstream != "":
		return Target{}, fmt.Errorf("no location proxies to upstream %q", upstream)
	case server != "":
		return Target{}, fmt.Errorf("no location in server %q proxies to an upstream block", server)
	}
	return Target{}, fmt.Errorf("no location proxies to an upstream block")
}

func serverMatches(s *nginxconf.Server, name string) bool {
	for _, n := range s.ServerNames {
		if n == name {
			return true
		}
	}
	for _, l := range s.Listen {
		if l.Arg(0) == name {
			return true
		}
	}
	return false
}

// Build maps the target onto an emulator.Config. Settings the emulator
// does not model are ignored here; unparseable values are errors with the
// directive's position.
func Build(t Target) (emulator.Config, error) {
	var cfg emulator.Config
	u := t.Upstream
	if u == nil {
		return cfg, fmt.Errorf("no upstream")
	}
	cfg.Upstream.Name = u.Name
	for _, s := range u.Servers {
		es := emulator.Server{Addr: s.Address, Weight: s.Weight, Backup: s.Backup, Down: s.Down}
		if v, ok := s.Params["max_fails"]; ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return cfg, fmt.Errorf("%s: max_fails=%q is not a number", s.Directive.Pos, v)
			}
			es.MaxFails = emulator.Some(n)
		}
		if s.FailTimeout != "" {
			d, err := ParseTime(s.FailTimeout)
			if err != nil {
				return cfg, fmt.Errorf("%s: fail_timeout: %v", s.Directive.Pos, err)
			}
			es.FailTimeout = emulator.Some(d)
		}
		cfg.Upstream.Servers = append(cfg.Upstream.Servers, es)
	}
	if d := u.Keepalive; d != nil {
		n, err := strconv.Atoi(d.Arg(0))
		if err != nil {
			return cfg, fmt.Errorf("%s: keepalive %q is not a number", d.Pos, d.Arg(0))
		}
		cfg.Upstream.Keepalive = emulator.Some(n)
		for _, m := range u.Methods {
			if u.Before(d, m) {
				cfg.Upstream.KeepaliveBeforeBalancer = true
			}
		}
	}
	if d := u.KeepaliveRequests; d != nil {
		n, err := strconv.Atoi(d.Arg(0))
		if err != nil {
			return cfg, fmt.Errorf("%s: keepalive_requests %q is not a number", d.Pos, d.Arg(0))
		}
		cfg.Upstream.KeepaliveRequests = emulator.Some(n)
	}
	for _, p := range []struct {
		d   *nginxconf.Directive
		dst *emulator.Opt[time.Duration]
	}{{u.KeepaliveTimeout, &cfg.Upstream.KeepaliveTimeout}, {u.KeepaliveTime, &cfg.Upstream.KeepaliveTime}} {
		if p.d == nil {
			continue
		}
		v, err := ParseTime(p.d.Arg(0))
		if err != nil {
			return cfg, fmt.Errorf("%s: %s: %v", p.d.Pos, p.d.Name, err)
		}
		*p.dst = emulator.Some(v)
	}
	if m := u.Method; m != nil && !strings.HasPrefix(m.Name, "balancer_by_lua") {
		cfg.Upstream.Method = m.Name
		for i := range m.Args {
			cfg.Upstream.MethodArgs = append(cfg.Upstream.MethodArgs, m.Arg(i))
		}
	}
	if b := u.Balancer; b != nil && b.Lua != nil {
		if b.Lua.LoadError != "" {
			return cfg, fmt.Errorf("%s: %s", b.Pos, b.Lua.LoadError)
		}
		cfg.Upstream.BalancerLua = b.Lua.Code
		cfg.Upstream.BalancerName = fmt.Sprintf("%s:%d", b.Lua.Pos.File, b.Lua.Pos.Line)
		cfg.Upstream.Balancer = luaSource(b.Lua, b.Name)
	}
	if err := buildLua(&cfg, t); err != nil {
		return cfg, err
	}
	cfg.RestyCoreLoaded = loadsRestyCore(u)
	cfg.Upstream.PlaceholderShadowed = placeholderShadowed(u)
	if ds := u.Own("balancer_keepalive"); len(ds) > 0 {
		n, err := strconv.Atoi(ds[len(ds)-1].Arg(0))
		if err == nil {
			cfg.Upstream.BalancerKeepalive = n
		}
	}

	if t.Server != nil {
		return cfg, buildStream(&cfg, t)
	}
	if u.Context != nil && u.Context.Kind == "stream" {
		// A stream upstream run alone (no server proxies to it in this
		// file): the stream proxy's defaults.
		cfg.Stream = &emulator.Stream{}
		cfg.Lua.Vars = streamVars(&u.Context.Scope)
		return cfg, nil
	}
	l := t.Location
	if l == nil {
		return cfg, nil
	}
	p := &l.Proxy
	if p.NextUpstream != nil {
		cfg.Location.NextUpstream = append([]string{}, p.NextUpstreamValues...)
	}
	if d := p.NextUpstreamTries; d != nil {
		n, err := strconv.Atoi(d.Arg(0))
		if err != nil {
			return cfg, fmt.Errorf("%s: proxy_next_upstream_tries %q is not a number", d.Pos, d.Arg(0))
		}
		cfg.Location.NextUpstreamTries = emulator.Some(n)
	}
	if d := p.NextUpstreamTimeout; d != nil {
		v, err := ParseTime(d.Arg(0))
		if err != nil {
			return cfg, fmt.Errorf("%s: proxy_next_upstream_timeout: %v", d.Pos, err)
		}
		cfg.Location.NextUpstreamTimeout = emulator.Some(v)
	}
	if d := p.HTTPVersion; d != nil {
		cfg.Location.HTTPVersion = d.Arg(0)
	}
	if v, d, ok := p.Header("Connection"); ok && d != nil {
		cfg.Location.ConnectionHeader = &v
	}
	if d := p.RequestBuffering; d != nil {
		on := d.Arg(0) == "on"
		cfg.Location.RequestBuffering = &on
	}
	for _, tm := range []struct {
		name string
		dst  *emulator.Opt[time.Duration]
	}{{"proxy_connect_timeout", &cfg.Location.ConnectTimeout}, {"proxy_send_timeout", &cfg.Location.SendTimeout}, {"proxy_read_timeout", &cfg.Location.ReadTimeout}} {
		d := l.Effective(tm.name)
		if d == nil {
			continue
		}
		v, err := ParseTime(d.Arg(0))
		if err != nil {
			return cfg, fmt.Errorf("%s: %s: %v", d.Pos, tm.name, err)
		}
		*tm.dst = emulator.Some(v)
	}
	return cfg, nil
}

// restyCoreRE matches require "resty.core", require("resty.core") and
// require 'resty.core': a textual check, enough for the usual one-liner.
var restyCoreRE = regexp.MustCompile(`\brequire\s*\(?\s*["']resty\.core["']`)

// loadsRestyCore reports whether the http block's init_by_lua* chunk (run
// in the master before the workers fork, so every worker's VM has it) or
// u's balancer code requires lua-resty-core, which swaps ngx.exit for the
// FFI version (what LNM-EXIT-FFI depends on).
func loadsRestyCore(u *nginxconf.Upstream) bool {
	var ds []*nginxconf.Directive
	if u.Context != nil {
		for _, name := range []string{"init_by_lua", "init_by_lua_block", "init_by_lua_file"} {
			ds = append(ds, u.Context.Own(name)...)
		}
	}
	if u.Balancer != nil {
		ds = append(ds, u.Balancer)
	}
	for _, d := range ds {
		if d.Lua != nil && restyCoreRE.MatchString(d.Lua.Code) {
			return true
		}
	}
	return false
}

// placeholderShadowed reports whether u has balancer_by_lua* and no server
// line and another such upstream of its http block is parsed after it: the
// last one owns lua-nginx-module's static placeholder sockaddr
// (LNM-NO-PEER-SET-GLOBAL).
func placeholderShadowed(u *nginxconf.Upstream) bool {
	serverless := func(x *nginxconf.Upstream) bool { return x.Balancer != nil && len(x.Servers) == 0 }
	if !serverless(u) || u.Context == nil {
		return false
	}
	var last *nginxconf.Upstream
	for _, x := range u.Context.Upstreams {
		if serverless(x) {
			last = x
		}
	}
	return last != nil && last != u
}

// ParseTime parses an nginx time value ("10", "10s", "500ms", "1m30s"),
// as ngx_parse_time does: a plain number means seconds.
func ParseTime(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("empty time")
	}
	units := []struct {
		suffix string
		d      time.Duration
	}{{"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"M", 30 * 24 * time.Hour}, {"y", 365 * 24 * time.Hour}}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i > 9 {
			return 0, fmt.Errorf("invalid time %q", s)
		}
		n, _ := strconv.Atoi(rest[:i])
		rest = rest[i:]
		unit := time.Second
		for _, u := range units {
			if strings.HasPrefix(rest, u.suffix) {
				unit, rest = u.d, rest[len(u.suffix):]
				break
			}
		}
		total += time.Duration(n) * unit
		if rest != "" && (rest[0] < '0' || rest[0] > '9') {
			return 0, fmt.Errorf("invalid time %q", s)
		}
	}
	return total, nil
}

// luaSource places a chunk's code in the user's file.
func luaSource(c *nginxconf.LuaChunk, name string) emulator.LuaSource {
	src := emulator.LuaSource{Code: c.Code, Name: name}
	if c.Pos.IsValid() {
		src.File, src.Line, src.Column = c.Pos.File, c.Pos.Line, c.Pos.Column
	}
	return src
}

// luaDirective reports whether d is one of the variants of a *_by_lua
// directive (name, name_block, name_file).
func luaDirective(d *nginxconf.Directive, base string) bool {
	rest, ok := strings.CutPrefix(d.Name, base)
	return ok && (rest == "" || rest == "_block" || rest == "_file")
}

// phaseChunks returns the chunks of directive base in scope s: those of
// the innermost scope (from s outwards) that writes one, as
// lua-nginx-module's merge_loc_conf inherits a handler it does not set.
func phaseChunks(s *nginxconf.Scope, base string) ([]emulator.LuaSource, error) {
	// Scope.Own is indexed by name: looking the three spellings up per
	// scope keeps this independent of how many directives the http block
	// holds (it is called once per scenario).
	names := [3]string{base, base + "_block", base + "_file"}
	for ; s != nil; s = s.Parent {
		var last *nginxconf.Directive
		for _, n := range names {
			for _, d := range s.Own(n) {
				if d.Lua != nil && (last == nil || d.Pos.Offset > last.Pos.Offset && d.Pos.File == last.Pos.File) {
					last = d // the last one written is the one nginx keeps
				}
			}
		}
		if last != nil {
			if last.Lua.LoadError != "" {
				return nil, fmt.Errorf("%s: %s", last.Pos, last.Lua.LoadError)
			}
			return []emulator.LuaSource{luaSource(last.Lua, last.Name)}, nil
		}
	}
	return nil, nil
}

// buildLua fills cfg.Lua: the http block's init chunks, shared dicts,
// package path and upstreams, the location's variables and
// rewrite/access code, the modules of the tree, and the files.
func buildLua(cfg *emulator.Config, t Target) error {
	w := t.Worker
	if w == nil {
		w = NewWorker(t)
	}
	if w.err != nil {
		return w.err
	}
	// The shared part's maps and slices are only read by the emulator;
	// the location's fields are this scenario's own.
	cfg.Lua = w.lw
	lw := &cfg.Lua
	if l := t.Location; l != nil {
		lw.Vars = map[string]string{}
		// `set` runs in the server's rewrite phase, then in the
		// location's; only literal values are known before a request.
		var scopes []*nginxconf.Scope
		if l.Server != nil {
			scopes = append(scopes, &l.Server.Scope)
		}
		for p := l; p != nil; p = p.Parent {
			scopes = append(scopes, &p.Scope)
		}
		for _, s := range scopes {
			for _, d := range s.Own("set") {
				name := strings.TrimPrefix(d.Arg(0), "$")
				if v := d.Arg(1); !strings.Contains(v, "$") {
					lw.Vars[name] = v
				} else if _, ok := lw.Vars[name]; !ok {
					lw.Vars[name] = "" // defined, value known only at run time
				}
			}
		}
		var err error
		if lw.Rewrite, err = phaseChunks(&l.Scope, "rewrite_by_lua"); err != nil {
			return err
		}
		if lw.Access, err = phaseChunks(&l.Scope, "access_by_lua"); err != nil {
			return err
		}
	}
	lw.Files = t.Files
	lw.PathMap = nil
	for _, pm := range t.PathMap {
		lw.PathMap = append(lw.PathMap, emulator.PathMapping{From: pm.From, To: pm.To})
	}
	return nil
}

// buildWorker fills the part of the worker that every scenario of t's
// http block and configuration shares.
func buildWorker(lw *emulator.LuaWorker, t Target) error {
	lw.SharedDicts = map[string]int64{}
	var http *nginxconf.Context
	if t.Upstream != nil {
		http = t.Upstream.Context
	}
	if http != nil {
		for _, ph := range []struct {
			base string
			dst  *[]emulator.LuaSource
		}{{"init_by_lua", &lw.Init}, {"init_worker_by_lua", &lw.InitWorker}} {
			for _, d := range http.Directives {
				if luaDirective(d, ph.base) && d.Lua != nil {
					if d.Lua.LoadError != "" {
						return fmt.Errorf("%s: %s", d.Pos, d.Lua.LoadError)
					}
					*ph.dst = append(*ph.dst, luaSource(d.Lua, d.Name))
				}
			}
		}
		for _, d := range http.Own("lua_shared_dict") {
			n, err := ParseSize(d.Arg(1))
			if err != nil {
				return fmt.Errorf("%s: lua_shared_dict %s: %v", d.Pos, d.Arg(0), err)
			}
			lw.SharedDicts[d.Arg(0)] = n
		}
		if ds := http.Own("lua_package_path"); len(ds) > 0 {
			lw.PackagePath = ds[len(ds)-1].Arg(0)
		}
		for _, x := range http.Upstreams {
			eu := emulator.Upstream{Name: x.Name}
			for _, s := range x.Servers {
				eu.Servers = append(eu.Servers, emulator.Server{Addr: s.Address, Weight: s.Weight, Backup: s.Backup, Down: s.Down})
			}
			lw.Upstreams = append(lw.Upstreams, eu)
		}
	}
	if c := t.Config; c != nil {
		lw.Modules = map[string]emulator.LuaSource{}
		lw.MissingModules = map[string]string{}
		for _, m := range c.Modules {
			switch {
			case m.Chunk != nil && m.Chunk.LoadError == "":
				lw.Modules[m.Name] = luaSource(m.Chunk, m.Name)
			case m.Builtin:
			default:
				why := strings.Join(m.Tried, "\n")
				if m.Err != "" {
					why = m.Err + "\n" + why
				}
				lw.MissingModules[m.Name] = why
			}
		}
		// The loader's prefix is a path of the tree whose root is "/".
		lw.PrefixPath = c.Prefix
		lw.SearchPath = c.LuaPath
	}
	return nil
}

// ParseSize parses an nginx size ("10m", "512k", "1g", "4096"), as
// ngx_parse_size does.
func ParseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "m"), strings.HasSuffix(s, "M"):
		mult, s = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "g"), strings.HasSuffix(s, "G"):
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mult, nil
}
