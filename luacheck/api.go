package luacheck

import (
	"strconv"
	"strings"
)

// apiEntry is one API of the embedded table (apitable_gen.go).
type apiEntry struct {
	name           string
	module         string
	contexts       []string
	since          string
	sinceComponent string
	requireOnly    bool // reached through require "<module>" only
	aliasOf        string
	method         bool // a method of an object (tcpsock:connect, DICT.get)
	global         bool // reachable through the global ngx table
	field          bool // a value, not a function
	writable       bool
}

// API is the public view of one entry of the embedded API table.
type API struct {
	Name           string
	Module         string
	Contexts       []string
	Since          string
	SinceComponent string
	// RequireOnly is set for lua-resty-core module functions that are
	// reached through require "<Module>" only (e.g. ngx.balancer.*).
	RequireOnly bool
	Function    bool
}

var apiIndex = func() map[string]int {
	m := make(map[string]int, len(apiTable))
	for i := range apiTable {
		m[apiTable[i].name] = i
	}
	return m
}()

var stdGlobals = buildStd()

// LookupAPI returns the table entry of a canonical API name.
func LookupAPI(name string) (API, bool) {
	i, ok := apiIndex[name]
	if !ok {
		return API{}, false
	}
	a := &apiTable[i]
	return API{Name: a.name, Module: a.module, Contexts: append([]string(nil), a.contexts...),
		Since: a.since, SinceComponent: a.sinceComponent, RequireOnly: a.requireOnly,
		Function: !a.field}, true
}

// Allowance is the verdict of the API table for an API in a context.
type Allowance int

// Allowance values.
const (
	// AllowUnknown: the table has no usable context list for the API, or
	// the context is one the documentation does not enumerate.
	AllowUnknown Allowance = iota
	Allowed
	Disallowed
)

func (a Allowance) String() string {
	switch a {
	case Allowed:
		return "allowed"
	case Disallowed:
		return "disallowed"
	}
	return "unknown"
}

// NormalizeContext maps a directive name ("balancer_by_lua_block") or a
// context ("balancer_by_lua", "balancer_by_lua*") to the table's context
// key ("balancer_by_lua*"); "" when unknown.
func NormalizeContext(s string) string {
	if c, ok := directiveContexts[s]; ok {
		return c
	}
	base := strings.TrimSuffix(s, "*")
	base = strings.TrimSuffix(base, "_block")
	base = strings.TrimSuffix(base, "_file")
	for _, c := range luaContexts {
		if c == base+"*" {
			return c
		}
	}
	if base == "preread_by_lua" {
		return "preread_by_lua*"
	}
	return ""
}

// documentedContexts are the contexts the lua-nginx-module documentation
// enumerates in its per-API "context:" lines. Newer phases
// (server_rewrite_by_lua*, precontent_by_lua*, proxy_ssl_*_by_lua*) are
// never listed there, so their absence from a list says nothing.
var documentedContexts = map[string]bool{
	"init_by_lua*": true, "init_worker_by_lua*": true, "exit_worker_by_lua*": true,
	"set_by_lua*": true, "rewrite_by_lua*": true, "access_by_lua*": true,
	"content_by_lua*": true, "header_filter_by_lua*": true, "body_filter_by_lua*": true,
	"log_by_lua*": true, "ngx.timer.*": true, "balancer_by_lua*": true,
	"ssl_certificate_by_lua*": true, "ssl_session_fetch_by_lua*": true,
	"ssl_session_store_by_lua*": true, "ssl_client_hello_by_lua*": true,
}

// IsAllowed tells whether the API may be used in the context, per the
// table's "context:" lists (lua-nginx-module README, lua-resty-core docs).
func IsAllowed(name, context string) Allowance {
	ctx := NormalizeContext(context)
	i, ok := apiIndex[name]
	if !ok || ctx == "" {
		return AllowUnknown
	}
	a := &apiTable[i]
	if len(a.contexts) == 0 {
		return AllowUnknown
	}
	for _, c := range a.contexts {
		switch c {
		case ctx, "any":
			return Allowed
		case "all phases except init_by_lua*":
			if ctx != "init_by_lua*" {
				return Allowed
			}
		case "phases that support yielding":
			for _, y := range yieldContexts {
				if y == ctx {
					return Allowed
				}
			}
		}
	}
	if !documentedContexts[ctx] {
		return AllowUnknown
	}
	return Disallowed
}

// CanYield reports whether the context can yield (ngx.sleep, cosockets),
// per ngx_lua_phase_rules.json.
func CanYield(context string) bool {
	ctx := NormalizeContext(context)
	for _, y := range yieldContexts {
		if y == ctx {
			return true
		}
	}
	return false
}

// VersionLess compares OpenResty component versions such as "v0.10.23",
// "0.10.9", "v0.5.0rc30", "v0.1.18": true when a < b. An rc release sorts
// before its final release. Unparsable versions compare as equal.
func VersionLess(a, b string) bool {
	pa, oka := parseVersion(a)
	pb, okb := parseVersion(b)
	if !oka || !okb {
		return false
	}
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// parseVersion returns the numeric parts; "rcN" becomes a last part
// N-10000 so that 0.5.0rc30 < 0.5.0.
func parseVersion(v string) ([]int, bool) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	if v == "" {
		return nil, false
	}
	rc := 0
	hasRC := false
	if i := strings.Index(v, "rc"); i >= 0 {
		n, err := strconv.Atoi(v[i+2:])
		if err != nil {
			return nil, false
		}
		rc, hasRC = n, true
		v = v[:i]
	}
	var out []int
	for _, p := range strings.Split(v, ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, false
		}
		out = append(out, n)
	}
	for len(out) < 3 {
		out = append(out, 0)
	}
	if hasRC {
		out = append(out, rc-10000)
	}
	return out, true
}

// apiName maps a resolution's path (the global or module, then the string
// keys up to the first other key) to the table's canonical name:
// ngx.var.host -> ngx.var.VARIABLE, ngx.shared.cache -> ngx.shared.DICT,
// ngx.shared.cache.get -> ngx.shared.DICT.get; an unknown path is returned
// joined with dots. It runs for every API reference, so it joins the path
// in g.nameBuf and allocates only for names the table does not know.
func (g *globalState) apiName(r *resolution) (string, bool) {
	n := r.pathLen()
	if n >= 2 {
		// Each case below names two parts joined by its only dot, so
		// p0+"."+p1 equals it exactly when p0 and p1 match its halves.
		p0, p1 := r.pathPart(0), r.pathPart(1)
		switch {
		case p0 == "ngx" && p1 == "var":
			if n >= 3 {
				return "ngx.var.VARIABLE", true
			}
		case p0 == "ngx" && p1 == "header":
			if n >= 3 {
				return "ngx.header.HEADER", true
			}
		case p0 == "ngx" && p1 == "shared":
			if n == 3 {
				return "ngx.shared.DICT", true
			}
			if n >= 4 {
				g.nameBuf = append(append(g.nameBuf[:0], "ngx.shared.DICT."...), r.pathPart(3)...)
				if i, ok := apiIndex[string(g.nameBuf)]; ok {
					return apiTable[i].name, true
				}
				return string(g.nameBuf), false
			}
		case p0 == "ngx" && p1 == "arg":
			return "ngx.arg", true
		case p0 == "ngx" && p1 == "ctx":
			return "ngx.ctx", true
		case p0 == "ndk" && p1 == "set_var":
			if n >= 3 {
				return "ndk.set_var.DIRECTIVE", true
			}
		}
	}
	b := g.nameBuf[:0]
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, '.')
		}
		b = append(b, r.pathPart(i)...)
	}
	g.nameBuf = b
	// The map lookup with string(b) does not allocate.
	if i, ok := apiIndex[string(b)]; ok {
		return apiTable[i].name, true
	}
	return string(b), false
}
