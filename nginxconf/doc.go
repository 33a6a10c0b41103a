// Package nginxconf loads an nginx / OpenResty configuration tree with exact
// positions: a lexer and parser that follow nginx's own tokenizer
// (src/core/ngx_conf_file.c), include resolution through an fs.FS, Lua bodies
// of *_by_lua_block directives recovered byte-exact by a Lua-aware scan, quoted
// *_by_lua strings and *_by_lua_file files, and a typed model (upstreams,
// servers, locations, effective inherited proxy_* settings).
//
// It owns syntax and structure only. It does not judge a configuration (that
// is the rules package) and does not analyse Lua beyond finding where a chunk
// starts and ends (that is the luacheck package). It imports no other package
// of this module.
//
// Entry points: Load (an fs.FS whose root stands for "/"), LoadFile (the
// operating system's files) and ParseString (one file, for tests) build the
// tree; Config.Walk visits it in nginx order with includes expanded in
// place; Config.MarshalParseJSON prints it as crossplane-style JSON; and
// BuildModel gives the typed view. Bad input never panics: every problem is
// an *Error with file:line:col in Config.Errors, and parsing resumes after
// it where nginx's grammar allows. Options bounds what a hostile tree can
// cost (file size, bytes read in all, include depth, number of files,
// block nesting counted across includes, directives, errors kept) and,
// with Roots, confines reading to the checked tree once symbolic links
// are resolved. Special files (devices, FIFOs, directories, /proc) are
// refused before they are read; binary files and files named like
// credentials (guard.go holds the table) are never read; include globs do
// not follow symbolic links back into their own tree. Error messages
// quote a word of a file only when it looks like a directive name, since
// they end up in public CI logs.
//
// Large trees use every processor where the result cannot depend on it:
// Load parses the files an include glob matches concurrently and adopts
// them in glob order (reparsing in order when a limit falls inside one),
// and BuildModel builds top-level server blocks concurrently and merges
// them in document order.
package nginxconf
