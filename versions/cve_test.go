package versions

import "testing"

func TestAdvisoriesParse(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range Advisories() {
		if err := a.validate(); err != nil {
			t.Error(err)
		}
		if seen[a.CVE] {
			t.Errorf("%s listed twice", a.CVE)
		}
		seen[a.CVE] = true
	}
}

// TestAdvisoryAffects pins the reading of the advisories page on the
// entries whose stable-branch fixes sit inside the vulnerable range.
func TestAdvisoryAffects(t *testing.T) {
	for _, c := range []struct {
		cve, v string
		want   bool
	}{
		{"CVE-2021-23017", "1.20.0", true},
		{"CVE-2021-23017", "1.20.1", false}, // the stable fix
		{"CVE-2021-23017", "1.19.10", true},
		{"CVE-2021-23017", "1.21.0", false},
		{"CVE-2021-23017", "0.6.17", false},
		{"CVE-2022-41741", "1.22.0", true},
		{"CVE-2022-41741", "1.22.1", false}, // Debian 12's upstream version
		{"CVE-2022-41741", "1.0.15", true},  // the second vulnerable range
		{"CVE-2022-41741", "1.0.16", false},
		{"CVE-2022-41741", "1.1.2", false},
		{"CVE-2019-9511", "1.16.0", true},
		{"CVE-2019-9511", "1.16.1", false},
		{"CVE-2019-9511", "1.14.2", true}, // no fix on the 1.14 branch
		{"CVE-2024-32760", "1.26.0", true},
		{"CVE-2024-32760", "1.26.1", false},
		{"CVE-2024-32760", "1.24.0", false},
		{"CVE-2013-2070", "1.2.9", false},
		{"CVE-2013-2070", "1.3.8", false}, // between the two ranges
		{"CVE-2013-2070", "1.4.0", true},
		{"CVE-2024-24989", "1.25.3", true},
		{"CVE-2024-24989", "1.25.2", false},
	} {
		a, ok := LookupAdvisory(c.cve)
		if !ok {
			t.Fatalf("%s missing", c.cve)
		}
		if got := a.Affects(MustParse(c.v)); got != c.want {
			t.Errorf("%s on %s: affected %v, want %v", c.cve, c.v, got, c.want)
		}
	}
	if a, _ := LookupAdvisory("CVE-2021-23017"); a.Affects(Version{}) {
		t.Error("an unknown version must not count as affected")
	}
}
