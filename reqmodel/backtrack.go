package reqmodel

import (
	"regexp/syntax"
	"strings"
)

// BacktrackReps is how many times a Backtrack subject repeats the string
// both repetitions accept. Each repetition at least doubles the ways a
// backtracking matcher can split the text, so 2^26 splits are far beyond
// PCRE2's default match limit of 10,000,000 (what nginx runs with: it
// passes no match context to pcre2_match, ngx_regex_exec), while the
// subject stays a few dozen bytes.
const BacktrackReps = 26

// maxBacktrackSubject bounds a Backtrack subject: percent-encoded it must
// fit in a request line or a header line of nginx's default 8k buffers
// (large_client_header_buffers 4 8k) with room to spare.
const maxBacktrackSubject = 512

// Backtrack is a subject that makes a backtracking matcher (PCRE) try
// every way an ambiguous nested repetition can split it, and its control.
type Backtrack struct {
	// Attack is Prefix + Rep×BacktrackReps + a failing byte + the rest of
	// what the pattern needs: the match fails at the failing byte, after
	// the nested repetition has taken the repeated text, so PCRE tries all
	// its splits before it gives up. The rest is kept so that PCRE's
	// "required last character" check, which rejects a subject lacking a
	// literal every match must contain before any backtracking, does not
	// stop it early.
	Attack string
	// Control is the attack without the failing byte: the regex matches
	// it, and PCRE's first, greedy, attempt finds that match.
	Control string
	// Bad is the index of the failing byte in Attack.
	Bad int
}

// Backtrack builds the Backtrack subject for the unbounded repetition
// outer, a node of r.Tree(), which holds the repetition inner whose text
// the outer one can also take. lead is prepended unless the generated
// subject starts with it ("/" for a request path); the failing byte is
// the first of bads that makes the attack fail. The subjects are checked
// with r: the control must match, and the attack must not match, or (the
// pattern is not anchored at the start) match only from the failing byte
// on, so every start inside the repeated text fails after trying all
// splits. ok is false when no such pair is found.
func (r *Regex) Backtrack(outer, inner *syntax.Regexp, lead, bads string) (Backtrack, bool) {
	if r == nil || r.tree == nil || outer == nil || inner == nil || !within(r.tree, outer) || !within(outer, inner) {
		return Backtrack{}, false
	}
	// One turn of the outer loop, with the inner repetition taken at
	// least once: "(\w+\s?)*" turns on "a", "(.*/)*" on "a/" (not "/",
	// which nginx would merge with the next one in a path).
	var rb strings.Builder
	genThrough(outer.Sub[0], inner, &rb, func(b *strings.Builder) {
		k := max(inner.Min, 1)
		for range k {
			genPlain(inner.Sub[0], b)
		}
	})
	rep := rb.String()
	if rep == "" {
		return Backtrack{}, false
	}
	reps := max(BacktrackReps, outer.Min)
	if len(rep)*reps > maxBacktrackSubject {
		return Backtrack{}, false
	}
	var b strings.Builder
	mark := -1
	genThrough(r.tree, outer, &b, func(b *strings.Builder) {
		mark = b.Len()
		b.WriteString(strings.Repeat(rep, reps))
	})
	if mark < 0 {
		return Backtrack{}, false
	}
	s := b.String()
	if !strings.HasPrefix(s, lead) {
		s, mark = lead+s, mark+len(lead)
	}
	cut := mark + len(rep)*reps
	head, tail := s[:cut], s[cut:]
	control := head + tail
	if r.Match(control) == nil {
		return Backtrack{}, false
	}
	for i := 0; i < len(bads); i++ {
		// With the rest first; without it when the rest alone completes
		// a match of an unanchored pattern.
		for _, rest := range []string{tail, ""} {
			attack := head + bads[i:i+1] + rest
			if r.failsFrom(attack, cut) {
				return Backtrack{Attack: attack, Control: control, Bad: cut}, true
			}
		}
	}
	return Backtrack{}, false
}

// failsFrom reports whether no match of r in s starts before index bad
// (none at all, or the leftmost one starts at bad or later).
func (r *Regex) failsFrom(s string, bad int) bool {
	if r.Match(s) == nil {
		return true
	}
	loc := r.re.FindStringIndex(s)
	return loc != nil && loc[0] >= bad
}

// within reports whether node is t or one of its descendants.
func within(t, node *syntax.Regexp) bool {
	if t == node {
		return true
	}
	for _, s := range t.Sub {
		if within(s, node) {
			return true
		}
	}
	return false
}

// genThrough writes a short subject t matches that goes through target,
// whose text at calls write: an optional or alternative part holding
// target is taken, everything else is generated as Witness does.
func genThrough(t, target *syntax.Regexp, b *strings.Builder, at func(*strings.Builder)) {
	if t == target {
		at(b)
		return
	}
	if !within(t, target) {
		genPlain(t, b)
		return
	}
	switch t.Op {
	case syntax.OpCapture, syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		genThrough(t.Sub[0], target, b, at)
	case syntax.OpRepeat:
		genThrough(t.Sub[0], target, b, at)
		for i := 1; i < t.Min && i < 64; i++ {
			genPlain(t.Sub[0], b)
		}
	case syntax.OpConcat:
		for _, s := range t.Sub {
			genThrough(s, target, b, at)
		}
	case syntax.OpAlternate:
		for _, s := range t.Sub {
			if within(s, target) {
				genThrough(s, target, b, at)
				return
			}
		}
	}
}

// genPlain is Witness's generator with no payload: the shortest text
// each part allows.
func genPlain(t *syntax.Regexp, b *strings.Builder) {
	placed := false
	gen(t, 0, "", b, &placed)
}
