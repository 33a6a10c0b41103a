package main

import (
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
)

// Messages about Lua quote names from the code ("accessing undefined
// variable 'x'"). A file the configuration loads as Lua need not be Lua:
// a line "TOKEN=ghp_..." of a credentials file parses as an assignment,
// and its value would come back as an undefined variable in every output
// format. nginxconf applies the same rule to the words of a configuration
// it quotes (docs/security.md): a word is quoted only when it looks like a
// name people write, at most 40 bytes with at most 4 digits; tokens and
// keys are longer or carry many digits. Anything else in single quotes is
// described by its length instead.

// redactReport applies redactQuoted to every message of the report.
func redactReport(r *checkReport) {
	for _, d := range r.Diagnostics {
		redactDiagnostic(d)
	}
	for i := range r.Errors {
		r.Errors[i].Message = redactQuoted(r.Errors[i].Message)
	}
}

func redactDiagnostic(d *analyzer.Diagnostic) {
	d.Message = redactQuoted(d.Message)
	for i := range d.Related {
		d.Related[i].Message = redactQuoted(d.Related[i].Message)
	}
	d.Confirmation.Summary = redactQuoted(d.Confirmation.Summary)
	d.Confirmation.Reason = redactQuoted(d.Confirmation.Reason)
}

// redactQuoted replaces each single-quoted word of s that does not look
// like a name with a description of it.
func redactQuoted(s string) string {
	if strings.IndexByte(s, '\'') < 0 {
		return s
	}
	var b strings.Builder
	rest := s
	for {
		i := strings.IndexByte(rest, '\'')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		j := strings.IndexByte(rest[i+1:], '\'')
		if j < 0 {
			b.WriteString(rest)
			break
		}
		word := rest[i+1 : i+1+j]
		b.WriteString(rest[:i+1])
		if isWord(word) && !nameLike(word) {
			b.WriteString("(a name of " + strconv.Itoa(len(word)) + " bytes, not quoted)")
		} else {
			b.WriteString(word)
		}
		b.WriteByte('\'')
		rest = rest[i+2+j:]
	}
	return b.String()
}

// isWord reports a Lua-identifier-like run: letters, digits, '_'.
func isWord(w string) bool {
	if w == "" {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// nameLike is the quoting rule above.
func nameLike(w string) bool {
	if len(w) > 40 {
		return false
	}
	digits := 0
	for i := 0; i < len(w); i++ {
		if w[i] >= '0' && w[i] <= '9' {
			digits++
		}
	}
	return digits <= 4
}
