package luacheck

import "github.com/ngxlint/ngxlint/nginxconf"

// Options tunes an analysis.
type Options struct {
	// LuaNginxModuleVersion is the declared lua-nginx-module version (e.g.
	// "0.10.23" or "v0.10.23"); empty when unknown. It feeds
	// APIUse.NewerThanDeclared and chooses the release whose contexts
	// judge APIUse.Allowed (IsAllowedAt).
	LuaNginxModuleVersion string
	// LuaRestyCoreVersion is the declared lua-resty-core version, likewise.
	LuaRestyCoreVersion string
	// Subsystem is "stream" for a chunk of a stream{} block: its API uses
	// are judged by the stream table (IsAllowedInStream) with
	// StreamLuaVersion (the declared stream-lua-nginx-module release, ""
	// for the latest read), never by the http one, and carry no
	// since-version verdicts (those are lua-nginx-module's). "" or "http"
	// is the http subsystem.
	Subsystem        string
	StreamLuaVersion string
}

// Result holds every fact found in one chunk. All positions point into the
// file where the code lives (see Analyze).
type Result struct {
	// Context is the normalised phase of the chunk, e.g. "balancer_by_lua*"
	// (the key used by ngx_lua_api.json), or "" when the chunk's Context is
	// not a known *_by_lua directive.
	Context string
	// SyntaxErrors is non-empty when the chunk does not parse, or nests
	// deeper than luadepth.Limit; the other facts (except Ignores) are then
	// empty.
	SyntaxErrors []SyntaxError
	// Warnings are luacheck-equivalent warnings, sorted by position.
	Warnings []Warning
	// APIUses are uses of ngx.* / ndk.* APIs, direct or through aliases and
	// required modules, in source order.
	APIUses []APIUse
	// Balancer holds the ngx.balancer facts; nil when the chunk uses no
	// ngx.balancer API and is not a balancer_by_lua* chunk.
	Balancer *BalancerFacts
	// Ignores are the "-- ngxlint:ignore" comments of the chunk.
	Ignores []Ignore
	// ModuleCalls are the calls into required modules, in source order
	// (see modules.go); Exports the functions of the table the chunk
	// returns, when it is a module.
	ModuleCalls []ModuleCall
	Exports     []Export
	// DefinedGlobals are the globals the chunk defines besides plain
	// assignments (the W111 warnings name those): _G.name = v and
	// rawset(_G, "name", v), each once, sorted.
	DefinedGlobals []string
	// InternalErrors is non-empty only if the analysis itself failed (a bug
	// caught by the last-resort recover); the message says where.
	InternalErrors []string
}

// SyntaxError is a Lua syntax error.
type SyntaxError struct {
	Pos, End nginxconf.Pos
	// Message says what is wrong and, except at end of input, ends in
	// "near " + Token. It never quotes the chunk (see Token).
	Message string
	// Token describes the token gopher-lua was looking at without quoting
	// the chunk, "" at end of input: keywords and punctuation as written
	// in quotes ("'end'", "'='"), names, strings and numbers by kind ("a
	// name", "a string", "a number"). A file read as Lua by mistake (a
	// credentials file named in *_by_lua_file) must not have its content
	// echoed into CI logs.
	Token string
}

// Warning is one luacheck-style warning. Code has luacheck's meaning, so
// users can map it: see doc.go for the table.
type Warning struct {
	Code     string // e.g. "W113"
	Pos, End nginxconf.Pos
	// Name is the variable (or global) concerned; for W143 the global.
	Name string
	// Field is the dotted field path for W143 (e.g. "sayy", "req.foo").
	Field   string
	Message string
	// Indirect is set for W143 found through a local alias of the global
	// (luacheck's "indirectly accessing undefined field").
	Indirect bool
	// PrevLine is the line (in the same file) of the shadowed definition for
	// W421-W423, 0 otherwise.
	PrevLine int
}

// ArgKind classifies a literal call argument.
type ArgKind int

// Argument kinds.
const (
	ArgOther ArgKind = iota // not a literal
	ArgString
	ArgNumber
	ArgBool
	ArgNil
)

// Arg is one call argument.
type Arg struct {
	Kind ArgKind
	// Value is the literal value (decoded string, number as written,
	// "true"/"false", "nil"); "" for ArgOther.
	Value    string
	Pos, End nginxconf.Pos
}

// APIUse is one use of an OpenResty API.
type APIUse struct {
	// Name is canonical: "ngx.sleep", "ngx.socket.tcp",
	// "ngx.balancer.set_current_peer", "ngx.req.get_headers", ...
	Name     string
	Pos, End nginxconf.Pos
	// Via says how the name was reached: "global" (ngx.sleep), "alias"
	// (local sleep = ngx.sleep; sleep()), or "require" (a module returned
	// by require "ngx.balancer").
	Via string
	// Call is set when the API is called at this use.
	Call bool
	// ResultUsed is set for calls whose result is used (not a call
	// statement, and, for local assignments, at least one of the assigned
	// locals is read afterwards).
	ResultUsed bool
	// Args are the call arguments (for calls).
	Args []Arg
	// Known reports whether Name is in the embedded API table.
	Known bool
	// Context is the context the use runs in: the chunk's
	// (Result.Context), or TimerContext inside an ngx.timer.at /
	// ngx.timer.every callback.
	Context string
	// Allowed is the verdict of the API table for Context, at the
	// declared lua-nginx-module release (Options.LuaNginxModuleVersion;
	// the latest release read when none is declared).
	Allowed Allowance
	// Since and SinceComponent come from the API table ("" when unknown).
	Since          string
	SinceComponent string
	// NewerThanDeclared is set when Options declares a version of
	// SinceComponent older than Since.
	NewerThanDeclared bool
}

// Ignore is one "-- ngxlint:ignore ID[,ID] reason" comment.
type Ignore struct {
	Pos, End nginxconf.Pos
	// Line is the line (in the file) the directive applies to: its own line
	// for a trailing comment, else the next line that has code.
	Line      int
	IDs       []string
	Reason    string
	HasReason bool
}
