package rules

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/reqmodel"
)

// OriginRegex flags Origin and Referer checks whose regex a hostile site
// satisfies.
var OriginRegex = &analyzer.Rule{
	ID:       "SEC2006",
	Slug:     "origin-regex",
	Severity: analyzer.Warning,
	Doc: analyzer.Doc{
		Title: "Origin or Referer check whose regex a hostile origin satisfies",
		Text: `A check such as 'if ($http_origin ~ "https://example.com")' is meant to trust one site, but
the regex is searched, not matched: without '^' and '$' it also matches
"https://example.com.evil.test", and an unescaped '.' matches any character, so
"https://wwwxexample.com" (a domain anyone can register) passes "^https://www.example.com$". Whatever
the check grants (an Access-Control-Allow-Origin echo, a CSRF exemption, a referer whitelist) is then
granted to the attacker's site.

Checked: "if ($http_origin ~ ...)" and "if ($http_referer ~ ...)" (and "~*"), the regex keys of a map
on $http_origin or $http_referer whose value is not empty or "0", and the "~" entries of
valid_referers. The rule finds the trusted domain in the pattern, builds hostile origins from it
(the domain as a prefix of another, another domain ending with it, a dot replaced by a letter) and
reports the first the regex accepts. Anchor the pattern and escape the dots:
"^https://(www\.)?example\.com$".`,
		Bad: `http {
    server {
        listen 80;
        location /api/ {
            if ($http_origin ~ "https://example.com") {
                add_header Access-Control-Allow-Origin $http_origin;
            }
            return 200 "ok";
        }
    }
}
`,
		Good: `http {
    server {
        listen 80;
        location /api/ {
            if ($http_origin ~ "^https://(www\.)?example\.com$") {
                add_header Access-Control-Allow-Origin $http_origin;
            }
            return 200 "ok";
        }
    }
}
`,
		Since:        "0.3.0",
		References:   []string{"https://github.com/yandex/gixy/blob/master/docs/en/plugins/origins.md (gixy origins)"},
		Confirmation: "if checks are confirmed by the emulator's request path: the location answers the hostile Origin (or Referer) differently from an unrelated one sent alongside (e.g. with Access-Control-Allow-Origin); replayed on real nginx in the differential suite (host.txtar). A map key is confirmed the same way in the first server or location that uses the map's variable (the hostile and the unrelated origin against each other, on each engine). A valid_referers entry is confirmed where $invalid_referer is read under it (an if, a set, a map on it): a Referer of https:// and the hostile subject against an unrelated one, on each engine; the emulator's $invalid_referer is checked against real nginx in referer.txtar. Where nothing reads the variable, not confirmable.",
	},
	Run: func(pass *analyzer.Pass) error {
		// confirm, when set, builds the finding's confirmation from the
		// hostile subject.
		report := func(d *nginxconf.Directive, a nginxconf.Arg, header string, re *reqmodel.Regex, subjectNoScheme bool, confirm func(hostile string) analyzer.Confirmer) {
			domain, hostile := hostileOrigin(re, subjectNoScheme)
			if hostile == "" {
				return
			}
			diag := &analyzer.Diagnostic{Pos: a.Pos, End: a.End(),
				Message: fmt.Sprintf("%s check %q also accepts %q", header, re.Src, hostile),
				Details: fmt.Sprintf("The pattern is meant to trust %s, but it is searched, not matched, and '.' matches any character. Anchor it with '^' and '$' and escape the dots.", domain)}
			if confirm != nil {
				diag.Confirm = confirm(hostile)
			}
			pass.Report(diag)
		}
		// atSite confirms an if, or a map key with a place its variable
		// is used, there (nil: no such place).
		atSite := func(s *secSite, header string) func(string) analyzer.Confirmer {
			if s == nil {
				return nil
			}
			return func(hostile string) analyzer.Confirmer { return originConfirm(pass, *s, header, hostile) }
		}
		eachHTTPDirective(pass, func(s secSite, d *nginxconf.Directive) {
			switch d.Name {
			case "if":
				c := reqmodel.ParseCond(d)
				if c == nil || c.Regex == nil || strings.HasPrefix(c.Op, "!") {
					return
				}
				h := originHeader(c.Var)
				if h == "" {
					return
				}
				report(d, d.Args[len(d.Args)-1], h, c.Regex, false, atSite(&s, h))
			case "valid_referers":
				for _, a := range d.Args {
					if strings.HasPrefix(a.Value, "~") {
						// ngx_http_add_regex_referer compiles the entry
						// caselessly and matches it against the Referer
						// after "http://" or "https://".
						report(d, a, "Referer", reqmodel.Compile(strings.TrimPrefix(a.Value, "~"), true), true, func(hostile string) analyzer.Confirmer {
							return refererConfirm(pass, s, hostile)
						})
					}
				}
			}
		})
		if pass.Model != nil && pass.Model.HTTP != nil {
			for _, d := range pass.Model.HTTP.Own("map") {
				h := originHeader(d.Arg(0))
				if h == "" {
					continue
				}
				// Where the map's variable is used is the same for every
				// entry: found once, for the first entry that needs it.
				var site *secSite
				looked := false
				for _, e := range reqmodel.Flatten(d.Block) {
					if !strings.HasPrefix(e.Name, "~") || len(e.Args) != 1 || e.Arg(0) == "" || e.Arg(0) == "0" {
						continue
					}
					if !looked {
						site, looked = mapUseSite(pass, d.Arg(1)), true
					}
					re := reqmodel.Compile(strings.TrimPrefix(strings.TrimPrefix(e.Name, "~"), "*"), strings.HasPrefix(e.Name, "~*"))
					report(e, nginxconf.Arg{Value: e.Name, Raw: e.Name, Pos: e.Pos}, h, re, false, atSite(site, h))
				}
			}
		}
		return nil
	},
}

func originHeader(v string) string {
	switch strings.ToLower(v) {
	case "$http_origin":
		return "Origin"
	case "$http_referer":
		return "Referer"
	}
	return ""
}

// domainLike finds host names in a pattern's source: labels joined by
// escaped or bare dots.
var domainLike = regexp.MustCompile(`[A-Za-z0-9-]+(?:(?:\\\.|\.|\[\.\])[A-Za-z0-9-]+)+`)

// hostileOrigin returns the domain the pattern trusts and the first
// hostile origin it accepts ("" if none).
func hostileOrigin(re *reqmodel.Regex, noScheme bool) (domain, hostile string) {
	if re.Err != nil {
		return "", ""
	}
	for _, m := range domainLike.FindAllString(re.Src, -1) {
		d := strings.NewReplacer(`\.`, ".", `[.]`, ".").Replace(m)
		if len(d) > len(domain) && strings.Contains(d, ".") {
			domain = strings.ToLower(d)
		}
	}
	if domain == "" {
		return "", ""
	}
	var cands []string
	cands = append(cands, domain+".ngxlint-evil.test", "ngxlint"+domain)
	labels := strings.Split(domain, ".")
	for i := 0; i < len(labels)-2; i++ {
		cands = append(cands, strings.Join(labels[:i+1], ".")+"x"+strings.Join(labels[i+1:], "."))
	}
	paths := []string{""}
	if noScheme {
		paths = append(paths, "/")
	}
	for _, c := range cands {
		for _, p := range paths {
			subj := "https://" + c + p
			if noScheme {
				subj = c + p
			}
			if re.Match(subj) == nil {
				continue
			}
			u, err := url.Parse("https://" + c)
			if err != nil {
				continue
			}
			h := strings.ToLower(u.Hostname())
			if h == domain || strings.HasSuffix(h, "."+domain) {
				continue
			}
			return domain, subj
		}
	}
	return domain, ""
}

// originConfirm sends the hostile origin and, as the control, an
// unrelated one to the location of the check (or of a use of the map's
// variable); a different answer shows the check trusts it. Both requests
// go to each engine, so real nginx's answers are compared with each other.
func originConfirm(pass *analyzer.Pass, s secSite, header, hostile string) analyzer.Confirmer {
	a := secAnalysis(pass)
	var checks []requestCheck
	for _, p := range routeTo(a, s.loc) {
		checks = append(checks, hostileVsUnrelated(p, header, hostile, "https://ngxlint-unrelated.test", "origin"))
	}
	return requestConfirmer(pass, s.srv, nil, checks)
}

// hostileVsUnrelated sends header: hostile to path, with the same request
// carrying header: unrelated as the control; a different answer (status
// or the headers a client reads) shows that the check trusts the hostile
// value. what names the value in the summary ("origin", "Referer").
func hostileVsUnrelated(path, header, hostile, unrelated, what string) requestCheck {
	rq := emulator.Request{Path: path, Headers: []emulator.Header{{Name: header, Value: hostile}}}
	ctrl := emulator.Request{Path: path, Headers: []emulator.Header{{Name: header, Value: unrelated}}}
	return requestCheck{req: rq, control: &ctrl, contrast: func(x, other *emulator.Exchange) (bool, string) {
		if other == nil {
			return false, "no answer to the unrelated " + what
		}
		if x.Status != other.Status || headText(x) != headText(other) {
			return true, fmt.Sprintf("%d %s; unrelated %s: %d %s", x.Status, clip(headText(x)), what, other.Status, clip(headText(other)))
		}
		return false, fmt.Sprintf("%d, the same answer as an unrelated %s", x.Status, what)
	}}
}

// mapUseSite returns where the map variable v is first used in a server
// or location (nil if nowhere): the place a request shows what the map's
// value does.
func mapUseSite(pass *analyzer.Pass, v string) *secSite {
	name := strings.ToLower(strings.TrimPrefix(v, "$"))
	if name == "" {
		return nil
	}
	var site *secSite
	eachHTTPDirective(pass, func(s secSite, d *nginxconf.Directive) {
		if site != nil {
			return
		}
		for _, a := range d.Args {
			for _, r := range reqmodel.Refs(a.Value) {
				if strings.ToLower(r.Name) == name {
					site = &s
					return
				}
			}
		}
	})
	return site
}

func headText(x *emulator.Exchange) string {
	var parts []string
	for _, h := range x.Headers {
		switch strings.ToLower(h.Name) {
		case "server", "content-length", "content-type", "connection", "date":
			continue
		}
		parts = append(parts, h.Name+": "+h.Value)
	}
	return strings.Join(parts, ", ")
}

// clip shortens a head for the one-line summary (Observed keeps it whole).
func clip(s string) string {
	if s == "" {
		return "with no extra header"
	}
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// refererConfirm sends a Referer of "https://" and the hostile subject
// and, as the control, an unrelated Referer to each place that reads
// $invalid_referer under the valid_referers at s (directly, through set,
// or through a map on it); a different answer shows the regex admits the
// hostile site. Where nothing reads the variable the entry changes no
// answer, and there is nothing to observe.
func refererConfirm(pass *analyzer.Pass, s secSite, hostile string) analyzer.Confirmer {
	uses := invalidRefererUses(pass, s)
	if len(uses) == 0 {
		return notConfirmable("$invalid_referer is not read where this valid_referers applies, so its regex changes no answer")
	}
	var checks []requestCheck
	for _, u := range uses {
		for _, p := range routeTo(s.a, u) {
			checks = append(checks, hostileVsUnrelated(p, "Referer", "https://"+hostile, "https://ngxlint-unrelated.test/", "Referer"))
		}
	}
	return requestConfirmer(pass, s.srv, nil, checks)
}

// invalidRefererUses returns the locations of s's server (nil for the
// server level) that read $invalid_referer while the regexes of the
// valid_referers at s are the ones in force there. The variable is
// computed with the configuration of where it is read
// (ngx_http_get_module_loc_conf in ngx_http_referer_variable): the
// server's rewrite directives see the server level, a location its own
// merged one, whose regexes are those of the innermost level with a "~"
// entry (ngx_http_referer_merge_conf merges them apart from the host
// names).
func invalidRefererUses(pass *analyzer.Pass, s secSite) []*nginxconf.Location {
	names := map[string]bool{"invalid_referer": true}
	if pass.Model != nil && pass.Model.HTTP != nil {
		// A map on $invalid_referer (or on such a map) computes it
		// where the map's variable is read.
		for grew := true; grew; {
			grew = false
			for _, d := range pass.Model.HTTP.Own("map") {
				out := strings.ToLower(strings.TrimPrefix(d.Arg(1), "$"))
				if out == "" || names[out] || !refsAny(d.Arg(0), names) {
					continue
				}
				names[out], grew = true, true
			}
		}
	}
	own := &s.srv.Scope
	if s.loc != nil {
		own = &s.loc.Scope
	}
	var out []*nginxconf.Location
	seen := map[*nginxconf.Location]bool{}
	eachHTTPDirective(pass, func(u secSite, d *nginxconf.Directive) {
		if u.srv != s.srv || seen[u.loc] || regexLevel(u) != own {
			return
		}
		for _, a := range d.Args {
			if refsAny(a.Value, names) {
				seen[u.loc] = true
				out = append(out, u.loc)
				return
			}
		}
	})
	return out
}

// regexLevel is the innermost level, from u's location out to its server,
// whose valid_referers has a "~" entry (nil when none has).
func regexLevel(u secSite) *nginxconf.Scope {
	hasRegex := func(sc *nginxconf.Scope) bool {
		for _, d := range sc.Own("valid_referers") {
			for _, a := range d.Args {
				if strings.HasPrefix(a.Value, "~") {
					return true
				}
			}
		}
		return false
	}
	for l := u.loc; l != nil; l = l.Parent {
		if hasRegex(&l.Scope) {
			return &l.Scope
		}
	}
	if hasRegex(&u.srv.Scope) {
		return &u.srv.Scope
	}
	return nil
}

// refsAny reports whether v references one of the variables in names.
func refsAny(v string, names map[string]bool) bool {
	for _, r := range reqmodel.Refs(v) {
		if names[strings.ToLower(r.Name)] {
			return true
		}
	}
	return false
}
