// Package rules holds ngxlint's rules, one per file, each a declarative
// analyzer.Rule with its documentation, examples and, where the emulator can
// observe the effect, a confirmation scenario. Rules turn facts (the
// nginxconf model, luacheck's analysis of Lua chunks, the declared versions)
// into diagnostics; shared facts are computed once per run through
// analyzer.Pass.Fact. PrewarmLua lets a caller analyse the Lua chunks into
// the run's memo (analyzer.Options.Facts) while it is still building the
// model, as the CLI does.
//
// Adding a rule: write one file with the rule value, add it to the list in
// registry.go, and add txtar cases under testdata/rules/<slug>/.
package rules
