package main

import (
	"flag"
	"fmt"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// registerLimitFlags declares the loader's resource limits on fs, writing
// into o. ngxlint reads configurations from pull requests in CI, so each
// limit is on by default (nginxconf's Default* values, shown as the flag
// defaults) and can be raised for unusually large trees or lowered to
// fail fast. A value <= 0 is refused: it would silently mean "default".
func registerLimitFlags(fs *flag.FlagSet, o *nginxconf.Options, allow *allowFlag) {
	o.MaxFileSize = nginxconf.DefaultMaxFileSize
	o.MaxIncludeDepth = nginxconf.DefaultMaxIncludeDepth
	o.MaxFiles = nginxconf.DefaultMaxFiles
	o.MaxNesting = nginxconf.DefaultMaxNesting
	o.MaxDirectives = nginxconf.DefaultMaxDirectives
	o.MaxTotalBytes = nginxconf.DefaultMaxTotalBytes
	o.MaxErrors = nginxconf.DefaultMaxErrors
	fs.Var(positiveInt64{&o.MaxFileSize}, "max-file-size", "largest configuration or Lua file read, in bytes")
	fs.Var(positiveInt{&o.MaxIncludeDepth}, "max-include-depth", "deepest chain of nested includes")
	fs.Var(positiveInt{&o.MaxFiles}, "max-files", "most files (configuration and Lua) read for one configuration")
	fs.Var(positiveInt{&o.MaxNesting}, "max-nesting", "deepest block nesting within one file")
	fs.Var(positiveInt{&o.MaxDirectives}, "max-directives", "most directives in one configuration (all files)")
	fs.Var(positiveInt64{&o.MaxTotalBytes}, "max-total-bytes", "most bytes read for one configuration, all files together (a file included twice counts twice)")
	fs.Var(positiveInt{&o.MaxErrors}, "max-errors", "most load errors reported for one configuration (one more line says how many were dropped)")
	fs.Var(allow, "allow-path", "also read files under this directory (repeatable); includes, Lua files and symlinks that lead outside the checked tree are refused otherwise (docs/security.md); --fix never writes there")
}

// positiveInt is an int flag that must be > 0.
type positiveInt struct{ p *int }

func (v positiveInt) String() string {
	if v.p == nil {
		return ""
	}
	return fmt.Sprint(*v.p)
}

func (v positiveInt) Set(s string) error {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil || fmt.Sprint(n) != s {
		return fmt.Errorf("want a whole number, got %q", s)
	}
	if n <= 0 {
		return fmt.Errorf("must be at least 1, got %d", n)
	}
	*v.p = n
	return nil
}

// positiveInt64 is positiveInt for sizes; it also takes a K, M or G suffix
// (powers of 1024).
type positiveInt64 struct{ p *int64 }

func (v positiveInt64) String() string {
	if v.p == nil {
		return ""
	}
	return fmt.Sprint(*v.p)
}

func (v positiveInt64) Set(s string) error {
	mult := int64(1)
	num := s
	if n := len(s); n > 1 {
		switch s[n-1] {
		case 'k', 'K':
			mult, num = 1<<10, s[:n-1]
		case 'm', 'M':
			mult, num = 1<<20, s[:n-1]
		case 'g', 'G':
			mult, num = 1<<30, s[:n-1]
		}
	}
	var n int64
	if _, err := fmt.Sscan(num, &n); err != nil || fmt.Sprint(n) != num {
		return fmt.Errorf("want a size in bytes (optionally with K, M or G), got %q", s)
	}
	if n <= 0 {
		return fmt.Errorf("must be at least 1, got %s", s)
	}
	if n > (1<<62)/mult {
		return fmt.Errorf("size %s is too large", s)
	}
	*v.p = n * mult
	return nil
}
