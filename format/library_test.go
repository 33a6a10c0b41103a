package format_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint"
	"github.com/ngxlint/ngxlint/format"
	"github.com/ngxlint/ngxlint/internal/sariftest"
)

// seedReport checks the bundled seed on the versions of the original bug
// through the library, confirming the findings in the emulator.
func seedReport(t *testing.T) *ngxlint.Report {
	t.Helper()
	rep, err := ngxlint.Check(t.Context(), os.DirFS("../examples/seed"), []string{"nginx.conf"}, ngxlint.Options{
		Versions: "nginx=1.9.7,lua_nginx_module=0.10.0",
		Confirm:  true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// Every format prints a report the library made, with the seed's NGX2001
// finding at line 13 where the format has positions; a library user gets
// what `check --format X` prints.
func TestEveryFormatFromLibrary(t *testing.T) {
	rep := seedReport(t)
	out := map[string]string{}
	for _, name := range format.Names {
		f, err := format.New(name, format.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := f.Format(&b, rep); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = b.String()
	}
	if !strings.Contains(out["text"], "nginx.conf:13:9: error: ") || !strings.Contains(out["text"], "    confirmed: ") {
		t.Errorf("text:\n%s", out["text"])
	}
	var doc ngxlint.Report
	if err := json.Unmarshal([]byte(out["json"]), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Findings) != len(rep.Findings) || doc.Findings[0].Rule != rep.Findings[0].Rule || doc.Profile["lua_nginx_module"] != "0.10.0" {
		t.Errorf("json findings %+v, want %+v", doc.Findings, rep.Findings)
	}
	if !strings.Contains(out["github"], "::error file=nginx.conf,line=13,col=9,") {
		t.Errorf("github:\n%s", out["github"])
	}
	var issues []struct {
		CheckName string `json:"check_name"`
		Location  struct {
			Lines struct {
				Begin int `json:"begin"`
			} `json:"lines"`
		} `json:"location"`
	}
	if err := json.Unmarshal([]byte(out["codequality"]), &issues); err != nil || len(issues) != len(rep.Findings) {
		t.Errorf("codequality (%v):\n%s", err, out["codequality"])
	}
	validSARIF(t, out["sarif"])
	if !strings.Contains(out["sarif"], `"startLine": 13`) || !strings.Contains(out["sarif"], `"ngxlintFingerprint/v1"`) {
		t.Errorf("sarif has no result at line 13 with a fingerprint:\n%s", out["sarif"])
	}
}

// A report read back from JSON (no diagnostics) prints as the same JSON.
func TestJSONRoundTrip(t *testing.T) {
	rep := seedReport(t)
	f, _ := format.New("json", format.Options{})
	var first, second bytes.Buffer
	if err := f.Format(&first, rep); err != nil {
		t.Fatal(err)
	}
	var back format.Report
	if err := json.Unmarshal(first.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if err := f.Format(&second, &back); err != nil {
		t.Fatal(err)
	}
	if first.String() != second.String() {
		t.Errorf("round trip changed the document:\n%s\n---\n%s", first.String(), second.String())
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := format.New("xml", format.Options{}); err == nil || !strings.Contains(err.Error(), "text, json, sarif") {
		t.Errorf("New(xml) = %v", err)
	}
}

// Style sees each highlighted part with its role; text without Style has
// no escape sequences.
func TestTextStyle(t *testing.T) {
	rep := seedReport(t)
	var roles []format.Role
	f, _ := format.New("text", format.Options{Snippets: true, Style: func(r format.Role, s string) string {
		roles = append(roles, r)
		return "<" + s + ">"
	}})
	var b bytes.Buffer
	if err := f.Format(&b, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), ": <error>: ") || !strings.Contains(b.String(), "<confirmed>: ") || !strings.Contains(b.String(), "<^>") {
		t.Errorf("styled text:\n%s", b.String())
	}
	plain, _ := format.New("text", format.Options{})
	b.Reset()
	plain.Format(&b, rep)
	if strings.Contains(b.String(), "\x1b") || strings.Contains(b.String(), "<error>") || strings.Contains(b.String(), "^") {
		t.Errorf("plain text has markup:\n%s", b.String())
	}
}

func validSARIF(t *testing.T, out string) {
	t.Helper()
	sariftest.Validate(t, sariftest.Schema(t, "../../shared/data/sarif-schema-2.1.0.json"), out)
}
