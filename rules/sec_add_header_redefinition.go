package rules

import (
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// AddHeaderRedefinition flags a level whose own add_header drops the
// add_header directives it would otherwise inherit.
var AddHeaderRedefinition = &analyzer.Rule{
	ID:       "SEC1001",
	Slug:     "add-header-redefinition",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "add_header at this level drops the inherited add_header directives",
		Text: `add_header directives are inherited from the previous level only if the current level has none
(ngx_http_headers_merge_conf: "if (conf->headers == NULL) conf->headers = prev->headers"). One add_header in
a location, or in an "if" inside it, therefore removes every header the server or http level adds there:
typically Strict-Transport-Security, Content-Security-Policy or X-Frame-Options vanish from exactly the
locations that set a Cache-Control.

Reported at the level's first add_header, with the dropped directives as related positions, when at least
one inherited header is not set again at this level (a snippet included at both levels is fine). Warning when
a dropped header is a security header, info otherwise. Not reported when add_header_inherit is "merge" (the
level adds to the inherited ones) or "off" (the drop is deliberate); that directive exists from nginx 1.29.3.
The fix repeats the dropped directives at this level or, on a declared nginx >= 1.29.3, adds
"add_header_inherit merge;". add_trailer has the same rule and is checked too.`,
		Bad: `http {
    server {
        listen 443 ssl;
        ssl_certificate /etc/ssl/site.crt;
        ssl_certificate_key /etc/ssl/site.key;
        add_header Strict-Transport-Security "max-age=31536000" always;
        add_header X-Frame-Options DENY always;
        location /static/ {
            add_header Cache-Control "public, max-age=86400";
            root /srv;
        }
    }
}
`,
		Good: `http {
    server {
        listen 443 ssl;
        ssl_certificate /etc/ssl/site.crt;
        ssl_certificate_key /etc/ssl/site.key;
        add_header Strict-Transport-Security "max-age=31536000" always;
        add_header X-Frame-Options DENY always;
        location /static/ {
            add_header Strict-Transport-Security "max-age=31536000" always;
            add_header X-Frame-Options DENY always;
            add_header Cache-Control "public, max-age=86400";
            root /srv;
        }
    }
}
`,
		Since: "0.3.0",
		References: []string{"https://nginx.org/en/docs/http/ngx_http_headers_module.html#add_header",
			"https://nginx.org/en/docs/http/ngx_http_headers_module.html#add_header_inherit (1.29.3)",
			"nginx src/http/modules/ngx_http_headers_filter_module.c ngx_http_headers_merge_conf",
			"gixy add_header_redefinition; yandex/gixy#114 (headers from an include at both levels are not dropped)"},
		Confirmation: `confirmed by the emulator's request path: a request routed to the redefining server or location
(e.g. GET /static/) must get a response, of a status the dropped header applies to (2xx/3xx, any with
"always"), that lacks the dropped header; with --engine nginx or both the same request is replayed on the
real binary. Not confirmable for an "if" level (no request is crafted for its condition) and for
add_trailer (trailers are not modelled). Differential suite: emulator/nginxengine/testdata/reqpath/headers.txtar.`,
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		for _, l := range secLevelsOf(pass).all {
			for _, name := range []string{"add_header", "add_trailer"} {
				reportHeaderDrop(pass, l, name)
			}
		}
		return nil
	},
}

// addHeaderInheritSince is the nginx version that added add_header_inherit
// and add_trailer_inherit (nginx CHANGES 1.29.3; commit c93a0c4).
const addHeaderInheritSince = "1.29.3"

// securityHeaders are the response headers whose loss weakens a site's
// protection (lower case).
var securityHeaders = map[string]bool{
	"strict-transport-security": true, "content-security-policy": true, "x-frame-options": true,
	"x-content-type-options": true, "referrer-policy": true, "permissions-policy": true,
	"feature-policy": true, "x-xss-protection": true, "cross-origin-opener-policy": true,
	"cross-origin-embedder-policy": true, "cross-origin-resource-policy": true,
	"x-permitted-cross-domain-policies": true, "expect-ct": true,
}

func reportHeaderDrop(pass *analyzer.Pass, l *secLevel, name string) {
	own := l.own(name)
	if len(own) == 0 {
		return
	}
	if inh, ok := l.effective(name + "_inherit"); ok && (inh.arg(0) == "merge" || inh.arg(0) == "off") {
		return
	}
	inherited, from := l.inherited(name)
	dropped := droppedEntries(own, inherited, headerKey)
	if len(dropped) == 0 {
		return
	}
	var names []string
	security := false
	for _, e := range dropped {
		names = append(names, e.arg(0))
		security = security || securityHeaders[strings.ToLower(e.arg(0))]
	}
	first := own[0].d
	d := &analyzer.Diagnostic{Pos: first.Pos, End: first.End,
		Message: fmt.Sprintf("%s in %s drops %s (%s)", name, l.describe(), plural(len(dropped), "inherited header"), shortList(names, 3)),
		Details: fmt.Sprintf("A level with its own %s inherits none from %s: %s %s not sent for requests handled here. Repeat %s here, or on nginx >= %s write \"%s_inherit merge;\".",
			name, from.describe(), strings.Join(names, ", "), pick(len(dropped), "is", "are"), pick(len(dropped), "it", "them"), addHeaderInheritSince, name)}
	if !security {
		d.Severity = analyzer.Info
	}
	if l.kind == "if" {
		d.Details += " Inside \"if\" this happens only when the condition is true, which makes it easy to miss in testing."
	}
	for _, e := range dropped {
		d.Related = append(d.Related, analyzer.Related{Pos: e.d.Pos, End: e.d.End, Message: fmt.Sprintf("%s %s is not inherited by %s", name, e.arg(0), l.describe())})
	}
	if fix, ok := headerDropFix(pass, first, name, dropped); ok {
		d.Fixes = append(d.Fixes, fix)
	}
	d.Confirm = headerDropConfirm(pass, l, name, own, dropped)
	pass.Report(d)
}

// headerDropConfirm sends a request to the level and checks that the
// response lacks a dropped header although the status is one it would
// apply to (always, or 2xx/3xx: emulator.AddHeaderApplies).
func headerDropConfirm(pass *analyzer.Pass, l *secLevel, name string, own, dropped []secEntry) analyzer.Confirmer {
	if name != "add_header" {
		return notConfirmable("trailers go out only after a chunked body, which the request path does not model")
	}
	p, ok := levelPlace(pass, l)
	if !ok {
		return notConfirmable("the level is " + l.describe() + ": no request is crafted to make its condition true")
	}
	shows := func(x *emulator.Exchange) (bool, string) {
		var missing, sent []string
		for _, e := range dropped {
			if !emulator.AddHeaderApplies(x.Status, e.arg(2) == "always") {
				continue
			}
			if len(x.Header(e.arg(0))) == 0 {
				missing = append(missing, e.arg(0))
			} else {
				sent = append(sent, e.arg(0))
			}
		}
		if len(missing) == 0 {
			if len(sent) > 0 {
				return false, fmt.Sprintf("%d with %s", x.Status, strings.Join(sent, ", "))
			}
			return false, fmt.Sprintf("%d, a status the dropped headers do not apply to", x.Status)
		}
		var with []string
		for _, e := range own {
			if len(x.Header(e.arg(0))) > 0 {
				with = append(with, e.arg(0))
			}
		}
		saw := fmt.Sprintf("%d without %s", x.Status, strings.Join(missing, ", "))
		if len(with) > 0 {
			saw += " (with this level's " + strings.Join(dedupe(with), ", ") + ")"
		}
		return true, saw
	}
	return requestConfirmer(pass, p.srv, nil, checksAt(pathsInto(pass, p, name), shows, routedTo(p, name)))
}

// headerKey identifies a header entry: field names are case-insensitive.
func headerKey(e secEntry) string { return strings.ToLower(e.arg(0)) }

// droppedEntries returns the inherited entries whose key the level does
// not set again itself.
func droppedEntries(own, inherited []secEntry, key func(secEntry) string) []secEntry {
	if len(inherited) == 0 {
		return nil
	}
	mine := make(map[string]bool, len(own))
	for _, e := range own {
		mine[key(e)] = true
	}
	var out []secEntry
	seen := map[string]bool{}
	for _, e := range inherited {
		k := key(e)
		if mine[k] || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, e)
	}
	return out
}

// headerDropFix inserts, before the level's first add_header, either
// "add_header_inherit merge;" (declared nginx >= 1.29.3) or a copy of each
// dropped directive. Only when the first directive is alone on its line
// and every dropped directive is a plain one-line directive, so the
// inserted text lands in the right block and means what it meant above.
func headerDropFix(pass *analyzer.Pass, first *nginxconf.Directive, name string, dropped []secEntry) (analyzer.SuggestedFix, bool) {
	if !aloneOnLine(first) {
		return analyzer.SuggestedFix{}, false
	}
	ind := lineIndent(first)
	at := lineStart(first)
	if pass.Profile.HasNginx() && pass.Profile.Nginx.AtLeast(addHeaderInheritSince) {
		return analyzer.SuggestedFix{Message: "merge the inherited " + name + " directives",
			Edits: []analyzer.TextEdit{{Pos: at, End: at, NewText: ind + name + "_inherit merge;\n"}}}, true
	}
	var b strings.Builder
	for _, e := range dropped {
		if e.d.Name != name || e.d.File == nil || e.d.End.Offset <= e.d.Pos.Offset || e.d.End.Offset > len(e.d.File.Data) {
			return analyzer.SuggestedFix{}, false
		}
		text := string(e.d.File.Data[e.d.Pos.Offset:e.d.End.Offset])
		if strings.ContainsAny(text, "\n#") {
			return analyzer.SuggestedFix{}, false
		}
		b.WriteString(ind + text + "\n")
	}
	return analyzer.SuggestedFix{Message: "repeat the inherited " + name + " directives here",
		Edits: []analyzer.TextEdit{{Pos: at, End: at, NewText: b.String()}}}, true
}

// aloneOnLine reports whether d is the only thing on its line(s) apart
// from blanks and a trailing comment.
func aloneOnLine(d *nginxconf.Directive) bool {
	if d.File == nil {
		return false
	}
	data := d.File.Data
	if d.Pos.Offset < 0 || d.End.Offset > len(data) || d.End.Offset < d.Pos.Offset {
		return false
	}
	for i := d.Pos.Offset - 1; i >= 0 && data[i] != '\n'; i-- {
		if data[i] != ' ' && data[i] != '\t' {
			return false
		}
	}
	for i := d.End.Offset; i < len(data) && data[i] != '\n'; i++ {
		switch data[i] {
		case ' ', '\t', '\r':
		case '#':
			return true
		default:
			return false
		}
	}
	return true
}

// lineStart is the position of the first byte of d's line.
func lineStart(d *nginxconf.Directive) nginxconf.Pos {
	i := d.Pos.Offset
	for i > 0 && d.File.Data[i-1] != '\n' {
		i--
	}
	return d.File.PosAt(i)
}

// pick is one when n is 1, else many.
func pick(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
