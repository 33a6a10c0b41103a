package luacheck

import (
	"github.com/yuin/gopher-lua/ast"
)

// span is a half-open byte range [off, end) in the chunk; off < 0 means
// "unknown" (no token could be matched).
type span struct{ off, end int }

func (s span) valid() bool { return s.off >= 0 }

// nodeInfo is what the analysis knows about one AST node: the aligner's
// positions, and the per-node facts later passes attach (which local a name
// refers to, a function's value, a name's resolution). Keeping them together
// replaces one map keyed by node per fact.
type nodeInfo struct {
	span
	// namesAt and nNames locate in aligner.names the spans of declared
	// names: local names, for-loop names, function parameters (with "..."
	// last when the function is vararg); see aligner.namesOf.
	namesAt, nNames int32
	// keyOff and keyEnd are the span of a ".name" key, a ":method" name,
	// or a table field's "name =" key (see key and setKey); 32 bits like
	// the tokens' offsets, so that a nodeInfo fits a 64-byte cache line.
	keyOff, keyEnd int32
	// localFunc marks "local function f" (luacheck's Localrec: f is in
	// scope inside its own body, unlike "local f = function").
	localFunc bool
	// dotKey marks an AttrGetExpr written "a.b" rather than "a[...]".
	dotKey bool
	// elseif marks an IfStmt that gopher-lua nested into Else but that was
	// written as an "elseif" branch.
	elseif bool
	// method marks the body of "function a:m()" (implicit self).
	method bool
	// callee marks an expression collectCalls recorded as the callee of an
	// API call (warnGlobal then does not record it again).
	callee bool
	// guardDone and guardHit memoize guardSearch.valueIsGuard, one bit
	// per depth: computed, and true.
	guardDone, guardHit uint8
	// local is the local variable a name expression refers to, nil for a
	// global.
	local *variable
	// fnValue is the value a function expression is assigned as.
	fnValue *value
	// res memoizes deepResolve (nil: not resolved yet).
	res *resolution
}

func (ni *nodeInfo) key() span { return span{int(ni.keyOff), int(ni.keyEnd)} }

func (ni *nodeInfo) setKey(s span) { ni.keyOff, ni.keyEnd = int32(s.off), int32(s.end) }

// maxInfoShift bounds the size of the blocks nodeInfos are allocated in
// (1<<maxInfoShift of them): a block never moves, so the pointers handed
// out stay valid while more are added. Small chunks, the common case in a
// configuration, get blocks sized after their token count.
const maxInfoShift = 10

// aligner walks gopher-lua's AST in source order and matches its leaves to
// our tokens, which carry columns. gopher-lua records only lines, so this is
// how columns are recovered. Matching never moves the cursor past a token on
// a later line than the AST says a leaf is on, and never skips a name, string
// or number that is not the one expected, so a mismatch costs the position
// of one node, not the alignment of the rest of the chunk.
//
// It also owns the nodeInfo of every node. A node finds its nodeInfo through
// its own lastline field: gopher-lua's AST has no room for annotations, and
// a map keyed by node pointers was the analysis' largest single cost (a
// cache miss per lookup in a map of every node of the chunk). Outside the
// parser, which is done with the tree by then, lastline is only read by
// gopher-lua's compiler for debug information (compile.go), and these trees
// are never compiled, so the aligner overwrites it with -(index+1); the
// parser only stores line numbers (>= 0) there, so a negative value can
// only be ours.
type aligner struct {
	lx      *lexer
	toks    []token
	i       int
	lastEnd int
	blocks  [][]nodeInfo
	shift   uint // blocks hold 1<<shift nodeInfos
	n       int
	// names holds the name spans of all nodes, contiguous per node (one
	// slice per declaring node was a large share of the allocations).
	names []span
	// nilInfo stands for a nil node, so that callers need no nil checks.
	nilInfo nodeInfo
}

func newAligner(lx *lexer) *aligner {
	a := &aligner{lx: lx, toks: lx.toks, nilInfo: nodeInfo{span: span{-1, -1}, keyOff: -1, keyEnd: -1}}
	a.shift = 4
	for a.shift < maxInfoShift && 1<<a.shift < len(lx.toks) {
		a.shift++
	}
	return a
}

// alloc hands out a fresh nodeInfo and its index.
func (a *aligner) alloc() (int, *nodeInfo) {
	k := a.n
	if k&(1<<a.shift-1) == 0 {
		a.blocks = append(a.blocks, make([]nodeInfo, 1<<a.shift))
	}
	a.n++
	ni := a.at(k)
	*ni = nodeInfo{span: span{-1, -1}, keyOff: -1, keyEnd: -1}
	return k, ni
}

func (a *aligner) at(k int) *nodeInfo { return &a.blocks[k>>a.shift][k&(1<<a.shift-1)] }

// ofExpr returns the nodeInfo of an expression, creating it on first use.
func (a *aligner) ofExpr(e ast.Expr) *nodeInfo {
	if e == nil {
		return &a.nilInfo
	}
	if l := e.LastLine(); l < 0 {
		return a.at(-l - 1)
	}
	k, ni := a.alloc()
	e.SetLastLine(-k - 1)
	return ni
}

// ofStmt returns the nodeInfo of a statement, creating it on first use.
func (a *aligner) ofStmt(s ast.Stmt) *nodeInfo {
	if s == nil {
		return &a.nilInfo
	}
	if l := s.LastLine(); l < 0 {
		return a.at(-l - 1)
	}
	k, ni := a.alloc()
	s.SetLastLine(-k - 1)
	return ni
}

// of returns the nodeInfo of an item's node (a statement or an expression).
func (a *aligner) of(n any) *nodeInfo {
	switch n := n.(type) {
	case ast.Stmt:
		return a.ofStmt(n)
	case ast.Expr:
		return a.ofExpr(n)
	}
	return &a.nilInfo
}

// addName appends a declared name's span to ni's names.
func (a *aligner) addName(ni *nodeInfo, n span) {
	if int(ni.namesAt)+int(ni.nNames) != len(a.names) || ni.nNames == 0 {
		// ni's names are not the last ones added (or there are none
		// yet): move them to the end, where n can follow them.
		start := len(a.names)
		a.names = append(a.names, a.namesOf(ni)...)
		ni.namesAt = int32(start)
	}
	a.names = append(a.names, n)
	ni.nNames++
}

// namesOf returns the spans of the names ni declares.
func (a *aligner) namesOf(ni *nodeInfo) []span {
	return a.names[ni.namesAt : ni.namesAt+ni.nNames]
}

// match finds the next token of the given kind (and text, if not empty),
// not beyond line maxLine (0: no limit), skipping punctuation and keywords
// and any token on a line before minLine.
func (a *aligner) match(kind tokKind, text string, minLine, maxLine int) (span, bool) {
	for j := a.i; j < len(a.toks); j++ {
		t := &a.toks[j]
		line := int(t.line)
		if maxLine > 0 && line > maxLine {
			break
		}
		if t.kind == kind && (text == "" || a.lx.text(t) == text) && line >= minLine {
			a.i = j + 1
			a.lastEnd = int(t.end)
			return span{int(t.off), int(t.end)}, true
		}
		if line >= minLine && (t.kind == tkName || t.kind == tkString || t.kind == tkNumber) {
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
		if a.isPunct(t, ")") {
			continue
		}
		if t.kind == tkPunct {
			return a.lx.text(t)
		}
		return ""
	}
	return ""
}

func (a *aligner) peekKeyword() string {
	if a.i < len(a.toks) && a.toks[a.i].kind == tkKeyword {
		return a.lx.text(&a.toks[a.i])
	}
	return ""
}

// nextIsNameAssign reports whether the next tokens are `name =` (a table
// field with a name key).
func (a *aligner) nextIsNameAssign(name string) bool {
	j := a.i
	for j < len(a.toks) && (a.isPunct(&a.toks[j], ",") || a.isPunct(&a.toks[j], ";") || a.isPunct(&a.toks[j], "{")) {
		j++
	}
	return j+1 < len(a.toks) && a.toks[j].kind == tkName && a.lx.text(&a.toks[j]) == name &&
		a.isPunct(&a.toks[j+1], "=")
}

// isPunct reports whether t is the punctuation p.
func (a *aligner) isPunct(t *token, p string) bool {
	return t.kind == tkPunct && a.lx.src[t.off:t.end] == p
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
	ni := a.ofStmt(s)
	line := s.Line()
	switch s := s.(type) {
	case *ast.LocalAssignStmt:
		a.begin(ni, a.kw("local", line))
		if a.peekKeyword() == "function" && len(s.Names) == 1 && len(s.Exprs) == 1 {
			if fn, ok := s.Exprs[0].(*ast.FunctionExpr); ok {
				ni.localFunc = true
				fi := a.ofExpr(fn)
				a.begin(fi, a.kw("function", line))
				n, _ := a.match(tkName, s.Names[0], line, 0)
				a.addName(ni, n)
				a.funcBody(fn, fi)
				break
			}
		}
		for _, name := range s.Names {
			n, _ := a.match(tkName, name, line, 0)
			a.addName(ni, n)
		}
		a.exprs(s.Exprs)
	case *ast.AssignStmt:
		for _, e := range s.Lhs {
			a.expr(e)
		}
		if len(s.Lhs) > 0 {
			ni.off = a.ofExpr(s.Lhs[0]).off
		}
		a.exprs(s.Rhs)
	case *ast.FuncCallStmt:
		a.expr(s.Expr)
		ni.off = a.ofExpr(s.Expr).off
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
		a.addName(ni, n)
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
			a.addName(ni, n)
		}
		a.kw("in", 0)
		a.exprs(s.Exprs)
		a.kw("do", 0)
		a.stmts(s.Stmts)
		a.kw("end", 0)
	case *ast.FuncDefStmt:
		fi := a.ofExpr(s.Func)
		kw := a.kw("function", line)
		a.begin(ni, kw)
		a.begin(fi, kw)
		if s.Name.Func != nil {
			a.expr(s.Name.Func)
		} else {
			a.expr(s.Name.Receiver)
			// The colon is where luacheck reports the implicit self.
			colon, _ := a.match(tkPunct, ":", 0, 0)
			fi.setKey(colon)
			method, _ := a.match(tkName, s.Name.Method, 0, 0)
			ni.setKey(method)
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
			ni := a.ofStmt(inner)
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
			a.addName(fi, n)
		}
		if fn.ParList.HasVargs {
			n, _ := a.match(tkPunct, "...", 0, 0)
			a.addName(fi, n)
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
	ni := a.ofExpr(e)
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
		ni.off = a.ofExpr(e.Object).off
		if key, ok := e.Key.(*ast.StringExpr); ok && a.peekPunct() == "." {
			a.match(tkPunct, ".", 0, 0)
			ks, _ := a.match(tkName, key.Value, 0, 0)
			ni.setKey(ks)
			ni.dotKey = true
			ki := a.ofExpr(key)
			ki.span = ks
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
					a.ofExpr(key).span = ks
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
			ni.off = a.ofExpr(e.Func).off
		} else {
			a.expr(e.Receiver)
			ni.off = a.ofExpr(e.Receiver).off
			a.match(tkPunct, ":", 0, 0)
			ms, _ := a.match(tkName, e.Method, 0, 0)
			ni.setKey(ms)
		}
		a.exprs(e.Args)
		if a.i < len(a.toks) && a.isPunct(&a.toks[a.i], ")") {
			a.i++
			a.lastEnd = int(a.toks[a.i-1].end)
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
	ni.off = a.ofExpr(l).off
}
