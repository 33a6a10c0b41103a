package analyzer

import (
	"io/fs"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// Engine is what runs the confirmation scenarios, and what they may use.
// The zero value is the built-in emulator with nothing from outside.
// A Runner other than the emulator (nginxengine.Runner) executes a real
// binary on a copy of the configuration, which runs the configuration's
// Lua with the caller's rights: only the person running ngxlint may choose
// that (a command-line flag), never the configuration or .ngxlint.yaml of
// the repository under test.
type Engine struct {
	// Runner runs each scenario; nil is emulator.Builtin.
	Runner emulator.Runner
	// Files is the checked tree (its root is nginx's "/"), which the
	// emulated Lua may read (io.open); nil lets it read nothing.
	Files fs.FS
	// PathMap maps the deployment paths the configuration names onto
	// Files (.ngxlint.yaml path_map), as the loader applied it.
	PathMap []nginxconf.PathMapping
	// Fixtures stand in for what the user's Lua gets from outside the
	// configuration in the emulator. They are data: nothing in them runs
	// outside the sandbox or reaches the real environment, so they may
	// come from the repository's .ngxlint.yaml.
	Fixtures Fixtures
}

// Fixtures are the emulator's stand-ins for the world outside the
// configuration (.ngxlint.yaml emulate:, or flags).
type Fixtures struct {
	// SharedDicts fill ngx.shared.NAME: dict -> key -> value.
	SharedDicts map[string]map[string]string
	// Env is all that os.getenv sees.
	Env map[string]string
	// Vars set ngx.var values on every request.
	Vars map[string]string
	// Modules replace or add Lua modules by name.
	Modules map[string]FixtureModule
}

// FixtureModule is a stub module's source and the file it came from.
type FixtureModule struct{ File, Code string }
