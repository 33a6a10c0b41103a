package nginxconf

import (
	"testing"
	"testing/fstest"
)

// BenchmarkBuildModel is BuildModel alone on the reference shape, loaded
// once.
func BenchmarkBuildModel(b *testing.B) {
	files, lines := shapeTree(b, "reference", 1)
	fsys := fstest.MapFS{}
	for _, f := range files {
		fsys[f.Name] = &fstest.MapFile{Data: []byte(f.Data)}
	}
	cfg := Load(fsys, "nginx.conf", Options{})
	if err := cfg.Err(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		BuildModel(cfg)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(lines), "ns/line")
}
