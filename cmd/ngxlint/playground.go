package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/ngxlint/ngxlint/playground"
)

const playgroundUsage = `Usage: ngxlint playground [--listen ADDR | --out DIR]

Builds the browser playground (a static page and ngxlint compiled to
WebAssembly: the check and the emulator run in the visitor's tab, nothing
is sent to a server) and serves it on ADDR until interrupted, or writes it
to DIR for any static host (docs/playground.md). Building needs the go
command and ngxlint's source (a checkout, or the installed version's
module cache entry).

Flags:
`

func (c *Command) playground(args []string) error {
	fs := c.newFlagSet("playground", playgroundUsage)
	listen := fs.String("listen", "127.0.0.1:8080", "address to serve the playground on")
	out := fs.String("out", "", "write the static site to this directory and exit, instead of serving it")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("playground takes no PATH")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dir := *out
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ngxlint-playground-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	fmt.Fprintln(c.Stderr, "ngxlint: building the playground (go build, GOOS=js GOARCH=wasm)...")
	if err := playground.Build(ctx, dir); err != nil {
		return usagef("playground: %v", err)
	}
	if *out != "" {
		fmt.Fprintf(c.Stderr, "ngxlint: wrote the playground to %s; serve that directory from any static host\n", dir)
		return nil
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return usagef("playground: %v", err)
	}
	fmt.Fprintf(c.Stderr, "ngxlint: serving the playground on http://%s/ (Ctrl-C stops)\n", ln.Addr())
	srv := &http.Server{Handler: playground.Handler(dir), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
