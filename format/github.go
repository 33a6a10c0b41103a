package format

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
)

// GitHub workflow commands (docs.github.com, "Workflow commands for GitHub
// Actions"): `::error file=F,line=L,col=C,endLine=..,endColumn=..,title=T::MESSAGE`.
// The runner (actions/runner, ActionCommand.cs) unescapes %25, %0D and %0A
// in the message, and additionally %3A and %2C in property values, so those
// characters are escaped here the same way; '%' must go first.

func escapeGitHubData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeGitHubProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// githubCommand maps a severity to the annotation command: info findings
// become notices, which GitHub shows without failing anything.
func githubCommand(s analyzer.Severity) string {
	switch s {
	case analyzer.Error:
		return "error"
	case analyzer.Warning:
		return "warning"
	}
	return "notice"
}

// githubFormatter prints one annotation per finding and per load error,
// and the notes as notices. The related positions and the confirmation
// summary go into the message on their own lines (escaped as %0A), so the
// annotation shows them. Annotations are shown per line of the diff: the
// conditional findings are one per rule unless verbose, as in text.
type githubFormatter struct{ o Options }

func (f githubFormatter) Format(w io.Writer, r *Report) error {
	diags := r.Diagnostics
	if !f.o.Verbose {
		var groups []conditionalGroup
		diags, groups = groupConditional(diags)
		for _, g := range groups {
			diags = append(diags, g.summary())
		}
	}
	var b bytes.Buffer
	for _, e := range r.Errors {
		props := []string{"file=" + escapeGitHubProperty(filepath.ToSlash(e.File))}
		if e.Line > 0 {
			props = append(props, fmt.Sprintf("line=%d", e.Line), fmt.Sprintf("col=%d", max(e.Column, 1)))
		}
		props = append(props, "title="+escapeGitHubProperty("ngxlint: configuration error"))
		fmt.Fprintf(&b, "::error %s::%s\n", strings.Join(props, ","), escapeGitHubData(e.Message))
	}
	for _, d := range diags {
		props := []string{
			"file=" + escapeGitHubProperty(filepath.ToSlash(d.Pos.File)),
			fmt.Sprintf("line=%d", d.Pos.Line),
			fmt.Sprintf("col=%d", d.Pos.Column),
		}
		if d.End.IsValid() {
			props = append(props, fmt.Sprintf("endLine=%d", d.End.Line))
			// GitHub only honours endColumn on single-line annotations.
			if d.End.Line == d.Pos.Line {
				props = append(props, fmt.Sprintf("endColumn=%d", d.End.Column))
			}
		}
		props = append(props, "title="+escapeGitHubProperty(d.Rule.ID+" "+d.Rule.Slug))
		msg := resultMessage(d, f.o.Verbose)
		for _, rel := range d.Related {
			msg += fmt.Sprintf("\n%s: %s", rel.Pos, rel.Message)
		}
		msg += "\n" + d.Rule.URL()
		fmt.Fprintf(&b, "::%s %s::%s\n", githubCommand(d.Severity), strings.Join(props, ","), escapeGitHubData(msg))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "::notice title=ngxlint::%s\n", escapeGitHubData(n))
	}
	_, err := w.Write(b.Bytes())
	return err
}
