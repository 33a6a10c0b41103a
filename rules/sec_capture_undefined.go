package rules

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// CaptureUndefined flags a $1..$9 that the regex which has just run does
// not define: nginx substitutes an empty string.
var CaptureUndefined = &analyzer.Rule{
	ID:       "SEC2008",
	Slug:     "capture-undefined",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "$N refers to a group the regex does not have, so it is always empty",
		Text: `Each regex nginx evaluates replaces the request's numbered captures with its own
(ngx_http_regex_exec sets r->ncaptures from the match, also to none for a regex without groups), and a
reference to a capture the match did not produce yields an empty string, with no error. Tested on Debian's
nginx 1.22.1: in "location ~ ^/(x.*)$ { rewrite ^/x /y/$1 redirect; }" the redirect goes to /y/, the
location's capture is gone.

Reported where the regex a $N reads is certain: a rewrite's replacement (its own regex has just matched),
the directives of an "if ($var ~ regex)" block up to the first that runs another regex (set, return), and
the value of a regex map entry (its key has just matched). Only $1 to $9 exist: nginx reads one digit, so
"$12" is $1 followed by "2". Named groups count in the numbering as in PCRE. A regex that Go's RE2 cannot
parse (lookaround, backreferences, atomic groups, PCRE's (?|...)) is not judged. The fix is to add the
group, or to name it and write $name.`,
		Bad: `http {
    server {
        listen 80;
        location /old/ {
            rewrite ^/old/ /new/$1 permanent;
        }
    }
}
`,
		Good: `http {
    server {
        listen 80;
        location /old/ {
            rewrite ^/old/(.*)$ /new/$1 permanent;
        }
    }
}
`,
		Since: "0.3.0",
		References: []string{"https://nginx.org/en/docs/http/ngx_http_rewrite_module.html#rewrite",
			"nginx src/http/ngx_http_variables.c (ngx_http_regex_exec), src/http/ngx_http_script.c (ngx_http_script_copy_capture_code)",
			"Gixy-Next invalid_regex"},
		Confirmation: `for a rewrite that redirects (redirect, permanent, or a replacement starting with
http://, https:// or $scheme), confirmed by the emulator's request path: a request routed to the rewrite's
location whose URI its regex matches must be redirected to the replacement with the missing capture empty
(the Location header, without its scheme://host, equals the replacement filled from the match with $N as
""). With --engine nginx or both it is replayed on the real binary. Not confirmable for an internal rewrite,
an if's set or return, or a map value: the empty capture shows only through whatever later reads the URI or
the variable, which the rule does not follow. Differential suite:
emulator/nginxengine/testdata/reqpath/seclast.txtar.`,
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		report := func(re *reqmodel.Regex, what string, at *nginxconf.Directive, vals ...nginxconf.Arg) {
			if re == nil || re.Err != nil {
				return
			}
			for _, a := range vals {
				for _, ref := range reqmodel.Refs(a.Value) {
					n := int(ref.Name[0] - '0')
					if len(ref.Name) != 1 || n < 1 || n > 9 || a.Value[ref.Start+1] == '{' || n <= re.NumCap {
						continue
					}
					pass.Report(&analyzer.Diagnostic{Pos: a.Pos, End: a.End(),
						Message: fmt.Sprintf("$%d is always empty here: %s %q has %s", n, what, re.Src, groups(re.NumCap)),
						Details: "The regex that ran last defines the numbered captures, and a missing one is an empty string. Add the group, or name it ((?<name>...)) and write $name.",
						Confirm: captureConfirm(pass, at, re)})
					break
				}
			}
		}
		directiveIndex(pass).Each(func(d *nginxconf.Directive, parents []*nginxconf.Directive) {
			if inValueBlock(parents) {
				return // a map key, not a directive
			}
			switch d.Name {
			case "rewrite":
				if len(d.Args) >= 2 {
					report(reqmodel.Compile(d.Arg(0), false), "the rewrite's regex", d, d.Args[1])
				}
			case "if":
				c := reqmodel.ParseCond(d)
				if c == nil || c.Regex == nil || strings.HasPrefix(c.Op, "!") {
					// A failed match leaves the previous captures in place.
					return
				}
				for _, x := range reqmodel.Flatten(d.Block) {
					if x.Name == "rewrite" || x.Name == "if" {
						break // runs a regex of its own
					}
					if x.Name == "set" && len(x.Args) == 2 {
						report(c.Regex, "the if's regex", nil, x.Args[1])
					}
					if x.Name == "return" {
						report(c.Regex, "the if's regex", nil, x.Args...)
					}
				}
			case "map":
				if len(parents) > 0 && parents[len(parents)-1].Name != "http" {
					return // stream maps work the same, but are rare enough to leave
				}
				for _, e := range reqmodel.Flatten(d.Block) {
					key := e.Name
					if len(e.Args) != 1 || !strings.HasPrefix(key, "~") {
						continue
					}
					caseless := strings.HasPrefix(key, "~*")
					report(reqmodel.Compile(strings.TrimPrefix(strings.TrimPrefix(key, "~"), "*"), caseless), "the map entry's regex", nil, e.Args[0])
				}
			}
		}, "rewrite", "if", "map")
		return nil
	},
}

func groups(n int) string {
	switch n {
	case 0:
		return "no group"
	case 1:
		return "one group"
	}
	return fmt.Sprintf("%d groups", n)
}

// captureConfirm crafts a request to a redirecting rewrite (rw; nil for
// the if and map cases, which are not confirmable) whose regex re matches
// its URI and checks that the Location is the replacement filled from that
// match, the missing capture as "". The request paths are the location's
// route and the regex's own witness, each kept only if re matches it.
func captureConfirm(pass *analyzer.Pass, rw *nginxconf.Directive, re *reqmodel.Regex) analyzer.Confirmer {
	if rw == nil {
		return notConfirmable("the empty capture goes into a variable, which shows only where something later reads it; the rule does not follow it there")
	}
	repl := rw.Arg(1)
	if !isRedirectRewrite(rw) {
		return notConfirmable("an internal rewrite's URI shows only through what that URI serves; no request is crafted")
	}
	p, ok := placeOf(pass, rw)
	if !ok {
		return notConfirmable("the rewrite is not in a server or location a request reaches")
	}
	for _, ref := range reqmodel.Refs(repl) {
		if re.Group(ref.Name) < 0 && !(len(ref.Name) == 1 && ref.Name[0] >= '1' && ref.Name[0] <= '9') {
			return notConfirmable("the replacement reads $" + ref.Name + ", whose value the check cannot predict")
		}
	}
	var cands []string
	if p.loc != nil {
		cands = routeTo(secAnalysis(pass), p.loc)
	} else {
		cands = []string{"/"}
	}
	if w, ok := re.Witness(0, ""); ok {
		cands = append(cands, reqmodel.PercentEncode("/"+strings.TrimPrefix(w, "/")))
	}
	var checks []requestCheck
	for _, path := range dedupe(cands) {
		m := re.Match(path)
		if m == nil || strings.ContainsAny(path, "%?") {
			continue // the check compares against the decoded URI it matched
		}
		want := fill(repl, re, m)
		shows := func(x *emulator.Exchange) (bool, string) {
			locs := x.Header("Location")
			if len(locs) == 0 {
				return false, fmt.Sprintf("%d without a Location", x.Status)
			}
			got := locs[0]
			if strings.HasPrefix(want, "/") {
				if rest, ok := strings.CutPrefix(got, "http://"); ok {
					if i := strings.IndexByte(rest, '/'); i >= 0 {
						got = rest[i:]
					}
				}
			}
			if got != want {
				return false, fmt.Sprintf("%d to %s, not %s", x.Status, locs[0], want)
			}
			return true, fmt.Sprintf("%d to %s: the missing capture is empty", x.Status, locs[0])
		}
		var routed func(x *emulator.Exchange) (bool, string)
		if p.loc != nil {
			routed = routedTo(p, "rewrite")
		}
		checks = append(checks, requestCheck{req: emulator.Request{Path: path}, shows: shows, routed: routed})
	}
	return requestConfirmer(pass, p.srv, nil, checks)
}

// fill is a rewrite's replacement with its references taken from the
// match m of re: a group that does not exist, as in nginx's
// ngx_http_script_copy_capture_code, is "".
func fill(repl string, re *reqmodel.Regex, m []string) string {
	var b strings.Builder
	last := 0
	for _, ref := range reqmodel.Refs(repl) {
		b.WriteString(repl[last:ref.Start])
		last = ref.End
		n := re.Group(ref.Name)
		if n < 0 {
			n, _ = strconv.Atoi(ref.Name)
		}
		if n > 0 && n < len(m) {
			b.WriteString(m[n])
		}
	}
	b.WriteString(repl[last:])
	return b.String()
}
