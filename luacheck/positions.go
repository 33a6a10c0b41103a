package luacheck

import (
	"github.com/yuin/gopher-lua/ast"
)

// span is a half-open byte range [off, end) in the chunk; off < 0 means
// "unknown" (no token could be matched).
type span struct{ off, end int }

func (s span) valid() bool { return s.off >= 0 }

// nodeInfo is what the aligner learned about one AST node.
type nodeInfo struct {
	span
	// names are the spans of declared names: local names, for-loop names,
	// function parameters (with "..." last when the function is vararg).
	names []span
	// key is the span of a ".name" key, a ":method" name, or a table
	// field's "name =" key.
	key span
	// localFunc marks "local function f" (luacheck's Localrec: f is in
	// scope inside its own body, unlike "local f = function").
	localFunc bool
	// dotKey marks an AttrGetExpr written "a.b" rather than "a[...]".
	dotKey bool
	// elseif marks an IfStmt that gopher-lua nested into Else but that was
	// written as an "elseif" branch.
	elseif bool
}

// aligner walks gopher-lua's AST in source order and matches its leaves to
// our tokens, which carry columns. gopher-lua records only lines, so this is
// how columns are recovered. Matching never moves the cursor past a token on
// a later line than the AST says a leaf is on, and never skips a name, string
// or number that is not the one expected, so a mismatch costs the position
// of one node, not the alignment of the rest of the chunk.
type aligner struct {
	toks    []token
	i       int
	lastEnd int
	info    map[any]*nodeInfo
	// slab hands out nodeInfos in blocks: one allocation per node was a
	// large share of the analysis' allocations.
	slab []nodeInfo
}

func newAligner(toks []token, hint int) *aligner {
	return &aligner{toks: toks, info: make(map[any]*nodeInfo, hint)}
}

func (a *aligner) get(n any) *nodeInfo {
	ni := a.info[n]
	if ni == nil {
		if len(a.slab) == 0 {
			a.slab = make([]nodeInfo, 256)
		}
		ni = &a.slab[0]
		a.slab = a.slab[1:]
		*ni = nodeInfo{span: span{-1, -1}, key: span{-1, -1}}
		a.info[n] = ni
	}
	return ni
}

// match finds the next token of the given kind (and text, if not empty),
// not beyond line maxLine (0: no limit), skipping punctuation and keywords
// and any token on a line before minLine.
func (a *aligner) match(kind tokKind, text string, minLine, maxLine int) (span, bool) {
	for j := a.i; j < len(a.toks); j++ {
		t := &a.toks[j]
		if maxLine > 0 && t.line > maxLine {
			break
		}
		if t.kind == kind && (text == "" || t.text == text) && t.line >= minLine {
			a.i = j + 1
			a.lastEnd = t.end
			return span{t.off, t.end}, true
		}
		if t.line >= minLine && (t.kind == tkName || t.kind == tkString || t.kind == tkNumber) {
			break
		}
		if j-a.i > 256 {
			break
		}
	}
	return span{-1, -1}, false
}

// peekPunct returns the next punctuation token text, skipping closing
// parentheses (gopher-lua drops parenthesised expressions from its AST).
func (a *aligner) peekPunct() string {
	for j := a.i; j < len(a.toks); j++ {
		t := &a.toks[j]
		if t.kind == tkPunct && t.text == ")" {
			continue
		}
		if t.kind == tkPunct {
			return t.text
		}
		return ""
	}
	return ""
}

func (a *aligner) peekKeyword() string {
	if a.i < len(a.toks) && a.toks[a.i].kind == tkKeyword {
		return a.toks[a.i].text
	}
	return ""
}

// nextIsNameAssign reports whether the next tokens are `name =` (a table
// field with a name key).
func (a *aligner) nextIsNameAssign(name string) bool {
	j := a.i
	for j < len(a.toks) && a.toks[j].kind == tkPunct && (a.toks[j].text == "," || a.toks[j].text == ";" || a.toks[j].text == "{") {
		j++
	}
	return j+1 < len(a.toks) && a.toks[j].kind == tkName && a.toks[j].text == name &&
		a.toks[j+1].kind == tkPunct && a.toks[j+1].text == "="
}

func (a *aligner) kw(text string, line int) span {
	s, _ := a.match(tkKeyword, text, line, 0)
	return s
}

func (a *aligner) stmts(list []ast.Stmt) {
	for _, s := range list {
		a.stmt(s)
	}
}

func (a *aligner) begin(ni *nodeInfo, s span) {
	if s.valid() && ni.off < 0 {
		ni.off = s.off
	}
}

func (a *aligner) stmt(s ast.Stmt) {
	ni := a.get(s)
	line := s.Line()
	switch s := s.(type) {
	case *ast.LocalAssignStmt:
		a.begin(ni, a.kw("local", line))
		if a.peekKeyword() == "function" && len(s.Names) == 1 && len(s.Exprs) == 1 {
			if fn, ok := s.Exprs[0].(*ast.FunctionExpr); ok {
				ni.localFunc = true
				fi := a.get(fn)
				a.begin(fi, a.kw("function", line))
				n, _ := a.match(tkName, s.Names[0], line, 0)
				ni.names = append(ni.names, n)
				a.funcBody(fn, fi)
				break
			}
		}
		for _, name := range s.Names {
			n, _ := a.match(tkName, name, line, 0)
			ni.names = append(ni.names, n)
		}
		a.exprs(s.Exprs)
	case *ast.AssignStmt:
		for _, e := range s.Lhs {
			a.expr(e)
		}
		if len(s.Lhs) > 0 {
			ni.off = a.get(s.Lhs[0]).off
		}
		a.exprs(s.Rhs)
	case *ast.FuncCallStmt:
		a.expr(s.Expr)
		ni.off = a.get(s.Expr).off
	case *ast.DoBlockStmt:
		a.begin(ni, a.kw("do", line))
		a.stmts(s.Stmts)
		a.kw("end", 0)
	case *ast.WhileStmt:
		a.begin(ni, a.kw("while", line))
		a.expr(s.Condition)
		a.kw("do", 0)
		a.stmts(s.Stmts)
		a.kw("end", 0)
	case *ast.RepeatStmt:
		a.begin(ni, a.kw("repeat", line))
		a.stmts(s.Stmts)
		a.kw("until", 0)
		a.expr(s.Condition)
	case *ast.IfStmt:
		a.begin(ni, a.kw("if", line))
		a.ifChain(s)
		a.kw("end", 0)
	case *ast.NumberForStmt:
		a.begin(ni, a.kw("for", line))
		n, _ := a.match(tkName, s.Name, line, 0)
		ni.names = append(ni.names, n)
		a.expr(s.Init)
		a.expr(s.Limit)
		if s.Step != nil {
			a.expr(s.Step)
		}
		a.kw("do", 0)
		a.stmts(s.Stmts)
		a.kw("end", 0)
	case *ast.GenericForStmt:
		a.begin(ni, a.kw("for", line))
		for _, name := range s.Names {
			n, _ := a.match(tkName, name, line, 0)
			ni.names = append(ni.names, n)
		}
		a.kw("in", 0)
		a.exprs(s.Exprs)
		a.kw("do", 0)
		a.stmts(s.Stmts)
		a.kw("end", 0)
	case *ast.FuncDefStmt:
		fi := a.get(s.Func)
		kw := a.kw("function", line)
		a.begin(ni, kw)
		a.begin(fi, kw)
		if s.Name.Func != nil {
			a.expr(s.Name.Func)
		} else {
			a.expr(s.Name.Receiver)
			// The colon is where luacheck reports the implicit self.
			fi.key, _ = a.match(tkPunct, ":", 0, 0)
			ni.key, _ = a.match(tkName, s.Name.Method, 0, 0)
		}
		a.funcBody(s.Func, fi)
	case *ast.ReturnStmt:
		a.begin(ni, a.kw("return", line))
		a.exprs(s.Exprs)
	case *ast.BreakStmt:
		a.begin(ni, a.kw("break", line))
	case *ast.LabelStmt:
		p, _ := a.match(tkPunct, "::", line, line)
		a.begin(ni, p)
		a.match(tkName, s.Name, line, 0)
		a.match(tkPunct, "::", 0, 0)
	case *ast.GotoStmt:
		a.begin(ni, a.kw("goto", line))
		a.match(tkName, s.Label, line, 0)
	}
	ni.end = a.lastEnd
	if ni.off < 0 {
		ni.end = -1
	}
}

func (a *aligner) ifChain(s *ast.IfStmt) {
	a.expr(s.Condition)
	a.kw("then", 0)
	a.stmts(s.Then)
	if len(s.Else) == 1 && a.peekKeyword() == "elseif" {
		if inner, ok := s.Else[0].(*ast.IfStmt); ok {
			ni := a.get(inner)
			ni.elseif = true
			a.begin(ni, a.kw("elseif", 0))
			a.ifChain(inner)
			ni.end = a.lastEnd
			return
		}
	}
	if len(s.Else) > 0 || a.peekKeyword() == "else" {
		a.kw("else", 0)
		a.stmts(s.Else)
	}
}

func (a *aligner) exprs(list []ast.Expr) {
	for _, e := range list {
		a.expr(e)
	}
}

func (a *aligner) funcBody(fn *ast.FunctionExpr, fi *nodeInfo) {
	a.match(tkPunct, "(", 0, 0)
	if fn.ParList != nil {
		for _, p := range fn.ParList.Names {
			n, _ := a.match(tkName, p, 0, 0)
			fi.names = append(fi.names, n)
		}
		if fn.ParList.HasVargs {
			n, _ := a.match(tkPunct, "...", 0, 0)
			fi.names = append(fi.names, n)
		}
	}
	a.match(tkPunct, ")", 0, 0)
	a.stmts(fn.Stmts)
	a.kw("end", 0)
	fi.end = a.lastEnd
}

func (a *aligner) expr(e ast.Expr) {
	if e == nil {
		return
	}
	ni := a.get(e)
	line := e.Line()
	switch e := e.(type) {
	case *ast.IdentExpr:
		s, _ := a.match(tkName, e.Value, line, line)
		a.begin(ni, s)
	case *ast.NilExpr:
		a.begin(ni, a.kw("nil", line))
	case *ast.TrueExpr:
		a.begin(ni, a.kw("true", line))
	case *ast.FalseExpr:
		a.begin(ni, a.kw("false", line))
	case *ast.NumberExpr:
		s, _ := a.match(tkNumber, "", line, line)
		a.begin(ni, s)
	case *ast.StringExpr:
		s, _ := a.match(tkString, "", line, 0)
		a.begin(ni, s)
	case *ast.Comma3Expr:
		s, _ := a.match(tkPunct, "...", line, line)
		a.begin(ni, s)
	case *ast.AttrGetExpr:
		a.expr(e.Object)
		ni.off = a.get(e.Object).off
		if key, ok := e.Key.(*ast.StringExpr); ok && a.peekPunct() == "." {
			a.match(tkPunct, ".", 0, 0)
			ni.key, _ = a.match(tkName, key.Value, 0, 0)
			ni.dotKey = true
			ki := a.get(key)
			ki.span = ni.key
		} else {
			a.match(tkPunct, "[", 0, 0)
			a.expr(e.Key)
			a.match(tkPunct, "]", 0, 0)
		}
	case *ast.TableExpr:
		s, _ := a.match(tkPunct, "{", line, 0)
		a.begin(ni, s)
		for _, f := range e.Fields {
			if f.Key != nil {
				if key, ok := f.Key.(*ast.StringExpr); ok && a.nextIsNameAssign(key.Value) {
					ks, _ := a.match(tkName, key.Value, 0, 0)
					a.get(key).span = ks
				} else {
					a.match(tkPunct, "[", 0, 0)
					a.expr(f.Key)
					a.match(tkPunct, "]", 0, 0)
				}
			}
			a.expr(f.Value)
		}
		a.match(tkPunct, "}", 0, 0)
	case *ast.FuncCallExpr:
		if e.Func != nil {
			a.expr(e.Func)
			ni.off = a.get(e.Func).off
		} else {
			a.expr(e.Receiver)
			ni.off = a.get(e.Receiver).off
			a.match(tkPunct, ":", 0, 0)
			ni.key, _ = a.match(tkName, e.Method, 0, 0)
		}
		a.exprs(e.Args)
		if a.i < len(a.toks) && a.toks[a.i].kind == tkPunct && a.toks[a.i].text == ")" {
			a.i++
			a.lastEnd = a.toks[a.i-1].end
		}
	case *ast.LogicalOpExpr:
		a.binary(ni, e.Lhs, e.Rhs)
	case *ast.RelationalOpExpr:
		a.binary(ni, e.Lhs, e.Rhs)
	case *ast.StringConcatOpExpr:
		a.binary(ni, e.Lhs, e.Rhs)
	case *ast.ArithmeticOpExpr:
		a.binary(ni, e.Lhs, e.Rhs)
	case *ast.UnaryMinusOpExpr:
		s, _ := a.match(tkPunct, "-", 0, line)
		a.begin(ni, s)
		a.expr(e.Expr)
	case *ast.UnaryNotOpExpr:
		a.begin(ni, a.kw("not", 0))
		a.expr(e.Expr)
	case *ast.UnaryLenOpExpr:
		s, _ := a.match(tkPunct, "#", 0, line)
		a.begin(ni, s)
		a.expr(e.Expr)
	case *ast.FunctionExpr:
		a.begin(ni, a.kw("function", line))
		a.funcBody(e, ni)
	}
	ni.end = a.lastEnd
	if ni.off < 0 || ni.end < ni.off {
		ni.off, ni.end = -1, -1
	}
}

func (a *aligner) binary(ni *nodeInfo, l, r ast.Expr) {
	a.expr(l)
	a.expr(r)
	ni.off = a.get(l).off
}
