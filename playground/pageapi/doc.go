// Package pageapi is what the playground page and its WebAssembly module
// exchange: a request (the files as text, the main file, the versions,
// whether to confirm) answered with the report, each finding's emulator
// trace and the report as text. It is plain Go, so it is tested natively;
// playground/wasm only binds it to JavaScript.
package pageapi
