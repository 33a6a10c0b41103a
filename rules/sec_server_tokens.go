package rules

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
)

// serverTokensDefaultSetting turns on the report of an http block that
// leaves server_tokens at its default.
const serverTokensDefaultSetting = "server-tokens-default"

// ServerTokens flags nginx announcing its version in the Server header and
// on error pages.
var ServerTokens = &analyzer.Rule{
	ID:       "SEC1010",
	Slug:     "server-tokens",
	Severity: analyzer.Warning,
	Settings: []analyzer.Setting{{Name: serverTokensDefaultSetting, Default: "false",
		Doc: "also report, at info, an http block whose servers leave server_tokens at its default (on)",
		Check: func(v string) error {
			if _, err := strconv.ParseBool(strings.TrimSpace(v)); err != nil {
				return fmt.Errorf("want true or false, got %q", v)
			}
			return nil
		}}},
	Doc: analyzer.Doc{
		Title: "server_tokens discloses the nginx version",
		Text: `With server_tokens on, which is the default, nginx sends "Server: nginx/1.22.1" and prints
the version on its error pages, telling a scanner which CVEs to try. "server_tokens on;" (or "build") written
explicitly is a warning, with a fix to "off". Leaving it at the default is not reported unless the setting
server-tokens-default is true (then once per http block, at info, as gixy-ng and Gixy-Next do): most
configurations never write it, and reporting all of them (68 of the 110 real configurations of the project's
corpus) would bury the findings that matter. Hiding the Server header another way (more_clear_headers, a CDN)
does not hide the version on nginx's error pages: set server_tokens off.`,
		Bad: `http {
    server_tokens on;
    server {
        listen 80;
    }
}
`,
		Good: `http {
    server_tokens off;
    server {
        listen 80;
    }
}
`,
		Since:        "0.3.0",
		References:   []string{"https://nginx.org/en/docs/http/ngx_http_core_module.html#server_tokens", "gixy version_disclosure"},
		Confirmation: "confirmed by the emulator's request path: a request routed to the level must be answered with a Server header that names a version (the declared nginx version, or \"nginx/<version>\" when none is declared; server_tokens is replayed on real nginx in the differential suite, tokens.txtar). With --engine nginx|both real nginx replays the request and its Server header decides.",
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		levels := secLevelsOf(pass).all
		var httpLevel, firstDefaulted *secLevel
		defaulted := false
		for _, l := range levels {
			for _, e := range l.own("server_tokens") {
				if e.arg(0) == "on" || e.arg(0) == "build" {
					a := e.d.Args[0]
					pass.Report(&analyzer.Diagnostic{Pos: e.d.Pos, End: e.d.End,
						Message: "server_tokens " + e.arg(0) + " sends the nginx version in the Server header and on error pages",
						Details: "A scanner reads the version and picks the CVEs to try. Write \"server_tokens off;\".",
						Fixes: []analyzer.SuggestedFix{{Message: "hide the version",
							Edits: []analyzer.TextEdit{{Pos: a.Pos, End: a.End(), NewText: "off"}}}},
						Confirm: tokensConfirm(pass, l)})
				}
			}
			switch l.kind {
			case "http":
				httpLevel = l
			case "server":
				if _, set := l.effective("server_tokens"); !set && !defaulted {
					defaulted, firstDefaulted = true, l
				}
			}
		}
		on, _ := strconv.ParseBool(strings.TrimSpace(pass.Settings[serverTokensDefaultSetting]))
		if httpLevel != nil && defaulted && on {
			h := httpLevel.block
			pass.Report(&analyzer.Diagnostic{Pos: h.Pos, End: h.BlockOpen, Severity: analyzer.Info,
				Message: "server_tokens is not set, so nginx's default \"on\" sends its version in the Server header and on error pages",
				Details: "Add \"server_tokens off;\" to the http block.",
				Confirm: tokensConfirm(pass, firstDefaulted)})
		}
		return nil
	},
}

// tokensConfirm sends a request routed to level l; the Server header of
// the answer must name a version ("nginx/1.22.1"). The emulator writes
// the declared nginx version, or "<version>" when none is declared.
func tokensConfirm(pass *analyzer.Pass, l *secLevel) analyzer.Confirmer {
	p, ok := levelPlace(pass, l)
	if !ok {
		return notConfirmable("the level is " + l.describe() + ": no request is routed to it by its path alone")
	}
	shows := func(x *emulator.Exchange) (bool, string) {
		vs := x.Header("Server")
		if len(vs) == 0 {
			return false, fmt.Sprintf("%d without a Server header", x.Status)
		}
		return strings.HasPrefix(vs[0], "nginx/"), fmt.Sprintf("%d with Server: %s", x.Status, vs[0])
	}
	return requestConfirmer(pass, p.srv, nil, checksAt(pathsInto(pass, p, "server_tokens"), shows, routedTo(p, "server_tokens")))
}
