package luacheck

import (
	"cmp"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/ngxlint/ngxlint/internal/luadepth"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

// Analyze parses one Lua chunk and returns its facts. It never panics: a
// failure of the analysis itself is returned in Result.InternalErrors.
//
// Positions point into the file where the code lives: for a block, inside
// nginx.conf (the chunk's first line starts at chunk.Pos.Column, later lines
// at column 1); for a quoted string, through chunk.RawOffsets; for a file,
// the Lua file itself.
func Analyze(chunk *nginxconf.LuaChunk, opts Options) (res *Result) {
	res = &Result{}
	if chunk == nil {
		return res
	}
	res.Context = NormalizeContext(chunk.Context)
	if len(chunk.Code) > maxChunk {
		res.InternalErrors = append(res.InternalErrors,
			fmt.Sprintf("%s: luacheck: a chunk of %d bytes is larger than the analysis supports (%d bytes)", chunk.Pos, len(chunk.Code), maxChunk))
		return res
	}
	defer func() {
		if r := recover(); r != nil {
			res.InternalErrors = append(res.InternalErrors,
				fmt.Sprintf("%s: luacheck internal error: %v\n%s", chunk.Pos, r, debug.Stack()))
		}
	}()
	a := newAnalysis(chunk, opts)
	a.run(res)
	return res
}

type analysis struct {
	chunk *nginxconf.LuaChunk
	opts  Options
	lx    *lexer
	pm    *posMapper
	// work counts the steps of scope resolution, closure bookkeeping and
	// propagation that can grow faster than the chunk (see linState.work):
	// tests compare it across sizes to catch quadratic paths without timing.
	work int
	// timer holds the spans of the functions that run in TimerContext
	// (timerFuncs).
	timer []span
}

func newAnalysis(chunk *nginxconf.LuaChunk, opts Options) *analysis {
	lx := tokenize(chunk.Code)
	return &analysis{chunk: chunk, opts: opts, lx: lx, pm: newPosMapper(chunk, lx)}
}

func (an *analysis) spanPos(sp span, line int) (nginxconf.Pos, nginxconf.Pos) {
	if sp.valid() {
		return an.pm.at(sp.off), an.pm.at(sp.end)
	}
	if line > 0 {
		p := an.pm.lineStart(line)
		// Point at the first token of the line when there is one.
		if line <= len(an.lx.lineStarts) {
			if t := an.lx.tokenFrom(an.lx.lineStarts[line-1]); t != nil && int(t.line) == line {
				return an.pm.at(int(t.off)), an.pm.at(int(t.end))
			}
		}
		return p, p
	}
	p := an.pm.at(0)
	return p, p
}

func (an *analysis) run(res *Result) {
	res.Ignores = an.ignores()
	src := prepass(an.chunk.Code, an.lx)
	stmts, err := parse.Parse(strings.NewReader(src), "chunk")
	if err != nil {
		res.SyntaxErrors = append(res.SyntaxErrors, an.syntaxError(err))
		return
	}
	// Every pass below recurses once per level of the tree, and a Go stack
	// overflow is fatal (no recover catches it): refuse a tree deeper than
	// luadepth.Limit before any of them runs, as a syntax error, which is
	// what LuaJIT makes of such a chunk too (see luadepth.Limit).
	if err := luadepth.Check(stmts, luadepth.Limit); err != nil {
		var deep *luadepth.TooDeepError
		if errors.As(err, &deep) {
			res.SyntaxErrors = append(res.SyntaxErrors, an.depthError(deep))
			return
		}
	}
	al := newAligner(an.lx)
	al.stmts(stmts)

	ls := &linState{a: al}
	top := ls.buildLine(&ast.FunctionExpr{Stmts: stmts}, true)
	lines := ls.all
	w := &walker{}
	for _, fl := range lines {
		fl.propagateMain(w)
		fl.propagateClosures(w)
	}
	an.work = ls.work + w.work
	for _, fl := range lines {
		if fl.fn != nil {
			fl.value = al.ofExpr(fl.fn).fnValue
		}
	}
	var raws []rawWarn
	for _, sf := range ls.shadow {
		raws = append(raws, rawWarn{code: sf.code, sp: sf.v.decl, name: sf.v.name, prevSp: sf.prev.decl,
			msg: shadowMsg(sf)})
	}
	u := &unusedState{}
	u.run(lines, top)
	raws = append(raws, u.out...)
	for _, fl := range lines {
		raws = append(raws, unreachable(fl, al)...)
	}
	g := &globalState{ls: ls, a: al, std: stdGlobals}
	for _, fl := range lines {
		g.inTop = fl == top
		for _, it := range fl.items {
			g.collectCalls(it)
		}
	}
	for _, fl := range lines {
		isTop := fl == top
		for _, it := range fl.items {
			g.roots = it.roots(g.roots[:0])
			for _, r := range g.roots {
				g.detectInNode(it, r.e, isTop, r.lhs)
			}
		}
	}
	raws = append(raws, g.out...)
	an.timer = g.timerFuncs(stmts)
	for _, w := range raws {
		if w.code == "W212" && w.name == "self" && !w.sp.valid() {
			continue
		}
		ww := Warning{Code: w.code, Name: w.name, Field: w.field, Message: w.msg, Indirect: w.indirect}
		ww.Pos, ww.End = an.spanPos(w.sp, w.line)
		if w.prevSp.valid() {
			ww.PrevLine = an.pm.at(w.prevSp.off).Line
		}
		res.Warnings = append(res.Warnings, ww)
	}
	slices.SortStableFunc(res.Warnings, func(a, b Warning) int {
		if c := cmp.Compare(a.Pos.Offset, b.Pos.Offset); c != 0 {
			return c
		}
		return strings.Compare(a.Code, b.Code)
	})
	an.apiUses(res, g)
	res.Balancer = an.balancer(res, g, top, al)
	an.moduleFacts(res, g, stmts)
}

func shadowMsg(sf shadowFact) string {
	kind := "variable"
	switch sf.prev.kind {
	case vkArg:
		kind = "argument"
	case vkLoop, vkLoopi:
		kind = "loop variable"
	}
	switch sf.code[2] {
	case '1':
		return fmt.Sprintf("variable '%s' was previously defined as %s", sf.v.name, kind)
	case '2':
		return fmt.Sprintf("shadowing definition of %s '%s'", kind, sf.v.name)
	}
	return fmt.Sprintf("shadowing upvalue %s '%s'", kind, sf.v.name)
}

// syntaxError turns gopher-lua's error into a SyntaxError at the token it
// names. The message never quotes the chunk: the file may be one that
// should never have been read as Lua (a credentials file named in
// *_by_lua_file), so the offending token is described by its kind ("near a
// name", "near a string") unless it is a keyword or punctuation, which
// carries nothing of the file's.
func (an *analysis) syntaxError(err error) SyntaxError {
	// Whatever else fails to parse is a bug in gopher-lua's parser (a
	// runtime error it recovered): its text is not the chunk's.
	se := SyntaxError{Message: "syntax error (" + err.Error() + ")"}
	var pe *parse.Error
	if !errors.As(err, &pe) {
		se.Pos = an.pm.end()
		se.End = se.Pos
		return se
	}
	se.Message = pe.Message
	if pe.Pos.Line <= 0 {
		// gopher-lua reports errors at end of input with Line -1:
		// point at the end of the chunk (a block's closing brace).
		se.Pos = an.pm.end()
		se.End = se.Pos
		return se
	}
	// Find the token gopher-lua names on that line, the one nearest to the
	// column its scanner reports.
	best, bestDist := -1, 1<<30
	for i := range an.lx.toks {
		t := &an.lx.toks[i]
		if int(t.line) == pe.Pos.Line && (pe.Token == "" || an.chunk.Code[t.off:t.end] == pe.Token || an.lx.text(t) == pe.Token) {
			d := int(t.col) - pe.Pos.Column
			if d < 0 {
				d = -d
			}
			if d < bestDist {
				best, bestDist = i, d
			}
		}
	}
	if best >= 0 {
		t := &an.lx.toks[best]
		se.Token = describeToken(t.kind, an.chunk.Code[t.off:t.end])
	} else {
		se.Token = describeToken(0, pe.Token)
	}
	se.Message += " near " + se.Token
	if best >= 0 {
		t := an.lx.toks[best]
		se.Pos, se.End = an.pm.at(int(t.off)), an.pm.at(int(t.end))
		return se
	}
	col := pe.Pos.Column
	ls := an.lx.lineStarts
	if pe.Pos.Line <= len(ls) {
		off := ls[pe.Pos.Line-1]
		if col > 0 {
			off += col - 1
		}
		if off > len(an.chunk.Code) {
			off = len(an.chunk.Code)
		}
		se.Pos = an.pm.at(off)
		se.End = se.Pos
		return se
	}
	se.Pos = an.pm.end()
	se.End = se.Pos
	return se
}

// describeToken names a token without quoting the chunk's text: keywords
// and punctuation as written (quoted the way LuaJIT quotes them, near
// 'end'), names, strings and numbers by kind. kind is our tokenizer's, or
// 0 when only gopher-lua's token text is known (its strings are decoded,
// without quotes, so an unknown word is "a token", not "a name").
func describeToken(kind tokKind, text string) string {
	switch kind {
	case tkName:
		return "a name"
	case tkString:
		return "a string"
	case tkNumber:
		return "a number"
	case tkKeyword, tkPunct:
		return "'" + text + "'"
	}
	if isKeyword(text) {
		return "'" + text + "'"
	}
	if text != "" && len(text) <= 3 && strings.Trim(text, "+-*/%^#=~<>(){}[];:,.") == "" {
		return "'" + text + "'"
	}
	return "a token"
}

// depthError reports a chunk that nests deeper than luadepth.Limit at the
// first token of the line of the first node past the limit (gopher-lua's
// tree has no columns), in the words of LuaJIT's own error for nesting
// past its limit.
func (an *analysis) depthError(e *luadepth.TooDeepError) SyntaxError {
	se := SyntaxError{Token: "the code"}
	se.Pos, se.End = an.spanPos(span{-1, -1}, e.Line)
	if e.Line >= 1 && e.Line <= len(an.lx.lineStarts) {
		if t := an.lx.tokenFrom(an.lx.lineStarts[e.Line-1]); t != nil && int(t.line) == e.Line {
			se.Token = describeToken(t.kind, an.chunk.Code[t.off:t.end])
		}
	}
	se.Message = fmt.Sprintf("chunk has too many syntax levels near %s: it nests %d levels deep, ngxlint analyses at most %d (LuaJIT itself refuses more than %d)",
		se.Token, e.Depth, e.Limit, luadepth.LuaJITMaxLevels)
	return se
}

func (an *analysis) apiUses(res *Result, g *globalState) {
	slices.SortStableFunc(g.uses, func(a, b rawUse) int { return cmp.Compare(a.sp.off, b.sp.off) })
	if len(g.uses) > 0 {
		res.APIUses = make([]APIUse, 0, len(g.uses))
	}
	// The table's verdict depends only on the name and the context (the
	// chunk's, or the timer's inside timer callbacks): compute it once per
	// pair.
	type vkey struct{ name, ctx string }
	verdicts := map[vkey]*apiVerdict{}
	for i := range g.uses {
		u := &g.uses[i]
		au := APIUse{Name: u.name, Via: u.via, Known: u.known, Call: u.call != nil, ResultUsed: u.call != nil && u.resultUsed}
		au.Pos, au.End = an.spanPos(u.sp, 0)
		if u.call != nil && len(u.call.Args) > 0 {
			au.Args = make([]Arg, 0, len(u.call.Args))
			for _, arg := range u.call.Args {
				au.Args = append(au.Args, an.arg(an.constLocal(arg, u.it, g), g.ls.a))
			}
		}
		au.Context = res.Context
		if inSpans(an.timer, u.sp.off) {
			au.Context = TimerContext
		}
		if u.known {
			k := vkey{u.name, au.Context}
			v := verdicts[k]
			if v == nil {
				v = an.verdict(u.name, au.Context)
				verdicts[k] = v
			}
			au.Allowed, au.Since, au.SinceComponent, au.NewerThanDeclared = v.allowed, v.since, v.sinceComponent, v.newer
		}
		res.APIUses = append(res.APIUses, au)
	}
}

// apiVerdict is what the API table says about one known API in the chunk.
type apiVerdict struct {
	allowed               Allowance
	since, sinceComponent string
	newer                 bool
}

func (an *analysis) verdict(name, context string) *apiVerdict {
	if an.opts.Subsystem == "stream" {
		return &apiVerdict{allowed: IsAllowedInStream(name, context, an.opts.StreamLuaVersion)}
	}
	v := &apiVerdict{allowed: IsAllowedAt(name, context, an.opts.LuaNginxModuleVersion)}
	e := &apiTable[apiIndex[name]]
	v.since, v.sinceComponent = e.since, e.sinceComponent
	declared := ""
	switch e.sinceComponent {
	case "lua-nginx-module":
		declared = an.opts.LuaNginxModuleVersion
	case "lua-resty-core":
		declared = an.opts.LuaRestyCoreVersion
	}
	if declared != "" && e.since != "" && VersionLess(declared, e.since) {
		v.newer = true
	}
	return v
}

// constLocal follows a local to its literal value when exactly one
// assignment reaches the use (local host = "example.com"; f(host)).
func (an *analysis) constLocal(e ast.Expr, it *item, g *globalState) ast.Expr {
	id, ok := e.(*ast.IdentExpr)
	if !ok || it == nil {
		return e
	}
	v := g.a.ofExpr(id).local
	if v == nil {
		return e
	}
	used := it.usedOf(v)
	if len(used) != 1 {
		return e
	}
	switch n := used[0].node.(type) {
	case *ast.StringExpr, *ast.NumberExpr, *ast.TrueExpr, *ast.FalseExpr, *ast.NilExpr:
		return n
	}
	return e
}

func (an *analysis) arg(e ast.Expr, a *aligner) Arg {
	var out Arg
	sp := a.ofExpr(e).span
	out.Pos, out.End = an.spanPos(sp, e.Line())
	switch x := e.(type) {
	case *ast.StringExpr:
		out.Kind, out.Value = ArgString, x.Value
		// Prefer our own decoding: the pre-pass may have blanked a string
		// gopher-lua could not read.
		if sp.valid() {
			if t := an.lx.tokenAt(sp.off); t != nil && t.kind == tkString {
				out.Value = an.lx.text(t)
			}
		}
	case *ast.NumberExpr:
		out.Kind, out.Value = ArgNumber, x.Value
		if sp.valid() {
			out.Value = an.chunk.Code[sp.off:sp.end]
		}
	case *ast.TrueExpr:
		out.Kind, out.Value = ArgBool, "true"
	case *ast.FalseExpr:
		out.Kind, out.Value = ArgBool, "false"
	case *ast.NilExpr:
		out.Kind, out.Value = ArgNil, "nil"
	case *ast.UnaryMinusOpExpr:
		if n, ok := x.Expr.(*ast.NumberExpr); ok {
			out.Kind, out.Value = ArgNumber, "-"+n.Value
		}
	}
	return out
}
