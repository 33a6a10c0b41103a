package format

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/ngxlint/ngxlint/analyzer"
)

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

// codeQualityFormatter writes GitLab's Code Quality report.
type codeQualityFormatter struct{}

func (codeQualityFormatter) Format(w io.Writer, r *Report) error {
	fps := r.fingerprints()
	issues := []codeQualityIssue{}
	for _, d := range r.Diagnostics {
		is := codeQualityIssue{Description: fmt.Sprintf("%s [%s %s]", resultMessage(d, false), d.Rule.ID, d.Rule.Slug),
			CheckName: d.Rule.ID, Severity: codeQualitySeverity(d.Severity)}
		is.Location.Path = filepath.ToSlash(d.Pos.File)
		is.Location.Lines.Begin = d.Pos.Line
		if d.End.Line > d.Pos.Line {
			is.Location.Lines.End = d.End.Line
		}
		is.Fingerprint = HashHex(fps[d].String())
		issues = append(issues, is)
	}
	for _, e := range r.Errors {
		is := codeQualityIssue{Description: "configuration error: " + e.Message, CheckName: "load-error", Severity: "blocker"}
		is.Location.Path = filepath.ToSlash(e.File)
		is.Location.Lines.Begin = max(e.Line, 1)
		is.Fingerprint = HashHex(fmt.Sprintf("%s:%d:%s", e.File, e.Line, e.Message))
		issues = append(issues, is)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(issues)
}

// HashHex is the short hex SHA-256 that fingerprints are printed as
// (Code Quality fingerprints, baseline entries).
func HashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}
