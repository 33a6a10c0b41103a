// Command ngxlint checks nginx / OpenResty configurations and the Lua they
// carry, and confirms findings by running them in a built-in emulator.
package main

import (
	"bufio"
	"os"

	"github.com/ngxlint/ngxlint/internal/gcpolicy"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "emulate" {
		gcpolicy.ApplyRelaxed() // a loop of short-lived garbage, not a live tree
	} else {
		gcpolicy.Apply()
	}
	tty := isTerminal(os.Stdout)
	// Findings are written line by line; one write syscall per line was a
	// visible cost on large configurations.
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	cmd := &Command{Stdin: os.Stdin, Stdout: out, Stderr: os.Stderr, Getenv: os.Getenv, IsTTY: &tty}
	code := cmd.Main(os.Args)
	out.Flush()
	os.Exit(code)
}
