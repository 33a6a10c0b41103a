package analyzer

import (
	"fmt"
	"strings"
)

// Doc is a rule's documentation, kept as structured fields so `ngxlint
// explain` and docs/rules.md are generated from it and its examples are
// re-run by tests (staticcheck's RawDocumentation; actionlint's
// check-checks).
type Doc struct {
	Title string
	// Text explains what the rule finds, why it matters, and what happens
	// on which versions.
	Text string
	// Bad and Good are complete example configurations: Bad must trigger
	// the rule and Good must not, under Versions. For version bugs the fix
	// is often the upgrade itself: then Good is empty and the Bad
	// configuration is the good example on Versions' "good:" versions.
	Bad, Good string
	// Versions is the --openresty-version / --nginx-version /
	// --lua-nginx-module-version set the examples are checked with, as
	// "openresty=1.9.7.3" or "lnm=0.10.0,nginx=1.9.7"; empty means none.
	Versions string
	// Affected describes the affected version range, for version rules.
	Affected string
	// Fixed names the first fixed release, for version rules.
	Fixed string
	// Since is the ngxlint release that added the rule.
	Since      string
	References []string
	// Confirmation says how the emulator confirms findings, or why it
	// cannot.
	Confirmation string
}

// Rule is a declarative check.
type Rule struct {
	// ID is stable, with a category prefix: NGX2xxx upstream/proxy,
	// LUA1xxx Lua correctness, LUA2xxx OpenResty phase rules, LUA3xxx
	// balancer code, VER1xxx known version bugs.
	ID string
	// Slug is the readable name, accepted wherever an ID is.
	Slug     string
	Doc      Doc
	Severity Severity
	// Settings are the options the rule reads from Pass.Settings.
	Settings []Setting
	// Run reports diagnostics through pass.Report. Rules are stateless.
	Run func(pass *Pass) error
}

// URL is where the rule's documentation lives.
func (r *Rule) URL() string {
	return "https://github.com/ngxlint/ngxlint/blob/main/docs/rules.md#" + strings.ToLower(r.ID)
}

// Matches reports whether a selector names r: an ID, a slug, or a prefix
// ending in '*' ("LUA2*", "NGX*").
func (r *Rule) Matches(sel string) bool {
	sel = strings.TrimSpace(sel)
	if sel == "" {
		return false
	}
	if strings.EqualFold(sel, r.ID) || strings.EqualFold(sel, r.Slug) || sel == "*" || strings.EqualFold(sel, "all") {
		return true
	}
	if p, ok := strings.CutSuffix(sel, "*"); ok {
		return strings.HasPrefix(strings.ToUpper(r.ID), strings.ToUpper(p)) || strings.HasPrefix(r.Slug, strings.ToLower(p))
	}
	return false
}

// Registry is an ordered set of rules with unique IDs and slugs.
type Registry struct {
	rules []*Rule
}

// NewRegistry checks and orders rules.
func NewRegistry(rules ...*Rule) (*Registry, error) {
	seen := map[string]*Rule{}
	for _, r := range rules {
		if r.ID == "" || r.Slug == "" || r.Run == nil || r.Severity == 0 {
			return nil, fmt.Errorf("rule %q/%q: ID, Slug, Severity and Run are required", r.ID, r.Slug)
		}
		for _, k := range []string{strings.ToUpper(r.ID), strings.ToLower(r.Slug)} {
			if o := seen[k]; o != nil {
				return nil, fmt.Errorf("rules %s and %s share the name %q", o.ID, r.ID, k)
			}
			seen[k] = r
		}
	}
	return &Registry{rules: append([]*Rule(nil), rules...)}, nil
}

// All returns every rule in registration order.
func (g *Registry) All() []*Rule { return append([]*Rule(nil), g.rules...) }

// Lookup finds a rule by ID or slug.
func (g *Registry) Lookup(name string) *Rule {
	for _, r := range g.rules {
		if strings.EqualFold(r.ID, name) || strings.EqualFold(r.Slug, name) {
			return r
		}
	}
	return nil
}

// Select applies enable/disable selectors in order: with no enable list
// every rule starts enabled; a selector prefixed with '-' disables. Unknown
// selectors are an error so a typo in CI does not silently disable nothing.
func (g *Registry) Select(enable, disable []string) ([]*Rule, error) {
	on := map[*Rule]bool{}
	if len(enable) == 0 {
		for _, r := range g.rules {
			on[r] = true
		}
	}
	apply := func(sel string, val bool) error {
		if s, ok := strings.CutPrefix(sel, "-"); ok {
			sel, val = s, !val
		}
		n := 0
		for _, r := range g.rules {
			if r.Matches(sel) {
				on[r] = val
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("no rule matches %q%s", sel, g.suggest(sel))
		}
		return nil
	}
	for _, s := range enable {
		if err := apply(s, true); err != nil {
			return nil, err
		}
	}
	for _, s := range disable {
		if err := apply(s, false); err != nil {
			return nil, err
		}
	}
	var out []*Rule
	for _, r := range g.rules {
		if on[r] {
			out = append(out, r)
		}
	}
	return out, nil
}

// GoodExample returns the configuration that must not trigger the rule:
// Good, or Bad itself when the fix is a version (see Doc.Good).
func (d Doc) GoodExample() string {
	if d.Good == "" && strings.Contains(d.Versions, "good:") {
		return d.Bad
	}
	return d.Good
}

// suggest is ": did you mean X?" for the ID or slug closest to sel.
func (g *Registry) suggest(sel string) string {
	var names []string
	for _, r := range g.rules {
		names = append(names, r.ID, r.Slug)
	}
	if m := Closest(strings.TrimSuffix(sel, "*"), names); m != "" {
		return fmt.Sprintf(": did you mean %s?", m)
	}
	return ""
}
