package nginxconf

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ngxlint/ngxlint/internal/gen"
)

func shapeTree(tb testing.TB, name string, scale int) ([]gen.File, int) {
	s, ok := gen.ShapeByName(name)
	if !ok {
		tb.Fatalf("no shape %q", name)
	}
	files := gen.Tree(s.Params.Scale(scale))
	lines := 0
	for _, f := range files {
		lines += strings.Count(f.Data, "\n")
	}
	return files, lines
}

// BenchmarkLoadShapes loads each generated shape from disk (LoadFile, as
// the CLI does) and builds the model.
func BenchmarkLoadShapes(b *testing.B) {
	for _, s := range gen.Shapes() {
		b.Run(s.Name, func(b *testing.B) {
			files, lines := shapeTree(b, s.Name, 1)
			dir := b.TempDir()
			for _, f := range files {
				p := filepath.Join(dir, filepath.FromSlash(f.Name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					b.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(f.Data), 0o644); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				cfg := LoadFile(filepath.Join(dir, "nginx.conf"), Options{})
				if err := cfg.Err(); err != nil {
					b.Fatal(err)
				}
				BuildModel(cfg)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(lines), "ns/line")
		})
	}
}

// BenchmarkLoadScale is Load and BuildModel of the reference and include
// shapes at 1x, 4x and 16x an eighth of their size, reporting time and
// allocated bytes per line (constant when the loader is linear).
func BenchmarkLoadScale(b *testing.B) {
	for _, name := range []string{"reference", "includes"} {
		for _, k := range []int{1, 4, 16} {
			s, _ := gen.ShapeByName(name)
			p := s.Params
			p.Servers, p.Upstreams, p.LuaUpstreams = p.Servers/8, p.Upstreams/8, p.LuaUpstreams/8
			fsys := fstest.MapFS{}
			lines := 0
			for _, f := range gen.Tree(p.Scale(k)) {
				fsys[f.Name] = &fstest.MapFile{Data: []byte(f.Data)}
				lines += strings.Count(f.Data, "\n")
			}
			b.Run(fmt.Sprintf("%s/x%d", name, k), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					cfg := Load(fsys, "nginx.conf", Options{})
					if err := cfg.Err(); err != nil {
						b.Fatal(err)
					}
					BuildModel(cfg)
				}
				b.ReportMetric(float64(lines), "lines")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(lines), "ns/line")
			})
		}
	}
}
