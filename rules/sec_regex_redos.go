package rules

import (
	"fmt"
	"regexp/syntax"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
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
		Confirmation: "real nginx only (--engine nginx|both): a request carries a subject that repeats text both repetitions accept and then fails on one byte (in the path for location, rewrite and if on $uri, in the header or argument an if tests), sent with a control that lacks that byte; confirmed when nginx answers it 500, as it does when PCRE stops at its match limit (pcre2_match -47, logged at alert), and the control otherwise. The emulator matches with Go's RE2, which runs in linear time, so alone it says not-confirmable. Map keys (nginx takes the default on the error) and server_name (the connection is closed without an answer) are not replayed.",
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		// Where each directive applies is needed only for a finding's
		// confirmation: built on the first one (most configurations have
		// none, and the map covers every directive of every server).
		var sites map[*nginxconf.Directive]secSite
		siteOf := func(d *nginxconf.Directive) (secSite, bool) {
			if sites == nil {
				sites = redosSites(pass)
			}
			s, ok := sites[d]
			return s, ok
		}
		check := func(a nginxconf.Arg, src string, caseless bool, confirm func(re *reqmodel.Regex, inner, outer *syntax.Regexp) analyzer.Confirmer) {
			re := reqmodel.Compile(src, caseless)
			t := re.Tree()
			if t == nil {
				return
			}
			if inner, outer := nestedAmbiguous(t); inner != nil {
				diag := &analyzer.Diagnostic{Pos: a.Pos, End: a.End(),
					Message: fmt.Sprintf("regex %q repeats %q inside %q: PCRE backtracks exponentially on a crafted subject", src, inner.String(), outer.String()),
					Details: "The inner and the outer repetition can split the same characters in many ways; a long subject that almost matches makes PCRE try them all."}
				if confirm != nil && pass.Model != nil {
					diag.Confirm = confirm(re, inner, outer)
				}
				pass.Report(diag)
			}
		}
		directiveIndex(pass).Each(func(d *nginxconf.Directive, parents []*nginxconf.Directive) {
			if inValueBlock(parents) {
				return // a map key named like a directive
			}
			// confirmWith crafts the requests for a regex matched against
			// what subject names ("" for the request path) where d applies.
			confirmWith := func(subject string) func(re *reqmodel.Regex, inner, outer *syntax.Regexp) analyzer.Confirmer {
				return func(re *reqmodel.Regex, inner, outer *syntax.Regexp) analyzer.Confirmer {
					s, inHTTP := siteOf(d)
					if !inHTTP {
						return nil
					}
					return redosConfirm(pass, s, d, subject, re, inner, outer)
				}
			}
			switch d.Name {
			case "location":
				if len(d.Args) == 2 && (d.Arg(0) == "~" || d.Arg(0) == "~*") {
					check(d.Args[1], d.Arg(1), d.Arg(0) == "~*", confirmWith("$uri"))
				} else if len(d.Args) == 1 && strings.HasPrefix(d.Arg(0), "~") && d.Args[0].Quote == 0 {
					src := strings.TrimPrefix(d.Arg(0), "~")
					check(d.Args[0], strings.TrimPrefix(src, "*"), strings.HasPrefix(src, "*"), confirmWith("$uri"))
				}
			case "rewrite":
				if len(d.Args) >= 2 {
					check(d.Args[0], d.Arg(0), false, confirmWith("$uri"))
				}
			case "if":
				if c := reqmodel.ParseCond(d); c != nil && c.Regex != nil {
					check(d.Args[len(d.Args)-1], c.Value, strings.HasSuffix(c.Op, "*"), confirmWith(c.Var))
				}
			case "server_name":
				for _, a := range d.Args {
					if strings.HasPrefix(a.Value, "~") {
						check(a, strings.TrimPrefix(a.Value, "~"), true, func(*reqmodel.Regex, *syntax.Regexp, *syntax.Regexp) analyzer.Confirmer {
							// ngx_http_set_virtual_server: on a PCRE error the
							// request is closed (ngx_http_close_request), no
							// answer is written, which the replay does not judge.
							return notConfirmable("on a PCRE error nginx closes the connection without an answer; a Host is not replayed for server_name")
						})
					}
				}
			case "map":
				walkBlock(d.Block, func(e *nginxconf.Directive) {
					if strings.HasPrefix(e.Name, "~") {
						src := strings.TrimPrefix(e.Name, "~")
						check(nginxconf.Arg{Value: e.Name, Raw: e.Name, Pos: e.Pos}, strings.TrimPrefix(src, "*"), strings.HasPrefix(src, "*"), func(*reqmodel.Regex, *syntax.Regexp, *syntax.Regexp) analyzer.Confirmer {
							// ngx_http_map_find returns NULL on a PCRE error and
							// ngx_http_map_variable takes the default: no status
							// shows it, only the time and the error log.
							return notConfirmable("on a PCRE error nginx takes the map's default value, so no answer shows it (only time and the error log)")
						})
					}
				})
			}
		}, "location", "rewrite", "if", "server_name", "map")
		return nil
	},
}

// redosSites maps every directive of the http servers and locations (if
// blocks included) and every location directive to where it applies: the
// location whose requests evaluate the regex.
func redosSites(pass *analyzer.Pass) map[*nginxconf.Directive]secSite {
	sites := map[*nginxconf.Directive]secSite{}
	if pass.Model == nil || pass.Model.HTTP == nil {
		return sites
	}
	eachHTTPDirective(pass, func(s secSite, d *nginxconf.Directive) {
		if d.Name != "location" {
			sites[d] = s
		}
	})
	a := secAnalysis(pass)
	for _, srv := range pass.Model.HTTP.Servers {
		for _, l := range srv.AllLocations {
			if l.Directive != nil {
				sites[l.Directive] = secSite{srv: srv, loc: l, a: a}
			}
		}
	}
	return sites
}

// redosBadPath are the failing bytes tried in a request path: none is
// '/', '.' or '%', which nginx's URI normalisation would merge, resolve
// or decode, and the last, a newline (%0A), fails where '.' could take
// any of the others.
const (
	redosBadPath  = "!~@;='*\n"
	redosBadValue = "!~@;='*"
)

// redosConfirm crafts the request that makes real nginx's PCRE give up on
// the regex at s: the Backtrack subject carried by the request path
// ($uri: location, rewrite, if), a header ($http_*) or an argument
// ($arg_*), and its control, the same without the failing byte. nginx
// answers 500 when pcre2_match fails with an error other than "no match"
// (PCRE2_ERROR_MATCHLIMIT -47 here): ngx_http_regex_exec returns
// NGX_ERROR, which ngx_http_core_find_location turns into a 500 for a
// location and ngx_http_script_regex_start_code into a 500 for rewrite and
// if. The emulator matches with RE2 in linear time, so it cannot show
// this; the check is real-nginx-only (requestCheck.realOnly).
func redosConfirm(pass *analyzer.Pass, s secSite, d *nginxconf.Directive, subject string, re *reqmodel.Regex, inner, outer *syntax.Regexp) analyzer.Confirmer {
	subject = strings.ToLower(subject)
	var mk func(path, v string) (emulator.Request, bool)
	switch {
	case subject == "$uri" || subject == "$document_uri":
		mk = func(_, v string) (emulator.Request, bool) {
			p := reqmodel.PercentEncode(v)
			// The subject must reach the regex as crafted: nginx merges
			// slashes and resolves dot segments before matching.
			if u, err := reqmodel.NormalizeURI(p, true); err != nil || u != v {
				return emulator.Request{}, false
			}
			return emulator.Request{Path: p}, true
		}
		return redosChecks(pass, s, d, re, inner, outer, "/", redosBadPath, nil, mk)
	case subject == "$request_uri":
		mk = func(_, v string) (emulator.Request, bool) {
			// $request_uri is the target as sent: only a subject that
			// can be sent raw, and that nginx's parser takes as a plain
			// path (no query, no dot segment, no slashes to merge).
			if !argSafe(v) || !strings.HasPrefix(v, "/") || strings.ContainsAny(v, "?") || strings.Contains(v, "/.") || strings.Contains(v, "//") {
				return emulator.Request{}, false
			}
			return emulator.Request{Path: v}, true
		}
		return redosChecks(pass, s, d, re, inner, outer, "/", redosBadValue, nil, mk)
	case strings.HasPrefix(subject, "$http_") && subject != "$http_host":
		name := strings.ReplaceAll(strings.TrimPrefix(subject, "$http_"), "_", "-")
		mk = func(path, v string) (emulator.Request, bool) {
			if !headerSafe(v) {
				return emulator.Request{}, false
			}
			return emulator.Request{Path: path, Headers: []emulator.Header{{Name: name, Value: v}}}, true
		}
		return redosChecks(pass, s, d, re, inner, outer, "", redosBadValue, routeTo(s.a, s.loc), mk)
	case strings.HasPrefix(subject, "$arg_"):
		name := strings.TrimPrefix(subject, "$arg_")
		mk = func(path, v string) (emulator.Request, bool) {
			// $arg_* is the raw argument: only what needs no encoding.
			if !argSafe(v) || strings.Contains(path, "?") {
				return emulator.Request{}, false
			}
			return emulator.Request{Path: path + "?" + name + "=" + v}, true
		}
		return redosChecks(pass, s, d, re, inner, outer, "", redosBadValue, routeTo(s.a, s.loc), mk)
	}
	return notConfirmable("the regex is matched against " + subject + ", which the crafted requests do not set")
}

// redosChecks builds the Backtrack subjects of re and, for each path in
// paths (or once, with paths nil, when the subject is the path itself),
// the attack and its control as mk carries them. The check is realOnly:
// real nginx confirms it by answering the attack 500 and the control
// otherwise. routed, judged on the emulator's answer to the control (which
// RE2 matches, unlike the attack), must show the request reaches the
// regex: the location served, or the if block taken.
func redosChecks(pass *analyzer.Pass, s secSite, d *nginxconf.Directive, re *reqmodel.Regex, inner, outer *syntax.Regexp, lead, bads string, paths []string, mk func(path, v string) (emulator.Request, bool)) analyzer.Confirmer {
	bt, ok := re.Backtrack(outer, inner, lead, bads)
	if !ok {
		return notConfirmable("no subject could be crafted on which PCRE backtracks through the nested repetition")
	}
	if paths == nil {
		paths = []string{""}
	}
	wantLoc := "" // the server level: any location will do
	if s.loc != nil {
		wantLoc = strings.TrimSpace(s.loc.Modifier + " " + s.loc.Path)
	}
	wantIf := ""
	if d.Name == "if" {
		wantIf = argsText(d)
	}
	var checks []requestCheck
	for _, p := range paths {
		rq, ok1 := mk(p, bt.Attack)
		ctrl, ok2 := mk(p, bt.Control)
		if !ok1 || !ok2 {
			continue
		}
		checks = append(checks, requestCheck{req: rq, control: &ctrl,
			realOnly: "RE2 runs in linear time; real nginx decides: --engine nginx|both",
			contrast: func(x, c *emulator.Exchange) (bool, string) {
				if c == nil {
					return false, "no answer to the control"
				}
				if x.Status == 500 && c.Status != 500 {
					return true, fmt.Sprintf("500 (PCRE gave up: match limit); without the failing byte: %d", c.Status)
				}
				return false, fmt.Sprintf("%d; without the failing byte: %d", x.Status, c.Status)
			},
			routed: func(c *emulator.Exchange) (bool, string) {
				if wantIf != "" && c.If == wantIf {
					return true, ""
				}
				if wantLoc != "" && c.Location != wantLoc {
					return false, fmt.Sprintf("the control is served by %q, not %q", c.Location, wantLoc)
				}
				return true, ""
			}})
	}
	if len(checks) == 0 {
		return notConfirmable("the crafted subject cannot be sent as it is (nginx would normalise or refuse it)")
	}
	return requestConfirmer(pass, s.srv, nil, checks)
}

// headerSafe reports whether v goes on a header line as it is: printable
// ASCII, and no blank at either end, which nginx strips from the value.
func headerSafe(v string) bool {
	if v == "" || v[0] == ' ' || v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < ' ' || v[i] > '~' {
			return false
		}
	}
	return true
}

// argSafe reports whether v can be sent raw as an argument's value:
// printable ASCII that neither ends the value ('&', '#', a blank) nor reads
// as an escape ('%', '+' for a blank to some backends).
func argSafe(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' || strings.IndexByte("&#%+", v[i]) >= 0 {
			return false
		}
	}
	return v != ""
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
