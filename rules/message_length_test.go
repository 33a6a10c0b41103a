package rules

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/analyzer/analysistest"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// maxMedianMessage bounds the median headline over everything the test
// sees: most findings should say their problem in well under the hard
// limit (issue 18 measured averages of 255-380 characters).
const maxMedianMessage = 100

// quotedValue is a double-quoted user value inside a message: an upstream
// name, a Lua path, a variable.
var quotedValue = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// messageLength is a headline's length as analyzer.MaxMessage counts it:
// characters, each quoted value counted as at most analyzer.MaxQuoted.
func messageLength(msg string) int {
	n := len([]rune(msg))
	for _, q := range quotedValue.FindAllString(msg, -1) {
		if l := len([]rune(q)); l > analyzer.MaxQuoted {
			n -= l - analyzer.MaxQuoted
		}
	}
	return n
}

// TestMessageLength holds every rule's headlines and confirmation
// summaries to analyzer.MaxMessage, and their median to maxMedianMessage,
// over the rules' txtar cases (each run as TestRules runs it, and again
// with OpenResty 1.21.4.1 and with no versions declared, so that both
// frames of the VER rules are seen) and the real applications of
// ../shared/apps (skipped when absent), with no versions and with
// OpenResty 1.21.4.1 declared, and the configurations of ../shared/corpus. The story a headline leaves out belongs in
// Diagnostic.Details: a VER finding must have it.
func TestMessageLength(t *testing.T) {
	reg := Registry()
	var lengths []int
	seen := map[string]bool{}
	check := func(where string, ds []*analyzer.Diagnostic) {
		for _, d := range ds {
			lengths = append(lengths, messageLength(d.Message))
			if n := messageLength(d.Message); n > analyzer.MaxMessage && !seen[d.Message] {
				seen[d.Message] = true
				t.Errorf("%s: %s %s message is %d characters (limit %d; move the explanation to Details):\n%s", where, d.Pos, d.Rule.ID, n, analyzer.MaxMessage, d.Message)
			}
			if strings.HasPrefix(d.Rule.ID, "VER") && strings.TrimSpace(d.Details) == "" && !seen["details "+d.Rule.ID] {
				seen["details "+d.Rule.ID] = true
				t.Errorf("%s: %s %s has no Details: the version story (affected and fixed releases) must be in them", where, d.Pos, d.Rule.ID)
			}
		}
	}
	or121, err := versions.Resolve("", "", "1.21.4.1")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../testdata/rules/*/*.txtar")
	if len(files) == 0 {
		t.Fatal("no txtar cases")
	}
	for _, f := range files {
		r := reg.Lookup(filepath.Base(filepath.Dir(f)))
		if r == nil {
			continue // TestRules reports it
		}
		c, err := analysistest.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []*versions.Profile{nil, {}, &or121} {
			if p != nil {
				c.Profile = *p
			}
			_, res := c.Analyze([]*analyzer.Rule{r})
			check(f, res.Diagnostics)
			// The seed-style cases are confirmable: their summaries are
			// headlines too.
			if c.Header["confirm"] != "" && p == nil {
				var ds []*analyzer.Diagnostic
				for _, d := range res.Diagnostics {
					if d.Confirm != nil {
						ds = append(ds, d)
					}
				}
				analyzer.ConfirmAll(t.Context(), ds, 0)
				for _, d := range ds {
					if n := messageLength(d.Confirmation.Summary); n > analyzer.MaxMessage {
						t.Errorf("%s: %s %s confirmation summary is %d characters (limit %d):\n%s", f, d.Pos, d.Rule.ID, n, analyzer.MaxMessage, d.Confirmation.Summary)
					}
				}
			}
		}
	}
	fromCases := len(lengths)
	for _, app := range sharedApps(t) {
		for _, p := range []versions.Profile{{}, or121} {
			cfg := nginxconf.LoadFile(app.config, nginxconf.Options{Prefix: app.prefix, Requires: luacheck.Requires})
			if cfg.Main == nil {
				continue
			}
			res := analyzer.Run(cfg, nginxconf.BuildModel(cfg), reg.All(), analyzer.Options{Profile: p})
			check(app.config, res.Diagnostics)
		}
	}
	// The corpus's whole configurations too: its dcos files include
	// files the corpus does not hold, which is where NGX3006's message
	// once grew past the limit.
	if _, err := os.Stat(filepath.Join(corpusRoot, "MANIFEST.jsonl")); err == nil {
		for _, e := range corpusManifest(t) {
			if e.Role != "config" || !strings.HasSuffix(e.Path, ".conf") {
				continue
			}
			cfg := nginxconf.LoadFile(filepath.Join(corpusRoot, e.Path), nginxconf.Options{Requires: luacheck.Requires})
			if cfg.Main == nil {
				continue
			}
			res := analyzer.Run(cfg, nginxconf.BuildModel(cfg), reg.All(), analyzer.Options{})
			check(e.Path, res.Diagnostics)
		}
	}
	slices.Sort(lengths)
	if len(lengths) == 0 {
		t.Fatal("no findings to measure")
	}
	median := lengths[len(lengths)/2]
	t.Logf("%d messages (%d from the txtar cases): median %d, longest %d characters", len(lengths), fromCases, median, lengths[len(lengths)-1])
	if median > maxMedianMessage {
		t.Errorf("median message is %d characters, want <= %d", median, maxMedianMessage)
	}
}

// sharedApp is one entry configuration of ../shared/apps.
type sharedApp struct{ config, prefix string }

// sharedApps lists the entry configurations of ../shared/apps/MANIFEST.jsonl
// with the app's prefix, none when the set is absent.
func sharedApps(t *testing.T) []sharedApp {
	t.Helper()
	root := filepath.Join("..", "..", "shared", "apps")
	data, err := os.ReadFile(filepath.Join(root, "MANIFEST.jsonl"))
	if err != nil {
		t.Logf("../shared/apps is absent (%v): only the txtar cases are measured", err)
		return nil
	}
	var out []sharedApp
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var a struct {
			Folder       string `json:"folder"`
			Prefix       string `json:"prefix"`
			EntryConfigs []struct {
				Path string `json:"path"`
			} `json:"entry_configs"`
		}
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatal(err)
		}
		for _, e := range a.EntryConfigs {
			app := sharedApp{config: filepath.Join(root, a.Folder, filepath.FromSlash(e.Path))}
			if a.Prefix != "" {
				app.prefix = filepath.Join(root, a.Folder, filepath.FromSlash(a.Prefix))
			}
			out = append(out, app)
		}
	}
	return out
}
