package directives

// Versioning says which version a module's directive ranges count in.
type Versioning uint8

// The versioning schemes.
const (
	// Unversioned: the module was read at one revision; its directives
	// carry no range.
	Unversioned Versioning = iota
	// NginxVersion: one of nginx's own modules, ranges in nginx releases.
	NginxVersion
	// LNMVersion: lua-nginx-module (ngx_http_lua_module), ranges in its
	// releases.
	LNMVersion
)

// Module is a module the table knows, with where its facts were read.
type Module struct {
	Name string // the ngx_module_t name
	// Project is the source project ("nginx", "lua-nginx-module", ...),
	// as the generator's -src directory names it.
	Project string
	// File is the source file of the module, relative to its project.
	File string
	// Revisions names what was read: a tag range or one tag / commit.
	Revisions  string
	Versioning Versioning
	// ThirdParty is set for modules that are not part of nginx: a build
	// has them only when compiled in or loaded with load_module.
	ThirdParty bool
	// Object is the shared object's base name when built as a dynamic
	// module ("ngx_stream_module" holds every stream module), as
	// load_module names it.
	Object string
}
