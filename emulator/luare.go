package emulator

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// ngx.re over Go's regexp (RE2): the PCRE subset RE2 can express. PCRE
// features RE2 lacks (lookahead and lookbehind, backreferences, atomic
// groups, possessive quantifiers, recursion, \G) are refused with a clear
// error instead of a silently different match. Options as
// lua-nginx-module's ngx_http_lua_ngx_re_parse_opts: i (caseless), m
// (multiline), s (dotall), x (extended), u and U (UTF-8), a (anchored),
// j, o, d, D and J are accepted; d (DFA mode, longest leftmost match) is
// approximated by leftmost-first. Compilation errors are returned as
// lua-nginx-module returns them ("failed to compile regex ..."), as
// nil plus the message.

type reOpts struct {
	anchored bool
}

// compileRe translates a PCRE pattern and its options.
func (e *luaEngine) compileRe(pat, opts string) (*regexp.Regexp, reOpts, error) {
	var o reOpts
	flags := ""
	extended := false
	for _, c := range opts {
		switch c {
		case 'i':
			flags += "i"
		case 'm':
			flags += "m"
		case 's':
			flags += "s"
		case 'x':
			extended = true
		case 'a':
			o.anchored = true
		case 'u', 'U', 'j', 'o', 'd', 'D', 'J':
		default:
			return nil, o, fmt.Errorf("unknown flag \"%c\" (flags \"%s\")", c, opts)
		}
	}
	key := opts + "\x00" + pat
	if re, ok := e.reCache[key]; ok {
		return re, o, nil
	}
	p := pat
	if extended {
		p = stripExtended(p)
	}
	if why := unsupportedPCRE(p); why != "" {
		return nil, o, fmt.Errorf("failed to compile regex \"%s\": %s is not supported by the emulator's regex engine (RE2)", truncate(pat, 200), why)
	}
	if flags != "" {
		p = "(?" + flags + ")" + p
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, o, fmt.Errorf("failed to compile regex \"%s\": %v", truncate(pat, 200), err)
	}
	if len(e.reCache) < 1024 {
		if e.reCache == nil {
			e.reCache = map[string]*regexp.Regexp{}
		}
		e.reCache[key] = re
	}
	return re, o, nil
}

// stripExtended removes the blanks and #-comments of PCRE's x mode
// outside character classes.
func stripExtended(p string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			b.WriteByte(c)
			b.WriteByte(p[i+1])
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		case c == '#':
			for i < len(p) && p[i] != '\n' {
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unsupportedPCRE names the first PCRE construct of p that RE2 lacks.
func unsupportedPCRE(p string) string {
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '\\' && i+1 < len(p) {
			n := p[i+1]
			if !inClass && n >= '1' && n <= '9' {
				return "a backreference (\\" + string(n) + ")"
			}
			switch n {
			case 'G':
				return "\\G"
			case 'K':
				return "\\K"
			case 'g', 'k':
				return "a backreference (\\" + string(n) + ")"
			}
			i++
			continue
		}
		if inClass {
			if c == ']' {
				inClass = false
			}
			continue
		}
		switch c {
		case '[':
			inClass = true
			if strings.HasPrefix(p[i:], "[]") || strings.HasPrefix(p[i:], "[^]") {
				i += strings.Index(p[i:], "]")
			}
		case '(':
			rest := p[i+1:]
			switch {
			case strings.HasPrefix(rest, "?="), strings.HasPrefix(rest, "?!"):
				return "lookahead"
			case strings.HasPrefix(rest, "?<="), strings.HasPrefix(rest, "?<!"):
				return "lookbehind"
			case strings.HasPrefix(rest, "?>"):
				return "an atomic group"
			case strings.HasPrefix(rest, "?R"), strings.HasPrefix(rest, "?0"), strings.HasPrefix(rest, "?&"):
				return "recursion"
			case strings.HasPrefix(rest, "?|"):
				return "a branch reset group"
			case strings.HasPrefix(rest, "?("):
				return "a conditional group"
			case strings.HasPrefix(rest, "*"):
				return "a backtracking control verb"
			}
		case '+', '*', '?', '}':
			if i+1 < len(p) && p[i+1] == '+' {
				return "a possessive quantifier"
			}
		}
	}
	return ""
}

// reFind runs re on subject from byte offset pos.
func reFind(re *regexp.Regexp, o reOpts, subject string, pos int) []int {
	if pos > len(subject) {
		return nil
	}
	m := re.FindStringSubmatchIndex(subject[pos:])
	if m == nil || o.anchored && m[0] != 0 {
		return nil
	}
	for i := range m {
		if m[i] >= 0 {
			m[i] += pos
		}
	}
	return m
}

// captures builds ngx.re.match's table: [0] the whole match, [n] the
// groups (false when a group did not take part), and named groups by name.
func capturesTable(L *lua.LState, re *regexp.Regexp, subject string, m []int, res *lua.LTable) *lua.LTable {
	t := res
	if t == nil {
		t = L.NewTable()
	}
	names := re.SubexpNames()
	for i := 0; i*2 < len(m); i++ {
		var v lua.LValue = lua.LFalse
		if m[2*i] >= 0 {
			v = lua.LString(subject[m[2*i]:m[2*i+1]])
		}
		t.RawSetInt(i, v)
		if i < len(names) && names[i] != "" {
			t.RawSetString(names[i], v)
		}
	}
	return t
}

// buildRe installs ngx.re.match, find, gmatch, sub, gsub, split, opt.
func (e *luaEngine) buildRe() *lua.LTable {
	L := e.L
	t := L.NewTable()
	start := func(L *lua.LState, ctxIdx int, subject string) (int, *lua.LTable) {
		ctx, _ := L.Get(ctxIdx).(*lua.LTable)
		pos := 0
		if ctx != nil {
			if p, ok := ctx.RawGetString("pos").(lua.LNumber); ok && p > 0 {
				pos = int(p) - 1
			}
		}
		return pos, ctx
	}
	e.setFn(t, "match", func(L *lua.LState) int {
		subject, pat, opts := L.CheckString(1), L.CheckString(2), L.OptString(3, "")
		re, o, err := e.compileRe(pat, opts)
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		pos, ctx := start(L, 4, subject)
		m := reFind(re, o, subject, pos)
		if m == nil {
			L.Push(lua.LNil)
			return 1
		}
		if ctx != nil {
			ctx.RawSetString("pos", lua.LNumber(m[1]+1))
		}
		res, _ := L.Get(5).(*lua.LTable)
		L.Push(capturesTable(L, re, subject, m, res))
		return 1
	})
	e.setFn(t, "find", func(L *lua.LState) int {
		subject, pat, opts := L.CheckString(1), L.CheckString(2), L.OptString(3, "")
		re, o, err := e.compileRe(pat, opts)
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 3
		}
		pos, ctx := start(L, 4, subject)
		nth := L.OptInt(5, 0)
		m := reFind(re, o, subject, pos)
		if m == nil {
			L.Push(lua.LNil)
			return 1
		}
		if ctx != nil {
			ctx.RawSetString("pos", lua.LNumber(m[1]+1))
		}
		if nth < 0 || 2*nth >= len(m) {
			L.Push(lua.LNil)
			L.Push(lua.LNil)
			L.Push(lua.LString("nth out of bound"))
			return 3
		}
		if m[2*nth] < 0 {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(lua.LNumber(m[2*nth] + 1))
		L.Push(lua.LNumber(m[2*nth+1]))
		return 2
	})
	e.setFn(t, "gmatch", func(L *lua.LState) int {
		subject, pat, opts := L.CheckString(1), L.CheckString(2), L.OptString(3, "")
		re, o, err := e.compileRe(pat, opts)
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		pos := 0
		done := false
		L.Push(L.NewClosure(func(L *lua.LState) int {
			if done {
				L.Push(lua.LNil)
				return 1
			}
			m := reFind(re, o, subject, pos)
			if m == nil {
				done = true
				L.Push(lua.LNil)
				return 1
			}
			pos = m[1]
			if m[1] == m[0] {
				pos++
			}
			L.Push(capturesTable(L, re, subject, m, nil))
			return 1
		}))
		return 1
	})
	sub := func(global bool) lua.LGFunction {
		return func(L *lua.LState) int {
			subject, pat := L.CheckString(1), L.CheckString(2)
			repl := L.Get(3)
			opts := L.OptString(4, "")
			re, o, err := e.compileRe(pat, opts)
			if err != nil {
				L.Push(lua.LNil)
				L.Push(lua.LNil)
				L.Push(lua.LString(err.Error()))
				return 3
			}
			var tmpl string
			fn, isFn := repl.(*lua.LFunction)
			if !isFn {
				switch r := repl.(type) {
				case lua.LString, lua.LNumber:
					tmpl = lua.LVAsString(r)
				default:
					L.ArgError(3, "string, number, or function expected, got "+repl.Type().String())
				}
			}
			var b strings.Builder
			pos, last, n := 0, 0, 0
			for pos <= len(subject) {
				m := reFind(re, o, subject, pos)
				if m == nil {
					break
				}
				b.WriteString(subject[last:m[0]])
				if isFn {
					L.Push(fn)
					L.Push(capturesTable(L, re, subject, m, nil))
					L.Call(1, 1)
					b.WriteString(lua.LVAsString(L.Get(-1)))
					L.Pop(1)
				} else {
					if msg := expandRepl(&b, tmpl, subject, m); msg != "" {
						L.Push(lua.LNil)
						L.Push(lua.LNil)
						L.Push(lua.LString(msg))
						return 3
					}
				}
				if b.Len() > luaMaxString {
					L.RaiseError("resulting string too large")
				}
				n++
				last = m[1]
				pos = m[1]
				if m[1] == m[0] {
					if m[1] < len(subject) {
						b.WriteByte(subject[m[1]])
					}
					pos++
					last = pos
				}
				if !global || o.anchored {
					break
				}
			}
			if last < len(subject) {
				b.WriteString(subject[last:])
			}
			L.Push(lua.LString(b.String()))
			L.Push(lua.LNumber(n))
			return 2
		}
	}
	e.setFn(t, "sub", sub(false))
	e.setFn(t, "gsub", sub(true))
	e.setFn(t, "opt", func(L *lua.LState) int { return 0 })
	return t
}

// expandRepl writes ngx.re.sub's template: $0, $1, ${name}, ${1}, $$.
func expandRepl(b *strings.Builder, tmpl, subject string, m []int) string {
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c != '$' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(tmpl) {
			return "invalid capturing variable name found in \"" + tmpl + "\""
		}
		if tmpl[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		j := i + 1
		braced := tmpl[j] == '{'
		if braced {
			j++
		}
		k := j
		for k < len(tmpl) && tmpl[k] >= '0' && tmpl[k] <= '9' {
			k++
		}
		if k == j {
			return "invalid capturing variable name found in \"" + tmpl + "\""
		}
		n, _ := strconv.Atoi(tmpl[j:k])
		if braced {
			if k >= len(tmpl) || tmpl[k] != '}' {
				return "the closing bracket in \"" + tmpl + "\" variable is missing"
			}
			k++
		}
		if 2*n+1 < len(m) && m[2*n] >= 0 {
			b.WriteString(subject[m[2*n]:m[2*n+1]])
		}
		i = k - 1
	}
	return ""
}

// buildReModule is the ngx.re module of lua-resty-core: split and opt.
func (e *luaEngine) buildReModule() lua.LValue {
	L := e.L
	t := L.NewTable()
	e.setFn(t, "split", func(L *lua.LState) int {
		subject, pat, opts := L.CheckString(1), L.CheckString(2), L.OptString(3, "")
		max := L.OptInt(5, 0)
		res, _ := L.Get(6).(*lua.LTable)
		if res == nil {
			res = L.NewTable()
		}
		re, o, err := e.compileRe(pat, opts)
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		n, pos, last := 0, 0, 0
		for pos <= len(subject) && (max <= 0 || n < max-1) {
			m := reFind(re, o, subject, pos)
			if m == nil {
				break
			}
			if m[1] == m[0] {
				if m[0] >= len(subject) {
					break
				}
				if m[0] == last {
					pos = m[0] + 1
					continue
				}
			}
			n++
			res.RawSetInt(n, lua.LString(subject[last:m[0]]))
			for g := 1; 2*g < len(m); g++ {
				if m[2*g] >= 0 {
					n++
					res.RawSetInt(n, lua.LString(subject[m[2*g]:m[2*g+1]]))
				}
			}
			last, pos = m[1], m[1]
			if m[1] == m[0] {
				pos++
			}
		}
		if last < len(subject) || max > 0 {
			n++
			res.RawSetInt(n, lua.LString(subject[last:]))
		}
		res.RawSetInt(n+1, lua.LNil)
		L.Push(res)
		return 1
	})
	e.setFn(t, "opt", func(L *lua.LState) int { return 0 })
	for _, n := range []string{"match", "find", "gmatch", "sub", "gsub"} {
		t.RawSetString(n, e.re.RawGetString(n))
	}
	return t
}
