package reqmodel

import (
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// Witness builds a subject that r matches with payload inside capture
// group n (n == 0: anywhere in the match), checked by running r on it. It
// is how a finding gets the request that shows it: the location regex
// "^/v1/([^.]*)\.json$" with a newline payload gives
// "/v1/\r\nSet-Cookie: x=1.json". ok is false when no such subject was
// found (the group cannot hold the payload, or the pattern is beyond the
// simple generator: then no crafted request is claimed).
func (r *Regex) Witness(n int, payload string) (string, bool) {
	if r == nil || r.tree == nil {
		return "", false
	}
	var b strings.Builder
	placed := false
	gen(r.tree, n, payload, &b, &placed)
	s := b.String()
	if n == 0 && !placed {
		// Unanchored at the end: the payload can follow the match.
		s += payload
	}
	m := r.Match(s)
	if m == nil || n >= len(m) || !strings.Contains(m[n], payload) && !(n == 0 && strings.Contains(s, payload)) {
		return "", false
	}
	return s, true
}

func gen(t *syntax.Regexp, n int, payload string, b *strings.Builder, placed *bool) {
	switch t.Op {
	case syntax.OpLiteral:
		for _, r := range t.Rune {
			b.WriteRune(r)
		}
	case syntax.OpCharClass:
		b.WriteRune(pick(t.Rune))
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('a')
	case syntax.OpCapture:
		if t.Cap == n && !*placed {
			*placed = true
			b.WriteString(payload)
			return
		}
		for _, s := range t.Sub {
			gen(s, n, payload, b, placed)
		}
	case syntax.OpStar, syntax.OpQuest:
		if containsCap(t, n) && !*placed {
			gen(t.Sub[0], n, payload, b, placed)
		}
	case syntax.OpPlus:
		gen(t.Sub[0], n, payload, b, placed)
	case syntax.OpRepeat:
		k := t.Min
		if k == 0 && containsCap(t, n) {
			k = 1
		}
		for i := 0; i < k && i < 64; i++ {
			gen(t.Sub[0], n, payload, b, placed)
		}
	case syntax.OpConcat:
		for _, s := range t.Sub {
			gen(s, n, payload, b, placed)
		}
	case syntax.OpAlternate:
		for _, s := range t.Sub {
			if containsCap(s, n) {
				gen(s, n, payload, b, placed)
				return
			}
		}
		gen(t.Sub[0], n, payload, b, placed)
	}
}

// pick chooses a character of a class, preferring a lower-case letter or
// digit so the subject stays a plausible path.
func pick(ranges []rune) rune {
	for _, want := range "ax0_-" {
		for i := 0; i+1 < len(ranges); i += 2 {
			if want >= ranges[i] && want <= ranges[i+1] {
				return want
			}
		}
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		for c := ranges[i]; c <= ranges[i+1] && c < utf8.RuneSelf; c++ {
			if c > ' ' && c != 0x7f {
				return c
			}
		}
	}
	if len(ranges) > 0 {
		return ranges[0]
	}
	return 'a'
}

func containsCap(t *syntax.Regexp, n int) bool {
	if n == 0 {
		return false
	}
	return findCap(t, n) != nil
}

// Anchored reports whether the pattern must match the whole subject (it
// starts with '^' and ends with '$'), so a byte the whole match cannot hold
// cannot be anywhere in a subject it matches.
func (r *Regex) Anchored() bool {
	if r == nil || r.tree == nil {
		return false
	}
	t := r.tree
	for t.Op == syntax.OpCapture && len(t.Sub) == 1 {
		t = t.Sub[0]
	}
	if t.Op != syntax.OpConcat || len(t.Sub) < 2 {
		return false
	}
	first, last := t.Sub[0].Op, t.Sub[len(t.Sub)-1].Op
	return (first == syntax.OpBeginText || first == syntax.OpBeginLine) && (last == syntax.OpEndText || last == syntax.OpEndLine)
}

// Admits reports whether some subject r matches can contain c.
func (r *Regex) Admits(c byte) bool {
	if r == nil || r.tree == nil {
		return true
	}
	if !r.Anchored() {
		return true
	}
	can, _ := r.CanHold(0, c)
	return can
}

// PercentEncode writes a subject as a request path: every byte outside
// the unreserved set and '/' as %XX, so the request line carries it and
// nginx's decoding gives it back in $uri.
func PercentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/-._~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
	}
	return b.String()
}
