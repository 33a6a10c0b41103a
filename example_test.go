package ngxlint_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/ngxlint/ngxlint"
	"github.com/ngxlint/ngxlint/format"
)

// Check the bundled seed (examples/seed) on the versions of the original
// bug, with one rule.
func ExampleCheck() {
	rep, err := ngxlint.Check(context.Background(), os.DirFS("examples/seed"), []string{"nginx.conf"}, ngxlint.Options{
		Versions: "nginx=1.9.7,lua_nginx_module=0.10.0",
		Enable:   []string{"NGX2001"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range rep.Findings {
		fmt.Printf("%s:%d:%d %s %s (%s)\n", f.File, f.Line, f.Column, f.Severity, f.Rule, f.Confirmation.Status)
	}
	// Output:
	// nginx.conf:13:9 error NGX2001 (not-run)
}

// The same with the finding confirmed by the built-in emulator (in
// process; Options.Runner could be a real nginx instead).
func ExampleCheck_confirm() {
	rep, err := ngxlint.Check(context.Background(), os.DirFS("examples/seed"), []string{"nginx.conf"}, ngxlint.Options{
		Versions: "nginx=1.9.7,lua_nginx_module=0.10.0",
		Enable:   []string{"NGX2001"},
		Confirm:  true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range rep.Findings {
		fmt.Printf("%s %s: %v\n", f.Rule, f.Confirmation.Status, f.Confirmation.Observed["unbounded"])
	}
	// Output:
	// NGX2001 confirmed: true
}

// An invalid option is an error, not a silent default.
func ExampleCheck_invalidOption() {
	_, err := ngxlint.Check(context.Background(), os.DirFS("examples/seed"), []string{"nginx.conf"}, ngxlint.Options{
		Settings: map[string]string{"retry-treshold": "5"},
	})
	fmt.Println(err)
	// Output:
	// unknown setting "retry-treshold": did you mean "retry-threshold"? (known: retry-threshold, server-tokens-default)
}

// A report printed in one of the CLI's formats (text, json, sarif,
// github, codequality) through package format.
func ExampleCheck_format() {
	rep, err := ngxlint.Check(context.Background(), os.DirFS("examples/seed"), []string{"nginx.conf"}, ngxlint.Options{
		Versions: "nginx=1.9.7,lua_nginx_module=0.10.0",
		Enable:   []string{"NGX2001"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	f, err := format.New("github", format.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	var out strings.Builder
	f.Format(&out, rep)
	fmt.Println(out.String()[:strings.Index(out.String(), "::keepalive")])
	// Output:
	// ::error file=nginx.conf,line=13,col=9,endLine=13,endColumn=21,title=NGX2001 lua-balancer-keepalive-loop
}
