//go:build ngxlint_tools

// Command apigen writes luacheck's embedded API table; run by go generate.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ngxlint/ngxlint/luacheck/internal/apigen"
)

func main() {
	data := flag.String("data", "../../shared/data", "directory holding ngx_lua_api.json and ngx_lua_phase_rules.json")
	out := flag.String("out", "apitable_gen.go", "output file")
	stream := flag.Bool("stream", false, "write the stream API table (from streamfacts.json) instead")
	flag.Parse()
	if *stream {
		src, err := apigen.GenerateStream()
		if err == nil {
			err = os.WriteFile(*out, src, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "apigen:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*data, *out); err != nil {
		fmt.Fprintln(os.Stderr, "apigen:", err)
		os.Exit(1)
	}
}

func run(data, out string) error {
	api, err := os.ReadFile(filepath.Join(data, "ngx_lua_api.json"))
	if err != nil {
		return err
	}
	rules, err := os.ReadFile(filepath.Join(data, "ngx_lua_phase_rules.json"))
	if err != nil {
		return err
	}
	src, err := apigen.Generate(api, rules)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}
