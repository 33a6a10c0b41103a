package nginxconf

import (
	"fmt"
	"iter"
	"strings"
	"unicode/utf8"
)

// This file holds the lexer and parser for one configuration file. The
// lexer follows ngx_conf_read_token (nginx src/core/ngx_conf_file.c) rule for
// rule; where nginx stops at the first error we report it and resynchronise so
// that one run shows several problems, and never drop input silently.

// Statement terminators, as ngx_conf_read_token's return codes.
const (
	endSemi  = iota // NGX_OK: the statement ended with ';'
	endOpen         // NGX_CONF_BLOCK_START: it ended with '{'
	endClose        // NGX_CONF_BLOCK_DONE: a '}' was found
	endEOF          // NGX_CONF_FILE_DONE
)

// DefaultMaxNesting is the default limit on block nesting in one file.
const DefaultMaxNesting = 1000

// DefaultMaxDirectives is the default limit on directives in a whole
// configuration. A directive costs a few hundred bytes in memory however
// short its text ("a;" is three bytes), so the file size limit alone
// would let one 64 MB file take gigabytes; two million directives is ten
// times the largest real configurations seen and about 1.5 GB at worst.
const DefaultMaxDirectives = 2_000_000

// argsPerDirective sets the argument limit from MaxDirectives: arguments
// cost memory like directives (one line "x a a a ... ;" of 8 MB is four
// million of them), and real configurations average one to two.
const argsPerDirective = 4

// budget is what a configuration may still hold, shared by all its files.
type budget struct {
	directives, args       int // remaining
	maxDirectives, maxArgs int
	// exhausted is set once a limit is hit (and reported): nothing more
	// is parsed.
	exhausted bool
}

func newBudget(maxDirectives int) *budget {
	return &budget{directives: maxDirectives, args: argsPerDirective * maxDirectives,
		maxDirectives: maxDirectives, maxArgs: argsPerDirective * maxDirectives}
}

type parser struct {
	f   *File
	src string // the file as one string: arguments are substrings of it
	i   int    // read offset
	// line and lineStart track the current line (1-based) and the offset
	// where it starts, so token positions cost no search.
	line      int
	lineStart int

	maxNesting int
	// base is the number of blocks around the file's top level, in the
	// files that include it: nesting is counted across includes.
	base   int
	budget *budget

	// braceErr is the first error about unbalanced braces (a stray "}"
	// or a block open at the end of the file) and strays the offsets of
	// the stray "}"s: once the file is read, braces.go moves braceErr to
	// where the nesting most likely breaks.
	braceErr *Error
	strays   []int
	// stopped is set when the rest of the file was not parsed (nesting
	// limit, unclosed Lua block): its braces are not all known.
	stopped bool

	args    []Arg // the statement being read (scratch)
	argSlab []Arg // backing store for directives' Args
	dirSlab []Directive
}

// ParseString parses src as a configuration file named name, without
// following includes or reading *_by_lua_file files, with the default
// nesting limit. It never returns nil; syntax errors are in File.Errors.
func ParseString(name, src string) *File {
	f := &File{Path: name, AbsPath: name, Data: []byte(src)}
	parseFile(f, src, DefaultMaxNesting, newBudget(DefaultMaxDirectives))
	for d := range allDirectives(f.Directives) {
		if d.Lua != nil && d.Lua.Origin == LuaFile && d.Lua.LoadError == "" && !d.Lua.Unresolved {
			d.Lua.LoadError = "not loaded: the configuration was parsed without a file system"
		}
	}
	return f
}

// allDirectives yields ds and their block children in document order,
// each with the number of blocks around it within ds, without recursion
// (blocks may nest deeply) and without building a list (the loader walks
// every file once, and a list of every directive of a large
// configuration was megabytes of garbage).
func allDirectives(ds []*Directive) iter.Seq2[*Directive, int] {
	return func(yield func(*Directive, int) bool) {
		type frame struct {
			ds []*Directive
			i  int
		}
		stack := []frame{{ds, 0}}
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.i >= len(top.ds) {
				stack = stack[:len(stack)-1]
				continue
			}
			d := top.ds[top.i]
			top.i++
			if !yield(d, len(stack)-1) {
				return
			}
			if len(d.Block) > 0 {
				stack = append(stack, frame{d.Block, 0})
			}
		}
	}
}

// parseFile fills f.Directives and f.Errors from src (which equals f.Data),
// taking the directives and arguments it creates from b.
func parseFile(f *File, src string, maxNesting int, b *budget) {
	if maxNesting <= 0 {
		maxNesting = DefaultMaxNesting
	}
	f.indexLines()
	if b.exhausted {
		return // a limit was reached in an earlier file
	}
	p := &parser{f: f, src: src, line: 1, maxNesting: maxNesting, base: f.depth, budget: b}
	p.run()
}

func (p *parser) pos(off int) Pos {
	return Pos{File: p.f.Path, Line: p.line, Column: off - p.lineStart + 1, Offset: off}
}

func (p *parser) errorf(pos Pos, format string, args ...any) {
	if len(p.f.Errors) > maxErrorsPerFile {
		return // dropped by addError anyway; skip the formatting
	}
	p.f.addError(pos, fmt.Sprintf(format, args...))
}

// maxErrorsPerFile bounds the errors kept for one file: a file of 64 MB of
// stray ';' (or of NUL bytes) would otherwise hold tens of millions of
// them, gigabytes, where nginx stops at the first.
const maxErrorsPerFile = 100

func (f *File) addError(pos Pos, msg string) {
	switch n := len(f.Errors); {
	case n < maxErrorsPerFile:
		f.Errors = append(f.Errors, &Error{Pos: pos, Msg: msg})
	case n == maxErrorsPerFile:
		f.Errors = append(f.Errors, &Error{Pos: pos, Msg: fmt.Sprintf("more than %d errors in this file; the others are not reported", maxErrorsPerFile)})
	}
}

// syncTo moves the line tracking to offset off (off >= p.lineStart) using
// the line index, for spans skipped without a byte loop (Lua bodies).
func (p *parser) syncTo(off int) {
	pos := p.f.PosAt(off)
	p.line = pos.Line
	p.lineStart = off - (pos.Column - 1)
}

func (p *parser) newDirective(parent *Directive) *Directive {
	if len(p.dirSlab) == 0 {
		p.dirSlab = make([]Directive, 64)
	}
	d := &p.dirSlab[0]
	p.dirSlab = p.dirSlab[1:]
	p.budget.directives--
	d.File = p.f
	d.Parent = parent
	a := p.args
	d.Name = a[0].Value
	d.Pos = a[0].Pos
	if n := len(a) - 1; n > 0 {
		if len(p.argSlab) < n {
			p.argSlab = make([]Arg, max(256, n))
		}
		d.Args = p.argSlab[:n:n]
		p.argSlab = p.argSlab[n:]
		copy(d.Args, a[1:])
	}
	if !utf8.ValidString(d.Name) {
		p.errorf(d.Pos, "directive name %s is not valid UTF-8", quoteWord(d.Name))
	}
	return d
}

func (p *parser) run() {
	p.parse()
	if p.braceErr != nil && !p.stopped && !p.budget.exhausted {
		p.diagnoseBraces()
	}
}

func (p *parser) parse() {
	f := p.f
	if strings.HasPrefix(p.src, "\xef\xbb\xbf") {
		p.errorf(p.pos(0), "file starts with a UTF-8 byte order mark; nginx reads it as part of the first directive name")
	}
	var stack []*Directive // open blocks, innermost last
	add := func(d *Directive) {
		if len(stack) == 0 {
			f.Directives = append(f.Directives, d)
		} else {
			top := stack[len(stack)-1]
			top.Block = append(top.Block, d)
		}
	}
	// unclosed ends the blocks still open when the file stops early.
	unclosed := func() {
		eof := p.f.PosAt(len(p.src))
		for _, d := range stack {
			d.End = eof
		}
	}
	parent := func() *Directive {
		if len(stack) == 0 {
			return nil
		}
		return stack[len(stack)-1]
	}
	for {
		end, off := p.readStatement()
		if len(p.args) > 0 && p.budget.directives <= 0 {
			p.errorf(p.args[0].Pos, "more than %d directives in the configuration; the rest is not parsed", p.budget.maxDirectives)
			p.budget.exhausted = true
		}
		if p.budget.exhausted {
			unclosed()
			return
		}
		switch end {
		case endSemi:
			d := p.newDirective(parent())
			d.End = p.pos(off + 1)
			add(d)
			if isLuaBlock(d.Name) {
				// ngx_conf_handler: a NGX_CONF_BLOCK directive must be
				// followed by '{'.
				p.errorf(d.Pos, "directive %s has no opening \"{\"", quoteWord(d.Name))
			}
			p.attachLuaArg(d)
		case endOpen:
			// A bare word that opens a block, first on its line, inside
			// the statement: the ";" before it is missing (see
			// splitAt). Each such word starts a directive of its own, so
			// that a Lua body stays a Lua body.
			for k := p.splitAt(); k > 0 && p.budget.directives > 1; k = p.splitAt() {
				rest := p.args[k:]
				p.args = p.args[:k]
				d := p.newDirective(parent())
				last := p.args[k-1]
				d.End = last.End()
				add(d)
				p.attachLuaArg(d)
				at := p.pos(off)
				if takesBlock(d.Name) {
					p.errorf(d.End, "directive %s has no opening \"{\": a \"{\" or \";\" is missing at the end of this line (nginx reads on to the \"{\" at %s)", quoteWord(d.Name), lineCol(at))
				} else {
					p.errorf(d.End, "directive %s is not terminated by \";\": add \";\" at the end of this line (nginx reads on to the \"{\" at %s and reports it there)", quoteWord(d.Name), lineCol(at))
				}
				p.args = append(p.args[:0], rest...)
			}
			d := p.newDirective(parent())
			d.HasBlock = true
			d.BlockOpen = p.pos(off)
			add(d)
			if isLuaBlock(d.Name) {
				if !p.luaBlock(d, off+1) {
					unclosed()
					p.stopped = true
					return // the rest of the file was consumed looking for '}'
				}
				continue
			}
			if p.base+len(stack) >= p.maxNesting {
				if p.base > 0 {
					p.errorf(d.BlockOpen, "blocks nested more than %d levels deep, counting the %d blocks around the include of this file; the rest of the file is not parsed", p.maxNesting, p.base)
				} else {
					p.errorf(d.BlockOpen, "blocks nested more than %d levels deep; the rest of the file is not parsed", p.maxNesting)
				}
				d.End = p.f.PosAt(len(p.src))
				unclosed()
				p.stopped = true
				return
			}
			stack = append(stack, d)
		case endClose:
			closePos := p.pos(off)
			if len(p.args) > 0 {
				// The '}' came before the statement's ';' (reported by
				// readStatement). Keep the statement rather than lose it.
				d := p.newDirective(parent())
				d.End = closePos
				add(d)
				p.attachLuaArg(d)
			}
			if len(stack) == 0 {
				// ngx_conf_parse: "unexpected }" outside any block. nginx
				// stops; we skip the brace and read on.
				p.braceError(closePos, "unexpected \"}\"")
				p.strays = append(p.strays, off)
				continue
			}
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			top.BlockClose = closePos
			top.End = p.pos(off + 1)
		case endEOF:
			eof := p.pos(len(p.src))
			if len(p.args) > 0 {
				d := p.newDirective(parent())
				d.End = eof
				add(d)
				p.attachLuaArg(d)
			}
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				p.braceError(top.BlockOpen, "unexpected end of file, expecting \"}\": block %s opened here is not closed", quoteWord(top.Name))
				unclosed()
			}
			return
		}
	}
}

// readStatement reads the words of one statement into p.args and returns how
// it ended and the offset of the terminating byte. It mirrors
// ngx_conf_read_token: words are separated by blanks; '"' and '\” quote a
// word only at its start; a backslash escapes the next byte; '#' starts a
// comment only at a word start; a bare word ends at a blank, ';' or '{',
// except that '{' right after '$' belongs to the word ("${var}").
func (p *parser) readStatement() (end, off int) {
	p.args = p.args[:0]
	s := p.src
	n := len(s)
	i := p.i
	for {
		for i < n {
			c := s[i]
			if c == ' ' || c == '\t' || c == '\r' {
				i++
				continue
			}
			if c == '\n' {
				i++
				p.line++
				p.lineStart = i
				continue
			}
			break
		}
		if i >= n {
			if len(p.args) > 0 {
				p.errorf(p.args[len(p.args)-1].End(), "unexpected end of file, expecting \";\" or \"}\": directive %s is not terminated; add \";\" here", quoteWord(p.args[0].Value))
			}
			p.i = n
			return endEOF, n
		}
		c := s[i]
		switch c {
		case ';', '{':
			if len(p.args) == 0 {
				p.errorf(p.pos(i), "unexpected %q", string(c))
				i++
				continue
			}
			p.i = i + 1
			if c == ';' {
				return endSemi, i
			}
			return endOpen, i
		case '}':
			if len(p.args) > 0 {
				// nginx notices at the "}"; the ";" is missing after
				// the statement's last word, which is where we point.
				p.errorf(p.args[len(p.args)-1].End(), "unexpected \"}\" at %s: directive %s is not terminated by \";\"; add \";\" here", lineCol(p.pos(i)), quoteWord(p.args[0].Value))
			}
			p.i = i + 1
			return endClose, i
		case '#':
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				i = n
			} else {
				// The comment holds nginx's token start until its LF.
				p.checkTokenLen(i, i+j, "comment")
				i += j
			}
			continue
		case '"', '\'':
			start := i
			startPos := p.pos(i)
			esc := false
			i++
			for i < n && s[i] != c {
				switch s[i] {
				case '\\':
					esc = true
					i++
					if i < n && s[i] == '\n' {
						p.line++
						p.lineStart = i + 1
					}
				case '\n':
					p.line++
					p.lineStart = i + 1
				case 0:
					p.errorf(p.pos(i), "NUL byte in quoted string")
				}
				i++
			}
			if i >= n {
				p.errorf(startPos, "unexpected end of file: unterminated %s string started here", quoteName(c))
				p.args = append(p.args, Arg{Value: unescape(s[start+1 : n]), Raw: s[start:n], Quote: c, Unterminated: true, Pos: startPos})
				p.i = n
				return endEOF, n
			}
			inner := s[start+1 : i]
			v := inner
			if esc {
				v = unescape(inner)
			}
			i++
			p.args = append(p.args, Arg{Value: v, Raw: s[start:i], Quote: c, Pos: startPos})
			if !p.takeArg(startPos) {
				return endEOF, n
			}
			// need_space: after a closing quote nginx accepts only a
			// blank, ';', '{' or ')'. '}' is reported by the loop.
			if i < n {
				switch d := s[i]; d {
				case ';', '{', ')':
					p.checkTokenLen(start+1, i, "parameter")
				case ' ', '\t', '\r', '\n':
					if i+1 < n {
						p.checkTokenLen(start+1, i+1, "parameter")
					}
				case '}':
				default:
					p.errorf(p.pos(i), "unexpected %q after quoted string", string(d))
				}
			}
			continue
		default:
			start := i
			startPos := p.pos(i)
			variable, esc := false, false
		word:
			for i < n {
				c := s[i]
				if c == '{' && variable {
					i++
					continue
				}
				variable = false
				switch c {
				case '\\':
					esc = true
					i++
					if i < n {
						if s[i] == '\n' {
							p.line++
							p.lineStart = i + 1
						}
						i++
					}
					continue
				case '$':
					variable = true
				case ' ', '\t', '\r', '\n', ';', '{':
					break word
				case 0:
					p.errorf(p.pos(i), "NUL byte in configuration")
				}
				i++
			}
			raw := s[start:i]
			v := raw
			if esc {
				v = unescape(raw)
			}
			p.args = append(p.args, Arg{Value: v, Raw: raw, Pos: startPos})
			if !p.takeArg(startPos) {
				return endEOF, n
			}
			if i < n {
				if s[i] == ';' || s[i] == '{' {
					p.checkTokenLen(start, i, "parameter")
				} else if i+1 < n {
					p.checkTokenLen(start, i+1, "parameter")
				}
			}
		}
	}
}

// takeArg charges one argument to the budget. When none is left it
// reports the limit at pos, drops the statement and ends the file (the
// caller returns endEOF), before the words of a hostile line pile up.
func (p *parser) takeArg(pos Pos) bool {
	p.budget.args--
	if p.budget.args >= 0 {
		return true
	}
	p.errorf(pos, "more than %d arguments in the configuration (%d per allowed directive); the rest is not parsed", p.budget.maxArgs, argsPerDirective)
	p.budget.exhausted = true
	p.args = p.args[:0]
	p.i = len(p.src)
	return false
}

// confBuffer is NGX_CONF_BUFFER, the size of the buffer nginx reads the
// configuration through (src/core/ngx_conf_file.c).
const confBuffer = 4096

// checkTokenLen reports a token nginx cannot read. ngx_conf_read_token keeps
// the bytes from a token's start (after an opening quote) in its 4096-byte
// buffer until the byte at which it next resets that start (the ';' or '{'
// ending the statement, or the byte after a blank); when they do not fit it
// fails with "too long parameter". reset is the offset of that byte, which
// must exist (at end of file nginx reports end of file instead). Shorter
// tokens can still fail depending on where buffer refills fall; only the
// certain case is reported.
func (p *parser) checkTokenLen(start, reset int, what string) {
	if reset-start+1 > confBuffer {
		pos := p.f.PosAt(start)
		p.f.addError(pos, fmt.Sprintf("too long %s (%d bytes): nginx reads a token through a %d-byte buffer and rejects it (\"too long parameter\")", what, reset-start, confBuffer))
	}
}

// maxQuoted is how much of a word from the file an error message quotes.
const maxQuoted = 64

// short cuts a path from a configuration that parsed for quoting in an
// error message: a 10 MB one-word line must not become a 10 MB message.
// The position says where the rest is. Words of a file that failed to
// parse go through quoteWord instead, which quotes only directive-like
// names: errors are printed in CI logs, which are public, and a file that
// is not a configuration (an include of a key) must not be echoed.
func short(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > maxQuoted-4 && cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func quoteName(c byte) string {
	if c == '"' {
		return "double-quoted"
	}
	return "single-quoted"
}

// unescape applies the unescaping ngx_conf_read_token does when it copies a
// word: \" \' \\ become the character, \t \r \n become control characters,
// and any other backslash is kept with the byte after it.
func unescape(s string) string {
	v, _ := unescapeMap(s, 0, false)
	return v
}

// unescapeMap is unescape that can also return, for each output byte, the
// offset (base + index in s) of the input it came from, plus a final entry
// for the end of s.
func unescapeMap(s string, base int, withMap bool) (string, []int) {
	b := make([]byte, 0, len(s))
	var m []int
	if withMap {
		m = make([]int, 0, len(s)+1)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		at := i
		if c == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case '"', '\'', '\\':
				c = s[i+1]
				i++
			case 't':
				c = '\t'
				i++
			case 'r':
				c = '\r'
				i++
			case 'n':
				c = '\n'
				i++
			}
		}
		b = append(b, c)
		if withMap {
			m = append(m, base+at)
		}
	}
	if withMap {
		m = append(m, base+len(s))
	}
	return string(b), m
}

// luaContext is the phase name lua-nginx-module uses in chunk names: the
// directive name without its _block or _file suffix.
func luaContext(name string) string {
	if s, ok := strings.CutSuffix(name, "_block"); ok {
		return s
	}
	if s, ok := strings.CutSuffix(name, "_file"); ok {
		return s
	}
	return name
}

// luaArgIndex is the argument that carries the code or file of a *_by_lua or
// *_by_lua_file directive: set_by_lua* take the target variable first
// (ngx_http_lua_set_by_lua: value[1] is the variable, value[2] the code).
func luaArgIndex(name string) int {
	if strings.HasPrefix(name, "set_by_lua") {
		return 1
	}
	return 0
}

// attachLuaArg sets d.Lua for the *_by_lua 'code' and *_by_lua_file path
// forms. Files are read by the loader.
func (p *parser) attachLuaArg(d *Directive) {
	isFile := strings.HasSuffix(d.Name, "_by_lua_file")
	if !isFile && !strings.HasSuffix(d.Name, "_by_lua") {
		return
	}
	k := luaArgIndex(d.Name)
	if k >= len(d.Args) {
		return // nginx reports the argument count; nothing to load
	}
	a := d.Args[k]
	if isFile {
		d.Lua = &LuaChunk{Context: luaContext(d.Name), Origin: LuaFile, Path: a.Value}
		if strings.Contains(a.Value, "$") {
			d.Lua.Unresolved = true
		}
		return
	}
	c := &LuaChunk{Context: luaContext(d.Name), Origin: LuaString, Code: a.Value}
	inner, base := a.Raw, a.Pos.Offset
	if a.Quote != 0 {
		inner, base = a.Raw[1:], base+1
		if !a.Unterminated {
			inner = inner[:len(inner)-1]
		}
	}
	if a.Value != inner {
		_, c.RawOffsets = unescapeMap(inner, base, true)
	}
	c.Pos = p.f.PosAt(base)
	c.End = p.f.PosAt(base + len(inner))
	d.Lua = c
}

// luaBlock reads the body of a *_by_lua_block directive starting at offset
// start (just after '{'). It reports false when the body is not closed, in
// which case the rest of the file has been consumed.
func (p *parser) luaBlock(d *Directive, start int) bool {
	res := scanLuaBlock(p.src, start)
	if res.end < 0 {
		msg := fmt.Sprintf("unexpected end of file, expecting \"}\" to close the Lua code of %s", quoteWord(d.Name))
		switch {
		case res.openOff >= 0:
			msg += fmt.Sprintf(": unterminated %s started at %s", res.openKind, lineCol(p.f.PosAt(res.openOff)))
		case res.braceOff >= 0:
			msg += fmt.Sprintf(": '{' at %s is not closed", lineCol(p.f.PosAt(res.braceOff)))
		}
		if res.quoteOff >= 0 {
			msg += fmt.Sprintf(" (the quote at %s does not end on its line, so lua-nginx-module does not treat it as a string)", lineCol(p.f.PosAt(res.quoteOff)))
		}
		p.errorf(d.BlockOpen, "%s", msg)
		d.End = p.f.PosAt(len(p.src))
		p.i = len(p.src)
		return false
	}
	if res.limitOff >= 0 {
		// ngx_http_lua_conf_read_lua_token lexes within the configuration
		// buffer (NGX_CONF_BUFFER bytes from the end of the previous
		// token), so such a token makes nginx fail.
		msg := "too long lua code block, probably missing terminating characters"
		if res.limitLong {
			msg = "Lua code block missing the closing long bracket, the inlined Lua code may be too long"
		}
		p.errorf(p.f.PosAt(res.limitOff), "%s: nginx fails here, because lua-nginx-module finds each Lua token within %d bytes of the previous one (split the code or move it to a *_by_lua_file)", msg, confBuffer)
	}
	d.Lua = &LuaChunk{
		Code:    p.src[start:res.end],
		Pos:     p.pos(start),
		Context: luaContext(d.Name),
		Origin:  LuaBlock,
	}
	p.syncTo(res.end)
	d.Lua.End = p.pos(res.end)
	d.BlockClose = d.Lua.End
	d.End = p.pos(res.end + 1)
	p.i = res.end + 1
	return true
}

func lineCol(p Pos) string { return fmt.Sprintf("%d:%d", p.Line, p.Column) }

type luaScan struct {
	end      int    // offset of the closing '}', -1 if none
	openKind string // construct open at EOF: "long string" / "long comment"
	openOff  int    // its start, -1 if none
	braceOff int    // innermost unclosed '{' inside the code, -1 if none
	quoteOff int    // first quote that did not start a string, -1 if none
	// limitOff is the start of the first token lua-nginx-module cannot
	// match because it ends more than confBuffer bytes after the previous
	// token (-1 if none); limitLong says it is a long bracket.
	limitOff  int
	limitLong bool
}

// scanLuaBlock finds the '}' that closes a Lua block whose code starts at
// start. It follows lua-nginx-module's ngx_http_lua_conf_read_lua_token,
// whose lexer (util/gen-lexer-c) looks for the leftmost of, in priority order:
//
//	{   }   \[=*\[   --\[=*\[   \]=*\]   --[^\n]*
//	"(?:\\[^\n]|[^"\n\\])*"   '(?:\\[^\n]|[^'\n\\])*'
//
// counting braces; a long bracket is closed by the first "]" "="*n "]" with
// the same n. A quote that does not close on its own line matches nothing,
// so the scan moves on one byte, exactly as the lexer does. '#' is not
// special (Lua's length operator), unlike in nginx syntax.
func scanLuaBlock(s string, start int) luaScan {
	r := luaScan{end: -1, openOff: -1, braceOff: -1, quoteOff: -1, limitOff: -1}
	var braces []int // offsets of unclosed '{' inside the code
	n := len(s)
	// prevEnd is where the previous lexer token ended: LNM's buffer holds
	// at most confBuffer bytes from there, so a next token ending further
	// away can never be matched (see tokenAt).
	prevEnd := start
	token := func(ts, te int, long bool) {
		if te-prevEnd > confBuffer && r.limitOff < 0 {
			// Point at the long bracket itself, or at the start of the
			// stretch the lexer could not get through.
			r.limitOff, r.limitLong = prevEnd, long
			if long {
				r.limitOff = ts
			}
		}
		prevEnd = te
	}
	for i := start; i < n; {
		switch c := s[i]; c {
		case '{':
			token(i, i+1, false)
			braces = append(braces, i)
			i++
		case '}':
			token(i, i+1, false)
			if len(braces) == 0 {
				r.end = i
				return r
			}
			braces = braces[:len(braces)-1]
			i++
		case ']':
			j := i + 1
			for j < n && s[j] == '=' {
				j++
			}
			if j < n && s[j] == ']' {
				token(i, j+1, false)
				i = j + 1
				continue
			}
			i++
		case '[':
			j := i + 1
			for j < n && s[j] == '=' {
				j++
			}
			if j < n && s[j] == '[' {
				e := closeLongBracket(s, j+1, j-i-1)
				if e < 0 {
					r.openKind, r.openOff = "long string", i
					return r
				}
				token(i, e, true)
				i = e
				continue
			}
			i++
		case '-':
			if i+1 < n && s[i+1] == '-' {
				j := i + 2
				if j < n && s[j] == '[' {
					k := j + 1
					for k < n && s[k] == '=' {
						k++
					}
					if k < n && s[k] == '[' {
						e := closeLongBracket(s, k+1, k-j-1)
						if e < 0 {
							r.openKind, r.openOff = "long comment", i
							return r
						}
						token(i, e, true)
						i = e
						continue
					}
				}
				e := strings.IndexByte(s[j:], '\n')
				if e < 0 {
					i = n
				} else {
					i = j + e
				}
				token(j-2, i, false)
				continue
			}
			i++
		case '"', '\'':
			j := i + 1
			matched := false
		str:
			for j < n {
				switch s[j] {
				case c:
					matched = true
					break str
				case '\n':
					break str
				case '\\':
					if j+1 >= n || s[j+1] == '\n' {
						break str
					}
					j += 2
					continue
				}
				j++
			}
			if matched {
				token(i, j+1, false)
				i = j + 1
				continue
			}
			if r.quoteOff < 0 {
				r.quoteOff = i
			}
			i++
		default:
			i++
		}
	}
	if len(braces) > 0 {
		r.braceOff = braces[len(braces)-1]
	}
	return r
}

// closeLongBracket returns the offset just past the "]" "="*level "]" that
// closes a long bracket whose content starts at from, or -1.
func closeLongBracket(s string, from, level int) int {
	for i := from; i < len(s); {
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			return -1
		}
		k := i + j + 1
		m := k
		for m < len(s) && s[m] == '=' {
			m++
		}
		if m-k == level && m < len(s) && s[m] == ']' {
			return m + 1
		}
		i = k
	}
	return -1
}
