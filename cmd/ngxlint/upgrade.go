package main

import (
	"context"
	"fmt"
	"github.com/ngxlint/ngxlint"

	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules"
)

// upgradeReport runs `check --upgrade-to`: every rule under the current
// and the target profile, and each change confirmed by running both
// profiles in the emulator (always: an upgrade report is about behaviour).
// It reports whether anything appears or changes behaviour.
func (c *Command) upgradeReport(ctx context.Context, f *checkFlags, cfg *nginxconf.Config, opts ngxlint.Options) (bool, error) {
	from := *opts.Profile
	selected, err := rules.Registry().Select(opts.Enable, opts.Disable)
	if err != nil {
		return false, usagef("%v", err)
	}
	model := nginxconf.BuildModel(cfg)
	to, err := rules.UpgradeTarget(f.upgradeTo, from)
	if err != nil {
		return false, usagef("--upgrade-to: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, f.confirmTimeout*3)
	defer cancel()
	rep, err := rules.Upgrade(cctx, cfg, model, from, to, rules.UpgradeOptions{Rules: selected, Settings: opts.Settings})
	if err != nil {
		return false, usagef("--upgrade-to: %v", err)
	}
	if len(rep.RuleErrors) > 0 {
		for _, e := range rep.RuleErrors {
			fmt.Fprintln(c.Stderr, "ngxlint: internal error:", e)
		}
		return false, &exitError{ExitInternal}
	}
	switch f.format {
	case "json":
		out, err := rep.JSON()
		if err != nil {
			return false, err
		}
		c.Stdout.Write(out)
		fmt.Fprintln(c.Stdout)
	case "text":
		if err := rep.WriteText(c.Stdout); err != nil {
			return false, err
		}
	default:
		return false, usagef("--upgrade-to supports --format text or json")
	}
	for _, ch := range rep.Changes {
		if ch.Kind != "disappears" {
			return true, nil
		}
	}
	return false, nil
}
