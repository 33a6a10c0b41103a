//go:build js && wasm

package main

import (
	"context"
	"syscall/js"

	"github.com/ngxlint/ngxlint/playground/pageapi"
)

// main publishes two functions to the page and stays alive for them:
// ngxlintCheck(requestJSON) returns a Promise of the response JSON (the
// check runs on a goroutine: a JS callback must not block, and the
// emulator's backends need the event loop to turn), and
// ngxlintVersions() returns the version choices as JSON.
func main() {
	js.Global().Set("ngxlintCheck", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) != 1 || args[0].Type() != js.TypeString {
			return js.ValueOf(string(pageapi.Encode(pageapi.Response{Error: "ngxlintCheck wants one JSON string"})))
		}
		req := args[0].String()
		return js.Global().Get("Promise").New(js.FuncOf(func(_ js.Value, p []js.Value) any {
			resolve := p[0]
			go func() { resolve.Invoke(string(pageapi.Run(context.Background(), []byte(req)))) }()
			return nil
		}))
	}))
	js.Global().Set("ngxlintVersions", js.FuncOf(func(js.Value, []js.Value) any {
		return string(pageapi.Choices())
	}))
	js.Global().Get("document").Call("dispatchEvent", js.Global().Get("Event").New("ngxlint-ready"))
	select {}
}
