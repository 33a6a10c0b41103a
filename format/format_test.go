package format

import "testing"

func TestGitHubEscaping(t *testing.T) {
	if got := escapeGitHubData("50% done\r\nnext: a,b"); got != "50%25 done%0D%0Anext: a,b" {
		t.Errorf("data: %q", got)
	}
	if got := escapeGitHubProperty("a:b,c%\n"); got != "a%3Ab%2Cc%25%0A" {
		t.Errorf("property: %q", got)
	}
}

func TestAppendSafe(t *testing.T) {
	for in, want := range map[string]string{
		"plain text: a::b #1":       "plain text: a::b #1",
		"::warning::x":              `\x3a:warning::x`,
		"a\n::error::x":             `a\n::error::x`,
		"##[group]x ##vso[":         `#\x23[group]x #\x23vso[`,
		"\x1b[31mred\x00\x7f\r":     `\x1b[31mred\x00\x7f\r`,
		"caf\u00e9 \u202eevil \xff": "caf\u00e9 \\u202eevil \\xff",
		"\u0085next":                `\u0085next`,
	} {
		if got := string(AppendSafe(nil, in)); got != want {
			t.Errorf("AppendSafe(%q) = %q, want %q", in, got, want)
		}
	}
	// Mid-line "::" is not a command; after blanks at a line start it is.
	if got := string(AppendSafe([]byte("x\n    "), "::a")); got != "x\n    \\x3a:a" {
		t.Errorf("after blanks: %q", got)
	}
	if got := string(AppendSafe([]byte("file.conf: "), "::a")); got != "file.conf: ::a" {
		t.Errorf("mid-line: %q", got)
	}
}
