package rules

import (
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/analyzer/analysistest"
)

// TestNotInCheckoutSeverity: a Lua file at an absolute install path that
// the checkout lacks is info (CI passes at the default --fail-on
// warning); a relative path that does not resolve stays an error.
func TestNotInCheckoutSeverity(t *testing.T) {
	res := analysistest.Check(t, "../testdata/rules/lua-file-missing/install_paths.txtar", []*analyzer.Rule{LuaFileMissing})
	got := map[analyzer.Severity]int{}
	for _, d := range res.Diagnostics {
		got[d.Severity]++
		if strings.Contains(d.Message, "is not in this checkout") != (d.Severity == analyzer.Info) {

			t.Errorf("%s: %s", d.Severity, d.Message)
		}
	}
	if got[analyzer.Info] != 1 || got[analyzer.Error] != 1 {
		t.Errorf("severities %v, want one info and one error", got)
	}
	res = analysistest.Check(t, "../testdata/rules/lua-file-missing/guessed_prefix.txtar", []*analyzer.Rule{LuaFileMissing})
	if len(res.Diagnostics) != 1 || res.Diagnostics[0].Severity != analyzer.Warning {
		t.Errorf("relative path under a guessed prefix: %v, want one warning", res.Diagnostics)
	}
}

// TestNotifyBundlesMatchAffects: VER1011's affected versions are the
// bundles of the version table that carry the patch (one fact in one
// place: the table decides which bundles a finding may name).
func TestNotifyBundlesMatchAffects(t *testing.T) {
	var names []string
	for _, b := range notifyBundles() {
		names = append(names, b.OpenResty.String())
	}
	if got := "OpenResty " + strings.Join(names, ", ") + notifyAffectsTail; got != bugORNotifyStale502.affects {
		t.Errorf("bundles with the notify patch: %q; VER1011 affects %q", got, bugORNotifyStale502.affects)
	}
}
