package main

import (
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/nginxconf"
)

func TestRegisterLimitFlags(t *testing.T) {
	parse := func(args ...string) (nginxconf.Options, error) {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var o nginxconf.Options
		var allow allowFlag
		registerLimitFlags(fs, &o, &allow)
		return o, fs.Parse(args)
	}
	o, err := parse()
	if err != nil || o.MaxFileSize != nginxconf.DefaultMaxFileSize || o.MaxIncludeDepth != nginxconf.DefaultMaxIncludeDepth ||
		o.MaxFiles != nginxconf.DefaultMaxFiles || o.MaxNesting != nginxconf.DefaultMaxNesting || o.MaxDirectives != nginxconf.DefaultMaxDirectives {
		t.Errorf("defaults %+v, %v", o, err)
	}
	if o.MaxTotalBytes != nginxconf.DefaultMaxTotalBytes || o.MaxErrors != nginxconf.DefaultMaxErrors {
		t.Errorf("defaults %+v", o)
	}
	o, err = parse("--max-file-size", "2M", "--max-include-depth=3", "--max-files", "7", "--max-nesting", "9", "--max-directives", "11",
		"--max-total-bytes", "5M", "--max-errors", "13")
	if err != nil || o.MaxFileSize != 2<<20 || o.MaxIncludeDepth != 3 || o.MaxFiles != 7 || o.MaxNesting != 9 || o.MaxDirectives != 11 ||
		o.MaxTotalBytes != 5<<20 || o.MaxErrors != 13 {
		t.Errorf("parsed %+v, %v", o, err)
	}
	if o, _ = parse("--max-file-size", "1500"); o.MaxFileSize != 1500 {
		t.Errorf("plain size: %d", o.MaxFileSize)
	}
	for _, bad := range [][]string{
		{"--max-file-size", "0"}, {"--max-file-size", "-1"}, {"--max-file-size", "1T"}, {"--max-file-size", "99999999999G"},
		{"--max-include-depth", "0"}, {"--max-files", "x"}, {"--max-nesting", "-5"}, {"--max-directives", "1.5"},
	} {
		if _, err := parse(bad...); err == nil || !strings.Contains(err.Error(), bad[0][2:]) {
			t.Errorf("%v: error %v", bad, err)
		}
	}
}
