package luacheck

import (
	"slices"
	"strconv"
	"strings"
	"sync"
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
// enumerates in its per-API "context:" lines. They judge only the APIs the
// extraction (phasefacts.json) has no facts for, whose contexts still come
// from those lines: newer phases (server_rewrite_by_lua*,
// precontent_by_lua*, proxy_ssl_*_by_lua*) are never listed there, so their
// absence from a list says nothing.
var documentedContexts = map[string]bool{
	"init_by_lua*": true, "init_worker_by_lua*": true, "exit_worker_by_lua*": true,
	"set_by_lua*": true, "rewrite_by_lua*": true, "access_by_lua*": true,
	"content_by_lua*": true, "header_filter_by_lua*": true, "body_filter_by_lua*": true,
	"log_by_lua*": true, "ngx.timer.*": true, "balancer_by_lua*": true,
	"ssl_certificate_by_lua*": true, "ssl_session_fetch_by_lua*": true,
	"ssl_session_store_by_lua*": true, "ssl_client_hello_by_lua*": true,
}

// IsAllowed is IsAllowedAt with no declared lua-nginx-module version: the
// contexts of the latest release the facts were read from.
func IsAllowed(name, context string) Allowance { return IsAllowedAt(name, context, "") }

// IsAllowedAt tells whether the API may be used in the context with
// lua-nginx-module release lnm ("0.10.23", "v0.10.23"; "" or a version it
// cannot read stand for the latest release read).
//
// For the APIs phasefacts.json has facts for (read from the API's own
// context checks: ngx_http_lua_check_context masks and request checks in
// lua-nginx-module's C, get_phase() checks in lua-resty-core), the
// contexts are those of the period holding lnm (apiContextHistory), and a
// phase the release knows but the list lacks is Disallowed. A release older
// than the API's first period (it did not exist yet: LUA2002's business)
// and a phase the release does not know are AllowUnknown. Other APIs are
// judged by the documentation's "context:" lists (documentedContexts).
func IsAllowedAt(name, context, lnm string) Allowance {
	ctx := NormalizeContext(context)
	i, ok := apiIndex[name]
	if !ok || ctx == "" {
		return AllowUnknown
	}
	a := &apiTable[i]
	if pf := phaseFactsIndex(); pf.apis[name] != nil {
		contexts, ok := apiContextsAt(a, pf.apis[name], lnm)
		if !ok {
			return AllowUnknown
		}
		if slices.Contains(contexts, ctx) {
			return Allowed
		}
		if slices.Contains(pf.phasesAt(lnm), ctx) {
			return Disallowed
		}
		return AllowUnknown
	}
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
			if slices.Contains(yieldContexts, ctx) {
				return Allowed
			}
		}
	}
	if !documentedContexts[ctx] {
		return AllowUnknown
	}
	return Disallowed
}

// apiContextsAt returns the contexts of an API with facts at release lnm,
// and false when lnm predates the API's first period while that period
// starts after the first release read (the API did not exist yet).
func apiContextsAt(a *apiEntry, f *apiFacts, lnm string) ([]string, bool) {
	if _, ok := parseVersion(lnm); !ok {
		return a.contexts, true
	}
	hist := apiContextHistory[a.name]
	if len(hist) == 0 {
		// One period: the table's contexts hold from its start on.
		if VersionLess(lnm, f.periods[0].from) && f.periods[0].from != apiContextsFrom {
			return nil, false
		}
		return a.contexts, true
	}
	if VersionLess(lnm, hist[0].from) {
		if hist[0].from != apiContextsFrom {
			return nil, false
		}
		// Older than every release read: the first one read is the best
		// knowledge there is.
		return hist[0].contexts, true
	}
	cur := hist[0].contexts
	for _, p := range hist[1:] {
		if VersionLess(lnm, p.from) {
			break
		}
		cur = p.contexts
	}
	return cur, true
}

// Refusal is how lua-nginx-module refuses an API where it is disabled:
// the error text it raises (or returns) and the checks that decide it, as
// read from the sources (phasefacts.json), each "file:line@tag what".
type Refusal struct {
	// Message is the error the API gives, e.g. "API disabled in the
	// context of log_by_lua*" (ngx_http_lua_check_context in
	// ngx_http_lua_util.h), "API disabled in the current context"
	// (lua-resty-core, after an FFI call refused the context), "no
	// request found" (lua-resty-core's get_request() is nil in
	// init_by_lua*) or "no request object found" (lua-nginx-module's C
	// without a request).
	Message string
	// Impl names the code whose checks decide: "C <function> (file:line@tag)"
	// or "core <file>:<function>".
	Impl string
	// Sources are the checks, each "file:line@tag what".
	Sources []string
}

// RefusalAt describes how the API refuses the context at release lnm (""
// for the latest); ok is false when the facts do not cover the API.
func RefusalAt(name, context, lnm string) (Refusal, bool) {
	f := phaseFactsIndex().apis[name]
	ctx := NormalizeContext(context)
	if f == nil || ctx == "" {
		return Refusal{}, false
	}
	p := &f.periods[len(f.periods)-1]
	if _, ok := parseVersion(lnm); ok {
		for i := range f.periods {
			if !VersionLess(lnm, f.periods[i].from) {
				p = &f.periods[i]
			}
		}
	}
	r := Refusal{Impl: p.impl, Sources: p.sources}
	core := strings.HasPrefix(p.impl, "core ")
	mask, noreq, fake, ffiNamed := false, false, false, false
	for _, s := range p.sources {
		mask = mask || strings.Contains(s, " context mask ") || strings.Contains(s, " get_phase() ")
		ffiNamed = ffiNamed || strings.HasPrefix(s, "src/ngx_http_lua_semaphore.c:") && strings.Contains(s, " context mask ")
		noreq = noreq || strings.HasSuffix(s, " needs a request")
		fake = fake || strings.HasSuffix(s, " refuses a fake request (fd -1)")
	}
	switch {
	case ctx == "init_by_lua*" && noreq:
		// No request exists yet: lua-resty-core's get_request() is nil
		// and its wrappers raise this; lua-nginx-module's C functions
		// raise it too, or one of "no request object found", "request
		// object not found", "no request" (the text is per function).
		r.Message = "no request found"
	case strings.HasPrefix(name, "ngx.balancer.") && (ctx == "init_worker_by_lua*" || ctx == "ngx.timer.*"):
		// A fake request has no upstream: the FFI functions fail before
		// their context check (ngx_http_lua_balancer.c).
		r.Message = "no upstream found"
	case core && ffiNamed:
		// ngx_http_lua_ffi_sema_wait (ngx_http_lua_semaphore.c) writes
		// the phase's name into its error itself.
		r.Message = "API disabled in the context of " + contextName(ctx)
	case core || fake && !mask && fakeRequestContexts[ctx]:
		// lua-resty-core raises this when the FFI function returns
		// NGX_HTTP_LUA_FFI_BAD_CONTEXT; lua-nginx-module's
		// ngx_http_lua_check_fake_request (ngx_http_lua_util.h) raises
		// it for the fake request of a timer or init_worker_by_lua*.
		r.Message = "API disabled in the current context"
	default:
		// ngx_http_lua_check_context (ngx_http_lua_util.h) names the
		// phase as ngx_http_lua_context_name does.
		r.Message = "API disabled in the context of " + contextName(ctx)
	}
	return r, true
}

// fakeRequestContexts run Lua on a fake request whose connection has no
// socket (fd -1): ngx_http_lua_create_fake_connection callers in
// ngx_http_lua_initworkerby.c, ngx_http_lua_timer.c and
// ngx_http_lua_exitworkerby.c.
var fakeRequestContexts = map[string]bool{"init_worker_by_lua*": true, "ngx.timer.*": true, "exit_worker_by_lua*": true}

// contextName is a context as ngx_http_lua_context_name
// (ngx_http_lua_util.h) writes it in errors: "log_by_lua*", "ngx.timer".
func contextName(ctx string) string {
	if ctx == "ngx.timer.*" {
		return "ngx.timer"
	}
	return ctx
}

// apiFacts is what phasefacts.json says about one API, per period.
type apiFacts struct {
	periods []factPeriod
}

type factPeriod struct {
	from    string
	impl    string
	sources []string
}

// phaseFacts indexes phasefacts.json: the APIs it has facts for and the
// phases each release knows.
type phaseFacts struct {
	apis   map[string]*apiFacts
	phases []factPhases
}

type factPhases struct {
	from   string
	phases []string
}

// phasesAt returns the phases release lnm knows ("" or unreadable: the
// latest release read).
func (pf *phaseFacts) phasesAt(lnm string) []string {
	if len(pf.phases) == 0 {
		return nil
	}
	cur := pf.phases[len(pf.phases)-1].phases
	if _, ok := parseVersion(lnm); ok {
		cur = pf.phases[0].phases
		for _, p := range pf.phases {
			if !VersionLess(lnm, p.from) {
				cur = p.phases
			}
		}
	}
	return cur
}

// factAPI is one API's facts as apitable_gen.go lists them.
type factAPI struct {
	name    string
	periods []factPeriod
}

// phaseFactsIndex indexes the facts apitable_gen.go carries from
// phasefacts.json (the committed extraction: the table keeps the
// contexts; the facts add which APIs were read from the sources at all,
// the phases each release knows, and the checks with their file:line@tag),
// once, on first use. The index is never modified after.
var phaseFactsIndex = sync.OnceValue(func() *phaseFacts {
	pf := &phaseFacts{apis: make(map[string]*apiFacts, len(factAPIs)), phases: factPhaseSets}
	for i := range factAPIs {
		a := &factAPIs[i]
		if _, inTable := apiIndex[a.name]; inTable {
			pf.apis[a.name] = &apiFacts{periods: a.periods}
		}
	}
	return pf
})

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
