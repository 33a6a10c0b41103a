package rules

import (
	"fmt"
	"regexp"
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
		Confirmation: "real nginx only (--engine nginx|both): a request carries a subject that repeats text both repetitions accept and then fails on one byte (in the path for location, rewrite and if on $uri, in the header or argument an if tests), sent with a control that lacks that byte; confirmed when nginx answers it 500, as it does when PCRE stops at its match limit (pcre2_match -47, logged at alert), and the control otherwise. A map key's subject goes in the map's source variable (a header, an argument or the path) on a request to where the map's variable is read; nginx then takes the default, so no status shows it: confirmed when nginx's error.log holds, for that request, the alert naming the attack subject (pcre2_match() failed: -47 on the subject) and none for the control. The emulator matches with Go's RE2, which runs in linear time, so alone it says not-confirmable. A server_name regex is sent as the Host, judged by the log the same way (nginx closes the connection without an answer); it is not confirmable where nginx never runs it: a server alone on its listen socket whose last regex name has no capture.",
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
					return redosConfirm(pass, s, d, subject, re, inner, outer, false)
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
						check(a, strings.TrimPrefix(a.Value, "~"), true, func(re *reqmodel.Regex, inner, outer *syntax.Regexp) analyzer.Confirmer {
							s, inHTTP := siteOf(d)
							if !inHTTP {
								return nil
							}
							return redosServerNameConfirm(pass, s, d, re, inner, outer)
						})
					}
				}
			case "map":
				for _, e := range reqmodel.Flatten(d.Block) {
					if strings.HasPrefix(e.Name, "~") {
						src := strings.TrimPrefix(strings.TrimPrefix(e.Name, "~"), "*")
						check(nginxconf.Arg{Value: e.Name, Raw: e.Name, Pos: e.Pos}, src, strings.HasPrefix(e.Name, "~*"), func(re *reqmodel.Regex, inner, outer *syntax.Regexp) analyzer.Confirmer {
							return redosMapConfirm(pass, d, re, inner, outer)
						})
					}
				}
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
//
// With byLog set no status shows the failure, and the check is judged by
// real nginx's error.log instead (redosLogged).
func redosConfirm(pass *analyzer.Pass, s secSite, d *nginxconf.Directive, subject string, re *reqmodel.Regex, inner, outer *syntax.Regexp, byLog bool) analyzer.Confirmer {
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
		return redosChecks(pass, s, d, re, inner, outer, "/", redosBadPath, nil, mk, byLog)
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
		return redosChecks(pass, s, d, re, inner, outer, "/", redosBadValue, nil, mk, byLog)
	case strings.HasPrefix(subject, "$http_") && subject != "$http_host":
		name := strings.ReplaceAll(strings.TrimPrefix(subject, "$http_"), "_", "-")
		mk = func(path, v string) (emulator.Request, bool) {
			if !headerSafe(v) {
				return emulator.Request{}, false
			}
			return emulator.Request{Path: path, Headers: []emulator.Header{{Name: name, Value: v}}}, true
		}
		return redosChecks(pass, s, d, re, inner, outer, "", redosBadValue, routeTo(s.a, s.loc), mk, byLog)
	case strings.HasPrefix(subject, "$arg_"):
		name := strings.TrimPrefix(subject, "$arg_")
		mk = func(path, v string) (emulator.Request, bool) {
			// $arg_* is the raw argument: only what needs no encoding.
			if !argSafe(v) || strings.Contains(path, "?") {
				return emulator.Request{}, false
			}
			return emulator.Request{Path: path + "?" + name + "=" + v}, true
		}
		return redosChecks(pass, s, d, re, inner, outer, "", redosBadValue, routeTo(s.a, s.loc), mk, byLog)
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
//
// With byLog set the pair is judged by what real nginx logged instead of
// the status (redosLogged).
func redosChecks(pass *analyzer.Pass, s secSite, d *nginxconf.Directive, re *reqmodel.Regex, inner, outer *syntax.Regexp, lead, bads string, paths []string, mk func(path, v string) (emulator.Request, bool), byLog bool) analyzer.Confirmer {
	bt, ok := re.Backtrack(outer, inner, lead, bads)
	if !ok {
		return notConfirmable("no subject could be crafted on which PCRE backtracks through the nested repetition")
	}
	contrast := redosBy500
	if byLog {
		contrast = redosLogged(bt.Attack)
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
			contrast: contrast, answerless: byLog,
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

// redosBy500 judges an attack and its control by status: nginx answers
// 500 when PCRE gives up (redosConfirm), and the control otherwise.
func redosBy500(x, c *emulator.Exchange) (bool, string) {
	if c == nil {
		return false, "no answer to the control"
	}
	if x.Status == 500 && c.Status != 500 {
		return true, fmt.Sprintf("500 (PCRE gave up: match limit); without the failing byte: %d", c.Status)
	}
	return false, fmt.Sprintf("%d; without the failing byte: %d", x.Status, c.Status)
}

// pcreLimitErrors are the codes ngx_regex_exec_n fails with when PCRE
// stops backtracking at one of its limits, by the function nginx names in
// the log line: PCRE2's MATCHLIMIT (-47), DEPTHLIMIT (-53), HEAPLIMIT
// (-63) and JIT_STACKLIMIT (-46) from pcre2.h; the old PCRE's MATCHLIMIT
// (-8), RECURSIONLIMIT (-21) and JIT_STACKLIMIT (-27) from pcre.h.
var pcreLimitErrors = map[string]map[string]string{
	"pcre2_match": {"-47": "match limit", "-53": "depth limit", "-63": "heap limit", "-46": "JIT stack limit"},
	"pcre_exec":   {"-8": "match limit", "-21": "recursion limit", "-27": "JIT stack limit"},
}

// rePCREFailure matches the start of the alert ngx_http_regex_exec logs
// when PCRE fails other than by not matching:
// `pcre2_match() failed: -47 on "<subject>" using "<regex>"`.
var rePCREFailure = regexp.MustCompile(`\b(pcre2_match|pcre_exec)\(\) failed: (-?[0-9]+) on "`)

// pcreFailure finds the line of lines where PCRE hit a limit on subject
// (on any subject when subject is ""). It returns the failure as logged
// and the limit hit. The regex the line names is not compared: for a map
// key nginx 1.22 logs bytes of the freed configuration buffer there
// (ngx_http_map's rc.pattern points into cf->args), not the pattern.
func pcreFailure(lines []string, subject string) (failed, limit string, ok bool) {
	for _, l := range lines {
		m := rePCREFailure.FindStringSubmatchIndex(l)
		if m == nil {
			continue
		}
		fn, code := l[m[2]:m[3]], l[m[4]:m[5]]
		// Case is not compared: nginx logs a Host lowercased
		// (ngx_http_validate_host), and server_name regexes are caseless.
		if rest := l[m[1]:]; subject != "" && (len(rest) < len(subject) || !strings.EqualFold(rest[:len(subject)], subject) || !strings.HasPrefix(rest[len(subject):], `" using "`)) {
			continue
		}
		if lim, isLimit := pcreLimitErrors[fn][code]; isLimit {
			return fn + "() failed: " + code, lim, true
		}
	}
	return "", "", false
}

// redosLogged judges an attack and its control by real nginx's error.log,
// where a status shows nothing (a map takes its default on the error): the
// attack is confirmed when nginx logged that PCRE hit a limit on the
// attack subject, and logged no such failure while serving the control.
// The requests are sent one at a time and the subject is the crafted one,
// so the line is this request's. The emulator, which logs nothing, makes
// no claim (the check is realOnly).
func redosLogged(attack string) func(x, c *emulator.Exchange) (bool, string) {
	return func(x, c *emulator.Exchange) (bool, string) {
		if c == nil {
			return false, "no answer to the control"
		}
		failed, limit, hit := pcreFailure(x.ErrorLog, attack)
		if !hit && x.Status == 0 {
			return false, "no answer, no PCRE failure logged"
		}
		if !hit {
			return false, fmt.Sprintf("%d, no PCRE failure logged", x.Status)
		}
		if cf, _, chit := pcreFailure(c.ErrorLog, ""); chit {
			return false, fmt.Sprintf("logged %q, but also for the control", cf)
		}
		return true, fmt.Sprintf("logged %q (%s); control: none", failed, limit)
	}
}

// redosMapConfirm crafts the requests for a regex key of the map d: the
// Backtrack subject goes in the map's source variable, on a request to
// the first place that reads the map's variable (a map is evaluated only
// when its variable is read). ngx_http_map_find returns NULL when PCRE
// fails and ngx_http_map_variable then takes the default value, so no
// answer shows the failure: what does is the alert ngx_http_regex_exec
// logs, naming the subject and the regex, which real nginx's error.log
// holds (redosLogged).
func redosMapConfirm(pass *analyzer.Pass, d *nginxconf.Directive, re *reqmodel.Regex, inner, outer *syntax.Regexp) analyzer.Confirmer {
	if len(d.Args) != 2 {
		return notConfirmable("the map has no source and variable to craft a request for")
	}
	src, v := d.Arg(0), d.Arg(1)
	if refs := reqmodel.Refs(src); len(refs) != 1 || "$"+refs[0].Name != src && "${"+refs[0].Name+"}" != src {
		return notConfirmable("the map's source " + src + " is not a single variable a request sets")
	}
	site := mapUseSite(pass, v)
	if site == nil {
		return notConfirmable(v + " is read nowhere, so no request makes nginx evaluate the map")
	}
	return redosConfirm(pass, *site, d, "$"+reqmodel.Refs(src)[0].Name, re, inner, outer, true)
}

// redosServerNameConfirm crafts the requests for a regex server_name: the
// Backtrack subject is the Host. On the PCRE error
// ngx_http_set_virtual_server closes the request without an answer
// (ngx_http_close_request), so the check is judged by the alert in real
// nginx's error.log (redosLogged), with or without an answer. nginx runs
// the regex only where it builds the socket's names (emulator.RegexNamesRun).
func redosServerNameConfirm(pass *analyzer.Pass, s secSite, d *nginxconf.Directive, re *reqmodel.Regex, inner, outer *syntax.Regexp) analyzer.Confirmer {
	if !emulator.RegexNamesRun(pass.Model.HTTP.Servers, s.srv) {
		return notConfirmable("nginx never runs this regex: the server is alone on its listen socket and its last regex name has no capture, so ngx_http_optimize_servers builds no server names there")
	}
	mk := func(_, v string) (emulator.Request, bool) {
		// nginx folds the Host to lower case before matching, and the
		// regex is caseless: the lowercased subject backtracks alike.
		v = strings.ToLower(v)
		if !hostSafe(v) {
			return emulator.Request{}, false
		}
		return emulator.Request{Path: "/", Headers: []emulator.Header{{Name: "Host", Value: v}}}, true
	}
	return redosChecks(pass, s, d, re, inner, outer, "", redosBadValue, nil, mk, true)
}

// hostSafe reports whether v reaches the server_name regexes as it is:
// a header value that ngx_http_validate_host accepts and leaves alone (no
// port or IPv6 literal to cut, no path separator, no empty label, no
// trailing dot to strip, and lower case, which it would fold).
func hostSafe(v string) bool {
	return headerSafe(v) && !strings.ContainsAny(v, `:[]/\`) && v == strings.ToLower(v) &&
		!strings.HasPrefix(v, ".") && !strings.HasSuffix(v, ".") && !strings.Contains(v, "..")
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
