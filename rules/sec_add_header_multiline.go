package rules

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// AddHeaderMultiline flags a response header value written over several
// lines.
var AddHeaderMultiline = &analyzer.Rule{
	ID:       "SEC1003",
	Slug:     "add-header-multiline",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "response header value contains a line break",
		Text: `nginx copies a quoted argument's line breaks into the header as they are: Debian's nginx 1.22.1
sends "add_header X-Policy "a<newline>  b";" as "X-Policy: a\n  b" (tested). That is the obsolete line folding
of RFC 7230 section 3.2.4, which a server must not send: browsers and proxies reject the response, drop the
header, or read the continuation as a header of its own. It usually comes from a long
Content-Security-Policy split over lines for readability.

Checked: add_header, add_trailer, and more_set_headers (headers-more, as gixy does). The fix joins the lines
with one space, which is what a recipient that accepts folding makes of it.`,
		Bad: `http {
    server {
        listen 80;
        add_header Content-Security-Policy "default-src 'self';
            img-src 'self' data:";
    }
}
`,
		Good: `http {
    server {
        listen 80;
        add_header Content-Security-Policy "default-src 'self'; img-src 'self' data:";
    }
}
`,
		Since: "0.3.0",
		References: []string{"RFC 7230 section 3.2.4 (obs-fold)", "gixy add_header_multiline",
			"Debian nginx 1.22.1: a line break in an add_header value is sent as is (tested)"},
		Confirmation: `confirmed by the emulator's request path: a request routed to the add_header's location must get a
response head in which that header's line ends with a bare line feed or is followed by a continuation line;
with --engine nginx or both it is replayed on the real binary. Not confirmable for add_trailer and
more_set_headers (not modelled) and inside an "if". Differential suite:
emulator/nginxengine/testdata/reqpath/headers.txtar.`,
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		directiveIndex(pass).Each(func(d *nginxconf.Directive, _ []*nginxconf.Directive) {
			var a nginxconf.Arg
			switch d.Name {
			case "add_header", "add_trailer":
				if len(d.Args) < 2 {
					return
				}
				a = d.Args[1]
			case "more_set_headers", "more_set_input_headers":
				for _, x := range d.Args {
					if !strings.HasPrefix(x.Value, "-") && (strings.ContainsAny(x.Value, "\r\n") || escapedBreak(x.Raw)) {
						a = x
						break
					}
				}
			default:
				return
			}
			if !strings.ContainsAny(a.Value, "\r\n") && !escapedBreak(a.Raw) {
				return
			}
			// At the directive: the value's own first line is inside the
			// quotes, where no comment can point at it.
			diag := &analyzer.Diagnostic{Pos: d.Pos, End: a.End(),
				Message: "the value of " + d.Name + " " + headerName(d) + " spans several lines; nginx sends the line break, which clients reject",
				Details: "A header value cannot contain a line break (RFC 7230 obs-fold): write it on one line, separating the parts with spaces."}
			name := headerName(d)
			diag.Confirm = addedHeaderConfirm(pass, d, func(x *emulator.Exchange) (bool, string) {
				if lines, ok := foldedHeader(x.Head, name); ok {
					return true, fmt.Sprintf("%d with the header split over lines: %q", x.Status, lines)
				}
				return false, fmt.Sprintf("%d without a folded %s", x.Status, name)
			})
			if joined := foldRE.ReplaceAllString(a.Raw, " "); joined != a.Raw && !strings.Contains(a.Raw, "#") {
				diag.Fixes = append(diag.Fixes, analyzer.SuggestedFix{Message: "join the value's lines",
					Edits: []analyzer.TextEdit{{Pos: a.Pos, End: a.End(), NewText: joined}}})
			}
			pass.Report(diag)
		}, "add_header", "add_trailer", "more_set_headers", "more_set_input_headers")
		return nil
	},
}

// escapedBreak reports whether a quoted argument as written holds "\n" or
// "\r", which ngx_conf_read_token turns into a line break.
func escapedBreak(raw string) bool {
	if len(raw) < 2 || (raw[0] != '"' && raw[0] != '\'') {
		return false
	}
	for i := 1; i+1 < len(raw); i++ {
		if raw[i] == '\\' {
			if raw[i+1] == 'n' || raw[i+1] == 'r' {
				return true
			}
			i++
		}
	}
	return false
}

// foldRE is a line break with the blanks around it.
var foldRE = regexp.MustCompile(`[ \t]*\r?\n[ \t]*`)

// headerName is the header a directive sets, for messages.
func headerName(d *nginxconf.Directive) string {
	if strings.HasPrefix(d.Name, "more_") {
		for _, a := range d.Args {
			if !strings.HasPrefix(a.Value, "-") {
				n, _, _ := strings.Cut(a.Value, ":")
				return strings.TrimSpace(n)
			}
		}
		return ""
	}
	return d.Arg(0)
}
