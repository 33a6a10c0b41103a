package luacheck

// prepass rewrites the LuaJIT syntax gopher-lua's scanner rejects into text
// of exactly the same length, so that every byte keeps its line and column:
//   - a "#" first line (shebang) becomes a "--" comment;
//   - numerals 0x1p4, 0x1.8, 1LL, 1ULL, 1i become "0" padded with spaces;
//   - a string whose "\z" skips a line break gets its body blanked, with a
//     backslash before each line break (an escaped newline, legal in Lua 5.1).
//
// Strings and comments are never touched otherwise: the rewrite works on the
// tokens of our own tokenizer, which already skipped them. goto and ::labels::
// need no rewrite: gopher-lua parses them.
func prepass(src string, lx *lexer) string {
	var buf []byte
	ensure := func() {
		if buf == nil {
			buf = []byte(src)
		}
	}
	if len(src) > 0 && src[0] == '#' {
		ensure()
		buf[0] = '-'
		if len(buf) > 1 && buf[1] != '\n' {
			buf[1] = '-'
		} else {
			// A lone "#" line: a single "-" is not a comment, blank it.
			buf[0] = ' '
		}
	}
	for i := range lx.toks {
		t := &lx.toks[i]
		if !t.needsRewrite {
			continue
		}
		ensure()
		switch t.kind {
		case tkNumber:
			buf[t.off] = '0'
			for j := t.off + 1; j < t.end; j++ {
				buf[j] = ' '
			}
		case tkString:
			// Keep the quotes, blank the body, keep line breaks escaped.
			for j := t.off + 1; j < t.end-1; j++ {
				if buf[j] == '\n' {
					if j-1 > t.off && buf[j-1] != '\n' {
						buf[j-1] = '\\'
					}
					continue
				}
				buf[j] = ' '
			}
		}
	}
	if buf == nil {
		return src
	}
	return string(buf)
}
