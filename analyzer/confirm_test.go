package analyzer

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Under a deadline the most severe findings are confirmed first; the ones
// whose turn never comes are NotRun and the one cut off is ConfirmError,
// both saying the time limit, not the configuration, stopped them.
func TestConfirmAllUnderDeadline(t *testing.T) {
	rule := &Rule{ID: "T1"}
	var order []Severity
	mk := func(sev Severity) *Diagnostic {
		d := &Diagnostic{Rule: rule, Severity: sev}
		d.Confirm = ConfirmFunc(func(ctx context.Context) Confirmation {
			order = append(order, d.Severity) // parallel 1: no race
			if d.Severity == Warning {
				<-ctx.Done() // the second finding outlives the budget
				return Confirmation{Status: ConfirmError, Reason: "emulation cancelled: " + ctx.Err().Error()}
			}
			return Confirmation{Status: Confirmed}
		})
		return d
	}
	ds := []*Diagnostic{mk(Info), mk(Warning), mk(Error), mk(Info)}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ConfirmAll(ctx, ds, 1)
	if len(order) != 2 || order[0] != Error || order[1] != Warning {
		t.Fatalf("confirmed in order %v, want the error then the warning, then nothing", order)
	}
	if c := ds[2].Confirmation; c.Status != Confirmed {
		t.Errorf("error finding: %s %q", c.Status, c.Reason)
	}
	if c := ds[1].Confirmation; c.Status != ConfirmError || !strings.HasPrefix(c.Reason, OutOfTime) || !strings.Contains(c.Reason, "emulation cancelled") {
		t.Errorf("cut-off finding: %s %q", c.Status, c.Reason)
	}
	for _, d := range []*Diagnostic{ds[0], ds[3]} {
		if c := d.Confirmation; c.Status != NotRun || !strings.HasPrefix(c.Reason, OutOfTime) {
			t.Errorf("finding never started: %s %q", c.Status, c.Reason)
		}
	}
}

// Without a deadline every finding is confirmed, concurrently.
func TestConfirmAllRunsEveryFinding(t *testing.T) {
	rule := &Rule{ID: "T1"}
	var ds []*Diagnostic
	for range 20 {
		ds = append(ds, &Diagnostic{Rule: rule, Severity: Warning, Confirm: ConfirmFunc(func(context.Context) Confirmation {
			return Confirmation{Status: Confirmed}
		})})
	}
	ds = append(ds, &Diagnostic{Rule: rule}) // no scenario: left alone
	ConfirmAll(context.Background(), ds, 4)
	for i, d := range ds[:20] {
		if d.Confirmation.Status != Confirmed {
			t.Errorf("finding %d: %s", i, d.Confirmation.Status)
		}
	}
	if s := ds[20].Confirmation.Status; s != "" {
		t.Errorf("finding without a scenario got status %q", s)
	}
}
