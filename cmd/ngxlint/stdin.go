package main

import (
	"io"
	"testing/fstest"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// stdinName is how findings name a configuration read from standard input
// (`ngxlint check -`), as compilers do.
const stdinName = "<stdin>"

// loadStdin reads one configuration file from standard input, bounded by
// the file-size limit, and loads it on its own: it has no directory, so
// its includes and *_by_lua_file paths name nothing that can be read.
// Output of "nginx -T" is recognised by its "# configuration file PATH:"
// lines and split back into its files (nginxconf.LoadDump).
func (c *Command) loadStdin(o nginxconf.Options) (*nginxconf.Config, error) {
	if c.Stdin == nil {
		return nil, usagef("check -: no standard input")
	}
	limit := o.MaxFileSize
	if limit <= 0 {
		limit = nginxconf.DefaultMaxFileSize
	}
	data, err := io.ReadAll(io.LimitReader(c.Stdin, limit+1))
	if err != nil {
		return nil, usagef("check -: %v", err)
	}
	if int64(len(data)) > limit {
		return nil, usagef("check -: standard input is larger than %d bytes (--max-file-size)", limit)
	}
	if nginxconf.IsDump(data) {
		// "nginx -T | ngxlint check -": the files nginx read, each
		// under the path it printed (dump.go).
		o.Roots = nil
		cfg, err := nginxconf.LoadDump(data, o)
		if err != nil {
			return nil, usagef("check -: %v", err)
		}
		return cfg, nil
	}
	o.Roots = []string{stdinName}
	o.Prefix = ""
	cfg := nginxconf.Load(fstest.MapFS{stdinName: {Data: data}}, stdinName, o)
	return cfg, nil
}
