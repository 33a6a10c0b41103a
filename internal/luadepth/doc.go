// Package luadepth bounds how deeply a parsed Lua chunk nests, so that the
// recursive walkers run after gopher-lua's parser (luacheck's analysis,
// gopher-lua's own compiler, the emulator's rewriting passes) never see a
// tree deep enough to exhaust the Go stack.
//
// gopher-lua parses with a goyacc table parser, which keeps its state in a
// slice and accepts any nesting; every pass over the resulting tree after
// that recurses once per level, and a Go stack overflow is a fatal error
// that no recover can catch. Check walks the tree with an explicit stack
// and reports the first node deeper than a limit, before any recursive
// walker starts.
//
// It owns the limit (Limit) and the walk; it does not parse, report
// diagnostics or decide what a caller does with a chunk that is too deep.
package luadepth
