// Package main is the ngxlint command line. main.go only builds a Command;
// everything else is in Command.Main so the whole CLI runs in-process in
// tests (rhysd/actionlint's command.go). The CLI parses flags, loads the
// configuration, resolves versions, runs the rules from package rules,
// optionally confirms findings, and prints text, JSON, SARIF, GitHub
// annotations or a GitLab Code Quality report with the exit codes
// documented in the README. It also owns what CI needs around that: the
// .ngxlint.yaml configuration file, baselines, --fix / --diff, reading
// versions from an nginx binary and its lua module, and `ngxlint docs`
// (docs/rules.md). Exit codes:
// 0 clean, 1 findings at or above --fail-on, 2 usage or load error,
// 3 internal error.
package main
