package main

import (
	"encoding/json"
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

// writeGitHub prints one annotation per finding and per load error. The
// related positions and the confirmation summary go into the message on
// their own lines (escaped as %0A), so the annotation shows them.
func writeGitHub(w io.Writer, r *checkReport) {
	for _, e := range r.Errors {
		props := []string{"file=" + escapeGitHubProperty(filepath.ToSlash(e.File))}
		if e.Line > 0 {
			props = append(props, fmt.Sprintf("line=%d", e.Line), fmt.Sprintf("col=%d", max(e.Column, 1)))
		}
		props = append(props, "title="+escapeGitHubProperty("ngxlint: configuration error"))
		fmt.Fprintf(w, "::error %s::%s\n", strings.Join(props, ","), escapeGitHubData(e.Message))
	}
	for _, d := range r.diags {
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
		msg := resultMessage(d)
		for _, rel := range d.Related {
			msg += fmt.Sprintf("\n%s: %s", rel.Pos, rel.Message)
		}
		msg += "\n" + d.Rule.URL()
		fmt.Fprintf(w, "::%s %s::%s\n", githubCommand(d.Severity), strings.Join(props, ","), escapeGitHubData(msg))
	}
}

// codeQualityIssue is one entry of GitLab's Code Quality report (a subset
// of the Code Climate spec: description, check_name, fingerprint,
// severity, location.path, location.lines.begin), which GitLab shows in
// merge requests.
type codeQualityIssue struct {
	Description string              `json:"description"`
	CheckName   string              `json:"check_name"`
	Fingerprint string              `json:"fingerprint"`
	Severity    string              `json:"severity"`
	Location    codeQualityLocation `json:"location"`
}

type codeQualityLocation struct {
	Path  string `json:"path"`
	Lines struct {
		Begin int `json:"begin"`
		End   int `json:"end,omitempty"`
	} `json:"lines"`
}

func codeQualitySeverity(s analyzer.Severity) string {
	switch s {
	case analyzer.Error:
		return "critical"
	case analyzer.Warning:
		return "major"
	}
	return "info"
}

func writeCodeQuality(w io.Writer, r *checkReport, fps map[*analyzer.Diagnostic]analyzer.Fingerprint) error {
	issues := []codeQualityIssue{}
	for _, d := range r.diags {
		is := codeQualityIssue{Description: fmt.Sprintf("%s [%s %s]", resultMessage(d), d.Rule.ID, d.Rule.Slug),
			CheckName: d.Rule.ID, Severity: codeQualitySeverity(d.Severity)}
		is.Location.Path = filepath.ToSlash(d.Pos.File)
		is.Location.Lines.Begin = d.Pos.Line
		if d.End.Line > d.Pos.Line {
			is.Location.Lines.End = d.End.Line
		}
		is.Fingerprint = hashHex(fps[d].String())
		issues = append(issues, is)
	}
	for _, e := range r.Errors {
		is := codeQualityIssue{Description: "configuration error: " + e.Message, CheckName: "load-error", Severity: "blocker"}
		is.Location.Path = filepath.ToSlash(e.File)
		is.Location.Lines.Begin = max(e.Line, 1)
		is.Fingerprint = hashHex(fmt.Sprintf("%s:%d:%s", e.File, e.Line, e.Message))
		issues = append(issues, is)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(issues)
}
