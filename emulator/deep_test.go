package emulator

import (
	"runtime/debug"
	"strings"
	"testing"
)

// TestCompileDeepLua: balancer code nested deeper than luadepth.Limit is a
// load error, not a crash. Before the depth check, gopher-lua's compiler
// recursed once per level and overflowed the Go stack (issue 14 item 4: a
// 4 MB file under Go's default 1 GB stack; the stack is capped at 16 MB
// here so that a few hundred KB show the same fatal error).
func TestCompileDeepLua(t *testing.T) {
	defer debug.SetMaxStack(debug.SetMaxStack(16 << 20))
	const n = 100_000
	for name, code := range map[string]string{
		"tables":    "local t = " + strings.Repeat("{", n) + strings.Repeat("}", n),
		"not":       "local b = " + strings.Repeat("not ", n) + "x",
		"calls":     "local r = " + strings.Repeat("f(", n) + "1" + strings.Repeat(")", n),
		"concat":    "local s = a" + strings.Repeat("..a", n),
		"functions": "local f = " + strings.Repeat("function() return ", n) + "1" + strings.Repeat(" end", n),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := compileLua(code, "deep.lua")
			if err == nil || !strings.Contains(err.Error(), "levels deep") {
				t.Fatalf("error %v, want the depth error", err)
			}
		})
	}
	// Nesting that LuaJIT accepts still compiles.
	if _, err := compileLua("local t = "+strings.Repeat("{", 100)+strings.Repeat("}", 100), "ok.lua"); err != nil {
		t.Errorf("100 levels: %v", err)
	}
}
