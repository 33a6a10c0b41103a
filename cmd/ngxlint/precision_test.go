package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The precision regression set (issue 16): what a new user gets from
// `ngxlint check --no-config --format json` (no versions declared) on the
// real configurations of ../shared/corpus and ../shared/apps. Every finding
// at warning or error severity, and every load error (recorded with the rule
// LOAD: exit 2 fails CI like an error), was reviewed by hand against the
// sources and recorded in testdata/precision/<set>.tsv as
//
//	RULE<TAB>SEVERITY<TAB>FILE:LINE<TAB>true|false<TAB>why
//
// with FILE relative to ../shared/<set>/. One line per occurrence: a Lua
// file loaded by two configurations, or two findings on one line, appear
// twice. The test fails when a finding is not recorded (review it and add
// it), when a recorded one no longer occurs (remove it), when overall
// precision at warning+ drops below minPrecision, or when a finding recorded
// as a false error fires on a configuration real nginx accepts (corpus
// MANIFEST nginx_t "ok") or on one of the apps (deployed applications: the
// apps MANIFEST's nginx_t blockers are the test host's missing modules,
// users and DNS names, not defects of the configuration).

const minPrecision = 0.9

// precisionKey identifies one reviewed finding.
type precisionKey struct {
	rule, severity, where string // where is FILE:LINE
}

func (k precisionKey) String() string { return k.rule + "\t" + k.severity + "\t" + k.where }

type precisionVerdict struct {
	right bool
	why   string
}

// precisionTarget is one configuration of a set and how to check it.
type precisionTarget struct {
	config string // relative to the set's root
	prefix string // --prefix, relative to the set's root; "" for none
	works  bool   // real nginx accepts it / the app runs
}

func TestPrecisionRegressionSet(t *testing.T) {
	shared := filepath.Join("..", "..", "..", "shared")
	for _, set := range []string{"corpus", "apps"} {
		if _, err := os.Stat(filepath.Join(shared, set, "MANIFEST.jsonl")); err != nil {
			t.Skipf("../shared/%s is absent: %v", set, err)
		}
	}
	var right, all int
	for _, set := range []string{"corpus", "apps"} {
		root, err := filepath.Abs(filepath.Join(shared, set))
		if err != nil {
			t.Fatal(err)
		}
		golden := readPrecisionGolden(t, filepath.Join("..", "..", "testdata", "precision", set+".tsv"))
		var targets []precisionTarget
		if set == "corpus" {
			targets = corpusTargets(t, root)
		} else {
			targets = appTargets(t, root)
		}
		got := map[precisionKey]int{}
		for _, tg := range targets {
			for _, k := range precisionFindings(t, root, tg) {
				got[k]++
				v, ok := golden[k]
				if ok && tg.works && k.severity == "error" && !v[0].right {
					t.Errorf("%s: false error on %s, which works on real nginx: %s (%s)", set, tg.config, k, v[0].why)
				}
			}
		}
		setRight, setAll := 0, 0
		for _, k := range sortedPrecisionKeys(got, golden) {
			want := golden[k]
			switch n := got[k]; {
			case n > len(want):
				t.Errorf("%s: new finding %s (%d more than recorded): review it by hand and record it in testdata/precision/%s.tsv", set, k, n-len(want), set)
			case n < len(want):
				t.Errorf("%s: recorded finding %s no longer occurs (%d fewer): remove it from testdata/precision/%s.tsv", set, k, len(want)-n, set)
			}
			for i := 0; i < got[k] && i < len(want); i++ {
				setAll++
				if want[i].right {
					setRight++
				}
			}
		}
		t.Logf("%s: precision at warning+ %d/%d = %.3f", set, setRight, setAll, ratio(setRight, setAll))
		right += setRight
		all += setAll
	}
	p := ratio(right, all)
	t.Logf("overall: precision at warning+ %d/%d = %.3f", right, all, p)
	if p < minPrecision {
		t.Errorf("overall precision at warning+ is %.3f (%d of %d right), below %.2f: see the false entries in testdata/precision", p, right, all, minPrecision)
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

func sortedPrecisionKeys(got map[precisionKey]int, golden map[precisionKey][]precisionVerdict) []precisionKey {
	seen := map[precisionKey]bool{}
	var keys []precisionKey
	for k := range got {
		seen[k] = true
		keys = append(keys, k)
	}
	for k := range golden {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	return keys
}

// readPrecisionGolden reads a golden file; '#' lines are comments.
func readPrecisionGolden(t *testing.T, path string) map[precisionKey][]precisionVerdict {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[precisionKey][]precisionVerdict{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 5 || (fields[3] != "true" && fields[3] != "false") || strings.TrimSpace(fields[4]) == "" ||
			(fields[1] != "warning" && fields[1] != "error") {
			t.Fatalf("%s:%d: want RULE<TAB>warning|error<TAB>FILE:LINE<TAB>true|false<TAB>why, got %q", path, n, line)
		}
		k := precisionKey{fields[0], fields[1], fields[2]}
		out[k] = append(out[k], precisionVerdict{fields[3] == "true", fields[4]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// corpusTargets lists the corpus MANIFEST's whole configurations (role
// "config"; includes and Lua sources are reached through them).
func corpusTargets(t *testing.T, root string) []precisionTarget {
	t.Helper()
	var out []precisionTarget
	for _, line := range manifestLines(t, filepath.Join(root, "MANIFEST.jsonl")) {
		var e struct {
			Path   string `json:"path"`
			Role   string `json:"role"`
			NginxT string `json:"nginx_t"`
		}
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatal(err)
		}
		if e.Role == "config" {
			out = append(out, precisionTarget{config: e.Path, works: e.NginxT == "ok"})
		}
	}
	return out
}

// appTargets lists every entry configuration of the apps MANIFEST, with the
// app's prefix when it gives one.
func appTargets(t *testing.T, root string) []precisionTarget {
	t.Helper()
	var out []precisionTarget
	for _, line := range manifestLines(t, filepath.Join(root, "MANIFEST.jsonl")) {
		var a struct {
			Folder       string `json:"folder"`
			Prefix       string `json:"prefix"`
			EntryConfigs []struct {
				Path string `json:"path"`
			} `json:"entry_configs"`
		}
		if err := json.Unmarshal(line, &a); err != nil {
			t.Fatal(err)
		}
		for _, e := range a.EntryConfigs {
			tg := precisionTarget{config: a.Folder + "/" + e.Path, works: true}
			if a.Prefix != "" {
				tg.prefix = a.Folder + "/" + a.Prefix
			}
			out = append(out, tg)
		}
	}
	return out
}

func manifestLines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, []byte(l))
		}
	}
	return out
}

// precisionFindings runs the CLI in process on one configuration, as a new
// user would (no .ngxlint.yaml, no versions), and returns its warning+
// findings and load errors with files relative to root.
func precisionFindings(t *testing.T, root string, tg precisionTarget) []precisionKey {
	t.Helper()
	args := []string{"check", "--no-config", "--format", "json"}
	if tg.prefix != "" {
		args = append(args, "--prefix", filepath.Join(root, filepath.FromSlash(tg.prefix)))
	}
	args = append(args, filepath.Join(root, filepath.FromSlash(tg.config)))
	code, stdout, stderr := runBounded(t, args...)
	var rep struct {
		Findings []struct {
			Rule     string `json:"rule"`
			Severity string `json:"severity"`
			File     string `json:"file"`
			Line     int    `json:"line"`
		} `json:"findings"`
		Errors []struct {
			File string `json:"file"`
			Line int    `json:"line"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%s: exit %d, output is not the JSON report: %v\nstderr:\n%.2000s", tg.config, code, err, stderr)
	}
	rel := func(file string, line int) string {
		if filepath.IsAbs(file) {
			if r, err := filepath.Rel(root, file); err == nil {
				file = r
			}
		}
		return fmt.Sprintf("%s:%d", filepath.ToSlash(file), line)
	}
	var out []precisionKey
	for _, f := range rep.Findings {
		if f.Severity == "warning" || f.Severity == "error" {
			out = append(out, precisionKey{f.Rule, f.Severity, rel(f.File, f.Line)})
		}
	}
	for _, e := range rep.Errors {
		out = append(out, precisionKey{"LOAD", "error", rel(e.File, e.Line)})
	}
	return out
}
