package emulator

import (
	"context"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// This file is the emulator's Lua pattern matcher. gopher-lua's own (its
// pm package) backtracks without any way to stop it from outside: one
// string.find with `(.-)%1b` or `.-.-.-x` on a few kilobytes runs for
// minutes, past every deadline, since the VM checks the run's context only
// between instructions. Every pattern-taking string function (find, match,
// gmatch, gfind, gsub) is therefore replaced by the functions below, which
// share one matcher that
//
//   - counts its steps and looks at the run's context every
//     patternCheckEvery steps, raising a Lua error once it is done, so a
//     pattern overruns the run's deadline by at most a few thousand steps;
//   - raises "pattern too complex" past luaMaxPatternWork steps in one call
//     (a backstop for a state without a context) or past a recursion depth
//     of 200, as LuaJIT does (lib_string.c match(), LJ_MAX_XLEVEL in
//     lj_def.h), which also keeps the Go stack small.
//
// The matching rules are those of Lua 5.1's lstrlib.c, which LuaJIT's
// lib_string.c follows, including %f (frontier), which gopher-lua lacks;
// the error messages are LuaJIT's (lj_errmsg.h). gmatch is lazy, as in
// Lua, instead of collecting every match up front, and gsub builds its
// result incrementally under luaMaxString.

const (
	patternMaxDepth   = 200 // LJ_MAX_XLEVEL
	patternMaxCapture = 32  // LUA_MAXCAPTURES
	patternCheckEvery = 1 << 12
	capUnfinished     = -1
	capPosition       = -2

	// patternStopped starts the error the matcher raises when the run's
	// context is done; the run's timeout message repeats it.
	patternStopped = "pattern matching stopped"
)

// patternFuncs are the string library functions that take a pattern; each
// is replaced by installPatterns. TestEveryPatternFunctionWrapped finds
// them in gopher-lua's string table by behaviour and checks the list.
var patternFuncs = []string{"find", "match", "gmatch", "gfind", "gsub"}

type patternCapture struct {
	init, len int
}

// matcher is one call's match state (lstrlib.c MatchState).
type matcher struct {
	L       *lua.LState
	done    <-chan struct{}
	src     string
	pat     string
	level   int
	capture [patternMaxCapture]patternCapture
	depth   int
	steps   int
}

func newMatcher(L *lua.LState, src, pat string) *matcher {
	m := &matcher{L: L, src: src, pat: pat}
	if ctx := L.Context(); ctx != nil {
		m.done = ctx.Done()
	}
	return m
}

// step counts n units of work and stops the call once the run's context
// is done or the work bound is reached.
func (m *matcher) step(n int) {
	before := m.steps
	m.steps += n
	if m.steps/patternCheckEvery == before/patternCheckEvery {
		return
	}
	if m.steps > luaMaxPatternWork {
		m.L.RaiseError("pattern too complex (the emulator's bound of %d matcher steps per call)", luaMaxPatternWork)
	}
	if m.done != nil {
		select {
		case <-m.done:
			m.L.RaiseError("%s: %v", patternStopped, context.Cause(m.L.Context()))
		default:
		}
	}
}

// classEnd returns the offset just past the single-character class at p.
func (m *matcher) classEnd(p int) int {
	c := m.pat[p]
	p++
	switch c {
	case '%':
		if p >= len(m.pat) {
			m.L.RaiseError("%s", "malformed pattern (ends with '%')")
		}
		return p + 1
	case '[':
		if p < len(m.pat) && m.pat[p] == '^' {
			p++
		}
		// The first character of a set is part of it even if it is ']'.
		for {
			if p >= len(m.pat) {
				m.L.RaiseError("malformed pattern (missing ']')")
			}
			c := m.pat[p]
			p++
			if c == '%' {
				if p >= len(m.pat) {
					m.L.RaiseError("malformed pattern (missing ']')")
				}
				p++
			}
			if p < len(m.pat) && m.pat[p] == ']' {
				return p + 1
			}
		}
	}
	return p
}

// matchClass is lstrlib.c match_class: the C-locale ctype classes, an
// upper-case letter negating.
func matchClass(c, cl byte) bool {
	var r bool
	switch cl | 0x20 {
	case 'a':
		r = c|0x20 >= 'a' && c|0x20 <= 'z'
	case 'c':
		r = c < 0x20 || c == 0x7f
	case 'd':
		r = c >= '0' && c <= '9'
	case 'l':
		r = c >= 'a' && c <= 'z'
	case 'p':
		r = c > 0x20 && c < 0x7f && !(c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z')
	case 's':
		r = c == ' ' || c >= '\t' && c <= '\r'
	case 'u':
		r = c >= 'A' && c <= 'Z'
	case 'w':
		r = c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z'
	case 'x':
		r = c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f'
	case 'z':
		r = c == 0
	default:
		return cl == c
	}
	if cl >= 'A' && cl <= 'Z' {
		return !r
	}
	return r
}

// matchSet reports whether c is in the set pat[p:ec] (p at '[', ec at the
// closing ']').
func (m *matcher) matchSet(c byte, p, ec int) bool {
	in := true
	p++
	if m.pat[p] == '^' {
		in = false
		p++
	}
	for ; p < ec; p++ {
		switch {
		case m.pat[p] == '%' && p+1 < ec:
			p++
			if matchClass(c, m.pat[p]) {
				return in
			}
		case p+2 < ec && m.pat[p+1] == '-':
			if m.pat[p] <= c && c <= m.pat[p+2] {
				return in
			}
			p += 2
		case m.pat[p] == c:
			return in
		}
	}
	return !in
}

// single reports whether the byte at s (the end of the subject reads as
// NUL, as C's terminator does) matches the class pat[p:ep].
func (m *matcher) single(s, p, ep int) bool {
	if s >= len(m.src) {
		return false
	}
	c := m.src[s]
	switch m.pat[p] {
	case '.':
		return true
	case '%':
		return matchClass(c, m.pat[p+1])
	case '[':
		return m.matchSet(c, p, ep-1)
	}
	return m.pat[p] == c
}

// match returns the end of the match of pat[p:] at src[s:], or -1.
func (m *matcher) match(s, p int) int {
	m.depth++
	if m.depth > patternMaxDepth {
		m.L.RaiseError("pattern too complex")
	}
	r := m.doMatch(s, p)
	m.depth--
	return r
}

func (m *matcher) doMatch(s, p int) int {
	for {
		m.step(1)
		if p == len(m.pat) {
			return s
		}
		switch m.pat[p] {
		case '(':
			if p+1 < len(m.pat) && m.pat[p+1] == ')' {
				return m.startCapture(s, p+2, capPosition)
			}
			return m.startCapture(s, p+1, capUnfinished)
		case ')':
			return m.endCapture(s, p+1)
		case '$':
			if p+1 == len(m.pat) {
				if s == len(m.src) {
					return s
				}
				return -1
			}
		case '%':
			if p+1 < len(m.pat) {
				switch c := m.pat[p+1]; {
				case c == 'b':
					s = m.matchBalance(s, p+2)
					if s < 0 {
						return -1
					}
					p += 4
					continue
				case c == 'f':
					p += 2
					if p >= len(m.pat) || m.pat[p] != '[' {
						m.L.RaiseError("%s", "missing '[' after '%f' in pattern")
					}
					ep := m.classEnd(p)
					var prev, cur byte
					if s > 0 {
						prev = m.src[s-1]
					}
					if s < len(m.src) {
						cur = m.src[s]
					}
					if m.matchSet(prev, p, ep-1) || !m.matchSet(cur, p, ep-1) {
						return -1
					}
					p = ep
					continue
				case c >= '0' && c <= '9':
					s = m.matchBackref(s, c)
					if s < 0 {
						return -1
					}
					p += 2
					continue
				}
			}
		}
		ep := m.classEnd(p)
		ok := m.single(s, p, ep)
		if ep < len(m.pat) {
			switch m.pat[ep] {
			case '?':
				if ok {
					if r := m.match(s+1, ep+1); r >= 0 {
						return r
					}
				}
				p = ep + 1
				continue
			case '*':
				return m.maxExpand(s, p, ep)
			case '+':
				if !ok {
					return -1
				}
				return m.maxExpand(s+1, p, ep)
			case '-':
				return m.minExpand(s, p, ep)
			}
		}
		if !ok {
			return -1
		}
		s, p = s+1, ep
	}
}

func (m *matcher) maxExpand(s, p, ep int) int {
	i := 0
	for m.single(s+i, p, ep) {
		i++
		m.step(1)
	}
	for ; i >= 0; i-- {
		if r := m.match(s+i, ep+1); r >= 0 {
			return r
		}
	}
	return -1
}

func (m *matcher) minExpand(s, p, ep int) int {
	for {
		if r := m.match(s, ep+1); r >= 0 {
			return r
		}
		if !m.single(s, p, ep) {
			return -1
		}
		s++
	}
}

func (m *matcher) startCapture(s, p, what int) int {
	if m.level >= patternMaxCapture {
		m.L.RaiseError("too many captures")
	}
	m.capture[m.level] = patternCapture{s, what}
	m.level++
	r := m.match(s, p)
	if r < 0 {
		m.level--
	}
	return r
}

func (m *matcher) endCapture(s, p int) int {
	l := -1
	for i := m.level - 1; i >= 0; i-- {
		if m.capture[i].len == capUnfinished {
			l = i
			break
		}
	}
	if l < 0 {
		m.L.RaiseError("invalid pattern capture")
	}
	m.capture[l].len = s - m.capture[l].init
	r := m.match(s, p)
	if r < 0 {
		m.capture[l].len = capUnfinished
	}
	return r
}

func (m *matcher) matchBalance(s, p int) int {
	if p+1 >= len(m.pat) {
		m.L.RaiseError("unbalanced pattern")
	}
	if s >= len(m.src) || m.src[s] != m.pat[p] {
		return -1
	}
	open, close := m.pat[p], m.pat[p+1]
	depth := 1
	for i := s + 1; i < len(m.src); i++ {
		m.step(1)
		switch m.src[i] {
		case close:
			depth--
			if depth == 0 {
				return i + 1
			}
		case open:
			depth++
		}
	}
	return -1
}

// matchBackref is %1-%9: the text of a closed capture, again. Comparing
// costs the capture's length, which the step count includes: this is what
// makes `(.-)%1b` cubic.
func (m *matcher) matchBackref(s int, c byte) int {
	l := int(c - '1')
	if l < 0 || l >= m.level || m.capture[l].len == capUnfinished {
		m.L.RaiseError("invalid capture index")
	}
	cp := m.capture[l]
	if cp.len == capPosition {
		// lstrlib.c reads CAP_POSITION as a huge size_t length, which
		// never fits in the rest of the subject.
		return -1
	}
	n := cp.len
	m.step(n)
	if len(m.src)-s >= n && m.src[s:s+n] == m.src[cp.init:cp.init+n] {
		return s + n
	}
	return -1
}

// captureValue is lstrlib.c push_onecapture: capture i of the match
// src[s:e] (the whole match when the pattern has no captures).
func (m *matcher) captureValue(i, s, e int) lua.LValue {
	if i >= m.level {
		if i != 0 {
			m.L.RaiseError("invalid capture index")
		}
		return lua.LString(strings.Clone(m.src[s:e]))
	}
	c := m.capture[i]
	switch c.len {
	case capUnfinished:
		m.L.RaiseError("unfinished capture")
	case capPosition:
		return lua.LNumber(c.init + 1)
	}
	// A copy, so that a short capture does not keep a long subject alive
	// unseen by the VM's memory accounting (luamem.go).
	return lua.LString(strings.Clone(m.src[c.init : c.init+c.len]))
}

// pushCaptures pushes the captures of the match src[s:e] (or the whole
// match if there are none and whole is set) and returns their number.
func (m *matcher) pushCaptures(s, e int, whole bool) int {
	n := m.level
	if n == 0 && whole {
		n = 1
	}
	for i := 0; i < n; i++ {
		m.L.Push(m.captureValue(i, s, e))
	}
	return n
}

// patternSpecials are the characters that make find use the matcher
// (lstrlib.c SPECIALS).
const patternSpecials = "^$*+?.([%-"

// strFindAux is lstrlib.c str_find_aux: string.find (find) and
// string.match.
func strFindAux(L *lua.LState, find bool) int {
	s := L.CheckString(1)
	p := L.CheckString(2)
	init := L.OptInt(3, 1)
	if init < 0 {
		init += len(s) + 1
	}
	init--
	if init < 0 {
		init = 0
	} else if init > len(s) {
		init = len(s)
	}
	if find && (lua.LVAsBool(L.Get(4)) || !strings.ContainsAny(p, patternSpecials)) {
		if i := strings.Index(s[init:], p); i >= 0 {
			L.Push(lua.LNumber(init + i + 1))
			L.Push(lua.LNumber(init + i + len(p)))
			return 2
		}
		L.Push(lua.LNil)
		return 1
	}
	m := newMatcher(L, s, p)
	start := 0
	anchor := len(p) > 0 && p[0] == '^'
	if anchor {
		start = 1
	}
	for s1 := init; ; s1++ {
		m.level = 0
		if e := m.match(s1, start); e >= 0 {
			if find {
				L.Push(lua.LNumber(s1 + 1))
				L.Push(lua.LNumber(e))
				return m.pushCaptures(0, 0, false) + 2
			}
			return m.pushCaptures(s1, e, true)
		}
		if s1 >= len(s) || anchor {
			break
		}
	}
	L.Push(lua.LNil)
	return 1
}

func luaStrFind(L *lua.LState) int  { return strFindAux(L, true) }
func luaStrMatch(L *lua.LState) int { return strFindAux(L, false) }

// luaStrGmatch is string.gmatch (and its Lua 5.0 name gfind, which
// gopher-lua also registers). Its state lives in the iterator's upvalues,
// where the VM's memory accounting sees the subject. As in lstrlib.c
// gmatch_aux, '^' is not an anchor here.
func luaStrGmatch(L *lua.LState) int {
	s := L.CheckString(1)
	p := L.CheckString(2)
	pos := L.NewTable()
	pos.RawSetInt(1, lua.LNumber(0))
	L.Push(L.NewClosure(gmatchIter, lua.LString(s), lua.LString(p), pos))
	return 1
}

func gmatchIter(L *lua.LState) int {
	s := string(L.Get(lua.UpvalueIndex(1)).(lua.LString))
	p := string(L.Get(lua.UpvalueIndex(2)).(lua.LString))
	pos := L.Get(lua.UpvalueIndex(3)).(*lua.LTable)
	m := newMatcher(L, s, p)
	for src := int(pos.RawGetInt(1).(lua.LNumber)); src <= len(s); src++ {
		m.level = 0
		if e := m.match(src, 0); e >= 0 {
			next := e
			if e == src {
				next++ // an empty match: move on
			}
			pos.RawSetInt(1, lua.LNumber(next))
			return m.pushCaptures(src, e, true)
		}
	}
	pos.RawSetInt(1, lua.LNumber(len(s)+1))
	return 0
}

// luaStrGsub is lstrlib.c str_gsub, with the result bounded by
// luaMaxString while it is built.
func luaStrGsub(L *lua.LState) int {
	s := L.CheckString(1)
	p := L.CheckString(2)
	repl := L.Get(3)
	switch repl.(type) {
	case lua.LNumber, lua.LString, *lua.LTable, *lua.LFunction:
	default:
		L.ArgError(3, "string/function/table expected")
	}
	maxN := L.OptInt(4, len(s)+1)
	anchor := len(p) > 0 && p[0] == '^'
	start := 0
	if anchor {
		start = 1
	}
	m := newMatcher(L, s, p)
	var b strings.Builder
	add := func(t string) {
		if b.Len()+len(t) > luaMaxString {
			L.RaiseError("resulting string too large")
		}
		b.WriteString(t)
	}
	src, n := 0, 0
	for n < maxN {
		m.level = 0
		e := m.match(src, start)
		if e >= 0 {
			n++
			add(m.replacement(repl, src, e))
		}
		switch {
		case e > src:
			src = e
		case src < len(s):
			add(s[src : src+1])
			src++
		default:
			src = len(s) + 1
		}
		if src > len(s) || anchor {
			break
		}
	}
	if src < len(s) {
		add(s[src:])
	}
	L.Push(lua.LString(b.String()))
	L.Push(lua.LNumber(n))
	return 2
}

// replacement is lstrlib.c add_value / add_s: the text replacing the match
// src[s:e].
func (m *matcher) replacement(repl lua.LValue, s, e int) string {
	L := m.L
	var v lua.LValue
	switch r := repl.(type) {
	case lua.LString, lua.LNumber:
		t := lua.LVAsString(r)
		var b strings.Builder
		for i := 0; i < len(t); i++ {
			c := t[i]
			if c != '%' || i+1 >= len(t) {
				b.WriteByte(c)
				continue
			}
			i++
			switch c = t[i]; {
			case c == '0':
				b.WriteString(m.src[s:e])
			case c >= '1' && c <= '9':
				b.WriteString(lua.LVAsString(m.captureValue(int(c-'1'), s, e)))
			default:
				b.WriteByte(c)
			}
			if b.Len() > luaMaxString {
				L.RaiseError("resulting string too large")
			}
		}
		return b.String()
	case *lua.LTable:
		v = L.GetTable(r, m.captureValue(0, s, e))
	case *lua.LFunction:
		top := L.GetTop()
		L.Push(r)
		n := m.pushCaptures(s, e, true)
		L.Call(n, 1)
		v = L.Get(-1)
		L.SetTop(top)
	}
	switch v := v.(type) {
	case lua.LString, lua.LNumber:
		return lua.LVAsString(v)
	case *lua.LNilType:
		return m.src[s:e]
	case lua.LBool:
		if !bool(v) {
			return m.src[s:e]
		}
	}
	L.RaiseError("invalid replacement value (a %s)", v.Type().String())
	return ""
}

// installPatterns replaces every pattern function of the string table (the
// one table that string.x, ("").x and getmetatable("").__index all reach:
// gopher-lua's OpenString makes the module its own __index and the string
// metatable).
func (e *luaEngine) installPatterns(str *lua.LTable) {
	fns := map[string]lua.LGFunction{
		"find": luaStrFind, "match": luaStrMatch,
		"gmatch": luaStrGmatch, "gfind": luaStrGmatch, "gsub": luaStrGsub,
	}
	for _, name := range patternFuncs {
		str.RawSetString(name, e.L.NewFunction(fns[name]))
	}
}
