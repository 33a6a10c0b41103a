package luacheck

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzPrepass checks the pre-pass on its own: it must keep the chunk's
// length and every line break where it was, because positions reported on
// the rewritten text are mapped back to the source byte for byte.
func FuzzPrepass(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/diff/*.lua")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("#!/usr/bin/env lua\nlocal x = 0x1p4 + 1ULL + 2LL + 3i + 0x1.8\n")
	f.Add("local s = \"a\\z\n   b\\z\r\n c\" return s")
	f.Add("local s = 'x\\z")
	f.Fuzz(func(t *testing.T, src string) {
		out := prepass(src, tokenize(src))
		if len(out) != len(src) {
			t.Fatalf("length %d, source %d", len(out), len(src))
		}
		for i := 0; i < len(src); i++ {
			if (src[i] == '\n') != (out[i] == '\n') {
				t.Fatalf("line break moved at offset %d: %q -> %q", i, src, out)
			}
		}
	})
}
