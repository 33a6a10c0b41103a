package luacheck

import (
	"runtime"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// nestingWork analyses code and returns the analysis' work counter and the
// bytes it allocated.
func nestingWork(t *testing.T, code string) (work int, bytes uint64) {
	t.Helper()
	chunk := &nginxconf.LuaChunk{Code: code, Pos: nginxconf.Pos{File: "n.lua", Line: 1, Column: 1},
		Origin: nginxconf.LuaFile, Context: "content_by_lua"}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	an := newAnalysis(chunk, Options{})
	res := &Result{}
	an.run(res)
	runtime.ReadMemStats(&after)
	if len(res.SyntaxErrors)+len(res.InternalErrors) > 0 {
		t.Fatalf("%v %v", res.SyntaxErrors, res.InternalErrors)
	}
	return an.work, after.TotalAlloc - before.TotalAlloc
}

// TestNestingWorkIsLinear: analysing code nested 4 times deeper must cost
// about 4 times the work and memory, not 16 times (issue 14 item 6: nested
// function literals took 5.9 GB at 460 KB, nested ifs ran for minutes).
// The depths stay under luadepth.Limit.
func TestNestingWorkIsLinear(t *testing.T) {
	shapes := []struct {
		name string
		code func(n int) string
	}{
		{"functions", func(n int) string {
			return "local f = " + strings.Repeat("function() return ", n) + "1" + strings.Repeat(" end", n) + "\n"
		}},
		{"functions using the parent's argument", func(n int) string {
			var b strings.Builder
			b.WriteString("local f = function(a0) return ")
			for i := 1; i < n; i++ {
				b.WriteString("function(a" + itoa(i) + ") return a" + itoa(i-1) + " + ")
			}
			b.WriteString("1" + strings.Repeat(" end", n) + "\n")
			return b.String()
		}},
		{"ifs", func(n int) string {
			return strings.Repeat("if x then local y = x ", n) + "f(y)" + strings.Repeat(" end", n) + "\n"
		}},
		{"dos with locals", func(n int) string {
			return strings.Repeat("do local a, b = g, a ", n) + "f(a, b)" + strings.Repeat(" end", n) + "\n"
		}},
	}
	const n = 400
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			w1, b1 := nestingWork(t, sh.code(n))
			w4, b4 := nestingWork(t, sh.code(4*n))
			t.Logf("depth %d: work %d, %d bytes; depth %d: work %d, %d bytes", n, w1, b1, 4*n, w4, b4)
			if w4 > 6*w1 {
				t.Errorf("work grew %.1fx for 4x the depth", float64(w4)/float64(w1))
			}
			if b4 > 6*b1 {
				t.Errorf("allocation grew %.1fx for 4x the depth", float64(b4)/float64(b1))
			}
		})
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
