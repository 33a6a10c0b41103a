package rules

import (
	"context"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/tools/txtar"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/analyzer/analysistest"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// analyzeVer runs one rule over conf with the versions in spec
// ("openresty=1.9.7.3", "nginx=1.22.1,lnm=0.10.23", or "" for unknown).
func analyzeVer(t *testing.T, r *analyzer.Rule, conf, spec string) []*analyzer.Diagnostic {
	t.Helper()
	var header strings.Builder
	for _, kv := range strings.Split(spec, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
			header.WriteString(k + ": " + v + "\n")
		}
	}
	ar := &txtar.Archive{Comment: []byte(header.String()), Files: []txtar.File{{Name: "nginx.conf", Data: []byte(conf)}}}
	c, err := analysistest.FromArchive(r.Slug, ar)
	if err != nil {
		t.Fatal(err)
	}
	cfg, res := c.Analyze([]*analyzer.Rule{r})
	for _, e := range cfg.Errors {
		t.Fatalf("config does not load: %v", e)
	}
	for _, e := range res.RuleErrors {
		t.Fatal(e)
	}
	return res.Diagnostics
}

// confirmableVer lists every VER rule whose effect the emulator observes,
// with the affected versions its Bad example is confirmed on and a fixed
// (or unaffected) profile where the same scenario must not show it.
var confirmableVer = []struct {
	rule          *analyzer.Rule
	affected      string
	fixed         string
	emulatorIssue string // non-empty: a known emulator discrepancy, test skipped
}{
	{VerLNMExitFFI, "openresty=1.9.7.3", "openresty=1.9.15.1", ""},
	{VerLNMMoreTriesZeroLimit, "openresty=1.11.2.2", "openresty=1.11.2.3", ""},
	{VerLNMExitStatus, "nginx=1.22.1,lnm=0.10.23", "openresty=1.21.4.1", ""},
	{VerLNMPoolRetry, "openresty=1.29.2.3", "openresty=1.29.2.4", ""},
	{VerORNotifyStale502, "openresty=1.29.2.4", "openresty=1.29.2.3", ""},
	{VerLNMKAHostGT32, "openresty=1.27.1.1", "openresty=1.29.2.1",
		""},
	{VerLNMKeepaliveOrder, "openresty=1.27.1.1", "openresty=1.29.8.1rc1", ""},
	{VerLNMKATimeout0, "openresty=1.27.1.1", "", ""},
	{VerNGXCachedBypass, "nginx=1.9.7", "nginx=1.9.13", ""},
	{VerNGXNonIdempotent, "nginx=1.9.7", "nginx=1.9.13", ""},
	{VerNGXQuickRecovery, "nginx=1.11.2", "nginx=1.11.5", ""},
	{VerNGXDownTries, "openresty=1.19.3.2", "openresty=1.19.9.1", ""},
	{VerNGXKADefaults, "nginx=1.13.6", "nginx=1.15.3", ""},
	{VerNGXKAOnByDefault, "nginx=1.22.1", "openresty=1.31.1.1", ""},
}

// TestVerConfirmations runs each confirmable rule's scenario: Confirmed on
// the affected versions (which includes the fixed twin not showing the
// effect), and the judge must not see the effect when the same scenario
// runs on the fixed profile.
func TestVerConfirmations(t *testing.T) {
	for _, c := range confirmableVer {
		t.Run(c.rule.Slug, func(t *testing.T) {
			t.Parallel()
			if c.emulatorIssue != "" {
				emuGap(t, c.emulatorIssue)
			}
			ds := analyzeVer(t, c.rule, c.rule.Doc.Bad, c.affected)
			if len(ds) == 0 {
				t.Fatalf("no finding on %s", c.affected)
			}
			d := ds[0]
			if d.Confirm == nil {
				t.Fatalf("finding has no scenario: %s", d.Message)
			}
			analyzer.ConfirmAll(context.Background(), ds[:1], 1)
			cf := d.Confirmation
			if cf.Status != analyzer.Confirmed {
				t.Fatalf("status %q (%s), summary %q\n%s", cf.Status, cf.Reason, cf.Summary, cf.Trace)
			}
			if cf.Observed["requests"] == nil {
				t.Errorf("no observation recorded: %v", cf.Observed)
			}
			t.Logf("%s: %s", c.affected, cf.Summary)
			if c.fixed == "" {
				return
			}
			if n := len(analyzeVer(t, c.rule, c.rule.Doc.Bad, c.fixed)); n != 0 {
				t.Errorf("%d findings on the fixed %s", n, c.fixed)
			}
			fp, err := resolveSpec(c.fixed)
			if err != nil {
				t.Fatal(err)
			}
			s := d.Confirm.(verScenario)
			side := s.withProfile(fp).runOn(context.Background(), fp, false)
			if side.err != nil {
				t.Fatal(side.err)
			}
			if side.shows {
				t.Errorf("the effect shows on the fixed %s too: %s", c.fixed, side.summary)
			}
			t.Logf("%s: %s", c.fixed, side.summary)
		})
	}
}

// TestVerConfirmationUnknownVersion: with no version declared the finding
// is info, and its scenario runs on the bug's example profile.
func TestVerConfirmationUnknownVersion(t *testing.T) {
	ds := analyzeVer(t, VerORNotifyStale502, VerORNotifyStale502.Doc.Bad, "")
	if len(ds) != 1 {
		t.Fatalf("want 1 finding, got %d", len(ds))
	}
	d := ds[0]
	if d.Severity != analyzer.Info || d.Conditional == "" {
		t.Errorf("severity %s, conditional %q: want a conditional info on an unknown version", d.Severity, d.Conditional)
	}
	if w := ", if on OpenResty 1.29.2.4"; !strings.Contains(d.Message, w) {
		t.Errorf("message lacks %q: %s", w, d.Message)
	}
	if w := "Knowledge entry OR-NOTIFY-STALE-502"; !strings.Contains(d.Details, w) {
		t.Errorf("details lack %q: %s", w, d.Details)
	}

	analyzer.ConfirmAll(context.Background(), ds, 1)
	if d.Confirmation.Status != analyzer.Confirmed || !strings.Contains(d.Confirmation.Profile, "openresty 1.31.1.1") {
		t.Errorf("confirmation %q on %q: %s", d.Confirmation.Status, d.Confirmation.Profile, d.Confirmation.Summary)
	}
}

// TestVerUnknownIsInfo: every VER rule reports its Bad example at info,
// naming the affected versions (in short at the headline's end, in full in
// the details and as Diagnostic.Conditional, which reports use to say how
// to declare them), when no version is declared; the details name the
// knowledge-file entry and the fixed release.

func TestVerUnknownIsInfo(t *testing.T) {
	for _, v := range versionBugs() {
		ds := analyzeVer(t, v.rule, v.rule.Doc.Bad, "")
		if len(ds) == 0 {
			t.Errorf("%s: silent on an unknown version", v.rule.ID)
			continue
		}
		for _, d := range ds {
			if d.Severity != analyzer.Info {
				t.Errorf("%s: severity %s on an unknown version", v.rule.ID, d.Severity)
			}
			short := ", if on " + v.bug.shortAffects()
			if v.bug.changeAt != "" {
				short = "nginx " + v.bug.changeAt // the headline says what changes from there
			}
			if !strings.Contains(d.Message, short) || d.Conditional == "" {
				t.Errorf("%s: headline does not name the versions (%q): %s (conditional %q)", v.rule.ID, short, d.Message, d.Conditional)
			}
			story := []string{"Knowledge entry " + v.bug.kid + " "}
			switch {
			case v.bug.changeAt != "":
				story = append(story, "nginx >= "+v.bug.changeAt)
			case v.bug.fixed != "":
				story = append(story, "Affected: "+v.bug.affects, "Fixed in "+v.bug.fixed)
			default:
				story = append(story, "Affected: "+v.bug.affects, "No release fixes it")
			}
			for _, w := range story {
				if !strings.Contains(d.Details, w) {
					t.Errorf("%s: details lack %q: %s", v.rule.ID, w, d.Details)
				}
			}

		}
	}
}

// TestVerDocs: every VER rule carries the knowledge-file id, its affected
// range, fix and references, and is either in confirmableVer or says why
// it is not confirmable.
func TestVerDocs(t *testing.T) {
	data, err := os.ReadFile("../docs/knowledge.md")
	if err != nil {
		t.Fatal(err)
	}
	knowledge := string(data)
	conf := map[string]bool{}
	for _, c := range confirmableVer {
		conf[c.rule.ID] = true
	}
	for _, v := range versionBugs() {
		r := v.rule
		if !strings.Contains(r.Doc.Title, "("+v.bug.kid+")") {
			t.Errorf("%s: title lacks (%s)", r.ID, v.bug.kid)
		}
		if r.Doc.Affected == "" || r.Doc.Fixed == "" || len(r.Doc.References) == 0 {
			t.Errorf("%s: Affected, Fixed and References are required", r.ID)
		}
		// The facts behind a rule live in the repository (docs/knowledge.md),
		// where a user of `ngxlint explain` can read them.
		if !strings.Contains(strings.Join(r.Doc.References, " "), "docs/knowledge.md: "+v.bug.kid) {
			t.Errorf("%s: References lack the docs/knowledge.md id", r.ID)
		}
		if !strings.Contains(knowledge, v.bug.kid) {
			t.Errorf("%s: docs/knowledge.md has no entry %s", r.ID, v.bug.kid)
		}
		nc := strings.HasPrefix(r.Doc.Confirmation, "not confirmable")
		if conf[r.ID] == nc {
			t.Errorf("%s: in confirmableVer=%v but Confirmation says %q", r.ID, conf[r.ID], r.Doc.Confirmation)
		}
		if _, ok := verBugOf(r.ID); !ok {
			t.Errorf("%s: verBugOf does not know it", r.ID)
		}
	}
}

// modelOf loads a configuration text into its model.
func modelOf(t *testing.T, conf string) *nginxconf.Model {
	t.Helper()
	cfg := nginxconf.Load(fstest.MapFS{"nginx.conf": {Data: []byte(conf)}}, "nginx.conf", nginxconf.Options{})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	return nginxconf.BuildModel(cfg)
}

func envSet(name string) bool { return os.Getenv(name) != "" }

// TestDocsCiteTheRepository: every reference a rule's documentation gives
// names something a user has - a URL, a source of nginx or a module, or a
// file of this repository - never the team's ../shared folder (issue 18
// item 6).
func TestDocsCiteTheRepository(t *testing.T) {
	for _, r := range Registry().All() {
		for _, ref := range append([]string{r.Doc.Text}, r.Doc.References...) {
			if strings.Contains(ref, "shared/") || strings.Contains(ref, "knowledge file") {
				t.Errorf("%s cites what users do not have: %q", r.ID, ref)
			}
		}
	}
}
