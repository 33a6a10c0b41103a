package apigen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Facts is the committed phasefacts.json: what lua-nginx-module's and
// lua-resty-core's sources say about each API, every fact with the
// file:line@tag it was read from. `go generate` builds the Go table from it
// without network; cmd/phasefacts rebuilds it from the two repositories.
type Facts struct {
	Note  string            `json:"note"`
	Repos map[string]string `json:"repos"` // repository -> commit of the snapshot read
	Pairs []Pair            `json:"pairs"`
	// Phases are the phases each release knows (from its
	// ngx_http_lua_context_name, plus init_by_lua*), a new entry where
	// they change; a period's Except is relative to them.
	Phases []PhaseSet `json:"phases"`
	APIs   []APIFacts `json:"apis,omitempty"`
	Missed []string   `json:"missed,omitempty"` // APIs no implementation was found for
	// Skipped are lua-nginx-module releases with no released lua-resty-core
	// to pair with.
	Skipped []string `json:"skipped,omitempty"`
}

// PhaseSet is the phases known from a release on.
type PhaseSet struct {
	From   string   `json:"from"`
	Phases []string `json:"phases"`
	Source string   `json:"source"`
}

// Pair is the lua-resty-core release that requires a lua-nginx-module
// release (lib/resty/core/base.lua refuses any other).
type Pair struct {
	LNM    string `json:"lua_nginx_module"`
	Core   string `json:"lua_resty_core"`
	Source string `json:"source"`
}

// APIFacts is one API.
type APIFacts struct {
	Name  string     `json:"name"`
	Since *SinceFact `json:"since,omitempty"`
	// Periods are the contexts per lua-nginx-module release, a new period
	// where they change.
	Periods []Period `json:"periods,omitempty"`
}

// SinceFact is the first release tag where the API exists.
type SinceFact struct {
	Version   string `json:"version"`
	Component string `json:"component"`
	Source    string `json:"source"`
}

// Period is the verdict from one lua-nginx-module release on (until the next
// period).
type Period struct {
	From string `json:"from"`
	Core string `json:"core,omitempty"` // the paired lua-resty-core at From
	// Except, when set, replaces Contexts: every phase the release knows
	// but these.
	Except []string `json:"except,omitempty"`
	// All, when set, replaces Contexts: every phase the release knows.
	All bool `json:"all,omitempty"`
	Verdict
}

// ContextsIn returns the period's contexts given the release's phases.
func (p *Period) ContextsIn(phases []string) []string {
	if p.Contexts != nil || p.Except == nil && !p.All {
		return p.Contexts
	}
	var out []string
	for _, ph := range phases {
		if !contains(p.Except, ph) {
			out = append(out, ph)
		}
	}
	return out
}

// PhasesAt returns the phases a release knows.
func (f *Facts) PhasesAt(release string) []string {
	var cur []string
	for _, s := range f.Phases {
		if !versionLess(release, s.From) {
			cur = s.Phases
		}
	}
	return cur
}

// Input is one lua-nginx-module release to read.
type Input struct {
	// CoreMandatoryFrom is the first module release that always loads
	// lua-resty-core ("" = lua-nginx-module's v0.10.16).
	CoreMandatoryFrom string
	LNMTag            string
	LNM               map[string]string // path -> content (src/*.c, src/*.h)
	CoreTag           string
	Core              map[string]string // path -> content (lib/**.lua), nil without a pair
}

// ExtractPeriods decides every API at each release (in order) and keeps
// the releases where a verdict changes.
func ExtractPeriods(apis []string, inputs []Input) (map[string][]Period, []PhaseSet, []string, error) {
	out := map[string][]Period{}
	found := map[string]bool{}
	var sets []PhaseSet
	for _, in := range inputs {
		m, err := newVersionModel(in.LNMTag, in.LNM, in.Core, in.CoreMandatoryFrom)
		if err != nil {
			return nil, nil, nil, err
		}
		if n := len(sets); n == 0 || !sameStrings(sets[n-1].Phases, m.phases) {
			sets = append(sets, PhaseSet{From: in.LNMTag, Phases: m.phases, Source: m.phasesSource + "@lua-nginx-module/" + in.LNMTag})
		}
		for _, api := range apis {
			v, ok := m.verdict(api)
			if !ok {
				continue
			}
			found[api] = true
			for i, s := range v.Sources {
				v.Sources[i] = tagSource(s, in)
			}
			v.Impl = tagSource(v.Impl, in)
			ps := out[api]
			if n := len(ps); n > 0 && sameStrings(ps[n-1].ContextsIn((&Facts{Phases: sets}).PhasesAt(ps[n-1].From)), v.Contexts) {
				continue
			}
			p := Period{From: in.LNMTag, Core: in.CoreTag, Verdict: v}
			if len(v.Contexts) > len(m.phases)/2 {
				p.Except = []string{}
				for _, ph := range m.phases {
					if !contains(v.Contexts, ph) {
						p.Except = append(p.Except, ph)
					}
				}
				p.Contexts = nil
				p.All = len(p.Except) == 0
			}
			out[api] = append(ps, p)
		}
	}
	var missed []string
	for _, api := range apis {
		if !found[api] {
			missed = append(missed, api)
		}
	}
	return out, sets, missed, nil
}

var reFileLine = regexp.MustCompile(`\b((?:src|lib)/[\w/.]+\.(?:c|h|lua)):(\d+)`)

// tagSource writes file:line as file:line@tag of the repository it is in.
func tagSource(s string, in Input) string {
	return reFileLine.ReplaceAllStringFunc(s, func(fl string) string {
		if strings.HasPrefix(fl, "lib/") {
			return fl + "@lua-resty-core/" + in.CoreTag
		}
		return fl + "@lua-nginx-module/" + in.LNMTag
	})
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var reCoreRequires = regexp.MustCompile(`ngx_lua_v(?:ersion)?\s*(~=|<)\s*(\d+)`)

// CoreRequires reads which lua-nginx-module releases a lua-resty-core
// base.lua accepts in its http block: exact releases ("v0.10.23" for
// `ngx_lua_version ~= 10023`) or, in older releases, a minimum
// (`ngx_lua_version < 10013`), and the line it says so.
func CoreRequires(baseLua string) (exact []string, min string, line int) {
	if i := strings.Index(baseLua, "elseif subsystem"); i > 0 {
		baseLua = baseLua[:i]
	}
	for _, loc := range reCoreRequires.FindAllStringSubmatchIndex(baseLua, -1) {
		n, _ := strconv.Atoi(baseLua[loc[4]:loc[5]])
		v := fmt.Sprintf("v%d.%d.%d", n/1000000, n/1000%1000, n%1000)
		if line == 0 {
			line = 1 + strings.Count(baseLua[:loc[0]], "\n")
		}
		if baseLua[loc[2]:loc[3]] == "<" {
			min = v
		} else {
			exact = append(exact, v)
		}
	}
	return exact, min, line
}

// PairCore picks the lua-resty-core release for a lua-nginx-module release:
// the last one that requires exactly it, else the last one whose minimum it
// meets (before lua-resty-core pinned exact releases).
func PairCore(lnm string, coreTags []string, requires func(tag string) ([]string, string, int)) (string, int, bool) {
	best, bestLine, exactFound := "", 0, false
	firstExact := ""
	for _, t := range ReleaseTags(coreTags, true) {
		for _, e := range first(requires(t)) {
			if firstExact == "" || versionLess(e, firstExact) {
				firstExact = e
			}
		}
	}
	for _, t := range ReleaseTags(coreTags, true) {
		exact, min, line := requires(t)
		for _, e := range exact {
			if e == lnm {
				best, bestLine, exactFound = t, line, true
			}
		}
		if !exactFound && min != "" && !versionLess(lnm, min) && len(exact) == 0 && (firstExact == "" || versionLess(lnm, firstExact)) {
			best, bestLine = t, line
		}
	}
	return best, bestLine, best != ""
}

// MarshalFacts writes the facts file with one API per line block, sorted.
func MarshalFacts(f *Facts) ([]byte, error) {
	sort.Slice(f.APIs, func(i, j int) bool { return f.APIs[i].Name < f.APIs[j].Name })
	// One API per line: diffs of a regenerated file show which APIs
	// changed.
	apis := f.APIs
	head := *f
	head.APIs = nil
	hb, err := json.MarshalIndent(head, "", " ")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Write(bytes.TrimSuffix(hb, []byte("\n}")))
	b.WriteString(",\n \"apis\": [\n")
	for i, a := range apis {
		ab, err := json.Marshal(a)
		if err != nil {
			return nil, err
		}
		b.WriteString("  ")
		b.Write(ab)
		if i < len(apis)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString(" ]\n}\n")
	return b.Bytes(), nil
}

// FirstTag returns the first tag (in version order) for which has says
// true, and the source has reports for it.
func FirstTag(tags []string, has func(tag string) (string, bool)) (string, string, bool) {
	sorted := append([]string(nil), tags...)
	sort.SliceStable(sorted, func(i, j int) bool { return versionLess(sorted[i], sorted[j]) })
	for _, t := range sorted {
		if src, ok := has(t); ok {
			return t, src, true
		}
	}
	return "", "", false
}

// ReleaseTags keeps the tags versionParts reads (vX.Y.Z and vX.Y.ZrcN),
// sorted; finalOnly drops the release candidates.
func ReleaseTags(tags []string, finalOnly bool) []string {
	var out []string
	for _, t := range tags {
		p, ok := versionParts(t)
		if !ok || finalOnly && p[3] != 1<<20 {
			continue
		}
		out = append(out, t)
	}
	sort.SliceStable(out, func(i, j int) bool { return versionLess(out[i], out[j]) })
	return out
}

// VersionLess is versionLess for the command.
func VersionLess(a, b string) bool { return versionLess(a, b) }

// LNMDefines lists the APIs a lua-nginx-module source tree defines (by
// registration or as a constant on the ngx table) with where.
func LNMDefines(src map[string]string) map[string]string {
	out := map[string]string{}
	for _, name := range sortedKeys(src) {
		if !strings.HasSuffix(name, ".c") {
			continue
		}
		for _, r := range Registrations(name, src[name]) {
			if api := APIOfRegistration(r); api != "" {
				if _, ok := out[api]; !ok {
					out[api] = r.File + ":" + strconv.Itoa(r.Line)
				}
			}
		}
		for _, loc := range reValue.FindAllStringSubmatchIndex(src[name], -1) {
			api := "ngx." + src[name][loc[2]:loc[3]]
			if _, ok := out[api]; !ok {
				out[api] = name + ":" + strconv.Itoa(1+strings.Count(src[name][:loc[0]], "\n"))
			}
		}
	}
	return out
}

// CoreDefines lists the APIs a lua-resty-core lib tree exposes, with where.
func CoreDefines(lib map[string]string) map[string]string {
	out := map[string]string{}
	for _, name := range sortedKeys(lib) {
		if !strings.HasSuffix(name, ".lua") {
			continue
		}
		funcs := ParseLuaFuncs(name, lib[name])
		line := map[string]int{}
		for _, f := range funcs {
			if _, ok := line[f.Name]; !ok {
				line[f.Name] = f.Line
			}
		}
		for api, fn := range LuaExposures(name, lib[name], funcs) {
			if _, ok := out[api]; !ok {
				out[api] = name + ":" + strconv.Itoa(line[fn])
			}
		}
	}
	return out
}

func first[A, B, C any](a A, _ B, _ C) A { return a }

// FinalOf names the final release of a release candidate tag
// (v0.1.29rc1 -> v0.1.29); other tags are returned as they are.
func FinalOf(tag string) string {
	if i := strings.Index(tag, "rc"); i > 0 {
		if _, ok := versionParts(tag); ok {
			return tag[:i]
		}
	}
	return tag
}
