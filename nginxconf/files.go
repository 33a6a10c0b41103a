package nginxconf

// AllFiles are every file the configuration read: its configuration
// files, its *_by_lua_file files and the Lua modules they require. Reports
// read them for source lines, columns and fingerprints.
func (c *Config) AllFiles() []*File {
	out := append(append([]*File(nil), c.Files...), c.LuaFiles...)
	for _, m := range c.Modules {
		if m.File != nil {
			out = append(out, m.File)
		}
	}
	return out
}
