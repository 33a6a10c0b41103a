package luacheck

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/internal/luagen"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// BenchmarkAnalyzeScale analyses generated Lua files of 3,125, 12,500 and
// 50,000 lines (1x, 4x, 16x) and reports time and allocated bytes per
// line (wall and CPU), which stay roughly constant when the analysis is
// linear.
func BenchmarkAnalyzeScale(b *testing.B) {
	for _, k := range []int{1, 4, 16} {
		src := luagen.Generate(3125 * k)
		lines := strings.Count(src, "\n")
		chunk := &nginxconf.LuaChunk{Code: src, Pos: nginxconf.Pos{File: "gen.lua", Line: 1, Column: 1},
			Origin: nginxconf.LuaFile, Context: "content_by_lua"}
		b.Run(fmt.Sprintf("x%d", k), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				r := Analyze(chunk, Options{})
				if len(r.InternalErrors) > 0 {
					b.Fatal(r.InternalErrors[0])
				}
			}
			cpu := processCPU() - cpu0
			b.ReportMetric(float64(lines), "lines")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(lines), "ns/line")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(lines), "cpu-ns/line")
		})
	}
}
