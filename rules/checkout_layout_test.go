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
		if strings.Contains(d.Message, "not in this checkout") != (d.Severity == analyzer.Info) {
			t.Errorf("%s: %s", d.Severity, d.Message)
		}
	}
	if got[analyzer.Info] != 1 || got[analyzer.Error] != 1 {
		t.Errorf("severities %v, want one info and one error", got)
	}
}
