//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

// main says what this program is for: it is the playground's WebAssembly
// module, built by `ngxlint playground` (GOOS=js GOARCH=wasm).
func main() {
	fmt.Fprintln(os.Stderr, "this is the playground's WebAssembly module: build it with GOOS=js GOARCH=wasm, or run `ngxlint playground`")
	os.Exit(2)
}
