package analyzer

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/internal/editdist"
)

// Setting is an option a rule declares (go/analysis's Analyzer.Flags,
// staticcheck's documented options): its name, what it means, its default
// and how a value is checked. Only declared settings are accepted from
// .ngxlint.yaml and --set, so a misspelt key or a malformed value is a usage
// error instead of a check silently running with its default.
//
// Settings are rule options and nothing else. What runs a confirmation (the
// engine, a binary) is Options.Engine, which only the caller sets: the
// repository under test supplies .ngxlint.yaml and must not be able to
// choose a program to execute.
type Setting struct {
	Name    string
	Doc     string
	Default string
	// Check validates a value; nil accepts any.
	Check func(string) error
}

// PositiveInt checks a setting value that must be a whole number > 0.
func PositiveInt(v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return fmt.Errorf("want a whole number greater than 0, got %q", v)
	}
	return nil
}

// FindSetting returns the setting name as declared by rules, and the rules
// that declare it.
func FindSetting(rules []*Rule, name string) (*Setting, []*Rule) {
	var found *Setting
	var owners []*Rule
	for _, r := range rules {
		for i := range r.Settings {
			if r.Settings[i].Name == name {
				if found == nil {
					found = &r.Settings[i]
				}
				owners = append(owners, r)
			}
		}
	}
	return found, owners
}

// SettingNames lists every setting rules declare, sorted.
func SettingNames(rules []*Rule) []string {
	var names []string
	for _, r := range rules {
		for _, s := range r.Settings {
			if !slices.Contains(names, s.Name) {
				names = append(names, s.Name)
			}
		}
	}
	slices.Sort(names)
	return names
}

// CheckSetting validates one key=value against the settings rules declare. The
// error names the known settings, with the closest one first when the key
// looks like a typo of it.
func CheckSetting(rules []*Rule, name, value string) error {
	s, _ := FindSetting(rules, name)
	if s == nil {
		known := SettingNames(rules)
		if m := Closest(name, known); m != "" {
			return fmt.Errorf("unknown setting %q: did you mean %q? (known: %s)", name, m, strings.Join(known, ", "))
		}
		if len(known) == 0 {
			return fmt.Errorf("unknown setting %q: no rule declares settings", name)
		}
		return fmt.Errorf("unknown setting %q (known: %s)", name, strings.Join(known, ", "))
	}
	if s.Check != nil {
		if err := s.Check(value); err != nil {
			return fmt.Errorf("setting %s: %v", name, err)
		}
	}
	return nil
}

// Closest returns the candidate within a small edit distance of s (at most
// a third of its length, and at most 3), or "" when none is that close.
func Closest(s string, candidates []string) string {
	best, bestD := "", 0
	limit := min(3, max(1, len(s)/3))
	for _, c := range candidates {
		d := editdist.Distance(strings.ToLower(s), strings.ToLower(c), limit)
		if d <= limit && (best == "" || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}
