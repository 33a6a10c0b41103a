package rules

import (
	"testing"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/internal/gen"
)

// BenchmarkDirectiveRules is the NGX3xxx walk alone on the generated
// shapes (every directive looked up, its value parsed), per line.
func BenchmarkDirectiveRules(b *testing.B) {
	for _, s := range gen.Shapes() {
		b.Run(s.Name, func(b *testing.B) {
			fsys, lines := genFS(b, s.Params)
			cfg, model := loadGen(b, fsys)
			opts := analyzer.Options{Profile: installed(b)}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				res := analyzer.Run(cfg, model, directiveRules(), opts)
				if len(res.RuleErrors) > 0 {
					b.Fatal(res.RuleErrors[0])
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(lines), "ns/line")
		})
	}
}
