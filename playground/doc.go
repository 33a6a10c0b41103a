// Package playground builds and serves the browser playground: a static
// site (static/: the page, its script and style; Go's wasm_exec.js; the
// WebAssembly build of ./wasm; the bundled example) that runs the whole
// check, confirmations included, in the visitor's tab. There is no server
// code: any static host serves the directory Build writes
// (docs/playground.md), and `ngxlint playground` serves it on loopback.
package playground
