package analyzer

import (
	"fmt"
	"sync"

	"github.com/ngxlint/ngxlint/directives"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// Pass is what one rule sees while it runs.
type Pass struct {
	Rule    *Rule
	Config  *nginxconf.Config
	Model   *nginxconf.Model
	Profile versions.Profile
	// Settings holds rule options by key (e.g. "retry-threshold": "3"),
	// from flags or the config file.
	Settings map[string]string
	// Modules is the declared module set (Options.Modules), nil when
	// nothing is declared.
	Modules *directives.ModuleSet
	// Engine is what confirms findings (Options.Engine).
	Engine Engine

	facts  *Facts
	report func(*Diagnostic)
}

// Report records a diagnostic. A zero Severity takes the rule's.
func (p *Pass) Report(d *Diagnostic) {
	d.Rule = p.Rule
	if d.Severity == 0 {
		d.Severity = p.Rule.Severity
	}
	if !d.End.IsValid() {
		d.End = d.Pos
	}
	p.report(d)
}

// Reportf reports a diagnostic spanning a directive.
func (p *Pass) Reportf(d *nginxconf.Directive, format string, args ...any) *Diagnostic {
	diag := &Diagnostic{Pos: d.Pos, End: d.End, Message: fmt.Sprintf(format, args...)}
	p.Report(diag)
	return diag
}

// Fact returns the shared fact stored under key, computing it once per
// run with compute. Rules use it for expensive shared analyses (a Lua
// chunk's parse, the retry model of a location) so that every rule sees
// the same value and it is computed once.
func (p *Pass) Fact(key any, compute func() any) any { return p.facts.get(key, compute) }

// Facts is a concurrency-safe memo shared by the rules of one run. A
// caller can create it with NewFacts and start computing facts before the
// run (Options.Facts): the CLI analyses the Lua chunks while the model is
// still being built.
type Facts struct {
	mu sync.Mutex
	m  map[any]*factEntry
}

type factEntry struct {
	once sync.Once
	v    any
}

// NewFacts returns an empty memo for Options.Facts.
func NewFacts() *Facts { return &Facts{} }

// Get is Pass.Fact for work that starts before the run: the value stored
// under key, computed once with compute.
func (f *Facts) Get(key any, compute func() any) any { return f.get(key, compute) }

func (f *Facts) get(key any, compute func() any) any {
	f.mu.Lock()
	if f.m == nil {
		f.m = map[any]*factEntry{}
	}
	e := f.m[key]
	if e == nil {
		e = &factEntry{}
		f.m[key] = e
	}
	f.mu.Unlock()
	e.once.Do(func() { e.v = compute() })
	return e.v
}
