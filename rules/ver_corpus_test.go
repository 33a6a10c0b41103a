package rules

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// TestVerCorpus runs the VER rules over the real-world corpus
// (shared/corpus) under an unknown version and several bundles: no rule
// may fail, every finding must point into a loaded file, and on an unknown
// version every finding is info. It logs how often each rule fires.
func TestVerCorpus(t *testing.T) {
	var paths []string
	for _, e := range corpusManifest(t) {
		if e.Role == "config" && strings.HasSuffix(e.Path, ".conf") {
			paths = append(paths, e.Path)
		}
	}
	if len(paths) == 0 {
		t.Skip("no configurations in the corpus manifest")
	}
	profiles := []string{"", "openresty=1.9.7.3", "openresty=1.11.2.2", "openresty=1.27.1.1", "openresty=1.29.2.4", "openresty=1.31.1.1", "nginx=1.22.1,lnm=0.10.23"}
	rules := versionRules()
	counts := map[string]int{}
	for _, spec := range profiles {
		p, err := resolveSpec(spec)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range paths {
			cfg := nginxconf.LoadFile(filepath.Join(corpusRoot, path), nginxconf.Options{})
			if cfg.Main == nil {
				continue
			}
			m := nginxconf.BuildModel(cfg)
			res := analyzer.Run(cfg, m, rules, analyzer.Options{Profile: p})
			for _, e := range res.RuleErrors {
				t.Errorf("%s [%s]: %v", path, spec, e)
			}
			for _, d := range res.Diagnostics {
				if !d.Pos.IsValid() {
					t.Errorf("%s [%s]: %s reported without a position", path, spec, d.Rule.ID)
				}
				if spec == "" && strings.HasPrefix(d.Rule.ID, "VER") && d.Severity != analyzer.Info {
					t.Errorf("%s: %s is %s on an unknown version", path, d.Rule.ID, d.Severity)
				}
				counts[spec+" "+d.Rule.ID]++
			}
		}
	}
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%-40s %d", k, counts[k])
	}
	t.Logf("%d configurations x %d profiles", len(paths), len(profiles))
}
