// Package analyzer is the framework rules run in, shaped after
// golang.org/x/tools/go/analysis: a Rule is a declarative value (ID, slug,
// documentation, default severity, Run); a Pass hands a rule the loaded
// configuration, its typed model, the declared versions and shared facts;
// a Diagnostic carries a position and end, related positions, suggested
// fixes as byte-offset text edits and a Confirmation slot that the emulator
// fills. The driver runs a set of rules, applies selection, severity
// overrides and suppressions, and sorts and de-duplicates the result.
//
// The package knows no rule and runs no emulator: a rule attaches a
// Confirmer to a diagnostic, and the driver only calls it when asked to.
package analyzer
