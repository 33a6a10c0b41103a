package rules

import (
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/analyzer/analysistest"
)

// TestSecInjectionFixes applies the suggested fixes and checks the result no
// longer triggers the rule.
func TestSecInjectionFixes(t *testing.T) {
	for _, c := range []struct {
		rule       *analyzer.Rule
		conf, want string
	}{
		{HostSpoofing, "http {\n  server {\n    listen 80;\n    location /a { return 302 https://$http_host/next; }\n  }\n}\n",
			"http {\n  server {\n    listen 80;\n    location /a { return 302 https://$host/next; }\n  }\n}\n"},
		{AliasTraversal, "http {\n  server {\n    listen 80;\n    location /static { alias /srv/static/; }\n  }\n}\n",
			"http {\n  server {\n    listen 80;\n    location /static/ { alias /srv/static/; }\n  }\n}\n"},
	} {
		ar := &txtar.Archive{Files: []txtar.File{{Name: "nginx.conf", Data: []byte(c.conf)}}}
		cs, err := analysistest.FromArchive(c.rule.Slug, ar)
		if err != nil {
			t.Fatal(err)
		}
		_, res := cs.Analyze([]*analyzer.Rule{c.rule})
		if len(res.Diagnostics) != 1 || len(res.Diagnostics[0].Fixes) != 1 {
			t.Fatalf("%s: want one finding with a fix, got %d", c.rule.ID, len(res.Diagnostics))
		}
		out, err := analyzer.ApplyEdits([]byte(c.conf), res.Diagnostics[0].Fixes[0].Edits)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != c.want {
			t.Errorf("%s fix:\n%s\nwant\n%s", c.rule.ID, out, c.want)
		}
		ar.Files[0].Data = out
		cs, _ = analysistest.FromArchive(c.rule.Slug, ar)
		if _, res := cs.Analyze([]*analyzer.Rule{c.rule}); len(res.Diagnostics) != 0 {
			t.Errorf("%s: the fixed configuration still triggers it", c.rule.ID)
		}
	}
}

// BenchmarkSecOverhead times load + every rule on the reference shape with
// and without the security rule pack, SEC1xxx-SEC3xxx (issue 21: within
// 1.5x of before them).
func BenchmarkSecOverhead(b *testing.B) {
	fsys, _ := genFS(b, shapeParams(b, "reference"))
	sec := map[*analyzer.Rule]bool{}
	for _, r := range secRules() { // every SEC rule, the injection rules among them
		sec[r] = true
	}
	var without []*analyzer.Rule
	for _, r := range Registry().All() {
		if !sec[r] {
			without = append(without, r)
		}
	}
	for _, c := range []struct {
		name  string
		rules []*analyzer.Rule
	}{{"without-sec", without}, {"with-sec", Registry().All()}, {"sec-only", secRules()}} {
		b.Run(c.name, func(b *testing.B) {
			opts := analyzer.Options{Profile: installed(b)}
			// CPU time, not wall time: the machine is shared.
			cpu0 := processCPU()
			for b.Loop() {
				cfg, model := loadGen(b, fsys)
				if res := analyzer.Run(cfg, model, c.rules, opts); len(res.RuleErrors) > 0 {
					b.Fatal(res.RuleErrors[0])
				}
			}
			b.ReportMetric(float64((processCPU()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}
