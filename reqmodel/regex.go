package reqmodel

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// Regex is one of the configuration's regular expressions (a location
// "~"/"~*", a rewrite, an "if (... ~ ...)", a map key) compiled for Go.
//
// nginx compiles them with PCRE and no options but PCRE_CASELESS for "~*"
// (ngx_regex_compile), so '.' does not match '\n' and '$' matches at the
// end or before a final '\n'. Go's RE2 syntax covers what configurations
// use except backreferences and lookaround; such a regex is kept with Err
// set, and everything built on it says "unknown" rather than guess. RE2
// runs in linear time, so a hostile pattern or subject cannot make the
// analysis or the emulator hang (the ReDoS rule looks at the pattern's
// shape for what PCRE would do).
type Regex struct {
	Src      string
	Caseless bool
	Err      error
	re       *regexp.Regexp
	tree     *syntax.Regexp
	// Names maps a named group to its number.
	Names map[string]int
	// NumCap is the number of capturing groups.
	NumCap int
}

// maxRegex bounds the pattern size we compile: RE2's program grows with
// counted repetitions ("a{1000}{1000}" is refused by Go itself).
const maxRegex = 16 << 10

// Compile compiles src as nginx would (caseless for "~*").
func Compile(src string, caseless bool) *Regex {
	r := &Regex{Src: src, Caseless: caseless, Names: map[string]int{}}
	if len(src) > maxRegex {
		r.Err = fmt.Errorf("regex longer than %d bytes", maxRegex)
		return r
	}
	flags := syntax.Perl
	if caseless {
		flags |= syntax.FoldCase
	}
	// PCRE accepts "\/" and "\-" anywhere; RE2 accepts these escapes of
	// punctuation too. "\Z" is PCRE's "end or before a final newline":
	// the same as PCRE's "$", which Match handles.
	pat := strings.ReplaceAll(src, `\Z`, `$`)
	t, err := syntax.Parse(pat, flags)
	if err != nil {
		r.Err = err
		return r
	}
	pre := ""
	if caseless {
		pre = "(?i)"
	}
	re, err := regexp.Compile(pre + pat)
	if err != nil {
		r.Err = err
		return r
	}
	r.re, r.tree = re, t
	r.NumCap = re.NumSubexp()
	for i, n := range re.SubexpNames() {
		if n != "" {
			r.Names[n] = i
		}
	}
	return r
}

// Match runs the regex on subject as PCRE would and returns the captures
// ($0, $1, ...; "" for a group that did not take part) or nil.
func (r *Regex) Match(subject string) []string {
	if r == nil || r.re == nil {
		return nil
	}
	m := r.re.FindStringSubmatch(subject)
	if m == nil && strings.HasSuffix(subject, "\n") {
		// PCRE's '$' also matches before a final newline; RE2's (without
		// (?m)) only at the very end. Matching the subject without that
		// newline gives the match PCRE finds there for the anchored
		// patterns configurations write.
		m = r.re.FindStringSubmatch(subject[:len(subject)-1])
	}
	return m
}

// Group returns the number of a capture referenced as "1" or "name", or -1.
func (r *Regex) Group(ref string) int {
	if r == nil {
		return -1
	}
	if n, ok := r.Names[ref]; ok {
		return n
	}
	n := 0
	for _, c := range ref {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	if ref == "" || n > r.NumCap {
		return -1
	}
	return n
}

// CanHold reports whether capture group n (0 is the whole match) can
// contain the byte c. It is a property of the pattern alone: a group
// built of "[^.]*" can hold a newline, one of "[a-z]+" cannot. ok is false
// when the regex could not be analysed.
func (r *Regex) CanHold(n int, c byte) (can, ok bool) {
	if r == nil || r.tree == nil {
		return false, false
	}
	if n == 0 {
		return holds(r.tree, rune(c), r.Caseless), true
	}
	g := findCap(r.tree, n)
	if g == nil {
		return false, true
	}
	return holds(g, rune(c), r.Caseless), true
}

// Tree returns the parsed pattern (nil when Err is set), for shape checks.
func (r *Regex) Tree() *syntax.Regexp { return r.tree }

func findCap(t *syntax.Regexp, n int) *syntax.Regexp {
	if t.Op == syntax.OpCapture && t.Cap == n {
		return t
	}
	for _, s := range t.Sub {
		if g := findCap(s, n); g != nil {
			return g
		}
	}
	return nil
}

// holds reports whether some string t matches contains c.
func holds(t *syntax.Regexp, c rune, fold bool) bool {
	switch t.Op {
	case syntax.OpLiteral:
		for _, x := range t.Rune {
			if x == c || (fold || t.Flags&syntax.FoldCase != 0) && strings.EqualFold(string(x), string(c)) {
				return true
			}
		}
		return false
	case syntax.OpCharClass:
		for i := 0; i+1 < len(t.Rune); i += 2 {
			if c >= t.Rune[i] && c <= t.Rune[i+1] {
				return true
			}
		}
		return false
	case syntax.OpAnyCharNotNL:
		return c != '\n'
	case syntax.OpAnyChar:
		return true
	case syntax.OpRepeat:
		if t.Max == 0 {
			return false
		}
	}
	for _, s := range t.Sub {
		if holds(s, c, fold) {
			return true
		}
	}
	return false
}
