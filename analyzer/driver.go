package analyzer

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"

	"github.com/ngxlint/ngxlint/directives"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// Options configure one run of the driver.
type Options struct {
	Profile versions.Profile
	// Settings are rule options (declared by the rules, see Setting).
	Settings map[string]string
	// Modules is what the build is declared to have beyond nginx's own
	// modules (.ngxlint.yaml modules:), validated by
	// directives.NewModuleSet; nil declares nothing.
	Modules *directives.ModuleSet
	// Engine chooses what confirms findings. It is set by the caller from
	// its own flags, never from Settings or a file of the repository under
	// test (docs/security.md).
	Engine Engine
	// Severity overrides a rule's severity, keyed by rule ID.
	Severity map[string]Severity
	// Suppress turns off inline suppression comments (for testing what
	// they hide).
	NoSuppress bool
	// Facts, when set, is the run's memo, possibly with facts already
	// computed (or being computed) for this configuration and profile.
	Facts *Facts
}

// Result is the outcome of a run.
type Result struct {
	Diagnostics []*Diagnostic
	// RuleErrors are internal failures of rules (a bug in ngxlint, exit 3).
	RuleErrors []error
}

// Run runs rules over a loaded configuration and returns sorted,
// de-duplicated diagnostics with suppressions applied. Rules run
// concurrently; the output order is deterministic.
func Run(cfg *nginxconf.Config, model *nginxconf.Model, rules []*Rule, opts Options) *Result {
	facts := opts.Facts
	if facts == nil {
		facts = &Facts{}
	}
	var mu sync.Mutex
	res := &Result{}
	// Every rule gets its goroutine at once; the scheduler runs GOMAXPROCS
	// of them at a time. A semaphore of GOMAXPROCS slots made a rule that
	// waits for a shared fact (another rule computing the retry model or
	// the Lua warm-up) hold a slot while idle, and left a processor idle
	// at the end when the last rules started were the slow ones.
	var wg sync.WaitGroup
	for _, r := range rules {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []*Diagnostic
			pass := &Pass{Rule: r, Config: cfg, Model: model, Profile: opts.Profile, Settings: opts.Settings, Modules: opts.Modules, Engine: opts.Engine, facts: facts,
				report: func(d *Diagnostic) { local = append(local, d) }}
			err := runRule(r, pass)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.RuleErrors = append(res.RuleErrors, err)
			}
			res.Diagnostics = append(res.Diagnostics, local...)
		}()
	}
	wg.Wait()
	for _, d := range res.Diagnostics {
		if s, ok := opts.Severity[d.Rule.ID]; ok {
			d.Severity = s
		}
		if d.Confirmation.Status == "" {
			if d.Confirm != nil {
				d.Confirmation.Status = NotRun
			} else {
				d.Confirmation = Confirmation{Status: NotConfirmable, Reason: d.Rule.Doc.Confirmation}
				if d.Confirmation.Reason == "" {
					d.Confirmation.Reason = "the rule has no emulator scenario"
				}
			}
		}
	}
	if !opts.NoSuppress {
		res.Diagnostics = applySuppressions(cfg, rules, res.Diagnostics)
	}
	res.Diagnostics = SortDiagnostics(res.Diagnostics)
	slices.SortFunc(res.RuleErrors, func(a, b error) int { return cmp.Compare(a.Error(), b.Error()) })
	return res
}

// runRule turns a rule's panic into an error, so one buggy rule cannot take
// the whole run down; the CLI reports it as an internal error (exit 3).
func runRule(r *Rule, pass *Pass) (err error) {
	defer func() {
		if p := recover(); p != nil {
			buf := make([]byte, 4096)
			buf = buf[:runtime.Stack(buf, false)]
			err = fmt.Errorf("rule %s (%s) panicked: %v\n%s", r.ID, r.Slug, p, buf)
		}
	}()
	// The label lets a CPU profile of a run say what each rule cost
	// (go tool pprof -tags), facts it computed first included.
	pprof.Do(context.Background(), pprof.Labels("rule", r.ID), func(context.Context) { err = r.Run(pass) })
	if err != nil {
		return fmt.Errorf("rule %s (%s): %w", r.ID, r.Slug, err)
	}
	return nil
}

// SortDiagnostics orders by file, offset, rule and message, and drops exact
// duplicates (the same rule at the same place with the same message, which
// happens when one include is read from two places). Ties keep their input
// order: the sort is stable, but as an O(n log n) sort on (key, input
// index) rather than slices.SortStableFunc's insertion sort and in-place
// merging, which does O(n log² n) comparisons and was the driver's top cost
// with tens of thousands of findings.
func SortDiagnostics(ds []*Diagnostic) []*Diagnostic {
	// The position is copied into the entry so that most comparisons
	// touch only the slice being sorted.
	type entry struct {
		file string
		off  int
		d    *Diagnostic
		i    int
	}
	es := make([]entry, len(ds))
	for i, d := range ds {
		es[i] = entry{d.Pos.File, d.Pos.Offset, d, i}
	}
	slices.SortFunc(es, func(x, y entry) int {
		// Early returns rather than cmp.Or, which would compare the
		// messages of every pair.
		if x.file != y.file {
			return strings.Compare(x.file, y.file)
		}
		if x.off != y.off {
			return cmp.Compare(x.off, y.off)
		}
		a, b := x.d, y.d
		if a.Rule != b.Rule && a.Rule.ID != b.Rule.ID {
			return strings.Compare(a.Rule.ID, b.Rule.ID)
		}
		if a.Message != b.Message {
			return strings.Compare(a.Message, b.Message)
		}
		return cmp.Compare(x.i, y.i)
	})
	for i, e := range es {
		ds[i] = e.d
	}
	return slices.CompactFunc(ds, func(a, b *Diagnostic) bool {
		return a.Pos == b.Pos && a.Rule == b.Rule && a.Message == b.Message
	})
}

// OutOfTime is the Reason of a confirmation that ctx's deadline stopped
// or never let start: a budget, not a fault of the configuration.
const OutOfTime = "the time limit for confirmation ran out"

// ConfirmAll runs the Confirmer of every diagnostic that has one,
// concurrently (one emulator per finding), and fills Confirmation. Under
// a deadline the most severe findings go first; those whose turn never
// comes are NotRun and those cut off are ConfirmError, both with Reason
// OutOfTime, so a budget is never read as a fault of the user's code.
func ConfirmAll(ctx context.Context, ds []*Diagnostic, parallel int) {
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0) * 2
	}
	order := make([]*Diagnostic, 0, len(ds))
	for _, d := range ds {
		if d.Confirm != nil {
			order = append(order, d)
		}
	}
	slices.SortStableFunc(order, func(a, b *Diagnostic) int { return cmp.Compare(b.Severity, a.Severity) })
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, d := range order {
		sem <- struct{}{}
		if ctx.Err() != nil {
			<-sem
			d.Confirmation = Confirmation{Status: NotRun, Reason: OutOfTime + " before this finding's turn"}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c := safeConfirm(ctx, d)
			if c.Status == ConfirmError && ctx.Err() != nil {
				c.Reason = OutOfTime + " during this run (" + c.Reason + ")"
			}
			d.Confirmation = c
		}()
	}
	wg.Wait()
}

func safeConfirm(ctx context.Context, d *Diagnostic) (c Confirmation) {
	defer func() {
		if p := recover(); p != nil {
			c = Confirmation{Status: ConfirmError, Reason: fmt.Sprintf("confirmation of %s panicked: %v", d.Rule.ID, p)}
		}
	}()
	return d.Confirm.Confirm(ctx)
}
