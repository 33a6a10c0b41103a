package rules

import (
	"os"
	"regexp"
	"testing"
)

// docs/gixy.md maps every gixy check to the rule that covers it: each
// rule it names must exist, and each SEC1xxx/SEC2xxx rule must be named
// there, so the table cannot drift from the registry.
func TestGixyDocNamesRealRules(t *testing.T) {
	doc, err := os.ReadFile("../docs/gixy.md")
	if err != nil {
		t.Fatal(err)
	}
	reg := Registry()
	named := map[string]bool{}
	for _, id := range regexp.MustCompile(`\b(?:SEC|NGX|LUA|VER)\d{4}\b`).FindAllString(string(doc), -1) {
		named[id] = true
		if reg.Lookup(id) == nil {
			t.Errorf("docs/gixy.md names %s, which is not a rule", id)
		}
	}
	for _, r := range secRules() {
		if id := r.ID; (id[:4] == "SEC1" || id[:4] == "SEC2") && !named[id] {
			t.Errorf("%s (%s) is missing from docs/gixy.md", id, r.Slug)
		}
	}
}
