package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
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
		Confirmation: "not confirmable yet.",
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		report := func(re *reqmodel.Regex, what string, vals ...nginxconf.Arg) {
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
						Details: "The regex that ran last defines the numbered captures, and a missing one is an empty string. Add the group, or name it ((?<name>...)) and write $name."})
					break
				}
			}
		}
		pass.Config.Walk(func(d *nginxconf.Directive, parents []*nginxconf.Directive) bool {
			switch d.Name {
			case "rewrite":
				if len(d.Args) >= 2 {
					report(reqmodel.Compile(d.Arg(0), false), "the rewrite's regex", d.Args[1])
				}
			case "if":
				c := reqmodel.ParseCond(d)
				if c == nil || c.Regex == nil || strings.HasPrefix(c.Op, "!") {
					// A failed match leaves the previous captures in place.
					return true
				}
				for _, x := range reqmodel.Flatten(d.Block) {
					if x.Name == "rewrite" || x.Name == "if" {
						break // runs a regex of its own
					}
					if x.Name == "set" && len(x.Args) == 2 {
						report(c.Regex, "the if's regex", x.Args[1])
					}
					if x.Name == "return" {
						report(c.Regex, "the if's regex", x.Args...)
					}
				}
			case "map":
				if len(parents) > 0 && parents[len(parents)-1].Name != "http" {
					return true // stream maps work the same, but are rare enough to leave
				}
				for _, e := range reqmodel.Flatten(d.Block) {
					key := e.Name
					if len(e.Args) != 1 || !strings.HasPrefix(key, "~") {
						continue
					}
					caseless := strings.HasPrefix(key, "~*")
					report(reqmodel.Compile(strings.TrimPrefix(strings.TrimPrefix(key, "~"), "*"), caseless), "the map entry's regex", e.Args[0])
				}
				return false
			}
			return true
		})
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
