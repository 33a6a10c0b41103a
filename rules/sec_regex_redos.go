package rules

import (
	"fmt"
	"regexp/syntax"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// RegexReDoS flags regexes whose nested repetition makes PCRE backtrack
// exponentially.
var RegexReDoS = &analyzer.Rule{
	ID:       "SEC2007",
	Slug:     "regex-redos",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "regex with ambiguous nested repetition (ReDoS: PCRE backtracks exponentially)",
		Text: `nginx matches location, if, rewrite, map and server_name regexes with PCRE, a backtracking
engine. A repetition inside a repetition that can split the same text in many ways, such as
"(a+)+", "(\w+\s?)+" or "(/.*)*", makes a non-matching subject cost time exponential in its length:
a request of a few dozen characters keeps a worker busy until PCRE's match limit stops it (then
nginx logs the error and answers 500), and every other connection of that worker waits.

Flagged when an unbounded repetition contains another whose characters can also start what follows
it inside the outer one (so the two can trade characters). "(/[a-z]+)*" is not flagged: '/' can
only be matched by the outer loop. Rewrite the pattern so each character has one way to be matched
("[\w\s]+" for "(\w+\s?)+"), or bound the repetition.`,
		Bad: `http {
    server {
        listen 80;
        location ~ ^/api/(\w+\s?)+$ {
            return 200;
        }
    }
}
`,
		Good: `http {
    server {
        listen 80;
        location ~ ^/api/[\w\s]+$ {
            return 200;
        }
        location ~ ^/docs(/[a-z0-9-]+)*/?$ {
            return 200;
        }
    }
}
`,
		Since:        "0.3.0",
		References:   []string{"gixy-ng / Gixy-Next regex_redos", "https://owasp.org/www-community/attacks/Regular_expression_Denial_of_Service_-_ReDoS"},
		Confirmation: "not confirmable: the emulator matches with Go's RE2, which runs in linear time; the effect is PCRE's backtracking.",
	},
	Run: func(pass *analyzer.Pass) error {
		check := func(a nginxconf.Arg, src string, caseless bool) {
			re := reqmodel.Compile(src, caseless)
			t := re.Tree()
			if t == nil {
				return
			}
			if inner, outer := nestedAmbiguous(t); inner != nil {
				pass.Report(&analyzer.Diagnostic{Pos: a.Pos, End: a.End(),
					Message: fmt.Sprintf("regex %q repeats %q inside %q: PCRE backtracks exponentially on a crafted subject", src, inner.String(), outer.String()),
					Details: "The inner and the outer repetition can split the same characters in many ways; a long subject that almost matches makes PCRE try them all."})
			}
		}
		if pass.Config == nil {
			return nil
		}
		directiveIndex(pass).Each(func(d *nginxconf.Directive, parents []*nginxconf.Directive) {
			if inValueBlock(parents) {
				return // a map key named like a directive
			}
			switch d.Name {
			case "location":
				if len(d.Args) == 2 && (d.Arg(0) == "~" || d.Arg(0) == "~*") {
					check(d.Args[1], d.Arg(1), d.Arg(0) == "~*")
				} else if len(d.Args) == 1 && strings.HasPrefix(d.Arg(0), "~") && d.Args[0].Quote == 0 {
					src := strings.TrimPrefix(d.Arg(0), "~")
					check(d.Args[0], strings.TrimPrefix(src, "*"), strings.HasPrefix(src, "*"))
				}
			case "rewrite":
				if len(d.Args) >= 2 {
					check(d.Args[0], d.Arg(0), false)
				}
			case "if":
				if c := reqmodel.ParseCond(d); c != nil && c.Regex != nil {
					check(d.Args[len(d.Args)-1], c.Value, strings.HasSuffix(c.Op, "*"))
				}
			case "server_name":
				for _, a := range d.Args {
					if strings.HasPrefix(a.Value, "~") {
						check(a, strings.TrimPrefix(a.Value, "~"), true)
					}
				}
			case "map":
				walkBlock(d.Block, func(e *nginxconf.Directive) {
					if strings.HasPrefix(e.Name, "~") {
						src := strings.TrimPrefix(e.Name, "~")
						check(nginxconf.Arg{Value: e.Name, Raw: e.Name, Pos: e.Pos}, strings.TrimPrefix(src, "*"), strings.HasPrefix(src, "*"))
					}
				})
			}
		}, "location", "rewrite", "if", "server_name", "map")
		return nil
	},
}

// charSet approximates a set of bytes (non-ASCII runes share slot 255).
type charSet [256]bool

func (s *charSet) add(lo, hi rune) {
	for c := lo; c <= hi; c++ {
		if c > 254 {
			s[255] = true
			return
		}
		s[c] = true
	}
}

func (s *charSet) union(o charSet) {
	for i := range s {
		s[i] = s[i] || o[i]
	}
}

func (s charSet) meets(o charSet) bool {
	for i := range s {
		if s[i] && o[i] {
			return true
		}
	}
	return false
}

func unbounded(t *syntax.Regexp) bool {
	return t.Op == syntax.OpStar || t.Op == syntax.OpPlus || t.Op == syntax.OpRepeat && t.Max == -1
}

func strip(t *syntax.Regexp) *syntax.Regexp {
	for t.Op == syntax.OpCapture && len(t.Sub) == 1 {
		t = t.Sub[0]
	}
	return t
}

// nullable reports whether t matches the empty string.
func nullable(t *syntax.Regexp) bool {
	switch t.Op {
	case syntax.OpLiteral:
		return len(t.Rune) == 0
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return false
	case syntax.OpStar, syntax.OpQuest:
		return true
	case syntax.OpRepeat:
		return t.Min == 0 || nullable(t.Sub[0])
	case syntax.OpPlus, syntax.OpCapture:
		return nullable(t.Sub[0])
	case syntax.OpConcat:
		for _, s := range t.Sub {
			if !nullable(s) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, s := range t.Sub {
			if nullable(s) {
				return true
			}
		}
		return false
	}
	return true
}

// first is the set of characters t's matches can start with.
func first(t *syntax.Regexp) charSet {
	var s charSet
	switch t.Op {
	case syntax.OpLiteral:
		if len(t.Rune) > 0 {
			s.add(t.Rune[0], t.Rune[0])
			if t.Flags&syntax.FoldCase != 0 {
				s.add([]rune(strings.ToUpper(string(t.Rune[0])))[0], []rune(strings.ToUpper(string(t.Rune[0])))[0])
				s.add([]rune(strings.ToLower(string(t.Rune[0])))[0], []rune(strings.ToLower(string(t.Rune[0])))[0])
			}
		}
	case syntax.OpCharClass:
		for i := 0; i+1 < len(t.Rune); i += 2 {
			s.add(t.Rune[i], t.Rune[i+1])
		}
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		s.add(0, 255)
	case syntax.OpConcat:
		for _, x := range t.Sub {
			s.union(first(x))
			if !nullable(x) {
				break
			}
		}
	default:
		for _, x := range t.Sub {
			s.union(first(x))
		}
	}
	return s
}

// chars is every character t can consume.
func chars(t *syntax.Regexp) charSet {
	var s charSet
	switch t.Op {
	case syntax.OpLiteral, syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		if t.Op == syntax.OpLiteral {
			for _, r := range t.Rune {
				var one charSet
				lit := &syntax.Regexp{Op: syntax.OpLiteral, Rune: []rune{r}, Flags: t.Flags}
				one = first(lit)
				s.union(one)
			}
			return s
		}
		return first(t)
	}
	for _, x := range t.Sub {
		s.union(chars(x))
	}
	return s
}

// nestedAmbiguous finds an unbounded repetition (outer) holding another
// (inner) whose characters can also begin what follows the inner one in
// the outer's body (its next elements, or the body again).
func nestedAmbiguous(t *syntax.Regexp) (inner, outer *syntax.Regexp) {
	if unbounded(t) {
		body := strip(t.Sub[0])
		loop := first(body)
		elems := []*syntax.Regexp{body}
		if body.Op == syntax.OpConcat {
			elems = body.Sub
		}
		for k, e := range elems {
			e = strip(e)
			if !unbounded(e) || nullable(e.Sub[0]) && chars(e.Sub[0]) == (charSet{}) {
				continue
			}
			var follow charSet
			restNullable := true
			for _, x := range elems[k+1:] {
				follow.union(first(x))
				if !nullable(x) {
					restNullable = false
					break
				}
			}
			if restNullable {
				follow.union(loop)
			}
			if chars(e.Sub[0]).meets(follow) {
				return e, t
			}
		}
	}
	for _, s := range t.Sub {
		if i, o := nestedAmbiguous(s); i != nil {
			return i, o
		}
	}
	return nil, nil
}
