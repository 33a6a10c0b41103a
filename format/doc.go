// Package format prints a check's report: as gcc-style text, as the JSON
// contract document, as SARIF 2.1.0 for code scanning, as GitHub workflow
// annotations and as GitLab Code Quality. The command line and library
// users share it: `ngxlint check --format X` is New(X, ...).Format.
//
// Nothing here knows about terminals: colours come in through
// Options.Style and the command decides when to use them. What the
// formatters do know is that the report carries the repository's bytes
// (file names, quoted configuration words, what the user's Lua logged),
// so every format escapes them for where it goes (textsafe.go for text,
// the runner's escaping for GitHub commands, JSON and SARIF encoders for
// the rest).
package format
