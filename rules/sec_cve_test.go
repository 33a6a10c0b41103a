package rules

import (
	"slices"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/versions"
)

// TestCVETriggersDecided holds every advisory of versions.Advisories to a
// decision: a trigger with its source, and either a refined gate (one
// that is not only "the feature is on") or the reason it is not
// decidable from a configuration. A new advisory fails here until both
// are written down; an entry whose CVE left the table fails too.
func TestCVETriggersDecided(t *testing.T) {
	// The gates that are the module or protocol being on; an advisory on
	// one of them must say why nothing narrower can be read.
	featureGates := []cveGate{gateAlways, gateResolver, gateMP4, gateHTTP2, gateSPDY, gateHTTP3, gateSSL,
		gateUpstreamSSL, gateStreamOCSP, gateMailSMTPNone, gateMailCRAM, gateDAVCopyMove, gateSCGIUWSGI,
		gateProxyPass, gateProxiedAnyway}
	inTable := map[string]bool{}
	for _, a := range versions.Advisories() {
		inTable[a.CVE] = true
		tr, ok := cveTriggers[a.CVE]
		if !ok {
			t.Errorf("%s (%s) has no entry in cveTriggers: decide what configuration exposes it", a.CVE, a.Name)
			continue
		}
		if tr.gate == "" || strings.TrimSpace(tr.source) == "" {
			t.Errorf("%s: trigger without a gate or a source: %+v", a.CVE, tr)
		}
		feature := slices.Contains(featureGates, tr.gate)
		switch {
		case feature && tr.coarse == "":
			t.Errorf("%s: gate %q is the feature being on; record why nothing narrower is decidable", a.CVE, tr.gate)
		case !feature && tr.coarse != "":
			t.Errorf("%s: gate %q is refined but the entry says it is not (%q)", a.CVE, tr.gate, tr.coarse)
		}
		group := 0
		for _, g := range cveGroups {
			for _, a2 := range g.cves() {
				if a2.CVE == a.CVE {
					group++
				}
			}
		}
		if group != 1 {
			t.Errorf("%s: reported by %d SEC3xxx rules, want 1", a.CVE, group)
		}
	}
	for cve := range cveTriggers {
		if !inTable[cve] {
			t.Errorf("cveTriggers has %s, which versions.Advisories does not", cve)
		}
	}
}

func TestCaptureGroups(t *testing.T) {
	for _, c := range []struct {
		re    string
		names []string // "" for an unnamed group, in number order
		spans [][2]int
	}{
		{`^/((.*))$`, []string{"", ""}, [][2]int{{2, 7}, {3, 6}}},
		{`^/(?:x(y))(z)$`, []string{"", ""}, [][2]int{{6, 8}, {10, 12}}},
		{`(?<a>x)(?P<b>y)(?'c'z)`, []string{"a", "b", "c"}, nil},
		{`\(x\)[(]([)])`, []string{""}, [][2]int{{8, 12}}},
		{`(?#(not))(?=(la))(?i)x`, []string{""}, nil},
		{`\Q(x)\E(y)`, []string{""}, nil},
		{`(*UTF8)[[:alpha:](]+(z)`, []string{""}, nil},
	} {
		gs := captureGroups(c.re)
		var names []string
		for _, g := range gs {
			names = append(names, g.name)
		}
		if !slices.Equal(names, c.names) {
			t.Errorf("captureGroups(%q) names = %q, want %q", c.re, names, c.names)
			continue
		}
		for i, sp := range c.spans {
			if gs[i].start != sp[0] || gs[i].end != sp[1] {
				t.Errorf("captureGroups(%q)[%d] = %d..%d, want %d..%d", c.re, i, gs[i].start, gs[i].end, sp[0], sp[1])
			}
		}
	}
	if gs := captureGroups(`(?=(la))(x)`); len(gs) != 2 || !gs[0].look || !gs[0].overlaps(gs[1]) {
		t.Errorf("a group inside a lookahead must count as overlapping: %+v", gs)
	}
}

func TestVarRefs(t *testing.T) {
	for s, want := range map[string][]string{
		"$1abc$2":            {"1", "2"},
		"${host}x$uri?$args": {"host", "uri", "args"},
		"$0 $ $$x":           {"0", "x"},
		"/n?a=$1&b=$3":       {"1", "3"},
	} {
		if got := varRefs(s); !slices.Equal(got, want) {
			t.Errorf("varRefs(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestParseNginxSize(t *testing.T) {
	for s, want := range map[string]int64{"8k": 8192, "4m": 4 << 20, "1G": 1 << 30, "100": 100} {
		if got, ok := parseNginxSize(s); !ok || got != want {
			t.Errorf("parseNginxSize(%q) = %d, %v; want %d", s, got, ok, want)
		}
	}
	if _, ok := parseNginxSize("4x"); ok {
		t.Error(`parseNginxSize("4x") accepted`)
	}
}

func TestWithoutPlace(t *testing.T) {
	for why, want := range map[string]string{
		"rewrite with arguments, then set reads $1 at line 6":                                   "rewrite with arguments, then set reads $1",
		"a mail resolver naming SMTP clients for auth_http and XCLIENT (server at mail.conf:9)": "a mail resolver naming SMTP clients for auth_http and XCLIENT",
		"rewrite reads nested captures $1 and $2 with a redirect":                               "rewrite reads nested captures $1 and $2 with a redirect",
	} {
		if got := withoutPlace(why); got != want {
			t.Errorf("withoutPlace(%q) = %q, want %q", why, got, want)
		}
	}
}
