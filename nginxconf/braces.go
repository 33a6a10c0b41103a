package nginxconf

import (
	"fmt"
	"slices"
	"strings"
)

// This file finds where a file's nesting most likely breaks. nginx matches
// braces by count and notices a missing "}" only at the end of the file,
// or a "}" too many at the last one, and names that place; the mistake is
// usually many lines earlier. People indent their blocks, so a "}" that
// lines up with an outer block's directive and not with the block it
// closes by count is where the nesting went wrong: the first such
// mismatch is reported instead, with nginx's wording and its place kept in
// the message.

// splitAt returns the index in p.args of the first word, after the name,
// that is first on its line, is bare, and names a directive that takes a
// block (takesBlock); 0 if there is none. nginx would read the words
// before it and the block directive as one statement: the ";" (or the "{")
// of the directive before is missing. Only block names are trusted: a
// statement may go on over lines with any other word ("server_name a\n
// b;" is fine), but no directive takes "location" or "server" as a word
// of its own at the start of a line and then opens a block.
func (p *parser) splitAt() int {
	for k := 1; k < len(p.args); k++ {
		a := p.args[k]
		if a.Quote == 0 && takesBlock(a.Value) && firstOnLine(p.src, a.Pos.Offset) {
			return k
		}
	}
	return 0
}

// firstOnLine reports whether only blanks precede offset off on its line.
func firstOnLine(src string, off int) bool {
	for i := off - 1; i >= 0; i-- {
		switch src[i] {
		case '\n':
			return true
		case ' ', '\t', '\r':
		default:
			return false
		}
	}
	return true
}

// indentAt returns the blanks that start the line holding offset off.
func indentAt(src string, off int) string {
	start := strings.LastIndexByte(src[:off], '\n') + 1
	end := start
	for end < len(src) && (src[end] == ' ' || src[end] == '\t') {
		end++
	}
	return src[start:end]
}

// braceError reports an unbalanced brace and remembers the first one for
// diagnoseBraces.
func (p *parser) braceError(pos Pos, format string, args ...any) {
	n := len(p.f.Errors)
	p.errorf(pos, format, args...)
	if p.braceErr == nil && len(p.f.Errors) > n {
		p.braceErr = p.f.Errors[n]
	}
}

// braceEvent is a "{" (d set) or a "}" of the file, in file order.
type braceEvent struct {
	off int
	d   *Directive
}

// openBlock is a block open during diagnoseBraces' walk. indent is the
// indentation of its directive's line; known is false when the directive
// does not start its line (its indentation says nothing).
type openBlock struct {
	d      *Directive
	indent string
	known  bool
}

// diagnoseBraces replays the file's braces matching them by indentation
// and, when that finds the break before nginx would, moves p.braceErr
// there. A "}" first on its line closes the open block whose directive
// line has the same indentation; blocks opened after that one are the ones
// left unclosed. A "}" indented deeper than every open block closes none.
// A "}" after other text on its line ("location / { return 200; }")
// closes by count, as does any "}" once indentation is inconsistent
// (tabs against spaces): then the count's answer stands.
func (p *parser) diagnoseBraces() {
	var evs []braceEvent
	for d := range allDirectives(p.f.Directives) {
		if !d.HasBlock || d.Lua != nil || isLuaBlock(d.Name) {
			continue
		}
		evs = append(evs, braceEvent{off: d.BlockOpen.Offset, d: d})
		if d.BlockClose.IsValid() {
			evs = append(evs, braceEvent{off: d.BlockClose.Offset})
		}
	}
	for _, off := range p.strays {
		evs = append(evs, braceEvent{off: off})
	}
	slices.SortFunc(evs, func(a, b braceEvent) int { return a.off - b.off })

	src := p.src
	var stack []openBlock
	for _, ev := range evs {
		if ev.d != nil {
			ob := openBlock{d: ev.d, known: firstOnLine(src, ev.d.Pos.Offset)}
			if ob.known {
				ob.indent = indentAt(src, ev.d.Pos.Offset)
			}
			stack = append(stack, ob)
			continue
		}
		if len(stack) == 0 {
			p.blameStray(ev.off, "it closes no block")
			return
		}
		top := stack[len(stack)-1]
		if !firstOnLine(src, ev.off) || !top.known {
			stack = stack[:len(stack)-1]
			continue
		}
		ind := indentAt(src, ev.off)
		if ind == top.indent {
			stack = stack[:len(stack)-1]
			continue
		}
		if len(ind) > len(top.indent) && strings.HasPrefix(ind, top.indent) {
			p.blameStray(ev.off, fmt.Sprintf("it is indented deeper than %s at %s, the innermost open block", quoteWord(top.d.Name), lineCol(top.d.Pos)))
			return
		}
		for j := len(stack) - 2; j >= 0; j-- {
			if stack[j].known && stack[j].indent == ind {
				p.blameUnclosed(stack[len(stack)-1].d, fmt.Sprintf("the \"}\" at %s lines up with %s at %s and most likely closes it", lineCol(p.f.PosAt(ev.off)), quoteWord(stack[j].d.Name), lineCol(stack[j].d.Pos)))
				return
			}
		}
		return // indentation says nothing reliable
	}
	if len(stack) > 0 {
		p.blameUnclosed(stack[len(stack)-1].d, "")
	}
}

// nginxWording is the message nginx gives for p.braceErr, with its place.
func (p *parser) nginxWording() string {
	e := p.braceErr
	if strings.HasPrefix(e.Msg, "unexpected end of file") {
		return "unexpected end of file, expecting \"}\""
	}
	return fmt.Sprintf("unexpected \"}\" at %s", lineCol(e.Pos))
}

// blameUnclosed points p.braceErr at block d's "{".
func (p *parser) blameUnclosed(d *Directive, why string) {
	if d.BlockOpen == p.braceErr.Pos {
		return // the count already says so
	}
	msg := fmt.Sprintf("%s: block %s opened here is not closed", p.nginxWording(), quoteWord(d.Name))
	if why != "" {
		msg += " (" + why + ")"
	}
	p.braceErr.Pos, p.braceErr.Msg = d.BlockOpen, msg
}

// blameStray points p.braceErr at the "}" at offset off.
func (p *parser) blameStray(off int, why string) {
	pos := p.f.PosAt(off)
	if pos == p.braceErr.Pos {
		return
	}
	p.braceErr.Msg = fmt.Sprintf("%s: this \"}\" is the one too many (%s)", p.nginxWording(), why)
	p.braceErr.Pos = pos
}
