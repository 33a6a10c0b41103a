package rules

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
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
		Confirmation: "not confirmable yet: the emulator does not model response headers.",
	},
	Run: func(pass *analyzer.Pass) error {
		if pass.Config == nil {
			return nil
		}
		levels := secLevelsOf(pass).all
		var httpLevel *secLevel
		defaulted := false
		for _, l := range levels {
			for _, e := range l.own("server_tokens") {
				if e.arg(0) == "on" || e.arg(0) == "build" {
					a := e.d.Args[0]
					pass.Report(&analyzer.Diagnostic{Pos: e.d.Pos, End: e.d.End,
						Message: "server_tokens " + e.arg(0) + " sends the nginx version in the Server header and on error pages",
						Details: "A scanner reads the version and picks the CVEs to try. Write \"server_tokens off;\".",
						Fixes: []analyzer.SuggestedFix{{Message: "hide the version",
							Edits: []analyzer.TextEdit{{Pos: a.Pos, End: a.End(), NewText: "off"}}}}})
				}
			}
			switch l.kind {
			case "http":
				httpLevel = l
			case "server":
				if _, set := l.effective("server_tokens"); !set {
					defaulted = true
				}
			}
		}
		on, _ := strconv.ParseBool(strings.TrimSpace(pass.Settings[serverTokensDefaultSetting]))
		if httpLevel != nil && defaulted && on {
			h := httpLevel.block
			pass.Report(&analyzer.Diagnostic{Pos: h.Pos, End: h.BlockOpen, Severity: analyzer.Info,
				Message: "server_tokens is not set, so nginx's default \"on\" sends its version in the Server header and on error pages",
				Details: "Add \"server_tokens off;\" to the http block."})
		}
		return nil
	},
}
