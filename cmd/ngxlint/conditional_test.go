package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestConditionalGrouped: with no version declared, the findings that hold
// only on some versions are one line per rule in the text and github
// formats (issue 16 item 9: 21,000 of 26,000 lines on a large config), each
// one with --verbose, and all of them in JSON.
func TestConditionalGrouped(t *testing.T) {
	var b strings.Builder
	b.WriteString("http {\n")
	const n = 30
	for i := range n {
		fmt.Fprintf(&b, "    upstream u%d { server 127.0.0.1:%d; keepalive 4; }\n", i, 8000+i)
	}
	b.WriteString("    server {\n        listen 80;\n        proxy_http_version 1.1;\n        proxy_set_header Connection \"\";\n")
	for i := range n {
		fmt.Fprintf(&b, "        location /%d { proxy_pass http://u%d; }\n", i, i)
	}
	b.WriteString("    }\n}\n")
	conf := filepath.Join(t.TempDir(), "nginx.conf")
	writeTestFile(t, conf, b.String())

	_, out, errs := runBounded(t, "check", "--no-config", "--enable", "VER1023", conf)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], fmt.Sprintf("(%d places, the first here)", n)) || !strings.Contains(lines[0], "[VER1023 ngx-ka-defaults]") {
		t.Errorf("text: want one grouped line and the summary, got:\n%s", out)
	}
	if !strings.Contains(errs, fmt.Sprintf("%d finding(s) hold only on versions you did not declare", n)) {
		t.Errorf("text: no note saying how to resolve them:\n%s", errs)
	}
	if !strings.Contains(lines[len(lines)-1], fmt.Sprintf("%d findings", n)) {
		t.Errorf("the summary must still count every finding: %q", lines[len(lines)-1])
	}

	_, out, _ = runBounded(t, "check", "--no-config", "--enable", "VER1023", "--verbose", conf)
	if c := strings.Count(out, "[VER1023 ngx-ka-defaults]"); c != n {
		t.Errorf("--verbose: %d findings printed, want %d", c, n)
	}

	_, out, _ = runBounded(t, "check", "--no-config", "--enable", "VER1023", "--format", "github", conf)
	if c := strings.Count(out, "::notice "); c != 1 {
		t.Errorf("github: %d annotations, want 1:\n%s", c, out)
	}

	_, out, _ = runBounded(t, "check", "--no-config", "--enable", "VER1023", "--format", "json", conf)
	var r checkReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != n || r.Findings[0].Conditional != "nginx < 1.15.3" {
		t.Errorf("json: %d findings (want %d), conditional %q", len(r.Findings), n, r.Findings[0].Conditional)
	}

	// Declared versions: nothing is conditional, nothing is grouped.
	_, out, errs = runBounded(t, "check", "--no-config", "--enable", "VER1023", "--nginx-version", "1.14.2", conf)
	if c := strings.Count(out, "[VER1023 ngx-ka-defaults]"); c != n || strings.Contains(errs, "did not declare") {
		t.Errorf("declared: %d findings printed (want %d); stderr %q", c, n, errs)
	}
}
