package format

import (
	"fmt"
	"io"
	"strings"
)

// A Formatter writes a report in one output format.
type Formatter interface {
	Format(w io.Writer, r *Report) error
}

// Names are the formats New knows, the values of `check --format`.
var Names = []string{"text", "json", "sarif", "github", "codequality"}

// Options tune the formatters; the zero value is plain, terse output.
type Options struct {
	// Verbose lists each conditional finding on its own (text and
	// github group them by rule otherwise) and prints each finding's
	// details (text and github) and, in text, each confirmation's trace.
	Verbose bool
	// Snippets prints, in text, the source line and a caret under each
	// finding.
	Snippets bool
	// Style highlights parts of the text format (the CLI passes terminal
	// colours); nil prints them plain.
	Style func(Role, string) string
	// ToolVersion is the ngxlint version SARIF names ("" = none).
	ToolVersion string
}

// Role is what a highlighted part of the text format is.
type Role int

const (
	RoleError     Role = iota // the severity word "error"
	RoleWarning               // the severity word "warning"
	RoleInfo                  // the severity word "info"
	RoleConfirmed             // a confirmation's "confirmed"
	RoleCaret                 // the caret under a snippet
)

// New returns the formatter called name (one of Names).
func New(name string, opts Options) (Formatter, error) {
	if opts.Style == nil {
		opts.Style = func(_ Role, s string) string { return s }
	}
	switch name {
	case "text":
		return textFormatter{opts}, nil
	case "json":
		return jsonFormatter{}, nil
	case "sarif":
		return sarifFormatter{opts}, nil
	case "github":
		return githubFormatter{opts}, nil
	case "codequality":
		return codeQualityFormatter{}, nil
	}
	return nil, fmt.Errorf("unknown format %q (want %s)", name, strings.Join(Names, ", "))
}
