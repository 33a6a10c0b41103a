// Command ngxlint checks nginx / OpenResty configurations and the Lua they
// carry, and confirms findings by running them in a built-in emulator.
package main

import "os"

func main() {
	cmd := &Command{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	os.Exit(cmd.Main(os.Args))
}
