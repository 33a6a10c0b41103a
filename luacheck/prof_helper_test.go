package luacheck

import (
	"testing"

	"github.com/ngxlint/ngxlint/internal/luagen"
	"github.com/ngxlint/ngxlint/nginxconf"
)

func BenchmarkAnalyze5k(b *testing.B) {
	chunk := &nginxconf.LuaChunk{Code: luagen.Generate(5000), Pos: nginxconf.Pos{Line: 1, Column: 1}}
	for i := 0; i < b.N; i++ {
		Analyze(chunk, Options{})
	}
}
