package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ngxlint/ngxlint/format"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules"
)

const explainRetriesUsage = `Usage: ngxlint explain-retries [flags] PATH

For every location that proxies to an upstream block, prints the retry model:
the effective proxy_next_upstream settings, the worst-case number of upstream
attempts one client request can cost while every attempt fails, and whether a
POST/PATCH/LOCK can reach a backend twice, on the declared versions.

Flags:
`

func (c *Command) explainRetries(args []string) error {
	var vf versionFlags
	fs := c.newFlagSet("explain-retries", explainRetriesUsage)
	vf.register(fs)
	outFormat := fs.String("format", "text", "output format: text or json")
	verbose := fs.Bool("verbose", false, "print the model's reasoning for each location")
	prefix := fs.String("prefix", "", "nginx prefix for relative *_by_lua_file paths")
	var limits nginxconf.Options
	var allow allowFlag
	registerLimitFlags(fs, &limits, &allow)
	var pf projectFlags
	pf.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("explain-retries takes one PATH")
	}
	if *outFormat != "text" && *outFormat != "json" {
		return usagef("unknown --format %q (want text or json)", *outFormat)
	}
	fc, err := pf.apply(fs, pos[0], &vf)
	if err != nil {
		return err
	}
	prof, _, err := vf.profile(context.Background())
	if err != nil {
		return err
	}
	_, cfg, _, err := c.loadWithoutErrors(pos[0], *prefix, limits, allow, fc)
	if err != nil {
		return err
	}
	rows := rules.ExplainRetries(nginxconf.BuildModel(cfg), prof)
	if *outFormat == "json" {
		if rows == nil {
			rows = []rules.RetryRow{}
		}
		enc := json.NewEncoder(c.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"profile": format.ProfileOf(prof), "locations": rows})
	}
	defer c.escapeStdout()() // location paths and file names are the repository's
	fmt.Fprintf(c.Stdout, "versions: %s\n\n", prof)
	rules.WriteRetryTable(c.Stdout, rows, *verbose)
	return nil
}
