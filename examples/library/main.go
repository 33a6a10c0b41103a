//go:build ngxlint_tools

// Command library runs the seed configuration through the ngxlint package,
// first without confirmation and then with the built-in emulator, and
// prints what a program embedding ngxlint gets back. Run it from the
// repository root:
//
//	go run -tags ngxlint_tools ./examples/library
//
// (The build tag keeps it out of `go install ./...`, which pre-commit runs.)
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/ngxlint/ngxlint"
)

func main() {
	fsys := os.DirFS("examples/seed")
	for _, confirm := range []bool{false, true} {
		rep, err := ngxlint.Check(context.Background(), fsys, []string{"nginx.conf"}, ngxlint.Options{
			Versions: "nginx=1.9.7,lua_nginx_module=0.10.0",
			Confirm:  confirm,
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("confirm=%v: %d findings\n", confirm, len(rep.Findings))
		for _, f := range rep.Findings {
			fmt.Printf("  %s:%d:%d %s %s %s\n", f.File, f.Line, f.Column, f.Severity, f.Rule, f.Confirmation.Status)
		}
	}
	// The report is the JSON contract of `ngxlint check --format json`.
	rep, _ := ngxlint.Check(context.Background(), fsys, []string{"nginx.conf"}, ngxlint.Options{Enable: []string{"NGX2001"}})
	json.NewEncoder(os.Stdout).Encode(rep.Profile)
}
