package luacheck

import (
	"sort"
	"strconv"
	"strings"
)

// tokKind classifies the tokens of our own small Lua tokenizer. gopher-lua's
// AST carries lines only, so every column this package reports comes from
// these tokens, matched to AST nodes in source order (see positions.go).
type tokKind uint8

const (
	tkName tokKind = iota + 1
	tkKeyword
	tkString
	tkNumber
	tkPunct
)

// token is one lexeme of the (pre-passed) chunk. Offsets are byte offsets in
// the chunk's Code; line and col are 1-based and relative to the chunk.
//
// A chunk has about one token per four bytes, so tokens are kept small and
// free of pointers (the garbage collector need not scan them): 32-bit
// offsets (Analyze refuses chunks of 2 GiB and more), and the text is found
// through lexer.text rather than stored.
type token struct {
	off, end int32
	line     int32
	col      int32
	// str indexes lexer.strs for string tokens.
	str  int32
	kind tokKind
	// needsRewrite is set for numbers and strings that gopher-lua's scanner
	// rejects (LuaJIT-only syntax); the pre-pass replaces them.
	needsRewrite bool
}

// maxChunk is the largest chunk the 32-bit token offsets can describe.
const maxChunk = 1<<31 - 1

// text returns a token's text: the identifier, keyword, punctuation or
// numeral as written; for strings the decoded value (escapes applied, as
// LuaJIT would).
func (lx *lexer) text(t *token) string {
	if t.kind == tkString {
		return lx.strs[t.str]
	}
	return lx.src[t.off:t.end]
}

// comment is a Lua comment with its position; text excludes the leading "--"
// and, for long comments, the brackets.
type comment struct {
	text     string
	off, end int
	line     int
	col      int
	long     bool
}

// isKeyword reports whether w is a Lua keyword (a switch: cheaper than a
// map lookup for every name of the chunk).
func isKeyword(w string) bool {
	switch w {
	case "and", "break", "do", "else", "elseif", "end",
		"false", "for", "function", "goto", "if", "in",
		"local", "nil", "not", "or", "repeat", "return",
		"then", "true", "until", "while":
		return true
	}
	return false
}

// lexer is a forgiving tokenizer: it never fails, it stops at the first byte
// it cannot make sense of (gopher-lua then reports the precise syntax error).
type lexer struct {
	src      string
	pos      int
	line     int
	lineOff  int // offset of the first byte of the current line
	toks     []token
	strs     []string // decoded values of string tokens
	comments []comment
	// lineStarts[i] is the offset of the first byte of line i+1.
	lineStarts []int
}

func tokenize(src string) *lexer {
	lx := &lexer{src: src, line: 1, lineStarts: []int{0}}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			lx.lineStarts = append(lx.lineStarts, i+1)
		}
	}
	lx.toks = make([]token, 0, len(src)/4)
	lx.run()
	return lx
}

func (lx *lexer) newline(at int) {
	lx.line++
	lx.lineOff = at + 1
}

func isNameStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isNameChar(c byte) bool { return isNameStart(c) || (c >= '0' && c <= '9') }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// emit appends a token ending at lx.pos; text is kept for strings only
// (for the other kinds it is the source text, see lexer.text).
func (lx *lexer) emit(kind tokKind, text string, start, startLine, startCol int) {
	t := token{kind: kind, off: int32(start), end: int32(lx.pos), line: int32(startLine), col: int32(startCol)}
	if kind == tkString {
		t.str = int32(len(lx.strs))
		lx.strs = append(lx.strs, text)
	}
	lx.toks = append(lx.toks, t)
}

func (lx *lexer) run() {
	src := lx.src
	// A "#" first line (a shebang) is skipped by luaL_loadfile; it is not Lua.
	if strings.HasPrefix(src, "#") {
		for lx.pos < len(src) && src[lx.pos] != '\n' {
			lx.pos++
		}
	}
	for lx.pos < len(src) {
		c := src[lx.pos]
		start, sl, sc := lx.pos, lx.line, lx.pos-lx.lineOff+1
		switch {
		case c == '\n':
			lx.newline(lx.pos)
			lx.pos++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			lx.pos++
		case isNameStart(c):
			for lx.pos < len(src) && isNameChar(src[lx.pos]) {
				lx.pos++
			}
			w := src[start:lx.pos]
			if isKeyword(w) {
				lx.emit(tkKeyword, w, start, sl, sc)
			} else {
				lx.emit(tkName, w, start, sl, sc)
			}
		case isDigit(c) || (c == '.' && lx.pos+1 < len(src) && isDigit(src[lx.pos+1])):
			rw := lx.number()
			lx.emit(tkNumber, src[start:lx.pos], start, sl, sc)
			lx.toks[len(lx.toks)-1].needsRewrite = rw
		case c == '"' || c == '\'':
			val, rw, ok := lx.shortString(c)
			lx.emit(tkString, val, start, sl, sc)
			lx.toks[len(lx.toks)-1].needsRewrite = rw
			if !ok {
				return
			}
		case c == '[' && lx.longBracketLevel(lx.pos) >= 0:
			val, ok := lx.longString()
			lx.emit(tkString, val, start, sl, sc)
			if !ok {
				return
			}
		case c == '-' && lx.pos+1 < len(src) && src[lx.pos+1] == '-':
			lx.pos += 2
			if lx.pos < len(src) && src[lx.pos] == '[' && lx.longBracketLevel(lx.pos) >= 0 {
				val, ok := lx.longString()
				lx.comments = append(lx.comments, comment{text: val, off: start, end: lx.pos, line: sl, col: sc, long: true})
				if !ok {
					return
				}
				continue
			}
			b := lx.pos
			for lx.pos < len(src) && src[lx.pos] != '\n' {
				lx.pos++
			}
			lx.comments = append(lx.comments, comment{text: strings.TrimRight(src[b:lx.pos], "\r"), off: start, end: lx.pos, line: sl, col: sc})
		default:
			lx.pos++
			n := lx.pos
			if n < len(src) {
				two := src[start : n+1]
				switch two {
				case "==", "~=", "<=", ">=", "::", "..":
					lx.pos++
					if two == ".." && lx.pos < len(src) && src[lx.pos] == '.' {
						lx.pos++
					}
				}
			}
			lx.emit(tkPunct, src[start:lx.pos], start, sl, sc)
		}
	}
}

// number scans a LuaJIT numeral and reports whether gopher-lua's scanner
// would reject it: hexadecimal fractions or binary exponents (0x1p4, 0x.8),
// and LuaJIT's 64-bit integer and imaginary suffixes (1LL, 1ULL, 1i), see
// LuaJIT src/lj_lex.c lex_number.
func (lx *lexer) number() (rewrite bool) {
	src := lx.src
	if src[lx.pos] == '0' && lx.pos+1 < len(src) && (src[lx.pos+1] == 'x' || src[lx.pos+1] == 'X') {
		lx.pos += 2
		digits := 0
		for lx.pos < len(src) && isHex(src[lx.pos]) {
			lx.pos++
			digits++
		}
		if digits == 0 {
			rewrite = true
		}
		if lx.pos < len(src) && src[lx.pos] == '.' {
			rewrite = true
			lx.pos++
			for lx.pos < len(src) && isHex(src[lx.pos]) {
				lx.pos++
			}
		}
		if lx.pos < len(src) && (src[lx.pos] == 'p' || src[lx.pos] == 'P') {
			rewrite = true
			lx.pos++
			if lx.pos < len(src) && (src[lx.pos] == '+' || src[lx.pos] == '-') {
				lx.pos++
			}
			for lx.pos < len(src) && isDigit(src[lx.pos]) {
				lx.pos++
			}
		}
	} else {
		for lx.pos < len(src) && isDigit(src[lx.pos]) {
			lx.pos++
		}
		if lx.pos < len(src) && src[lx.pos] == '.' {
			lx.pos++
			for lx.pos < len(src) && isDigit(src[lx.pos]) {
				lx.pos++
			}
		}
		if lx.pos < len(src) && (src[lx.pos] == 'e' || src[lx.pos] == 'E') {
			lx.pos++
			if lx.pos < len(src) && (src[lx.pos] == '+' || src[lx.pos] == '-') {
				lx.pos++
			}
			for lx.pos < len(src) && isDigit(src[lx.pos]) {
				lx.pos++
			}
		}
	}
	rest := src[lx.pos:]
	for _, suf := range []string{"ULL", "ull", "LL", "ll", "i", "I"} {
		if strings.HasPrefix(rest, suf) && (len(rest) == len(suf) || !isNameChar(rest[len(suf)])) {
			lx.pos += len(suf)
			return true
		}
	}
	return rewrite
}

// shortString scans a quoted string and decodes its escapes the way LuaJIT
// does (lj_lex.c lex_string), including \z, \x and \u{...}. rewrite is set
// when gopher-lua, which knows neither \z nor \u, would fail on it: only a
// "\z" followed by a line break makes its scanner fail ("unterminated
// string"), any other unknown escape is accepted as the letter.
func (lx *lexer) shortString(q byte) (val string, rewrite, ok bool) {
	src := lx.src
	lx.pos++
	// Until the first escape the value is the source text itself: b only
	// starts being filled (with that prefix) at the first backslash, so
	// that the many strings without escapes cost no allocation.
	start := lx.pos
	escaped := false
	var b strings.Builder
	value := func(end int) string {
		if !escaped {
			return src[start:end]
		}
		return b.String()
	}
	for lx.pos < len(src) {
		c := src[lx.pos]
		switch c {
		case q:
			lx.pos++
			return value(lx.pos - 1), rewrite, true
		case '\n':
			return value(lx.pos), rewrite, false
		case '\\':
			if !escaped {
				escaped = true
				b.WriteString(src[start:lx.pos])
			}
			lx.pos++
			if lx.pos >= len(src) {
				return b.String(), rewrite, false
			}
			e := src[lx.pos]
			switch e {
			case 'n':
				b.WriteByte('\n')
				lx.pos++
			case 't':
				b.WriteByte('\t')
				lx.pos++
			case 'r':
				b.WriteByte('\r')
				lx.pos++
			case 'a':
				b.WriteByte('\a')
				lx.pos++
			case 'b':
				b.WriteByte('\b')
				lx.pos++
			case 'f':
				b.WriteByte('\f')
				lx.pos++
			case 'v':
				b.WriteByte('\v')
				lx.pos++
			case '\n':
				b.WriteByte('\n')
				lx.newline(lx.pos)
				lx.pos++
			case 'x':
				lx.pos++
				if lx.pos+1 < len(src) && isHex(src[lx.pos]) && isHex(src[lx.pos+1]) {
					v, _ := strconv.ParseUint(src[lx.pos:lx.pos+2], 16, 8)
					b.WriteByte(byte(v))
					lx.pos += 2
				}
			case 'z':
				lx.pos++
				for lx.pos < len(src) {
					w := src[lx.pos]
					if w == '\n' {
						rewrite = true
						lx.newline(lx.pos)
					} else if w != ' ' && w != '\t' && w != '\r' && w != '\f' && w != '\v' {
						break
					}
					lx.pos++
				}
			case 'u':
				lx.pos++
				if lx.pos < len(src) && src[lx.pos] == '{' {
					end := strings.IndexByte(src[lx.pos:], '}')
					if end > 0 {
						if v, err := strconv.ParseUint(src[lx.pos+1:lx.pos+end], 16, 32); err == nil {
							b.WriteRune(rune(v))
						}
						lx.pos += end + 1
					}
				}
			default:
				if isDigit(e) {
					n := 0
					v := 0
					for n < 3 && lx.pos < len(src) && isDigit(src[lx.pos]) {
						v = v*10 + int(src[lx.pos]-'0')
						lx.pos++
						n++
					}
					b.WriteByte(byte(v))
				} else {
					b.WriteByte(e)
					lx.pos++
				}
			}
		default:
			if escaped {
				b.WriteByte(c)
			}
			lx.pos++
		}
	}
	return value(lx.pos), rewrite, false
}

// longBracketLevel returns the level of a long bracket opening at i ("[[" is
// 0, "[==[" is 2) or -1.
func (lx *lexer) longBracketLevel(i int) int {
	src := lx.src
	if i >= len(src) || src[i] != '[' {
		return -1
	}
	j := i + 1
	for j < len(src) && src[j] == '=' {
		j++
	}
	if j < len(src) && src[j] == '[' {
		return j - i - 1
	}
	return -1
}

func (lx *lexer) longString() (string, bool) {
	src := lx.src
	level := lx.longBracketLevel(lx.pos)
	lx.pos += level + 2
	// A line break right after the opening bracket is skipped (Lua 5.1 manual §2.1).
	if lx.pos < len(src) && src[lx.pos] == '\r' {
		lx.pos++
	}
	if lx.pos < len(src) && src[lx.pos] == '\n' {
		lx.newline(lx.pos)
		lx.pos++
	}
	closer := "]" + strings.Repeat("=", level) + "]"
	b := lx.pos
	for lx.pos < len(src) {
		if src[lx.pos] == '\n' {
			lx.newline(lx.pos)
			lx.pos++
			continue
		}
		if src[lx.pos] == ']' && strings.HasPrefix(src[lx.pos:], closer) {
			val := src[b:lx.pos]
			lx.pos += len(closer)
			return val, true
		}
		lx.pos++
	}
	return src[b:], false
}

// lineCol converts a chunk offset to a 1-based line and byte column.
func (lx *lexer) lineCol(off int) (int, int) {
	ls := lx.lineStarts
	lo, hi := 0, len(ls)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if ls[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo + 1, off - ls[lo] + 1
}

// tokenFrom returns the first token starting at or after off, or nil.
func (lx *lexer) tokenFrom(off int) *token {
	i := sort.Search(len(lx.toks), func(i int) bool { return int(lx.toks[i].off) >= off })
	if i < len(lx.toks) {
		return &lx.toks[i]
	}
	return nil
}

// tokenAt returns the token starting exactly at off, or nil.
func (lx *lexer) tokenAt(off int) *token {
	if t := lx.tokenFrom(off); t != nil && int(t.off) == off {
		return t
	}
	return nil
}
