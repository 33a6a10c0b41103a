package analyzer

// Engine names what runs the confirmation scenarios. The zero value is the
// built-in emulator. Name "nginx" or "both" executes the real binary at
// NginxBinary on a copy of the configuration, which runs the
// configuration's Lua with the caller's rights: only the person running
// ngxlint may choose that (a command-line flag), never the configuration
// or .ngxlint.yaml of the repository under test.
type Engine struct {
	// Name is "" or "emulator", "nginx", or "both".
	Name string
	// NginxBinary is the nginx binary for "nginx" and "both".
	NginxBinary string
	// LNMVersion is the lua-nginx-module version of that binary when it
	// cannot be read from it (Debian's dynamic module).
	LNMVersion string
}
