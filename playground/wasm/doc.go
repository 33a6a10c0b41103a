//go:build js && wasm

// Command wasm is the playground's WebAssembly module: the library
// (ngxlint.Check with the built-in emulator on its in-memory transport)
// behind two JavaScript functions the page calls. It opens no socket and
// reads no file: the page hands it the files as text.
package main
