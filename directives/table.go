package directives

import (
	"sort"
	"strings"

	"github.com/ngxlint/ngxlint/internal/editdist"
	"github.com/ngxlint/ngxlint/versions"
)

// Lookup returns the table's entries for name, in module order (nil when
// no module the table knows declares it). The slice is shared: callers
// must not modify it.
func Lookup(name string) []Directive {
	i := sort.Search(len(table), func(i int) bool { return table[i].Name >= name })
	j := i
	for j < len(table) && table[j].Name == name {
		j++
	}
	if i == j {
		return nil
	}
	return table[i:j:j]
}

// All returns every entry, sorted by name (a copy).
func All() []Directive {
	return append([]Directive(nil), table...)
}

// Modules returns the modules of the table, sorted by name (a copy).
func Modules() []Module {
	return append([]Module(nil), modules...)
}

// LookupModule returns the module named name (its ngx_module_t name).
func LookupModule(name string) (Module, bool) {
	i := sort.Search(len(modules), func(i int) bool { return modules[i].Name >= name })
	if i < len(modules) && modules[i].Name == name {
		return modules[i], true
	}
	return Module{}, false
}

// FindModule resolves a name a user writes for a module: its ngx_module_t
// name ("ngx_http_echo_module"), its shared object ("ngx_stream_module",
// "ndk_http_module.so") or its project ("echo-nginx-module"). It returns
// every module the name stands for (a project or an object may hold
// several).
func FindModule(name string) []Module {
	name = strings.TrimSuffix(strings.TrimSpace(name), ".so")
	var out []Module
	for _, m := range modules {
		if m.Name == name || m.Object == name || m.Project == name {
			out = append(out, m)
		}
	}
	return out
}

// ExistsIn reports whether the directive exists in the release p declares
// of its module's project, and, when it does not, the bound it falls
// outside of ("appeared in nginx 1.25.1" / "removed in ..."). A module
// whose version p does not declare, or that carries no range, exists.
func (d Directive) ExistsIn(p versions.Profile) (ok bool, why string) {
	m, found := LookupModule(d.Module)
	if !found {
		return true, ""
	}
	var v versions.Version
	var project string
	switch m.Versioning {
	case NginxVersion:
		v, project = p.Nginx, "nginx"
	case LNMVersion:
		v, project = p.LNM, "lua-nginx-module"
	default:
		return true, ""
	}
	if v.IsZero() {
		return true, ""
	}
	if d.Since != "" && v.Compare(versions.MustParse(d.Since)) < 0 {
		return false, "it appeared in " + project + " " + d.Since
	}
	if d.Until != "" && v.Compare(versions.MustParse(d.Until)) >= 0 {
		return false, "it was removed in " + project + " " + d.Until
	}
	return true, ""
}

// Suggest returns the known directive names closest to name by edit
// distance (insertions, deletions, substitutions and transpositions of
// adjacent letters), when one is close enough to be a slip of the keyboard:
// within one edit for names of up to four letters, two for longer ones.
// keep filters the candidates (for instance to those allowed where name
// is written); nil keeps all. Ties are returned in name order.
func Suggest(name string, keep func(Directive) bool) []string {
	return SuggestAmong(name, table, keep)
}

// SuggestAmong is Suggest over ds (sorted by name), for callers that add
// declared directives to the table's.
func SuggestAmong(name string, ds []Directive, keep func(Directive) bool) []string {
	limit := 1
	if len(name) > 4 {
		limit = 2
	}
	best := limit + 1
	var out []string
	prev := ""
	for _, d := range ds {
		if d.Name == prev && len(out) > 0 && out[len(out)-1] == d.Name {
			continue
		}
		if abs(len(d.Name)-len(name)) > limit || d.Name == name {
			continue
		}
		if keep != nil && !keep(d) {
			continue
		}
		prev = d.Name
		dist := editdist.Distance(name, d.Name, best)
		switch {
		case dist < best:
			best, out = dist, []string{d.Name}
		case dist == best && (len(out) == 0 || out[len(out)-1] != d.Name):
			out = append(out, d.Name)
		}
	}
	if best > limit {
		return nil
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Allowed returns the entries of ds that nginx accepts in any of the
// contexts ctx.
func Allowed(ds []Directive, ctx Context) []Directive {
	var out []Directive
	for _, d := range ds {
		if d.Contexts&ctx != 0 {
			out = append(out, d)
		}
	}
	return out
}
