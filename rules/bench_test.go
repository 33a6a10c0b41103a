package rules

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/internal/gen"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
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

// installed is the profile of the nginx scripts/bench.sh times (Debian 12:
// nginx 1.22.1, lua-nginx-module 0.10.23).
func installed(tb testing.TB) versions.Profile {
	p, err := versions.Resolve("1.22.1", "0.10.23", "")
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// BenchmarkRules is the rules stage alone (every registered rule, Lua
// analysis included, suppressions, sorting) on each generated shape, the
// configuration loaded once outside the timer, with the installed
// profile's versions declared.
func BenchmarkRules(b *testing.B) {
	for _, s := range gen.Shapes() {
		b.Run(s.Name, func(b *testing.B) {
			fsys, lines := genFS(b, s.Params)
			cfg, model := loadGen(b, fsys)
			rules := Registry().All()
			opts := analyzer.Options{Profile: installed(b)}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				res := analyzer.Run(cfg, model, rules, opts)
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
// 246,000 lines), and on the include-tree, suppression-comment and
// many-Lua-chunks shapes at the same scales. It
// reports wall time, CPU time (all threads, GC included) and allocated
// bytes per line, which stay roughly constant when the cost grows
// linearly.
func BenchmarkPipeline(b *testing.B) {
	for _, shape := range []string{"reference", "includes", "ignores", "lua"} {
		base := shapeParams(b, shape)
		base.Servers /= 8
		base.Upstreams /= 8
		base.LuaUpstreams /= 8
		for _, k := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("%s/x%d", shape, k), func(b *testing.B) {
				fsys, lines := genFS(b, base.Scale(k))
				rules := Registry().All()
				opts := analyzer.Options{Profile: installed(b)}
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := processCPU()
				for b.Loop() {
					cfg, model := loadGen(b, fsys)
					res := analyzer.Run(cfg, model, rules, opts)
					if len(res.RuleErrors) > 0 {
						b.Fatal(res.RuleErrors[0])
					}
				}
				cpu := processCPU() - cpu0
				b.ReportMetric(float64(lines), "lines")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(lines), "ns/line")
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(lines), "cpu-ns/line")
			})
		}
	}
}

// render prints diagnostics with everything the CLI shows, so that two
// runs can be compared byte for byte.
func render(ds []*analyzer.Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "%s-%s %s %s %s\n", d.Pos, d.End, d.Severity, d.Rule.ID, d.Message)
		for _, r := range d.Related {
			fmt.Fprintf(&b, "  %s %s\n", r.Pos, r.Message)
		}
	}
	return b.String()
}

// TestRunDeterministic runs every rule twice on a generated configuration
// with many upstreams, servers and Lua chunks (rules and the Lua warm-up
// run concurrently), once on one processor and once on all, and wants the
// same diagnostics in the same order.
func TestRunDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 20,000-line configuration")
	}
	p := shapeParams(t, "lua")
	p.Servers, p.LuaUpstreams = 300, 100
	p.Upstreams = 400
	fsys, _ := genFS(t, p)
	rules := Registry().All()
	var outs []string
	for _, procs := range []int{1, 0, 0} {
		cfg, model := loadGen(t, fsys)
		n := runtime.NumCPU()
		if procs == 1 {
			n = 1
		}
		prev := runtime.GOMAXPROCS(n)
		res := analyzer.Run(cfg, model, rules, analyzer.Options{Profile: installed(t)})
		runtime.GOMAXPROCS(prev)
		if len(res.RuleErrors) > 0 {
			t.Fatal(res.RuleErrors[0])
		}
		if len(res.Diagnostics) == 0 {
			t.Fatal("no diagnostics: the comparison would prove nothing")
		}
		outs = append(outs, render(res.Diagnostics))
	}
	for i := 1; i < len(outs); i++ {
		if outs[i] != outs[0] {
			t.Fatalf("run %d differs from run 0 (%d vs %d bytes)", i, len(outs[i]), len(outs[0]))
		}
	}
}
