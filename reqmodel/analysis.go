package reqmodel

import (
	"fmt"
	"strings"
	"sync"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// Analysis answers "what can this variable hold here?" for one model. It
// is built once per run and computes each location's variables once, on
// first use; it is safe for concurrent use.
type Analysis struct {
	Model   *nginxconf.Model
	maps    map[string]*mapDef
	mu      sync.Mutex
	vars    map[*nginxconf.Scope]*Vars
	routers map[*nginxconf.Server]*Router
}

type mapDef struct {
	d       *nginxconf.Directive
	src     string
	entries []mapEntry
}

type mapEntry struct {
	re    *Regex // nil for an exact or default key
	value string
}

// NewAnalysis indexes the http context's maps.
func NewAnalysis(m *nginxconf.Model) *Analysis {
	a := &Analysis{Model: m, maps: map[string]*mapDef{}, vars: map[*nginxconf.Scope]*Vars{}, routers: map[*nginxconf.Server]*Router{}}
	if m == nil || m.HTTP == nil {
		return a
	}
	for _, d := range m.HTTP.Own("map") {
		if len(d.Args) != 2 || !strings.HasPrefix(d.Arg(1), "$") {
			continue
		}
		md := &mapDef{d: d, src: d.Arg(0)}
		for _, e := range Flatten(d.Block) {
			if len(e.Args) < 1 {
				continue
			}
			switch e.Name {
			case "hostnames", "volatile", "include":
				continue
			}
			val := e.Arg(0)
			var re *Regex
			if strings.HasPrefix(e.Name, "~") && len(e.Args) == 1 {
				re = Compile(strings.TrimPrefix(strings.TrimPrefix(e.Name, "~"), "*"), strings.HasPrefix(e.Name, "~*"))
			}
			md.entries = append(md.entries, mapEntry{re: re, value: val})
		}
		a.maps[strings.ToLower(strings.TrimPrefix(d.Arg(1), "$"))] = md
	}
	return a
}

// Router returns the (shared) location router of srv.
func (a *Analysis) Router(srv *nginxconf.Server) *Router {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.routers[srv]
	if r == nil {
		r = NewRouter(srv)
		a.routers[srv] = r
	}
	return r
}

// Flatten returns a block's directives with includes expanded in place, as
// nginx reads them.
func Flatten(block []*nginxconf.Directive) []*nginxconf.Directive {
	var out []*nginxconf.Directive
	for _, d := range block {
		if d.Name == "include" && d.Included != nil {
			for _, f := range d.Included {
				out = append(out, Flatten(f.Directives)...)
			}
			continue
		}
		out = append(out, d)
	}
	return out
}

// capSource is a regex whose captures a location sees, with what it runs on.
type capSource struct {
	re      *Regex
	subject Taint
	what    string // "location ~ ^/x/(.*)$", "rewrite ^/(.*)$", "if ($http_origin ~ ...)"
	on      string // "$uri"
}

// Vars is what variables can hold in one location (or a server outside
// any location).
type Vars struct {
	a *Analysis
	// parent holds the variables of the enclosing scope; caps and sets
	// are this scope's own.
	parent *Vars
	// exact is set in a "location =" (and rewrites when a rewrite in it
	// or in its server can change $uri).
	exact, rewrites bool
	caps            []capSource
	sets            map[string][]string
	mu              sync.Mutex
	memo            map[string]Source
	busy            map[string]bool
	// levels memoizes level(): what this scope and those around it assign
	// to a name, so each location adds only its own directives.
	levels map[string]levelInfo
	// locRe is the scope's location regex, nil for other scopes.
	locRe *Regex
}

// Location returns the variables of l, computed once.
func (a *Analysis) Location(l *nginxconf.Location) *Vars {
	return a.scopeVars(&l.Scope, l.Server, l)
}

// Server returns the variables of srv outside its locations.
func (a *Analysis) Server(srv *nginxconf.Server) *Vars {
	return a.scopeVars(&srv.Scope, srv, nil)
}

func (a *Analysis) scopeVars(key *nginxconf.Scope, srv *nginxconf.Server, l *nginxconf.Location) *Vars {
	a.mu.Lock()
	if v := a.vars[key]; v != nil {
		a.mu.Unlock()
		return v
	}
	a.mu.Unlock()
	// A location's variables are its own captures and sets on top of
	// those of the scope around it (the parent location, else the
	// server), which are computed once and shared: copying the server's
	// into each location was quadratic on a server of many sets and
	// locations.
	v := &Vars{a: a, sets: map[string][]string{}, memo: map[string]Source{}, busy: map[string]bool{}}
	switch {
	case l == nil:
		if srv != nil {
			v.collect(srv.Directives)
		}
	default:
		if l.Parent != nil {
			v.parent = a.Location(l.Parent)
		} else {
			v.parent = a.Server(l.Server)
		}
		if l.Modifier == "~" || l.Modifier == "~*" {
			v.locRe = a.Router(l.Server).LocationRegex(l)
			v.caps = append(v.caps, capSource{re: v.locRe, subject: builtin["uri"],
				what: "location " + l.Modifier + " " + l.Path, on: "$uri"})
		}
		v.collect(l.Directives)
	}
	v.exact = l != nil && l.Modifier == "="
	if v.exact {
		// The location was chosen for $uri == its path: only a rewrite in
		// it can change $uri afterwards (a server-level one ran before).
		for _, d := range l.Directives {
			if d.Name == "rewrite" && !redirects(d) || d.Name == "if" && hasRewrite(d.Block) {
				v.rewrites = true
			}
		}
	}
	a.mu.Lock()
	if o := a.vars[key]; o != nil {
		v = o
	} else {
		a.vars[key] = v
	}
	a.mu.Unlock()
	return v
}

// collect records the set, rewrite and if regexes of a scope (and of the
// if blocks in it).
func (v *Vars) collect(ds []*nginxconf.Directive) {
	for _, d := range ds {
		switch d.Name {
		case "set":
			if len(d.Args) == 2 {
				n := strings.ToLower(strings.TrimPrefix(d.Arg(0), "$"))
				v.sets[n] = append(v.sets[n], d.Arg(1))
			}
		case "rewrite":
			if len(d.Args) >= 2 {
				v.caps = append(v.caps, capSource{re: Compile(d.Arg(0), false), subject: builtin["uri"], what: "rewrite " + d.Arg(0), on: "$uri"})
			}
		case "if":
			if c := ParseCond(d); c != nil && c.Regex != nil {
				v.caps = append(v.caps, capSource{re: c.Regex, subject: v.Of(strings.TrimPrefix(c.Var, "$")).Taint,
					what: "if (" + c.Var + " " + c.Op + " " + c.Regex.Src + ")", on: c.Var})
			}
			v.collect(Flatten(d.Block))
		}
	}
}

// Cond is a parsed if condition.
type Cond struct {
	Var   string // "$http_origin"
	Op    string // "~", "~*", "!~", "!~*", "=", "!=", "-f", "" (a bare variable)
	Value string
	Regex *Regex
}

// ParseCond parses the condition of an if directive; nil when it is not one
// ngx_http_rewrite_if_condition accepts in a form we model.
func ParseCond(d *nginxconf.Directive) *Cond {
	args := make([]string, len(d.Args))
	for i, a := range d.Args {
		args[i] = a.Value
	}
	if len(args) == 0 {
		return nil
	}
	args[0] = strings.TrimPrefix(args[0], "(")
	last := len(args) - 1
	args[last] = strings.TrimSuffix(args[last], ")")
	if args[0] == "" {
		args = args[1:]
	}
	if len(args) > 0 && args[len(args)-1] == "" {
		args = args[:len(args)-1]
	}
	switch len(args) {
	case 1:
		return &Cond{Var: args[0]}
	case 2:
		return &Cond{Op: args[0], Var: args[1]}
	case 3:
		c := &Cond{Var: args[0], Op: args[1], Value: args[2]}
		switch c.Op {
		case "~", "~*", "!~", "!~*":
			c.Regex = Compile(c.Value, strings.HasSuffix(c.Op, "*"))
		case "=", "!=":
		default:
			return nil
		}
		return c
	}
	return nil
}

// Of returns what variable name (without '$') can hold here.
func (v *Vars) Of(name string) Source {
	name = strings.ToLower(name)
	v.mu.Lock()
	if s, ok := v.memo[name]; ok {
		v.mu.Unlock()
		return s
	}
	if v.busy[name] {
		v.mu.Unlock()
		return Source{Var: name, Why: "defined in terms of itself"}
	}
	v.busy[name] = true
	v.mu.Unlock()
	s := v.compute(name)
	v.mu.Lock()
	v.memo[name] = s
	delete(v.busy, name)
	v.mu.Unlock()
	return s
}

func (v *Vars) compute(name string) Source {
	s := Source{Var: name}
	lv := v.level(name)
	s.Taint = lv.taint
	whys := append([]string(nil), lv.whys...)
	if md := v.a.maps[name]; md != nil {
		src := v.Of(strings.TrimPrefix(md.src, "$"))
		for _, e := range md.entries {
			sub := v
			if e.re != nil {
				sub = &Vars{a: v.a, parent: v, caps: []capSource{{re: e.re, subject: src.Taint, what: "map " + md.src + " ~" + e.re.Src, on: md.src}},
					memo: map[string]Source{}, busy: map[string]bool{}}
			}
			t, srcs := sub.Expr(e.value)
			if t != 0 {
				s.Taint |= t
				whys = append(whys, "mapped from "+srcs[0].String())
			}
		}
	}
	if t, ok := Builtin(name); ok && !lv.set && v.a.maps[name] == nil {
		if t&LF != 0 && !v.uriAdmits('\n') {
			// The location's own pattern refuses a URI with a newline
			// ("location ~ ^/[a-z/]+$"), so here $uri has none.
			t &^= LF
		}
		if v.exact && t&LF != 0 && (name == "uri" || name == "document_uri") {
			// "location = /x": $uri is "/x" unless a rewrite changed it.
			t = 0
			if v.rewrites {
				t = builtin[name]
			}
		}
		s.Taint |= t
		whys = append(whys, builtinWhy(name, t))
	}
	s.Why = strings.Join(whys, "; ")
	return s
}

// uriAdmits reports whether every location pattern on the way admits a
// URI holding c.
func (v *Vars) uriAdmits(c byte) bool {
	for x := v; x != nil; x = x.parent {
		if x.locRe != nil && !x.locRe.Admits(c) {
			return false
		}
	}
	return true
}

type levelInfo struct {
	taint Taint
	whys  []string
	set   bool // some set assigns the name
}

// maxValues bounds the set values of one name considered per scope: the
// taint is their union, and a configuration that assigns one variable
// thousands of times in a scope must not make the analysis quadratic.
const maxValues = 64

// level is what the captures and the sets of this scope and the scopes
// around it put in name, each evaluated in the scope where it is written.
func (v *Vars) level(name string) levelInfo {
	v.mu.Lock()
	if li, ok := v.levels[name]; ok {
		v.mu.Unlock()
		return li
	}
	v.mu.Unlock()
	var li levelInfo
	if v.parent != nil {
		li = v.parent.level(name)
		li.whys = append([]string(nil), li.whys...)
	}
	if name != "" {
		for _, c := range v.caps {
			n := c.re.Group(name)
			if n < 0 {
				continue
			}
			if t := captureTaint(c.re, n, c.subject); t != 0 {
				li.taint |= t
				li.whys = append(li.whys, fmt.Sprintf("captured by %s from %s", c.what, c.on))
			}
		}
	}
	for i, val := range v.sets[name] {
		li.set = true
		if i >= maxValues {
			break
		}
		if t, srcs := v.Expr(val); t != 0 {
			li.taint |= t
			li.whys = append(li.whys, "set from "+srcs[0].String())
		}
	}
	v.mu.Lock()
	if v.levels == nil {
		v.levels = map[string]levelInfo{}
	}
	v.levels[name] = li
	v.mu.Unlock()
	return li
}

// captureTaint is what group n of re can carry when re runs on a subject
// carrying t.
func captureTaint(re *Regex, n int, t Taint) Taint {
	if t&FromClient == 0 || re.Err != nil {
		return 0
	}
	out := FromClient
	if nl, _ := re.CanHold(n, '\n'); nl && t&LF != 0 {
		out |= LF
	}
	dot, _ := re.CanHold(n, '.')
	slash, _ := re.CanHold(n, '/')
	if dot && slash && t&DotDot != 0 {
		out |= DotDot
	}
	if t&Decoded != 0 {
		for _, c := range []byte("/?#") {
			if can, _ := re.CanHold(n, c); can {
				out |= Decoded
				break
			}
		}
	}
	// Free text (a URI, a header) spells any host name through a group
	// that can hold a dot; the validated $host only spells itself.
	if letter, _ := re.CanHold(n, 'e'); dot && letter && t&(AnyHost|LF|DotDot) != 0 {
		out |= AnyHost
	}
	return out
}

func builtinWhy(name string, t Taint) string {
	switch {
	case t&LF != 0:
		return "$" + name + " is percent-decoded by nginx"
	case name == "http_host":
		return "$http_host is the Host header as the client sent it"
	case name == "host":
		return "$host is the client's Host header, validated"
	case t != 0:
		return "$" + name + " comes from the request as sent"
	}
	return "$" + name + " is set by nginx"
}

// Expr returns what a complex value can carry and the variables that make
// it so (most dangerous first).
func (v *Vars) Expr(val string) (Taint, []Source) {
	var t Taint
	var srcs []Source
	for _, r := range Refs(val) {
		s := v.Of(r.Name)
		if s.Taint != 0 {
			t |= s.Taint
			srcs = append(srcs, s)
		}
	}
	sortSources(srcs)
	for i := range srcs {
		if srcs[i].Taint&LF != 0 {
			srcs[0], srcs[i] = srcs[i], srcs[0]
			break
		}
	}
	return t, srcs
}

func hasRewrite(ds []*nginxconf.Directive) bool {
	for _, d := range Flatten(ds) {
		if d.Name == "rewrite" && !redirects(d) {
			return true
		}
	}
	return false
}

// redirects reports whether a rewrite answers with a redirect, which
// leaves $uri as it was.
func redirects(d *nginxconf.Directive) bool {
	r, f := d.Arg(1), d.Arg(2)
	return f == "redirect" || f == "permanent" || strings.HasPrefix(r, "http://") || strings.HasPrefix(r, "https://") || strings.HasPrefix(r, "$scheme")
}

// Values returns the values set assigns to name in this scope (nil when
// nothing sets it), for rules that look inside a variable's definition
// (the host part of a URL assembled with set).
func (v *Vars) Values(name string) []string {
	name = strings.ToLower(name)
	var out []string
	for x := v; x != nil; x = x.parent {
		out = append(out, x.sets[name]...)
	}
	return out
}
