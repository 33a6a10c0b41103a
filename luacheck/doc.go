// Package luacheck analyses the Lua chunks an nginx/OpenResty configuration
// carries (*_by_lua_block bodies, quoted *_by_lua strings, *_by_lua_file
// files) and returns facts about them: syntax errors, luacheck-equivalent
// warnings, uses of ngx.* APIs (direct, through local aliases and through
// require "ngx.*" modules) with the API table's verdict for the chunk's
// phase, balancer facts (set_current_peer hosts and ignored results, paths
// that never set a peer, guarded or unguarded set_more_tries) and
// "-- ngxlint:ignore" comments. Every position points into the file where
// the code lives, line and column.
//
// It parses with gopher-lua after a length-preserving pre-pass for the
// LuaJIT syntax gopher-lua rejects, recovers columns with its own tokenizer,
// and follows luacheck 1.1.0's analysis (linearized control flow, reaching
// assignments) so that warning codes mean what luacheck's do:
//
//	W111 setting non-standard global          W211 unused local variable
//	W112 mutating non-standard global         W212 unused argument (not _x; self counts)
//	W113 accessing undefined variable         W213 unused loop variable
//	W143 accessing undefined field of a std   W311 value assigned is unused/overwritten
//	     global (ngx.* from ngx_lua_api.json) W421/W422/W423 shadowing a local /
//	W511 unreachable code                          argument / loop variable
//
// (It also reports the neighbouring codes luacheck derives on the way:
// W121/W122/W142, W214, W221, W231, W241, W312, W313, W331, W411-W413,
// W431-W433, W512.) The standard globals are luacheck's "ngx_lua" std
// (Lua 5.1 + LuaJIT + OpenResty), except that the fields of ngx come from
// the embedded API table; DIFFERENCES.md lists every known disagreement
// with luacheck.
//
// It owns no diagnostics, rule IDs or severities (that is the rules
// package), does not read nginx configuration (nginxconf finds the chunks),
// and never runs code. The API table is generated from ../shared/data by
// `go generate` (internal/apigen) and embedded in apitable_gen.go.
package luacheck
