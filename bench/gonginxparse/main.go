// The benchmark helpers are built by scripts/bench.sh with -tags
// ngxlint_tools: without the tag `go install ./...`, which pre-commit's
// golang language runs in the hook repository, installs only cmd/ngxlint.

//go:build ngxlint_tools

// Command gonginxparse is the gonginx baseline of scripts/bench.sh: it
// parses one nginx configuration file with github.com/tufanbarisyildirim/gonginx
// (unknown directives allowed, as ngxlint allows them; -includes follows
// include directives too) and exits 0 when the parse succeeds. It does
// nothing else, so its run time is gonginx's parse plus process start.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/tufanbarisyildirim/gonginx/parser"
)

func main() {
	includes := flag.Bool("includes", false, "parse included files too")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gonginxparse [-includes] FILE")
		os.Exit(2)
	}
	opts := []parser.Option{parser.WithSkipValidDirectivesErr()}
	if *includes {
		opts = append(opts, parser.WithIncludeParsing())
	}
	p, err := parser.NewParser(flag.Arg(0), opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gonginxparse:", err)
		os.Exit(1)
	}
	conf, err := p.Parse()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gonginxparse:", err)
		os.Exit(1)
	}
	fmt.Println(len(conf.Block.Directives), "top-level directives")
}
