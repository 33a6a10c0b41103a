package luacheck

import "strings"

// ignores collects "-- ngxlint:ignore ID[,ID] reason" comments. A trailing
// comment applies to its own line; a comment alone on its line applies to
// the next line that has code. Applying them is the analyzer's job.
func (an *analysis) ignores() []Ignore {
	var out []Ignore
	for _, c := range an.lx.comments {
		text := strings.TrimSpace(c.text)
		const tag = "ngxlint:ignore"
		if !strings.HasPrefix(text, tag) {
			continue
		}
		rest := text[len(tag):]
		if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
			continue // e.g. ngxlint:ignored, not ours
		}
		rest = strings.TrimSpace(rest)
		idPart, reason, _ := strings.Cut(rest, " ")
		var ids []string
		for _, id := range strings.Split(idPart, ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
		reason = strings.TrimSpace(reason)
		ig := Ignore{IDs: ids, Reason: reason, HasReason: reason != ""}
		ig.Pos, ig.End = an.pm.at(c.off), an.pm.at(c.end)
		target := c.line
		if !an.codeBefore(c) {
			target = an.nextCodeLine(c)
		}
		if target > 0 {
			ig.Line = an.pm.lineStart(target).Line
		}
		out = append(out, ig)
	}
	return out
}

// codeBefore reports whether a token precedes the comment on its line.
func (an *analysis) codeBefore(c comment) bool {
	ls := an.lx.lineStarts
	if c.line > len(ls) {
		return false
	}
	t := an.lx.tokenFrom(ls[c.line-1])
	return t != nil && int(t.off) < c.off
}

// nextCodeLine returns the chunk line of the first token after the comment,
// or 0.
func (an *analysis) nextCodeLine(c comment) int {
	if t := an.lx.tokenFrom(c.end); t != nil {
		return int(t.line)
	}
	return 0
}
