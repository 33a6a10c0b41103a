package directives

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Extra declares a directive of a module the table does not know (a
// company's own module), as .ngxlint.yaml's modules.directives writes it.
type Extra struct {
	Name string
	// Contexts are ParseContext names; empty means any.
	Contexts []string
	// Args is the argument count: "0", "2", "1-3", "1+", "2+" or "any"
	// (empty: any).
	Args string
	// Block: the directive takes a { } block, whose contents are not
	// checked.
	Block bool
}

// ModuleSet is what a build is declared to have beyond nginx's own
// modules: third-party modules of the table it compiles in or loads, and
// directives of modules the table does not know. The zero value (and nil)
// declares nothing. It is read-only once built.
type ModuleSet struct {
	loaded map[string]bool
	// closed: the user listed the build's third-party modules, so a
	// known third-party module outside the list is absent.
	closed bool
	extra  []Directive // sorted by name
}

// DeclaredModule is the Module field of the entries Extra declarations
// become.
const DeclaredModule = "(declared in modules.directives)"

// NewModuleSet validates a declaration. load lists the third-party
// modules the build has, by any name FindModule accepts; a nil load
// leaves the set open (nothing said about third-party modules), a
// non-nil one closes it. Names the table does not know and malformed
// extra directives are errors that say what is accepted.
func NewModuleSet(load []string, extra []Extra) (*ModuleSet, error) {
	s := &ModuleSet{loaded: map[string]bool{}, closed: load != nil}
	for _, name := range load {
		ms := FindModule(name)
		if len(ms) == 0 {
			return nil, fmt.Errorf("modules.load: %q is not a module ngxlint knows (known third-party modules: %s); declare the directives of other modules under modules.directives", name, strings.Join(thirdPartyNames(), ", "))
		}
		for _, m := range ms {
			s.loaded[m.Name] = true
		}
	}
	for i, e := range extra {
		d, err := e.directive()
		if err != nil {
			return nil, fmt.Errorf("modules.directives[%d]: %w", i, err)
		}
		s.extra = append(s.extra, d)
	}
	sort.SliceStable(s.extra, func(i, j int) bool { return s.extra[i].Name < s.extra[j].Name })
	return s, nil
}

func thirdPartyNames() []string {
	var out []string
	for _, m := range modules {
		if m.ThirdParty {
			out = append(out, m.Name)
		}
	}
	return out
}

func (e Extra) directive() (Directive, error) {
	if e.Name == "" || strings.ContainsAny(e.Name, " \t\n;{}\"'") {
		return Directive{}, fmt.Errorf("name %q: a directive name is one word", e.Name)
	}
	d := Directive{Name: e.Name, Module: DeclaredModule, Contexts: AnyContext}
	if len(e.Contexts) > 0 {
		d.Contexts = 0
		for _, c := range e.Contexts {
			ctx, ok := ParseContext(c)
			if !ok {
				return Directive{}, fmt.Errorf("%s: context %q is not one of %s", e.Name, c, strings.Join(ConfigurableContexts(), ", "))
			}
			d.Contexts |= ctx
		}
	}
	args, err := parseArgSpec(e.Args)
	if err != nil {
		return Directive{}, fmt.Errorf("%s: %w", e.Name, err)
	}
	d.Args = args
	if e.Block {
		d.Args |= Block
		d.Body = Unknown
	}
	return d, nil
}

// parseArgSpec reads "0", "2", "1-3", "1+", "2+" or "any".
func parseArgSpec(s string) (Args, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("args %q: write a count (\"1\"), a range (\"1-3\"), \"1+\", \"2+\" or \"any\"", s)
	switch s {
	case "", "any":
		return AnyArg, nil
	case "1+":
		return More1, nil
	case "2+":
		return More2, nil
	}
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.Atoi(lo)
	if err != nil || a < 0 || a > maxArgs {
		return 0, bad
	}
	b := a
	if isRange {
		if b, err = strconv.Atoi(hi); err != nil || b < a || b > maxArgs {
			return 0, bad
		}
	}
	var out Args
	for n := a; n <= b; n++ {
		out |= 1 << n
	}
	return out, nil
}

// Loaded reports whether the set declares the module (by ngx_module_t
// name) present.
func (s *ModuleSet) Loaded(module string) bool { return s != nil && s.loaded[module] }

// Closed reports whether the set lists the build's third-party modules.
func (s *ModuleSet) Closed() bool { return s != nil && s.closed }

// Extra returns the declared directives named name.
func (s *ModuleSet) Extra(name string) []Directive {
	if s == nil {
		return nil
	}
	i := sort.Search(len(s.extra), func(i int) bool { return s.extra[i].Name >= name })
	j := i
	for j < len(s.extra) && s.extra[j].Name == name {
		j++
	}
	return s.extra[i:j:j]
}

// All returns the declared directives, sorted by name.
func (s *ModuleSet) All() []Directive {
	if s == nil {
		return nil
	}
	return append([]Directive(nil), s.extra...)
}
