package rules

import (
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/analyzer/analysistest"
)

// analyzeOne runs one rule on one nginx.conf with the archive header
// (declared versions) given.
func analyzeOne(t *testing.T, r *analyzer.Rule, conf, header string) []*analyzer.Diagnostic {
	t.Helper()
	ar := &txtar.Archive{Comment: []byte(header), Files: []txtar.File{{Name: "nginx.conf", Data: []byte(conf)}}}
	c, err := analysistest.FromArchive(r.Slug, ar)
	if err != nil {
		t.Fatal(err)
	}
	cfg, res := c.Analyze([]*analyzer.Rule{r})
	for _, e := range cfg.Errors {
		t.Fatalf("does not load: %v", e)
	}
	for _, e := range res.RuleErrors {
		t.Fatal(e)
	}
	return res.Diagnostics
}

// TestSecFixes applies every suggested fix the SEC rules offer on their Bad
// examples and on extra cases, and checks that the fixed configuration no
// longer triggers the finding and still loads.
func TestSecFixes(t *testing.T) {
	cases := []struct {
		rule          *analyzer.Rule
		conf, header  string
		wantFixedText string
	}{
		{AddHeaderRedefinition, AddHeaderRedefinition.Doc.Bad, "", "add_header X-Frame-Options DENY always;\n            add_header Cache-Control"},
		{AddHeaderRedefinition, AddHeaderRedefinition.Doc.Bad, "nginx: 1.29.3\n", "add_header_inherit merge;\n            add_header Cache-Control"},
		{AllowWithoutDeny, AllowWithoutDeny.Doc.Bad, "", "allow 10.0.0.0/8;\n            deny all;\n"},
		{ServerTokens, ServerTokens.Doc.Bad, "", "server_tokens off;"},
		{ErrorLogOff, ErrorLogOff.Doc.Bad, "", "error_log /dev/null;"},
		{WeakTLSProtocols, WeakTLSProtocols.Doc.Bad, "", "ssl_protocols TLSv1.2 TLSv1.3;"},
		{AddHeaderMultiline, AddHeaderMultiline.Doc.Bad, "", `add_header Content-Security-Policy "default-src 'self'; img-src 'self' data:";`},
	}
	for _, c := range cases {
		t.Run(c.rule.Slug, func(t *testing.T) {
			ds := analyzeOne(t, c.rule, c.conf, c.header)
			var edits []analyzer.TextEdit
			for _, d := range ds {
				if len(d.Fixes) > 0 {
					edits = append(edits, d.Fixes[0].Edits...)
				}
			}
			if len(edits) == 0 {
				t.Fatalf("no fix offered on %d findings", len(ds))
			}
			fixed, err := analyzer.ApplyEdits([]byte(c.conf), edits)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(fixed), c.wantFixedText) {
				t.Errorf("fixed text lacks %q:\n%s", c.wantFixedText, fixed)
			}
			after := analyzeOne(t, c.rule, string(fixed), c.header)
			for _, d := range after {
				if d.Severity >= analyzer.Warning {
					t.Errorf("after the fix: %s %s", d.Pos, d.Message)
				}
			}
		})
	}
}

// TestSecNoUnsafeFix: fixes are not offered where the inserted text could
// land in the wrong block or change another level.
func TestSecNoUnsafeFix(t *testing.T) {
	oneLine := "http {\n    server {\n        listen 80;\n        add_header X-Frame-Options DENY;\n        location / { add_header Cache-Control no-cache; }\n    }\n}\n"
	for _, d := range analyzeOne(t, AddHeaderRedefinition, oneLine, "") {
		if len(d.Fixes) > 0 {
			t.Errorf("a fix inserting before a directive that shares its line with \"{\": %+v", d.Fixes)
		}
	}
	multi := "http {\n    server {\n        listen 80;\n        add_header X-A \"1\n 2\";\n        location / {\n            add_header Cache-Control no-cache;\n        }\n    }\n}\n"
	for _, d := range analyzeOne(t, AddHeaderRedefinition, multi, "") {
		if len(d.Fixes) > 0 {
			t.Errorf("a fix copying a directive that spans lines: %+v", d.Fixes)
		}
	}
}

// TestAddHeaderSeverity: only dropped security headers make a warning.
func TestAddHeaderSeverity(t *testing.T) {
	conf := "http {\n    server {\n        listen 80;\n        add_header X-Served-By edge;\n        location / {\n            add_header Cache-Control no-cache;\n        }\n    }\n" +
		"    server {\n        listen 81;\n        add_header Referrer-Policy no-referrer;\n        location / {\n            add_header Cache-Control no-cache;\n        }\n    }\n}\n"
	ds := analyzeOne(t, AddHeaderRedefinition, conf, "")
	if len(ds) != 2 {
		t.Fatalf("%d findings, want 2", len(ds))
	}
	if ds[0].Severity != analyzer.Info || ds[1].Severity != analyzer.Warning {
		t.Errorf("severities %v, %v; want info (X-Served-By), warning (Referrer-Policy)", ds[0].Severity, ds[1].Severity)
	}
	if len(ds[1].Related) != 1 || ds[1].Related[0].Pos.Line != 11 {
		t.Errorf("related %+v, want the dropped add_header on line 11", ds[1].Related)
	}
}

// TestSecSuppression: the usual ignore comment silences a SEC finding.
func TestSecSuppression(t *testing.T) {
	conf := "error_log off; # ngxlint:ignore SEC1015 the file is rotated away by logrotate\nevents {}\n"
	ar := &txtar.Archive{Files: []txtar.File{{Name: "nginx.conf", Data: []byte(conf)}}}
	c, err := analysistest.FromArchive("suppress", ar)
	if err != nil {
		t.Fatal(err)
	}
	_, res := c.Analyze([]*analyzer.Rule{ErrorLogOff})
	if len(res.Diagnostics) != 0 {
		t.Errorf("suppressed finding still reported: %s", res.Diagnostics[0].Message)
	}
	if n := len(analyzeOne(t, ErrorLogOff, "error_log off;\nevents {}\n", "")); n != 1 {
		t.Errorf("%d findings without the comment, want 1", n)
	}
}
