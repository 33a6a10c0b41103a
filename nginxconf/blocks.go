package nginxconf

import "strings"

// This file holds what the parser must know about directives beyond the
// syntax: which names open a block. nginx's tokenizer does not know it
// either (ngx_conf_handler checks NGX_CONF_BLOCK after the statement is
// read), but a linter that wants to say where a ";" is missing must: with
// "proxy_pass http://b" followed on the next line by
// "balancer_by_lua_block {", nginx reads one statement ending in "{", and a
// parser that believed it would read the Lua body as directives.
//
// The full directive table (contexts, argument counts, values) lives in the
// directives package, above this one; the parser needs only this short,
// stable list and so keeps it here rather than importing upward.

// takesBlock reports whether a directive named name takes a "{ ... }"
// block in nginx or in the modules OpenResty users load. The names are
// every NGX_CONF_BLOCK directive of nginx's src/ (the same fourteen from
// release-1.10.3 to release-1.31.4; "imap" of 1.0.x was renamed "mail"),
// plus lua-nginx-module's and stream-lua-nginx-module's *_by_lua_block
// directives, which all share the suffix.
func takesBlock(name string) bool {
	switch name {
	case "charset_map", "events", "geo", "http", "if", "limit_except",
		"location", "mail", "map", "server", "split_clients", "stream",
		"types", "upstream":
		return true
	}
	return isLuaBlock(name)
}

// isLuaBlock reports whether name is a directive whose block holds Lua code
// rather than directives.
func isLuaBlock(name string) bool { return strings.HasSuffix(name, "_by_lua_block") }
