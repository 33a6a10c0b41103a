package rules

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/internal/gen"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// genFS returns the files of a generated shape, scaled, as an fs.FS whose
// root holds nginx.conf, and their total line count.
func genFS(tb testing.TB, p gen.Params) (fstest.MapFS, int) {
	fsys := fstest.MapFS{}
	lines := 0
	for _, f := range gen.Tree(p) {
		fsys[f.Name] = &fstest.MapFile{Data: []byte(f.Data)}
		lines += strings.Count(f.Data, "\n")
	}
	return fsys, lines
}

func shapeParams(tb testing.TB, name string) gen.Params {
	s, ok := gen.ShapeByName(name)
	if !ok {
		tb.Fatalf("no shape %q", name)
	}
	return s.Params
}

// loadGen loads a generated configuration and fails on any load error.
func loadGen(tb testing.TB, fsys fstest.MapFS) (*nginxconf.Config, *nginxconf.Model) {
	cfg := nginxconf.Load(fsys, "nginx.conf", nginxconf.Options{})
	if err := cfg.Err(); err != nil {
		tb.Fatal(err)
	}
	return cfg, nginxconf.BuildModel(cfg)
}

// BenchmarkRules is the rules stage alone (every registered rule, Lua
// analysis included, suppressions, sorting) on each generated shape, the
// configuration loaded once outside the timer.
func BenchmarkRules(b *testing.B) {
	for _, s := range gen.Shapes() {
		b.Run(s.Name, func(b *testing.B) {
			fsys, lines := genFS(b, s.Params)
			cfg, model := loadGen(b, fsys)
			rules := Registry().All()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				res := analyzer.Run(cfg, model, rules, analyzer.Options{})
				if len(res.RuleErrors) > 0 {
					b.Fatal(res.RuleErrors[0])
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(lines), "ns/line")
		})
	}
}

// BenchmarkPipeline is load, model and every rule, as `ngxlint check` runs
// them, at 1x, 4x and 16x an eighth of the reference shape (15,000 to
// 246,000 lines), and on the include-tree shape at the same scales. It
// reports time and allocated bytes per line, which stay roughly constant
// when the cost grows linearly.
func BenchmarkPipeline(b *testing.B) {
	for _, shape := range []string{"reference", "includes", "lua"} {
		base := shapeParams(b, shape)
		base.Servers /= 8
		base.Upstreams /= 8
		base.LuaUpstreams /= 8
		for _, k := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("%s/x%d", shape, k), func(b *testing.B) {
				fsys, lines := genFS(b, base.Scale(k))
				rules := Registry().All()
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					cfg, model := loadGen(b, fsys)
					res := analyzer.Run(cfg, model, rules, analyzer.Options{})
					if len(res.RuleErrors) > 0 {
						b.Fatal(res.RuleErrors[0])
					}
				}
				b.ReportMetric(float64(lines), "lines")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(lines), "ns/line")
			})
		}
	}
}
