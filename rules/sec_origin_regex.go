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
		Confirmation: "if checks are confirmed by the emulator's request path: the location answers the hostile Origin (or Referer) differently from an unrelated one (e.g. with Access-Control-Allow-Origin); replayed on real nginx in the differential suite (host.txtar). map keys and valid_referers are not confirmed (the emulator does not model $invalid_referer).",
	},
	Run: func(pass *analyzer.Pass) error {
		report := func(s *secSite, d *nginxconf.Directive, a nginxconf.Arg, header string, re *reqmodel.Regex, subjectNoScheme bool) {
			domain, hostile := hostileOrigin(re, subjectNoScheme)
			if hostile == "" {
				return
			}
			diag := &analyzer.Diagnostic{Pos: a.Pos, End: a.End(),
				Message: fmt.Sprintf("%s check %q also accepts %q", header, re.Src, hostile),
				Details: fmt.Sprintf("The pattern is meant to trust %s, but it is searched, not matched, and '.' matches any character. Anchor it with '^' and '$' and escape the dots.", domain)}
			if s != nil && d.Name == "if" {
				diag.Confirm = originConfirm(pass, *s, header, hostile)
			}
			pass.Report(diag)
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
				report(&s, d, d.Args[len(d.Args)-1], h, c.Regex, false)
			case "valid_referers":
				for _, a := range d.Args {
					if strings.HasPrefix(a.Value, "~") {
						report(nil, d, a, "Referer", reqmodel.Compile(strings.TrimPrefix(a.Value, "~"), true), true)
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
				for _, e := range reqmodel.Flatten(d.Block) {
					if !strings.HasPrefix(e.Name, "~") || len(e.Args) != 1 || e.Arg(0) == "" || e.Arg(0) == "0" {
						continue
					}
					re := reqmodel.Compile(strings.TrimPrefix(strings.TrimPrefix(e.Name, "~"), "*"), strings.HasPrefix(e.Name, "~*"))
					report(nil, e, nginxconf.Arg{Value: e.Name, Raw: e.Name, Pos: e.Pos}, h, re, false)
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

// originConfirm sends the hostile origin and an unrelated one to the
// location of the check; a different answer shows the check trusts it.
func originConfirm(pass *analyzer.Pass, s secSite, header, hostile string) analyzer.Confirmer {
	a := secAnalysis(pass)
	var checks []requestCheck
	for _, p := range routeTo(a, s.loc) {
		other := emulator.Serve(emulator.Site{Server: s.srv, Analysis: a}, emulator.Request{Path: p,
			Headers: []emulator.Header{{Name: "Host", Value: serverHost(pass, s.srv)}, {Name: header, Value: "https://ngxlint-unrelated.test"}}})
		rq := emulator.Request{Path: p, Headers: []emulator.Header{{Name: header, Value: hostile}}}
		checks = append(checks, requestCheck{req: rq, shows: func(x *emulator.Exchange) (bool, string) {
			if x.Status != other.Status || headText(x) != headText(other) {
				return true, fmt.Sprintf("%d %s (an unrelated origin: %d %s)", x.Status, clip(headText(x)), other.Status, clip(headText(other)))
			}
			return false, fmt.Sprintf("%d, the same answer as an unrelated origin", x.Status)
		}})
	}
	return requestConfirmer(pass, s.srv, nil, checks)
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
	if len(s) > 50 {
		return s[:47] + "..."
	}
	return s
}
