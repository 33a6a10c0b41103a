package nginxconf

import (
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Model is a typed view of a loaded configuration: the http and stream
// contexts with their upstreams, servers and locations, the effective
// proxy_* settings of every location, and every Lua chunk with where it
// runs. It is built in one walk, linear in the size of the configuration.
type Model struct {
	Config *Config
	// HTTP and Stream are nil when the configuration has no such block.
	// nginx allows one of each; later duplicates are ignored here (nginx
	// rejects them with "is duplicate").
	HTTP   *Context
	Stream *Context
	// Lua lists every Lua chunk in nginx order.
	Lua []*LuaRef
	// steps counts the scopes BuildModel visited to find effective
	// settings, for tests that assert it is linear in the configuration.
	steps atomic.Int64
}

// Scope is one configuration level (http, server, location, upstream...)
// with the directives written directly in it, includes expanded in place.
type Scope struct {
	// Kind is the block directive's name ("http", "server", "location",
	// "if", "limit_except", "upstream", "stream").
	Kind      string
	Directive *Directive
	Parent    *Scope
	// Directives are the scope's own directives in nginx order; block
	// directives appear here, their contents do not.
	Directives []*Directive
	// The directives by name: a short list while the scope has few
	// distinct names (most locations and upstreams), a map beyond. A map
	// per scope was a fifth of BuildModel's time and allocations on
	// large configurations.
	few    []namedDirectives
	byName map[string][]*Directive
	// inherited remembers, for directive names this scope does not set
	// itself, what EffectiveAll found further out, once a lookup had to
	// walk more than memoAfter scopes. Without it each of a chain of n
	// nested locations walked up the whole chain for every setting:
	// n²/2 steps, minutes for 60,000 locations nested through includes.
	// The map is replaced, never written, so readers need no lock.
	inherited atomic.Pointer[map[string][]*Directive]
}

// memoAfter is how long a walk up the scopes may be before its answer is
// remembered on the way: real configurations (main, http, server, two
// levels of location) stay below it and cost no memory.
const memoAfter = 8

type namedDirectives struct {
	name string
	ds   []*Directive
}

// fewNames is how many distinct names a scope keeps in a list before it
// switches to a map.
const fewNames = 8

func (s *Scope) add(d *Directive) {
	s.Directives = append(s.Directives, d)
	if s.byName != nil {
		s.byName[d.Name] = append(s.byName[d.Name], d)
		return
	}
	for i := range s.few {
		if s.few[i].name == d.Name {
			s.few[i].ds = append(s.few[i].ds, d)
			return
		}
	}
	if len(s.few) < fewNames {
		// A name's first occurrence shares s.Directives' backing array
		// (capacity 1, so a second occurrence copies): append never
		// rewrites an element below len, so the view stays valid.
		n := len(s.Directives)
		if s.few == nil {
			// BuildModel sizes s.Directives to the block: a location of
			// three directives needs no room for eight names.
			s.few = make([]namedDirectives, 0, min(fewNames, cap(s.Directives)))
		}
		s.few = append(s.few, namedDirectives{d.Name, s.Directives[n-1 : n : n]})
		return
	}
	s.byName = make(map[string][]*Directive, 2*fewNames)
	for _, nd := range s.few {
		s.byName[nd.name] = nd.ds
	}
	s.few = nil
	s.byName[d.Name] = []*Directive{d}
}

// Own returns the occurrences of name written directly in s.
func (s *Scope) Own(name string) []*Directive {
	if s == nil {
		return nil
	}
	if s.byName != nil {
		return s.byName[name]
	}
	for i := range s.few {
		if s.few[i].name == name {
			return s.few[i].ds
		}
	}
	return nil
}

// Effective returns the directive that applies in s for a directive that
// nginx merges by "innermost level wins" (ngx_conf_merge_*_value): the
// first occurrence at the innermost level, from s outwards, that has one.
// It returns nil when no level sets it (the built-in default applies).
func (s *Scope) Effective(name string) *Directive {
	if ds := s.effectiveAll(name, nil); len(ds) > 0 {
		return ds[0]
	}
	return nil
}

// EffectiveAll returns the occurrences that apply in s for an array
// directive merged all-or-nothing (proxy_set_header, add_header,
// proxy_hide_header...): the whole list of the innermost level that has
// any, since a level with one occurrence replaces everything inherited
// (ngx_http_proxy_merge_loc_conf: "if (conf->headers_source == NULL)
// conf->headers = prev->headers").
func (s *Scope) EffectiveAll(name string) []*Directive { return s.effectiveAll(name, nil) }

// effectiveAll is EffectiveAll counting the scopes it visits in steps
// (when not nil).
func (s *Scope) effectiveAll(name string, steps *int) []*Directive {
	var found []*Directive
	n := 0
	t := s
	for ; t != nil; t = t.Parent {
		n++
		if ds := t.Own(name); len(ds) > 0 {
			found = ds
			break
		}
		if m := t.inherited.Load(); m != nil {
			if ds, ok := (*m)[name]; ok {
				found = ds
				break
			}
		}
	}
	if n > memoAfter {
		// Remember the answer on every scope walked (t, where it was
		// found, excluded): the next lookup from below stops at the
		// first of them.
		for u := s; u != t; u = u.Parent {
			u.remember(name, found)
			n++
		}
	}
	if steps != nil {
		*steps += n
	}
	return found
}

// remember records that name is inherited as ds in s. Lookups run
// concurrently (BuildModel fills servers in parallel, and rules share the
// model), so the map is copied and swapped; a lost race only loses a
// memo.
func (s *Scope) remember(name string, ds []*Directive) {
	for {
		old := s.inherited.Load()
		var m map[string][]*Directive
		if old == nil {
			m = make(map[string][]*Directive, 1)
		} else {
			if _, ok := (*old)[name]; ok {
				return
			}
			m = make(map[string][]*Directive, len(*old)+1)
			for k, v := range *old {
				m[k] = v
			}
		}
		m[name] = ds
		if s.inherited.CompareAndSwap(old, &m) {
			return
		}
	}
}

// Context is the http or the stream block.
type Context struct {
	Scope
	Upstreams []*Upstream
	// UpstreamByName indexes Upstreams by name (the first of duplicates).
	UpstreamByName map[string]*Upstream
	Servers        []*Server

	// implicit caches FindsUpstream's keys (upstreamKeys), built on
	// first use.
	implicit atomic.Pointer[map[upstreamKey]bool]
}

// Upstream is an upstream block.
type Upstream struct {
	Scope
	Name    string
	Context *Context
	Servers []*UpstreamServer
	// Keepalive and its companions; nil when absent.
	Keepalive, KeepaliveRequests, KeepaliveTimeout, KeepaliveTime *Directive
	// Balancer is the balancer_by_lua_block / balancer_by_lua_file
	// directive, nil when absent.
	Balancer *Directive
	// Method is the last directive that sets the balancing method (hash,
	// ip_hash, least_conn, random, least_time, sticky, ...), nil for
	// round robin. Each one replaces the peer.init_upstream hook, so the
	// last written wins and a keepalive written before it is lost.
	Method *Directive
	// Methods lists every balancing-method directive, balancer Lua
	// included, in order.
	Methods []*Directive
	// UsedBy lists the locations whose own proxy_pass names this upstream,
	// in nginx order (server by server, each server's AllLocations). Rules
	// ask "who proxies here?" for every upstream; answering it from this
	// index instead of scanning every location keeps that linear.
	UsedBy []*Location
	index  map[*Directive]int
}

// Index returns d's position among u.Directives (nginx order), or -1.
func (u *Upstream) Index(d *Directive) int {
	if i, ok := u.index[d]; ok {
		return i
	}
	return -1
}

// Before reports whether a comes before b in the upstream block, in the
// order nginx reads them (includes expanded in place).
func (u *Upstream) Before(a, b *Directive) bool {
	ia, ib := u.Index(a), u.Index(b)
	return ia >= 0 && ib >= 0 && ia < ib
}

// balancingMethods are the directives that install their own
// init_upstream hook in an upstream block (nginx's hash, ip_hash,
// least_conn, random modules, NGINX Plus' least_time and sticky, and the
// Lua balancer, which ngx_http_lua_balancer_by_lua sets the same way).
var balancingMethods = map[string]bool{
	"hash": true, "ip_hash": true, "least_conn": true, "random": true,
	"least_time": true, "sticky": true,
	"balancer_by_lua_block": true, "balancer_by_lua_file": true,
}

// UpstreamServer is a server line in an upstream block.
type UpstreamServer struct {
	Directive *Directive
	Address   string
	// Params holds name=value parameters ("weight" -> "5") and bare flags
	// ("backup" -> "").
	Params map[string]string
	// Parsed values; zero when absent (nginx's defaults: weight 1,
	// max_fails 1, fail_timeout 10s).
	Weight, MaxFails, MaxConns int
	FailTimeout                string
	Backup, Down, Resolve      bool
}

// Server is a server block.
type Server struct {
	Scope
	Context     *Context
	Listen      []*Directive
	ServerNames []string
	// Locations are the top-level locations; AllLocations every location
	// at any depth, in nginx order.
	Locations    []*Location
	AllLocations []*Location
	// Proxy holds the stream server's proxy_pass (stream only).
	Proxy *ProxyPass
	// StreamProxy holds a stream server's effective proxy_* settings
	// (nil in http).
	StreamProxy *StreamProxy
}

// Location is a location block (named locations included).
type Location struct {
	Scope
	// Modifier is "", "=", "~", "~*", "^~" or "@" (named).
	Modifier  string
	Path      string
	Server    *Server
	Parent    *Location
	Locations []*Location
	Proxy     ProxySettings
}

// ProxyPass is a proxy_pass directive and its target.
type ProxyPass struct {
	Directive *Directive
	Target    string
	// Scheme is "http", "https", "grpc"... ("" for stream's host:port).
	Scheme string
	// Host is the host part (up to the first '/'), without the port.
	Host string
	// HostHasVariables is set when the host part is built from variables,
	// so the upstream is only known at run time.
	HostHasVariables bool
	// Upstream is the upstream block the host names, if any.
	Upstream *Upstream
}

// ProxySettings are a location's effective proxy_* settings after nginx's
// inheritance (http -> server -> location -> nested location).
type ProxySettings struct {
	// Pass is the location's own proxy_pass; nginx does not inherit the
	// handler into nested locations.
	Pass *ProxyPass
	// NextUpstream is the effective proxy_next_upstream directive and its
	// values; nil / nil when the default ("error timeout") applies.
	NextUpstream                           *Directive
	NextUpstreamValues                     []string
	NextUpstreamTries, NextUpstreamTimeout *Directive
	HTTPVersion                            *Directive
	Buffering, RequestBuffering            *Directive
	SSLServerName, SSLVerify, SSLName      *Directive
	// SetHeaders is the effective proxy_set_header list (all-or-nothing
	// inheritance); nil when no level sets any, so nginx's defaults apply
	// (Host $proxy_host, Connection close).
	SetHeaders []*Directive
}

// Header returns the effective proxy_set_header value for name (case
// insensitive) and the directive that sets it; with no directive it
// returns nginx's default for Host ("$proxy_host") and Connection
// ("close") and ok=false for other headers.
func (p *ProxySettings) Header(name string) (value string, d *Directive, ok bool) {
	for _, h := range p.SetHeaders {
		if strings.EqualFold(h.Arg(0), name) {
			return h.Arg(1), h, true
		}
	}
	switch strings.ToLower(name) {
	case "host":
		return "$proxy_host", nil, true
	case "connection":
		return "close", nil, true
	}
	return "", nil, false
}

// LuaRef is a Lua chunk with where it runs.
type LuaRef struct {
	Chunk     *LuaChunk
	Directive *Directive
	// Context is the phase (LuaChunk.Context), Subsystem "http", "stream"
	// or "" (main level, e.g. outside both).
	Context, Subsystem string
	Server             *Server
	Location           *Location
	Upstream           *Upstream
}

// frame is what a block directive opened, for the directives in it.
type frame struct {
	scope    *Scope
	ctx      *Context
	server   *Server
	location *Location
	upstream *Upstream
}

type passRef struct {
	pp  *ProxyPass
	ctx *Context
}

// builder builds the model in one walk. frames[k] is what the block
// directive at depth k (parents[k]) opened: Walk is depth first and visits
// a block's children right after it (include directives have no block),
// so a stack indexed by depth replaces a map keyed by directive.
type builder struct {
	m      *Model
	root   frame
	frames []frame
	lua    []*LuaRef
	passes []passRef
	// servers, when set, collects the http and stream server blocks,
	// whose contents are built afterwards by their own builders.
	servers *[]*serverJob
}

// serverJob is one server block whose contents are built apart.
type serverJob struct {
	server  *Directive
	parents []*Directive // the server's parents and the server
	frames  []frame      // the walk's frames down to the server's
	luaAt   int          // where its Lua chunks go in the model's list
	lua     []*LuaRef
	passes  []passRef
}

// BuildModel builds the typed model of cfg. A fragment
// (cfg.ImplicitContext) is modelled inside implicit blocks of that
// context: http{...}, http{server{...}} or http{server{location /{...}}}.
// Those blocks are not in the files; their directives have no File and
// their positions are the fragment's first directive's.
func BuildModel(cfg *Config) *Model {
	m := &Model{Config: cfg}
	var jobs []*serverJob
	b := &builder{m: m, root: frame{scope: &Scope{Kind: "main"}}, servers: &jobs}
	if top := implicitBlocks(cfg); top != nil {
		walkFrom(top, nil, b.visit)
	} else {
		cfg.Walk(b.visit)
	}
	// Server blocks are independent: each writes only its own scopes,
	// locations and Lua references. They are built on every processor and
	// merged in document order.
	inParallel(len(jobs), func(lo, hi int) {
		for _, j := range jobs[lo:hi] {
			sb := &builder{m: m, root: b.root, frames: j.frames}
			walkFrom(j.server.Block, j.parents, sb.visit)
			j.lua, j.passes = sb.lua, sb.passes
		}
	})
	passes := b.passes
	prev := 0
	for _, j := range jobs {
		m.Lua = append(m.Lua, b.lua[prev:j.luaAt]...)
		m.Lua = append(m.Lua, j.lua...)
		prev = j.luaAt
		passes = append(passes, j.passes...)
	}
	m.Lua = append(m.Lua, b.lua[prev:]...)
	for _, c := range []*Context{m.HTTP, m.Stream} {
		if c == nil {
			continue
		}
		// Servers are independent here: every scope is complete, and
		// each server writes only its own fields and its locations'
		// Proxy. Filling them on all processors took a third off
		// BuildModel's wall time on a 5,000-server configuration.
		inParallel(len(c.Servers), func(lo, hi int) {
			for _, s := range c.Servers[lo:hi] {
				s.Listen = append(s.Listen, s.Own("listen")...)
				for _, d := range s.Own("server_name") {
					for _, a := range d.Args {
						s.ServerNames = append(s.ServerNames, a.Value)
					}
				}
				steps := 0
				if c == m.Stream {
					s.fillStream(&steps)
				}
				for _, l := range s.AllLocations {
					l.Proxy.fill(&l.Scope, &steps)
				}
				m.steps.Add(int64(steps))
			}
		})
	}
	// Resolve proxy_pass hosts once every upstream is known: nginx looks
	// upstreams up at the end of configuration reading
	// (ngx_http_upstream_init_main_conf), so order does not matter.
	for _, r := range passes {
		if pp := r.pp; r.ctx != nil && pp.Host != "" && !pp.HostHasVariables {
			pp.Upstream = r.ctx.UpstreamByName[pp.Host]
		}
	}
	for _, c := range []*Context{m.HTTP, m.Stream} {
		if c == nil {
			continue
		}
		for _, s := range c.Servers {
			for _, l := range s.AllLocations {
				if pp := l.Proxy.Pass; pp != nil && pp.Upstream != nil {
					pp.Upstream.UsedBy = append(pp.Upstream.UsedBy, l)
				}
			}
		}
	}
	return m
}

// visit is the model walk's step for one directive.
func (b *builder) visit(d *Directive, parents []*Directive) bool {
	fr := b.root
	if k := len(parents); k > 0 {
		if k > len(b.frames) {
			return false // inside a block we do not model (duplicate http...)
		}
		fr = b.frames[k-1]
	}
	if fr.scope != nil && d.Name != "include" {
		if fr.scope.Directives == nil && fr.scope.Directive != nil {
			// Most of a scope's directives are its block's (includes
			// add more): one allocation instead of append's doublings.
			fr.scope.Directives = make([]*Directive, 0, len(fr.scope.Directive.Block))
		}
		fr.scope.add(d)
	}
	if d.Lua != nil {
		sub := ""
		if fr.ctx != nil {
			sub = fr.ctx.Kind
		}
		b.lua = append(b.lua, &LuaRef{Chunk: d.Lua, Directive: d, Context: d.Lua.Context, Subsystem: sub, Server: fr.server, Location: fr.location, Upstream: fr.upstream})
	}
	if u := fr.upstream; u != nil && d.Name != "include" && parents[len(parents)-1] == u.Directive {
		u.index[d] = len(u.Directives) - 1
		switch d.Name {
		case "server":
			u.Servers = append(u.Servers, newUpstreamServer(d))
		case "keepalive":
			u.Keepalive = d
		case "keepalive_requests":
			u.KeepaliveRequests = d
		case "keepalive_timeout":
			u.KeepaliveTimeout = d
		case "keepalive_time":
			u.KeepaliveTime = d
		}
		if strings.HasPrefix(d.Name, "balancer_by_lua") {
			u.Balancer = d
		}
		if balancingMethods[d.Name] {
			u.Method = d
			u.Methods = append(u.Methods, d)
		}
	}
	if d.Name == "proxy_pass" && len(d.Args) > 0 {
		pp := &ProxyPass{Directive: d, Target: d.Args[0].Value}
		parseProxyTarget(pp)
		b.passes = append(b.passes, passRef{pp, fr.ctx})
		if fr.location != nil && fr.scope == &fr.location.Scope {
			fr.location.Proxy.Pass = pp
		} else if fr.server != nil && fr.scope == &fr.server.Scope && fr.ctx != nil && fr.ctx.Kind == "stream" {
			fr.server.Proxy = pp
		}
	}
	if !d.HasBlock || d.Lua != nil {
		return true
	}
	child := frame{ctx: fr.ctx, server: fr.server, location: fr.location, upstream: fr.upstream}
	switch {
	case (d.Name == "http" || d.Name == "stream") && len(parents) == 0:
		if (d.Name == "http" && b.m.HTTP != nil) || (d.Name == "stream" && b.m.Stream != nil) {
			return false
		}
		c := &Context{Scope: Scope{Kind: d.Name, Directive: d, Parent: b.root.scope}, UpstreamByName: map[string]*Upstream{}}
		if d.Name == "http" {
			b.m.HTTP = c
		} else {
			b.m.Stream = c
		}
		child.ctx, child.scope = c, &c.Scope
	case d.Name == "upstream" && fr.ctx != nil && fr.server == nil:
		u := &Upstream{Scope: Scope{Kind: "upstream", Directive: d, Parent: fr.scope}, Name: d.Arg(0), Context: fr.ctx, index: map[*Directive]int{}}
		fr.ctx.Upstreams = append(fr.ctx.Upstreams, u)
		if _, dup := fr.ctx.UpstreamByName[u.Name]; !dup {
			fr.ctx.UpstreamByName[u.Name] = u
		}
		child.upstream, child.scope = u, &u.Scope
	case d.Name == "server" && fr.ctx != nil && fr.server == nil && fr.upstream == nil:
		s := &Server{Scope: Scope{Kind: "server", Directive: d, Parent: fr.scope}, Context: fr.ctx}
		fr.ctx.Servers = append(fr.ctx.Servers, s)
		child.server, child.scope = s, &s.Scope
		if b.servers != nil {
			// The server's block is built later, with the others, on
			// every processor: nothing in it writes outside the server.
			*b.servers = append(*b.servers, &serverJob{
				server:  d,
				parents: append(append([]*Directive(nil), parents...), d),
				frames:  append(append([]frame(nil), b.frames[:len(parents)]...), child),
				luaAt:   len(b.lua),
			})
			return false
		}
	case d.Name == "location" && fr.server != nil:
		l := &Location{Scope: Scope{Kind: "location", Directive: d, Parent: fr.scope}, Server: fr.server, Parent: fr.location}
		l.Modifier, l.Path = locationMatch(d)
		if fr.location != nil {
			fr.location.Locations = append(fr.location.Locations, l)
		} else {
			fr.server.Locations = append(fr.server.Locations, l)
		}
		fr.server.AllLocations = append(fr.server.AllLocations, l)
		child.location, child.scope = l, &l.Scope
	case (d.Name == "if" || d.Name == "limit_except") && fr.location != nil:
		// Pseudo-locations: they inherit from the location, but their
		// directives are not the location's own.
		child.scope = &Scope{Kind: d.Name, Directive: d, Parent: fr.scope}
	default:
		// Other blocks (events, map, types, geo, if in server...): their
		// contents are not settings of the enclosing level.
		child.scope = nil
	}
	b.frames = append(b.frames[:len(parents)], child)
	return true
}

// inParallel calls fn on consecutive ranges [lo, hi) covering [0, n),
// one per processor, and waits for them. Small n runs inline: a goroutine
// costs more than a few servers' work.
func inParallel(n int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n/64)
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}

func (p *ProxySettings) fill(s *Scope, steps *int) {
	eff := func(name string) *Directive {
		if ds := s.effectiveAll(name, steps); len(ds) > 0 {
			return ds[0]
		}
		return nil
	}
	p.NextUpstream = eff("proxy_next_upstream")
	if p.NextUpstream != nil {
		p.NextUpstreamValues = make([]string, 0, len(p.NextUpstream.Args))
		for _, a := range p.NextUpstream.Args {
			p.NextUpstreamValues = append(p.NextUpstreamValues, a.Value)
		}
	}
	p.NextUpstreamTries = eff("proxy_next_upstream_tries")
	p.NextUpstreamTimeout = eff("proxy_next_upstream_timeout")
	p.HTTPVersion = eff("proxy_http_version")
	p.Buffering = eff("proxy_buffering")
	p.RequestBuffering = eff("proxy_request_buffering")
	p.SSLServerName = eff("proxy_ssl_server_name")
	p.SSLVerify = eff("proxy_ssl_verify")
	p.SSLName = eff("proxy_ssl_name")
	p.SetHeaders = s.effectiveAll("proxy_set_header", steps)
}

// locationMatch splits a location's arguments into modifier and path,
// accepting both "location = /x" and "location =/x" as nginx does
// (ngx_http_core_location).
func locationMatch(d *Directive) (mod, path string) {
	switch len(d.Args) {
	case 0:
		return "", ""
	case 1:
		v := d.Args[0].Value
		switch {
		case strings.HasPrefix(v, "@"):
			return "@", v[1:]
		case strings.HasPrefix(v, "~*"):
			return "~*", v[2:]
		case strings.HasPrefix(v, "^~"):
			return "^~", v[2:]
		case strings.HasPrefix(v, "=") && d.Args[0].Quote == 0:
			return "=", v[1:]
		case strings.HasPrefix(v, "~") && d.Args[0].Quote == 0:
			return "~", v[1:]
		}
		return "", v
	default:
		return d.Args[0].Value, d.Args[1].Value
	}
}

// uriVariables are variables that, right after the host in a proxy_pass
// URL, always expand to a path or query, so the literal host before them is
// the whole host.
var uriVariables = []string{"$request_uri", "$uri", "$document_uri", "$is_args", "$args", "$query_string"}

// parseProxyTarget fills scheme and host from pp.Target.
func parseProxyTarget(pp *ProxyPass) {
	t := pp.Target
	rest := t
	if i := strings.Index(t, "://"); i >= 0 {
		pp.Scheme = t[:i]
		rest = t[i+3:]
	}
	if strings.HasPrefix(rest, "unix:") {
		pp.Host = ""
		return
	}
	host := rest
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host = host[:i]
	}
	if i := strings.IndexByte(host, '$'); i >= 0 {
		tail := host[i:]
		uriOnly := i > 0
		for uriOnly && tail != "" {
			matched := false
			for _, v := range uriVariables {
				if strings.HasPrefix(tail, v) {
					tail, matched = tail[len(v):], true
					break
				}
			}
			if !matched {
				uriOnly = false
			}
		}
		if !uriOnly {
			pp.Host = host
			pp.HostHasVariables = true
			return
		}
		host = host[:i]
	}
	// Strip a port, keeping IPv6 literals intact.
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i >= 0 {
			host = host[:i+1]
		}
	} else if i := strings.LastIndexByte(host, ':'); i >= 0 {
		if _, err := strconv.Atoi(host[i+1:]); err == nil {
			host = host[:i]
		}
	}
	pp.Host = host
}

func newUpstreamServer(d *Directive) *UpstreamServer {
	s := &UpstreamServer{Directive: d, Address: d.Arg(0), Params: map[string]string{}}
	for _, a := range d.Args[min(1, len(d.Args)):] {
		k, v, _ := strings.Cut(a.Value, "=")
		s.Params[k] = v
		n, _ := strconv.Atoi(v)
		switch k {
		case "weight":
			s.Weight = n
		case "max_fails":
			s.MaxFails = n
		case "max_conns":
			s.MaxConns = n
		case "fail_timeout":
			s.FailTimeout = v
		case "backup":
			s.Backup = true
		case "down":
			s.Down = true
		case "resolve":
			s.Resolve = true
		}
	}
	return s
}

// Directives that nginx accepts only in one context (or in it and deeper
// ones, but not in the main context), which make a file whose top level
// holds them an include of that context (implicitContext).
var (
	httpOnlyDirectives = map[string]bool{
		"upstream": true, "server": true, "map": true, "geo": true, "split_clients": true,
		"log_format": true, "limit_req_zone": true, "limit_conn_zone": true,
		"proxy_cache_path": true, "fastcgi_cache_path": true, "uwsgi_cache_path": true, "scgi_cache_path": true,
		"lua_shared_dict": true, "lua_package_path": true, "lua_package_cpath": true,
		"init_by_lua": true, "init_by_lua_block": true, "init_by_lua_file": true,
		"init_worker_by_lua": true, "init_worker_by_lua_block": true, "init_worker_by_lua_file": true,
		"server_names_hash_bucket_size": true, "server_names_hash_max_size": true,
		"variables_hash_max_size": true, "types_hash_max_size": true,
	}
	serverOnlyDirectives   = map[string]bool{"location": true, "listen": true, "server_name": true}
	locationOnlyDirectives = map[string]bool{
		"proxy_pass": true, "fastcgi_pass": true, "uwsgi_pass": true, "scgi_pass": true, "grpc_pass": true,
		"content_by_lua": true, "content_by_lua_block": true, "content_by_lua_file": true, "limit_except": true,
	}
	// mainContextBlocks make a file a main configuration.
	mainContextBlocks = map[string]bool{"http": true, "stream": true, "mail": true, "events": true}
)

// implicitContext is Config.ImplicitContext for a main file whose top
// level is ds: "" for a main configuration (or a file with nothing
// context-specific), else the outermost context its directives need.
func implicitContext(ds []*Directive) string {
	var inHTTP, inServer, inLocation bool
	for _, d := range ds {
		switch {
		case mainContextBlocks[d.Name]:
			return ""
		case httpOnlyDirectives[d.Name]:
			inHTTP = true
		case serverOnlyDirectives[d.Name]:
			inServer = true
		case locationOnlyDirectives[d.Name]:
			inLocation = true
		}
	}
	switch {
	case inHTTP:
		return "http"
	case inServer:
		return "server"
	case inLocation:
		return "location"
	}
	return ""
}

// implicitBlocks wraps the fragment's top level in the implicit blocks of
// cfg.ImplicitContext; nil when there are none.
func implicitBlocks(cfg *Config) []*Directive {
	if cfg.Main == nil || cfg.ImplicitContext == "" || len(cfg.Main.Directives) == 0 {
		return nil
	}
	pos := cfg.Main.Directives[0].Pos
	wrap := func(name string, args []Arg, block []*Directive) []*Directive {
		return []*Directive{{Name: name, Args: args, Pos: pos, End: pos, HasBlock: true, Block: block}}
	}
	ds := cfg.Main.Directives
	switch cfg.ImplicitContext {
	case "location":
		ds = wrap("location", []Arg{{Value: "/", Raw: "/", Pos: pos}}, ds)
		fallthrough
	case "server":
		ds = wrap("server", nil, ds)
		fallthrough
	case "http":
		ds = wrap("http", nil, ds)
	}
	return ds
}
