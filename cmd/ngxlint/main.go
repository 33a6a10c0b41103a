// Command ngxlint checks nginx / OpenResty configurations and the Lua they
// carry, and confirms findings by running them in a built-in emulator.
package main

import (
	"bufio"
	"os"
	"runtime/debug"
)

func main() {
	// A lint run is short and its live heap is mostly the loaded tree:
	// collecting less often trades a little peak memory (still far below
	// nginx -t's on the same config) for about a third less CPU on large
	// configurations (scripts/bench.sh).
	debug.SetGCPercent(400)
	tty := isTerminal(os.Stdout)
	// Findings are written line by line; one write syscall per line was a
	// visible cost on large configurations.
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	cmd := &Command{Stdin: os.Stdin, Stdout: out, Stderr: os.Stderr, Getenv: os.Getenv, IsTTY: &tty}
	code := cmd.Main(os.Args)
	out.Flush()
	os.Exit(code)
}
