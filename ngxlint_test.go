package ngxlint_test

import (
	"errors"
	"os"
	"testing"

	"github.com/ngxlint/ngxlint"
	"github.com/ngxlint/ngxlint/analyzer"
)

// The options the CLI passes from .ngxlint.yaml reach the findings:
// severity overrides, per-finding filters, and invalid options are
// OptionErrors (the CLI's exit 2).
func TestOptionsAsTheCLIUsesThem(t *testing.T) {
	seed := os.DirFS("examples/seed")
	base := ngxlint.Options{Versions: "lua_nginx_module=0.10.0"}
	rep, err := ngxlint.Check(t.Context(), seed, []string{"nginx.conf"}, base)
	if err != nil {
		t.Fatal(err)
	}
	has := func(r *ngxlint.Report, rule, sev string) bool {
		for _, f := range r.Findings {
			if f.Rule == rule && (sev == "" || f.Severity == sev) {
				return true
			}
		}
		return false
	}
	if !has(rep, "NGX2001", "error") || !has(rep, "LUA3001", "") {
		t.Fatalf("seed findings %+v", rep.Findings)
	}

	o := base
	o.Severity = map[string]analyzer.Severity{"NGX2001": analyzer.Info}
	o.Keep = func(d *analyzer.Diagnostic) bool { return d.Rule.ID != "LUA3001" }
	rep, err = ngxlint.Check(t.Context(), seed, []string{"nginx.conf"}, o)
	if err != nil {
		t.Fatal(err)
	}
	if !has(rep, "NGX2001", "info") || has(rep, "LUA3001", "") {
		t.Errorf("with overrides %+v", rep.Findings)
	}

	for _, bad := range []ngxlint.Options{
		{Enable: []string{"NGX9999"}},
		{Versions: "nginx=banana"},
		{Settings: map[string]string{"retry-threshold": "many"}},
	} {
		_, err := ngxlint.Check(t.Context(), seed, []string{"nginx.conf"}, bad)
		var oe *ngxlint.OptionError
		if !errors.As(err, &oe) {
			t.Errorf("%+v: error %v is not an OptionError", bad, err)
		}
	}
	// The built-in suppression rules can be disabled like any rule.
	if _, err := ngxlint.Check(t.Context(), seed, []string{"nginx.conf"}, ngxlint.Options{Disable: []string{analyzer.UnusedIgnoreRule.ID}}); err != nil {
		t.Errorf("disabling %s: %v", analyzer.UnusedIgnoreRule.ID, err)
	}
}
