package luacheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ngxlint/ngxlint/internal/luagen"
	"github.com/ngxlint/ngxlint/nginxconf"
)

func genChunk(tb testing.TB) *nginxconf.LuaChunk {
	src := luagen.Generate(50000)
	if n := strings.Count(src, "\n"); n < 50000 {
		tb.Fatalf("generated %d lines", n)
	}
	return &nginxconf.LuaChunk{Code: src, Pos: nginxconf.Pos{File: "gen.lua", Line: 1, Column: 1},
		Origin: nginxconf.LuaFile, Context: "content_by_lua"}
}

// BenchmarkAnalyze50k analyses a generated 50,000-line OpenResty Lua file.
// It also runs /usr/bin/luacheck on the same file once (when installed) and
// reports both times and their ratio as extra metrics.
func BenchmarkAnalyze50k(b *testing.B) {
	chunk := genChunk(b)
	r := Analyze(chunk, Options{})
	if len(r.SyntaxErrors) > 0 || len(r.InternalErrors) > 0 || len(r.Warnings) == 0 {
		b.Fatalf("unexpected result: %v %v %d warnings", r.SyntaxErrors, r.InternalErrors, len(r.Warnings))
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		Analyze(chunk, Options{})
	}
	ours := time.Since(start) / time.Duration(b.N)
	b.StopTimer()
	if lc, err := exec.LookPath("luacheck"); err == nil {
		f := filepath.Join(b.TempDir(), "gen.lua")
		if err := os.WriteFile(f, []byte(chunk.Code), 0o644); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		cmd := exec.Command(lc, "--codes", "--formatter", "plain", "--std", luacheckStd, "--no-config", "--no-cache", f)
		_ = cmd.Run()
		theirs := time.Since(t0)
		b.ReportMetric(theirs.Seconds(), "luacheck-s")
		b.ReportMetric(float64(theirs)/float64(ours), "x-faster")
	}
}
