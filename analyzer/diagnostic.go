package analyzer

import (
	"context"
	"fmt"
	"strings"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// Severity orders findings; --fail-on compares against it.
type Severity int

// Severities, lowest first.
const (
	Info Severity = iota + 1
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return "unknown"
}

// ParseSeverity parses "info", "warning" or "error".
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "info", "note":
		return Info, nil
	case "warning", "warn":
		return Warning, nil
	case "error":
		return Error, nil
	}
	return 0, fmt.Errorf("unknown severity %q (want info, warning or error)", s)
}

// Related is a secondary position that explains a diagnostic, e.g.
// "balancer_by_lua_block defined here".
type Related struct {
	Pos     nginxconf.Pos
	End     nginxconf.Pos
	Message string
}

// TextEdit replaces the bytes [Pos.Offset, End.Offset) of Pos.File with
// NewText. An insertion has Pos == End.
type TextEdit struct {
	Pos     nginxconf.Pos
	End     nginxconf.Pos
	NewText string
}

// SuggestedFix is a set of edits that together fix a diagnostic. Only
// fixes that keep the configuration's meaning apart from the fix itself
// are offered.
type SuggestedFix struct {
	Message string
	Edits   []TextEdit
}

// Confirmation statuses.
const (
	// NotRun: the finding has a scenario but confirmation was not asked for.
	NotRun = "not-run"
	// Confirmed: the emulator observed the effect the rule predicts.
	Confirmed = "confirmed"
	// NotReproduced: the scenario ran and the effect did not show.
	NotReproduced = "not-reproduced"
	// ConfirmError: the scenario could not be run.
	ConfirmError = "error"
	// NotConfirmable: the rule has no scenario (e.g. a crash in TLS code
	// the emulator does not model); Reason says why.
	NotConfirmable = "not-confirmable"
)

// Confirmation is what running a finding's scenario showed.
type Confirmation struct {
	Status  string `json:"status"`
	Engine  string `json:"engine,omitempty"`
	Profile string `json:"profile,omitempty"`
	// Observed holds the scenario's measurements, e.g. requests,
	// upstream_connections, unbounded.
	Observed map[string]any `json:"observed,omitempty"`
	// Summary is one line a person reads under the finding, e.g. "1
	// request, 1000 upstream connections, capped".
	Summary string `json:"summary,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Trace is the emulator's readable trace, shown with --verbose.
	Trace string `json:"-"`
}

// Confirmer runs a diagnostic's scenario. Rules build it when they report,
// with everything the scenario needs captured, so the driver can run many
// concurrently.
type Confirmer interface {
	Confirm(ctx context.Context) Confirmation
}

// ConfirmFunc adapts a function to Confirmer.
type ConfirmFunc func(ctx context.Context) Confirmation

// Confirm calls f.
func (f ConfirmFunc) Confirm(ctx context.Context) Confirmation { return f(ctx) }

// MaxMessage bounds a Diagnostic's Message in characters, counting each
// quoted user value ("...") as at most MaxQuoted characters: a long
// upstream name or Lua path must not fail a rule, a long explanation must.
const (
	MaxMessage = 160
	MaxQuoted  = 40
)

// Diagnostic is one finding.
type Diagnostic struct {
	Rule     *Rule
	Pos      nginxconf.Pos
	End      nginxconf.Pos
	Severity Severity
	// Message is the headline: one short sentence naming the problem at
	// this place (which directive, upstream or version), what a reader
	// sees in a list of findings. It is at most MaxMessage characters, a
	// quoted user value aside, so that a report of many findings stays
	// readable (issue 18: messages of 255-380 characters buried the
	// problem); a test in package rules holds every rule to it.
	Message string
	// Details is the rest: why it happens, what nginx does, the version
	// story (affected and fixed releases, commits), how to fix it. Reports
	// show it on request (--verbose, JSON, SARIF); "" when the headline
	// and the rule's documentation say everything.
	Details string
	// Conditional is set when the finding holds only if the configuration
	// runs on versions that were not declared: it names them ("nginx
	// 1.1.4-1.9.9 (OpenResty <= 1.9.7.5)"). Reports may group such
	// findings; declaring the versions resolves each one either way.
	Conditional string
	Related     []Related
	Fixes       []SuggestedFix
	// Confirm is set by rules whose effect the emulator can observe.
	Confirm Confirmer `json:"-"`
	// Confirmation is filled by the driver: NotRun until confirmation is
	// asked for, NotConfirmable with a reason when the rule has no
	// scenario.
	Confirmation Confirmation
}

func (d *Diagnostic) String() string {
	return fmt.Sprintf("%s: %s: %s [%s %s]", d.Pos, d.Severity, d.Message, d.Rule.ID, d.Rule.Slug)
}
