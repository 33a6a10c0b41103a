package rules

import (
	"fmt"
	"path"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	dirs "github.com/ngxlint/ngxlint/directives"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// The NGX3xxx rules report what `nginx -t` refuses about a directive. One
// walk (directiveFindings) follows nginx's ngx_conf_handler for every
// directive of the configuration, with the context it is in, and sorts
// what it finds by rule; each rule reports its share.

// dirFinding is one finding of the directive walk.
type dirFinding struct {
	rule     string // rule ID
	severity analyzer.Severity
	pos, end nginxconf.Pos
	msg      string
	details  string // the why and what to do (Diagnostic.Details)
	related  []analyzer.Related
}

// moduleState is what the run knows about a module being in the build.
type moduleState int

const (
	// modPresent: one of nginx's own modules (which a build compiles in
	// cannot be told from a configuration, so they are all taken as
	// present), or a third-party module loaded by load_module, declared
	// in modules.load, or bundled by the declared OpenResty release.
	modPresent moduleState = iota
	// modMaybe: a third-party module nothing declares, in a configuration
	// that loads no module: it may be compiled in, so nothing is said.
	modMaybe
	// modNotLoaded: the configuration loads other modules with
	// load_module but not this one: nginx refuses its directives unless
	// it is compiled in (a warning).
	modNotLoaded
	// modAbsent: modules.load lists the build's modules and not this one.
	modAbsent
)

type dirWalker struct {
	pass     *analyzer.Pass
	loads    map[string]bool // load_module objects (base names without .so)
	hasLoads bool
	bundled  map[string]bool // OpenResty's modules, when declared
	// suggestions memoizes "did you mean" per name and context: a
	// generated configuration can repeat one unknown name many times.
	suggestions map[sugKey][]string
	names       map[sugKey]*nameFactsOf // nameFacts, memoized
	handlers    handlerState
	out         []dirFinding
}

type sugKey struct {
	name string
	ctx  dirs.Context
}

// directiveFindings runs the directive walk once per run.
func directiveFindings(pass *analyzer.Pass) []dirFinding {
	type key struct{}
	return pass.Fact(key{}, func() any {
		if pass.Config == nil || pass.Config.Main == nil {
			return []dirFinding(nil)
		}
		w := &dirWalker{pass: pass, loads: map[string]bool{}, bundled: map[string]bool{}, suggestions: map[sugKey][]string{}, names: map[sugKey]*nameFactsOf{}}
		for _, m := range versions.OpenRestyModules(pass.Profile.OpenResty) {
			w.bundled[m] = true
		}
		if pass.Profile.HasLNM() {
			// A declared lua-nginx-module version says the module is in.
			w.bundled["ngx_http_lua_module"] = true
		}
		pass.Config.Walk(func(d *nginxconf.Directive, parents []*nginxconf.Directive) bool {
			if d.Name == "load_module" && len(parents) == 0 && len(d.Args) == 1 {
				w.hasLoads = true
				w.loads[strings.TrimSuffix(path.Base(d.Args[0].Value), ".so")] = true
			}
			return len(parents) == 0 // load_module is main-context only
		})
		start := startContext(pass.Config)
		w.walk(pass.Config.Main.Directives, start, map[string]*nginxconf.Directive{})
		w.cacheZones(start == dirs.Main)
		return w.out
	}).([]dirFinding)
}

// startContext is the context of the main file's top level: nginx's main
// context for a main configuration; for a fragment checked alone (an
// include), the context nginxconf inferred (Config.ImplicitContext), or
// every context when nothing tells.
func startContext(cfg *nginxconf.Config) dirs.Context {
	switch cfg.ImplicitContext {
	case "http":
		return dirs.HTTPMain
	case "server":
		return dirs.HTTPSrv
	case "location":
		return dirs.HTTPLoc | dirs.HTTPLif
	}
	isMain := false
	cfg.Walk(func(d *nginxconf.Directive, parents []*nginxconf.Directive) bool {
		switch d.Name {
		case "http", "events", "stream", "mail":
			isMain = isMain || len(parents) == 0
		}
		return false
	})
	// Walk stops at blocks but still reads top-level includes: a main
	// file that includes its http{} is a main file.
	if !isMain {
		for _, d := range cfg.Main.Directives {
			for _, f := range d.Included {
				for _, x := range f.Directives {
					switch x.Name {
					case "http", "events", "stream", "mail":
						isMain = true
					}
				}
			}
		}
	}
	if isMain {
		return dirs.Main
	}
	return dirs.AnyContext
}

func (w *dirWalker) state(module string) moduleState {
	if module == dirs.DeclaredModule {
		return modPresent
	}
	m, ok := dirs.LookupModule(module)
	if !ok || !m.ThirdParty {
		return modPresent
	}
	switch {
	case w.loads[m.Object] || w.pass.Modules.Loaded(m.Name) || w.bundled[m.Name]:
		return modPresent
	case w.pass.Modules.Closed():
		return modAbsent
	case w.hasLoads:
		return modNotLoaded
	}
	return modMaybe
}

func (w *dirWalker) report(rule string, sev analyzer.Severity, pos, end nginxconf.Pos, format string, args ...any) *dirFinding {
	w.out = append(w.out, dirFinding{rule: rule, severity: sev, pos: pos, end: end, msg: fmt.Sprintf(format, args...)})
	return &w.out[len(w.out)-1]
}

// walk checks the directives of one block (seen: the names set in it so
// far, for duplicates; included files share their includer's block).
func (w *dirWalker) walk(ds []*nginxconf.Directive, ctx dirs.Context, seen map[string]*nginxconf.Directive) {
	for _, d := range ds {
		inner, descend := w.check(d, ctx, seen)
		for _, f := range d.Included {
			w.walk(f.Directives, ctx, seen)
		}
		if descend && len(d.Block) > 0 {
			w.walk(d.Block, inner, map[string]*nginxconf.Directive{})
		}
	}
}

// nameEnd is the position after a directive's name.
func nameEnd(d *nginxconf.Directive) nginxconf.Pos { return d.Pos.Advance(d.Name) }

// check follows ngx_conf_handler for d in ctx. It returns the context of
// d's block and whether its contents are directives to check.
func (w *dirWalker) check(d *nginxconf.Directive, ctx dirs.Context, seen map[string]*nginxconf.Directive) (dirs.Context, bool) {
	if d.Name == "" {
		return 0, false
	}
	nf := w.nameFacts(d.Name, ctx)
	if len(nf.present) == 0 {
		w.unknown(d, ctx, nf.notLoaded)
		return 0, false
	}
	if len(nf.allowed) == 0 {
		w.report("NGX3002", analyzer.Error, d.Pos, nameEnd(d), "%q directive is not allowed here (%s); it is allowed in: %s",
			d.Name, ctxWords(ctx), nf.where)
		return 0, false
	}
	allowed := nf.allowed
	if nf.notLoadedOnly {
		m, _ := dirs.LookupModule(allowed[0].Module)
		f := w.report("NGX3001", analyzer.Warning, d.Pos, nameEnd(d), "%q needs %s, which no load_module line loads", d.Name, m.Name)
		f.details = fmt.Sprintf("No load_module line of this configuration loads %s.so: nginx says unknown directive %q unless the module is compiled in. If your build has it compiled in, list it under modules.load in .ngxlint.yaml.", m.Object, d.Name)
	}
	if !nf.exists {
		w.report("NGX3007", analyzer.Error, d.Pos, nameEnd(d), "unknown directive %q in %s: %s", d.Name, w.declared(allowed[0]), nf.why)
		return 0, false
	}
	// Most names have one entry; the buffers keep the walk from
	// allocating per directive (it runs over every directive of large
	// configurations).
	var fitsBuf, shapedBuf [4]*dirs.Directive
	n := len(d.Args)
	fits := fitsBuf[:0]
	for _, e := range allowed {
		if e.Args.Accepts(n) {
			fits = append(fits, e)
		}
	}
	if len(fits) > 0 {
		// ngx_conf_handler checks the block shape before the count: a
		// block where the directive takes none ends it without ";", a
		// block directive without "{" has no opening brace.
		shaped := shapedBuf[:0]
		for _, e := range fits {
			if (e.Args&dirs.Block != 0) == d.HasBlock {
				shaped = append(shaped, e)
			}
		}
		if len(shaped) == 0 {
			if d.HasBlock {
				w.report("NGX3003", analyzer.Error, d.Pos, nameEnd(d), "directive %q is not terminated by \";\" (it takes no block)", d.Name)
			} else {
				w.report("NGX3003", analyzer.Error, d.Pos, nameEnd(d), "directive %q has no opening \"{\" (it takes a block)", d.Name)
			}
			return 0, false
		}
		fits = shaped
	}
	if len(fits) == 0 {
		w.report("NGX3003", analyzer.Error, d.Pos, d.End, "invalid number of arguments in %q directive (%d given; it takes %s)", d.Name, n, argWords(allowed[0].Args))
		return 0, false
	}
	refused := w.value(d, fits)
	w.duplicate(d, fits, seen)
	if !refused {
		w.handlerFacts(d, fits, seen)
	}
	return openedContext(*fits[0], ctx)
}

// nameFactsOf is what a directive's name and context decide, the same for
// every occurrence: the table's entries of modules the build may have,
// those allowed in the context, and whether the declared versions have
// it. Large configurations repeat a few names thousands of times, so the
// walk computes them once per name and context.
type nameFactsOf struct {
	present, notLoaded, allowed []*dirs.Directive
	where                       dirs.Context // every context the present entries allow
	// notLoadedOnly: every entry allowed here belongs to a module that
	// no load_module line loads (nginx refuses it unless compiled in).
	notLoadedOnly bool
	exists        bool
	why           string
}

func (w *dirWalker) nameFacts(name string, ctx dirs.Context) *nameFactsOf {
	k := sugKey{name, ctx}
	if nf, ok := w.names[k]; ok {
		return nf
	}
	nf := &nameFactsOf{}
	w.names[k] = nf
	for _, list := range [][]dirs.Directive{dirs.Lookup(name), w.pass.Modules.Extra(name)} {
		for i := range list {
			// Entries of modules the build is known to lack do not count.
			e := &list[i]
			switch w.state(e.Module) {
			case modPresent, modMaybe:
				nf.present = append(nf.present, e)
			case modNotLoaded:
				nf.present = append(nf.present, e)
				nf.notLoaded = append(nf.notLoaded, e)
			case modAbsent:
				nf.notLoaded = append(nf.notLoaded, e)
			}
		}
	}
	for _, e := range nf.present {
		nf.where |= e.Contexts
		if e.Contexts&ctx != 0 {
			nf.allowed = append(nf.allowed, e)
		}
	}
	if len(nf.allowed) == 0 {
		return nf
	}
	n := 0
	for _, e := range nf.notLoaded {
		if e.Contexts&ctx != 0 {
			n++
		}
	}
	nf.notLoadedOnly = len(nf.notLoaded) > 0 && n == len(nf.allowed)
	nf.exists, nf.why = w.exists(nf.allowed)
	return nf
}

// exists applies the declared versions: the directive exists if one of
// its entries exists in the declared release of its project.
func (w *dirWalker) exists(es []*dirs.Directive) (bool, string) {
	why := ""
	for _, e := range es {
		ok, reason := e.ExistsIn(w.pass.Profile)
		if ok {
			return true, ""
		}
		if why == "" {
			why = reason
		}
	}
	return false, why
}

func (w *dirWalker) declared(e *dirs.Directive) string {
	m, _ := dirs.LookupModule(e.Module)
	if m.Versioning == dirs.LNMVersion {
		return "lua-nginx-module " + w.pass.Profile.LNM.String()
	}
	return "nginx " + w.pass.Profile.Nginx.String()
}

// unknown reports a name no present module declares.
func (w *dirWalker) unknown(d *nginxconf.Directive, ctx dirs.Context, notLoaded []*dirs.Directive) {
	if len(notLoaded) > 0 {
		m, _ := dirs.LookupModule(notLoaded[0].Module)
		f := w.report("NGX3001", analyzer.Error, d.Pos, nameEnd(d), "unknown directive %q: %s is not in the declared build", d.Name, m.Name)
		f.details = fmt.Sprintf("%q belongs to %s, which modules.load in .ngxlint.yaml does not list, and no load_module line loads %s.so.", d.Name, m.Name, m.Object)
		return
	}
	sugg, done := w.suggestions[sugKey{d.Name, ctx}]
	if !done {
		keep := func(e dirs.Directive) bool {
			return e.Contexts&ctx != 0 && w.state(e.Module) != modAbsent
		}
		sugg = dirs.Suggest(d.Name, keep)
		if extra := w.pass.Modules.All(); len(extra) > 0 {
			sugg = append(sugg, dirs.SuggestAmong(d.Name, extra, keep)...)
		}
		w.suggestions[sugKey{d.Name, ctx}] = sugg
	}
	if len(sugg) > 0 {
		w.report("NGX3001", analyzer.Error, d.Pos, nameEnd(d), "unknown directive %s; did you mean %s?", nginxconf.QuoteWord(d.Name), quoteList(sugg))
		return
	}
	if d.File != nil && len(d.File.Errors) > 0 {
		// A file with syntax errors (reported by the loader) may not be
		// a configuration at all: its words are not listed one by one.
		return
	}
	f := w.report("NGX3001", analyzer.Warning, d.Pos, nameEnd(d), "unknown directive %s: no module ngxlint knows declares it", nginxconf.QuoteWord(d.Name))
	f.details = "If a module of your build declares it, declare the directive under modules.directives in .ngxlint.yaml (name, contexts, arguments); nginx -t refuses it otherwise."
}

// value runs the slot parser, or the module's own handler where
// directives models it (CheckHandler): reported when every fitting entry
// refuses. It reports whether it reported.
func (w *dirWalker) value(d *nginxconf.Directive, fits []*dirs.Directive) bool {
	modelled := false
	for _, e := range fits {
		modelled = modelled || e.Value != dirs.Other || e.HasHandlerCheck()
	}
	if !modelled {
		return false // the module's own handler: nothing to parse here
	}
	args := make([]string, len(d.Args))
	for i, a := range d.Args {
		args[i] = a.Value
	}
	var first *dirs.Problem
	var firstEntry *dirs.Directive
	for _, e := range fits {
		p := e.CheckValue(args)
		if p == nil && e.Value == dirs.Other {
			p = e.CheckHandler(args, w.pass.Profile)
		}
		if p == nil {
			return false
		}
		if first == nil {
			first, firstEntry = p, e
		}
	}
	if first == nil || first.Arg >= len(d.Args) {
		return false
	}
	a := d.Args[first.Arg]
	msg := first.Message
	if !safeValue(a.Value) && !safeParameter(firstEntry, a.Value) {
		// Messages end up in public CI logs: a value that does not look
		// like a setting is described, not quoted (nginxconf.QuoteWord).
		quoted := strings.Replace(msg, fmt.Sprintf("%q", a.Value), fmt.Sprintf("(a value of %d bytes, not quoted)", len(a.Value)), 1)
		if quoted == msg {
			// The message quotes a part of the value (a parameter's).
			quoted = fmt.Sprintf("invalid value in %q directive (a value of %d bytes, not quoted)", d.Name, len(a.Value))
		}
		msg = quoted
	}
	w.report("NGX3004", analyzer.Error, a.Pos, a.End(), "%s", msg)
	return true
}

// safeParameter reports whether v is a parameter of e's handler
// ("backlog=0", "weight=x") or error_page's "=code" with a value
// safeValue accepts: a setting, which a message may quote.
func safeParameter(e *dirs.Directive, v string) bool {
	if rest, ok := strings.CutPrefix(v, "="); ok && e.Name == "error_page" {
		return safeValue(rest)
	}
	if !e.IsParameter(v) {
		return false
	}
	_, val, _ := strings.Cut(v, "=")
	return safeValue(val)
}

// safeValue reports whether a value may be quoted in a message: short,
// and made of the characters settings are written with.
func safeValue(v string) bool {
	if len(v) > 32 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._:-$", c) >= 0) {
			return false
		}
	}
	return true
}

// duplicate reports the second of two same-named directives in one block
// when the directive's handler refuses that ("is duplicate").
func (w *dirWalker) duplicate(d *nginxconf.Directive, fits []*dirs.Directive, seen map[string]*nginxconf.Directive) {
	for _, e := range fits {
		if !e.Dup {
			return // only directives nginx refuses twice are remembered
		}
	}
	prev, again := seen[d.Name]
	if !again {
		seen[d.Name] = d
		return
	}
	f := w.report("NGX3005", analyzer.Error, d.Pos, nameEnd(d), "%q directive is duplicate", d.Name)
	f.related = []analyzer.Related{{Pos: prev.Pos, End: nameEnd(prev), Message: "first set here"}}
}

// openedContext is the context inside e's block, written in ctx.
func openedContext(e dirs.Directive, ctx dirs.Context) (dirs.Context, bool) {
	if e.Body != dirs.Directives {
		return 0, false // entries, Lua, or a body the table cannot tell
	}
	inner := e.Opens
	// if {}: NGX_HTTP_SIF_CONF in a server, NGX_HTTP_LIF_CONF in a
	// location (ngx_http_rewrite_if).
	if inner == dirs.HTTPSif|dirs.HTTPLif {
		switch ctx {
		case dirs.HTTPSrv:
			inner = dirs.HTTPSif
		case dirs.HTTPLoc:
			inner = dirs.HTTPLif
		}
	}
	return inner, true
}

func ctxWords(c dirs.Context) string {
	if c == dirs.AnyContext {
		return "context unknown"
	}
	return "in " + c.String()
}

// argWords says in words how many arguments the flags allow.
func argWords(a dirs.Args) string {
	switch {
	case a&dirs.AnyArg != 0:
		return "any number"
	case a&dirs.Flag != 0:
		return `one, "on" or "off"`
	case a&dirs.More1 != 0:
		return "one or more"
	case a&dirs.More2 != 0:
		return "two or more"
	}
	var ns []string
	for n := 0; n <= 7; n++ {
		if a.Accepts(n) {
			ns = append(ns, fmt.Sprint(n))
		}
	}
	switch len(ns) {
	case 0:
		return "none"
	case 1:
		return ns[0]
	}
	return strings.Join(ns[:len(ns)-1], ", ") + " or " + ns[len(ns)-1]
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	if len(q) > 3 {
		q = q[:3]
	}
	return strings.Join(q, " or ")
}

// runDirectiveRule reports the walk's findings of one rule.
func runDirectiveRule(pass *analyzer.Pass) error {
	for _, f := range directiveFindings(pass) {
		if f.rule != pass.Rule.ID {
			continue
		}
		pass.Report(&analyzer.Diagnostic{Pos: f.pos, End: f.end, Severity: f.severity, Message: f.msg, Details: f.details, Related: f.related})
	}
	return nil
}
