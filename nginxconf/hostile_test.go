package nginxconf

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"
)

// This file loads hostile input through LoadFile (the operating system's
// files, as the CLI does): special files, loops, pathological sizes. Every
// case must end, with the error it names at the include's position.

// loadBounded runs LoadFile with a generous deadline, turning a hang into
// a failure instead of a stuck test binary.
func loadBounded(t *testing.T, path string, opts Options) *Config {
	t.Helper()
	done := make(chan *Config, 1)
	go func() { done <- LoadFile(path, opts) }()
	select {
	case c := <-done:
		return c
	case <-time.After(2 * time.Minute):
		t.Fatalf("LoadFile(%s) did not return: hang", path)
		return nil
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// wantOneError checks that cfg has exactly one error, at file:line, whose
// message contains every part of want.
func wantOneError(t *testing.T, cfg *Config, file string, line int, want ...string) {
	t.Helper()
	if len(cfg.Errors) != 1 {
		t.Fatalf("%d errors, want 1: %v", len(cfg.Errors), cfg.Errors)
	}
	e := cfg.Errors[0]
	if e.Pos.File != file || e.Pos.Line != line {
		t.Errorf("error at %s:%d, want %s:%d: %v", e.Pos.File, e.Pos.Line, file, line, e)
	}
	for _, w := range want {
		if !strings.Contains(e.Msg, w) {
			t.Errorf("error %q lacks %q", e.Msg, w)
		}
	}
}

func TestHostileIncludes(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.conf")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sparse := filepath.Join(dir, "sparse.conf")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil { // 1 GB, no blocks written
		t.Fatal(err)
	}
	f.Close()
	subdir := filepath.Join(dir, "sub")
	os.Mkdir(subdir, 0o755)
	loop := filepath.Join(dir, "loop.conf")
	os.Symlink(loop, loop) // a symlink to itself
	os.Symlink(filepath.Join(dir, "b.link"), filepath.Join(dir, "a.link"))
	os.Symlink(filepath.Join(dir, "a.link"), filepath.Join(dir, "b.link"))

	tests := []struct {
		include string
		want    []string
	}{
		{"/dev/zero", []string{"is a device"}},
		{"/dev/urandom", []string{"is a device"}},
		{"/dev/null", []string{"is a device"}},
		{"/proc/self/environ", []string{"size changed while reading"}},
		{"/proc/self/status", []string{"size changed while reading"}},
		{"/proc/self/mem", []string{"input/output error"}},
		{fifo, []string{"is a FIFO"}},
		{subdir, []string{"is a directory"}},
		{sparse, []string{"file too large (1073741824 bytes, limit 67108864)"}},
		{loop, []string{"too many levels of symbolic links"}},
		{filepath.Join(dir, "a.link"), []string{"too many levels of symbolic links"}},
		{filepath.Join(dir, "missing.conf"), []string{"no such file or directory"}},
	}
	for _, tc := range tests {
		t.Run(tc.include, func(t *testing.T) {
			main := filepath.Join(t.TempDir(), "nginx.conf")
			writeFile(t, main, "events {}\nhttp {\n    include "+tc.include+";\n}\n")
			cfg := loadBounded(t, main, Options{})
			wantOneError(t, cfg, main, 3, append([]string{`include "` + tc.include + `"`}, tc.want...)...)
			if len(cfg.Files) != 1 {
				t.Errorf("%d files read, want only the main file", len(cfg.Files))
			}
		})
	}
}

// TestHostileLuaFiles: the same special files named by *_by_lua_file are
// refused as Lua files (a load error on the chunk), never read.
func TestHostileLuaFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "x.lua")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(dir, "nginx.conf")
	writeFile(t, main, "http { server { location / {\n"+
		"content_by_lua_file /dev/zero;\naccess_by_lua_file "+fifo+";\nrewrite_by_lua_file /proc/self/environ;\n} } }\n")
	cfg := loadBounded(t, main, Options{})
	if len(cfg.LuaFiles) != 0 {
		t.Errorf("read Lua files %v", cfg.LuaFiles)
	}
	want := []string{"is a device", "is a FIFO", "size changed while reading"}
	i := 0
	cfg.Walk(func(d *Directive, _ []*Directive) bool {
		if d.Lua == nil {
			return true
		}
		if !strings.Contains(d.Lua.LoadError, want[i]) {
			t.Errorf("%s: load error %q, want %q", d.Name, d.Lua.LoadError, want[i])
		}
		i++
		return true
	})
	if i != 3 {
		t.Errorf("%d Lua directives", i)
	}
}

// TestGlobCycles: includes that reach themselves through globs, directly
// and across directories, stop at the cycle with the chain in the message.
func TestGlobCycles(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "nginx.conf")
	writeFile(t, main, "include conf.d/*.conf;\n")
	writeFile(t, filepath.Join(dir, "conf.d/a.conf"), "include conf.d/*.conf;\n")
	writeFile(t, filepath.Join(dir, "conf.d/b.conf"), "include ../*/b.conf;\ninclude "+dir+"/*.conf;\n")
	cfg := loadBounded(t, main, Options{})
	var cycles int
	for _, e := range cfg.Errors {
		if !strings.Contains(e.Msg, "include cycle: ") {
			t.Errorf("unexpected error %v", e)
		}
		cycles++
	}
	if cycles == 0 {
		t.Fatal("no include cycle reported")
	}
	if len(cfg.Files) > 20 {
		t.Errorf("%d files read", len(cfg.Files))
	}
	// A directory symlinked into itself: the glob walks one level per
	// pattern component, so it ends.
	os.Symlink(dir, filepath.Join(dir, "self"))
	writeFile(t, main, "include self/self/self/self/*.conf;\n")
	cfg = loadBounded(t, main, Options{})
	if len(cfg.Errors) == 0 || !strings.Contains(cfg.Errors[0].Msg, "include cycle") {
		t.Errorf("errors %v, want an include cycle", cfg.Errors)
	}
}

// TestIncludeFanOut: a diamond of globbed includes (each level includes
// the next level twice) would read 2^n files; MaxFiles stops it.
func TestIncludeFanOut(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 30; i++ {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("l%02d/a.conf", i)), fmt.Sprintf("include l%02d/*.conf;\n", i+1))
		writeFile(t, filepath.Join(dir, fmt.Sprintf("l%02d/b.conf", i)), fmt.Sprintf("include l%02d/*.conf;\n", i+1))
	}
	main := filepath.Join(dir, "nginx.conf")
	writeFile(t, main, "include l00/*.conf;\n")
	cfg := loadBounded(t, main, Options{MaxFiles: 500, MaxIncludeDepth: 100})
	if len(cfg.Files) > 500 {
		t.Errorf("%d files read, limit 500", len(cfg.Files))
	}
	if err := cfg.Err(); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("first error %v, want the file limit", err)
	}
}

// TestHostileContent: pathological bytes inside one file.
func TestHostileContent(t *testing.T) {
	t.Run("10 MB single line", func(t *testing.T) {
		line := strings.Repeat("x", 10<<20)
		f := ParseString("big.conf", line+";\n")
		if len(f.Errors) != 1 || !strings.Contains(f.Errors[0].Msg, "too long parameter") {
			t.Fatalf("errors %v", f.Errors)
		}
		if n := len(f.Errors[0].Error()); n > 400 {
			t.Errorf("error message of %d bytes", n)
		}
		f = ParseString("big.conf", line)
		if len(f.Errors) != 1 || len(f.Errors[0].Error()) > 400 || !strings.Contains(f.Errors[0].Msg, `"xxxx`) {
			t.Fatalf("errors %.500v", f.Errors)
		}
	})
	t.Run("NUL bytes", func(t *testing.T) {
		f := ParseString("nul.conf", "events {}\nhttp {\n  a\x00b c;\n  d \"e\x00\";\n}\n")
		if len(f.Errors) != 2 {
			t.Fatalf("errors %v", f.Errors)
		}
		for i, want := range []string{"nul.conf:3:4: NUL byte in configuration", "nul.conf:4:7: NUL byte in quoted string"} {
			if got := f.Errors[i].Error(); got != want {
				t.Errorf("error %q, want %q", got, want)
			}
		}
	})
	t.Run("invalid UTF-8", func(t *testing.T) {
		f := ParseString("bad.conf", "events {}\n\xff\xfe on;\nserver_name \xc3\x28;\n")
		if len(f.Errors) != 1 || f.Errors[0].Pos.Line != 2 || !strings.Contains(f.Errors[0].Msg, "not valid UTF-8") {
			t.Fatalf("errors %v", f.Errors)
		}
		if got := f.Directives[2].Args[0].Value; got != "\xc3\x28" {
			t.Errorf("argument %q: bytes must be kept as written", got)
		}
	})
	// nginx (ngx_conf_read_token) counts lines at LF only and treats CR as
	// a blank: nginx -t reports an error on the third CRLF line as line 3
	// and, with CR-only endings, as line 1 (checked with nginx 1.22.1).
	t.Run("CRLF", func(t *testing.T) {
		f := ParseString("crlf.conf", "events {}\r\nhttp {\r\n  x \"a\r\nb\" ;\r\n  y;\r\n  z\r\n}\r\n")
		if len(f.Errors) != 1 {
			t.Fatalf("errors %v", f.Errors)
		}
		if got := f.Errors[0].Error(); got != `crlf.conf:7:1: unexpected "}": directive "z" is not terminated by ";"` {
			t.Errorf("error %q", got)
		}
		y := f.Directives[1].Block[1]
		if y.Name != "y" || y.Pos.Line != 5 || y.Pos.Column != 3 || y.End.Line != 5 || y.End.Column != 5 {
			t.Errorf("y at %v-%v, want 5:3-5:5", y.Pos, y.End)
		}
		if v := f.Directives[1].Block[0].Args[0].Value; v != "a\r\nb" {
			t.Errorf("quoted value %q", v)
		}
	})
	t.Run("CR only", func(t *testing.T) {
		f := ParseString("cr.conf", "events {}\rhttp {\r  y;\r  z\r}\r")
		if len(f.Errors) != 1 {
			t.Fatalf("errors %v", f.Errors)
		}
		if got := f.Errors[0].Error(); got != `cr.conf:1:27: unexpected "}": directive "z" is not terminated by ";"` {
			t.Errorf("error %q", got)
		}
		// '#' runs to LF, so a comment swallows the rest of a CR-only file.
		f = ParseString("cr.conf", "# note\rhttp {\r}\r")
		if len(f.Directives) != 0 || len(f.Errors) != 0 {
			t.Errorf("directives %v errors %v: a comment ends only at LF", f.Directives, f.Errors)
		}
	})
}

// TestMillionDirectives parses a configuration of a million directives
// and reports the memory it takes (no time assertion; the benchmark in
// bench_test.go measures speed).
func TestMillionDirectives(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	var b strings.Builder
	b.WriteString("http {\n")
	for i := 0; i < 1_000_000; i++ {
		fmt.Fprintf(&b, "  set $v%d %d;\n", i, i)
	}
	b.WriteString("}\n")
	src := b.String()
	path := filepath.Join(t.TempDir(), "nginx.conf")
	writeFile(t, path, src)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cfg := loadBounded(t, path, Options{})
	runtime.ReadMemStats(&after)
	if len(cfg.Errors) != 0 || len(cfg.Main.Directives[0].Block) != 1_000_000 {
		t.Fatalf("errors %v, %d directives", cfg.Errors, len(cfg.Main.Directives[0].Block))
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("1,000,000 directives, %d MB of source: %d MB allocated, heap in use %d MB", len(src)>>20, alloc>>20, after.HeapInuse>>20)
	// Bounded memory: a small multiple of the source (directives, their
	// Args, the line index). Far above the measured figure, so it only
	// catches a blow-up.
	if limit := uint64(40 * len(src)); alloc > limit {
		t.Errorf("allocated %d MB for %d MB of source", alloc>>20, len(src)>>20)
	}
	runtime.KeepAlive(cfg)
	cfg = nil

	// The densest input, "x;" lines, and the default directive limit.
	src = strings.Repeat("x;\n", DefaultMaxDirectives+10)
	writeFile(t, path, src)
	runtime.GC()
	runtime.ReadMemStats(&before)
	cfg = loadBounded(t, path, Options{})
	runtime.ReadMemStats(&after)
	want := fmt.Sprintf("%s:%d:1: more than %d directives in the configuration; the rest is not parsed", path, DefaultMaxDirectives+1, DefaultMaxDirectives)
	if err := cfg.Err(); err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
	t.Logf("%d one-word directives, %d MB of source: %d MB allocated, heap in use %d MB", DefaultMaxDirectives, len(src)>>20, (after.TotalAlloc-before.TotalAlloc)>>20, after.HeapInuse>>20)
	runtime.KeepAlive(cfg)
}

// TestLoaderLimits runs each of the loader's limits on an in-memory tree
// at a configured value, with the error it gives.
func TestLoaderLimits(t *testing.T) {
	tree := func(files ...string) fstest.MapFS {
		fsys := fstest.MapFS{}
		for i := 0; i+1 < len(files); i += 2 {
			fsys[files[i]] = &fstest.MapFile{Data: []byte(files[i+1])}
		}
		return fsys
	}
	chain := tree("nginx.conf", "include a.conf;\nhttp { server { location / { } } }\n",
		"a.conf", "include b.conf; # a comment to make it longer\n", "b.conf", "x;\n")
	for _, tc := range []struct {
		fsys fstest.MapFS
		opts Options
		want string
	}{
		{chain, Options{MaxFileSize: 10}, `nginx.conf: file too large (51 bytes, limit 10)`},
		{chain, Options{MaxFileSize: 51}, `nginx.conf:1:1: include "a.conf": a.conf: file too large (46 bytes, limit 51)`},
		{chain, Options{MaxIncludeDepth: 1}, `a.conf:1:1: include "b.conf": includes nested more than 1 deep`},
		{chain, Options{MaxFiles: 2}, `a.conf:1:1: include "b.conf": too many files: more than 2 read`},
		{chain, Options{MaxNesting: 2}, `nginx.conf:2:28: blocks nested more than 2 levels deep; the rest of the file is not parsed`},
		{chain, Options{MaxDirectives: 3}, `nginx.conf:2:17: more than 3 directives in the configuration; the rest is not parsed`},
		{tree("nginx.conf", "a; b;\nc; d;\n"), Options{MaxDirectives: 3}, `nginx.conf:2:4: more than 3 directives in the configuration; the rest is not parsed`},
	} {
		if tc.opts.MaxFileSize == 51 {
			tc.opts.MaxFileSize = 45
			tc.want = strings.Replace(tc.want, "limit 51", "limit 45", 1)
			tc.fsys = tree("nginx.conf", "include a.conf;\n", "a.conf", "include b.conf; # a comment to make it longer\n", "b.conf", "x;\n")
		}
		cfg := Load(tc.fsys, "nginx.conf", tc.opts)
		if err := cfg.Err(); err == nil || err.Error() != tc.want {
			t.Errorf("%+v: error %v, want %s", tc.opts, err, tc.want)
		}
	}
}

// TestMemoryBombs: inputs whose parse would cost far more memory than
// their size stop at a limit, with the memory they took logged.
func TestMemoryBombs(t *testing.T) {
	measure := func(t *testing.T, src string, opts Options) *Config {
		t.Helper()
		path := filepath.Join(t.TempDir(), "nginx.conf")
		writeFile(t, path, src)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		cfg := loadBounded(t, path, opts)
		runtime.ReadMemStats(&after)
		t.Logf("%d MB of source: %d MB allocated", len(src)>>20, (after.TotalAlloc-before.TotalAlloc)>>20)
		return cfg
	}
	t.Run("one line of 8 million words", func(t *testing.T) {
		// The directive name counts as a word: the 4001st is the 4000th "a".
		cfg := measure(t, "x "+strings.Repeat("a ", 8<<20)+";\n", Options{MaxDirectives: 1000})
		if err := cfg.Err(); err == nil || !strings.Contains(err.Error(), ":1:8001: more than 4000 arguments in the configuration (4 per allowed directive); the rest is not parsed") {
			t.Errorf("error %v", err)
		}
		if len(cfg.Errors) != 1 {
			t.Errorf("%d errors", len(cfg.Errors))
		}
	})
	t.Run("16 MB of stray semicolons", func(t *testing.T) {
		cfg := measure(t, strings.Repeat(";", 16<<20), Options{})
		if n := len(cfg.Errors); n != maxErrorsPerFile+1 {
			t.Fatalf("%d errors, want %d", n, maxErrorsPerFile+1)
		}
		if last := cfg.Errors[maxErrorsPerFile]; last.Msg != "more than 100 errors in this file; the others are not reported" {
			t.Errorf("last error %v", last)
		}
	})
	t.Run("16 MB of NUL bytes", func(t *testing.T) {
		cfg := measure(t, "x "+strings.Repeat("\x00", 16<<20)+";", Options{})
		if n := len(cfg.Errors); n != maxErrorsPerFile+1 {
			t.Fatalf("%d errors", n)
		}
	})
	t.Run("limit across files", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "a.conf"), strings.Repeat("y;\n", 100))
		writeFile(t, filepath.Join(dir, "b.conf"), "z;\n")
		main := filepath.Join(dir, "nginx.conf")
		writeFile(t, main, "include a.conf;\ninclude b.conf;\n")
		cfg := loadBounded(t, main, Options{MaxDirectives: 50})
		if err := cfg.Err(); err == nil || err.Error() != filepath.Join(dir, "a.conf")+":49:1: more than 50 directives in the configuration; the rest is not parsed" || len(cfg.Errors) != 1 {
			t.Errorf("errors %v", cfg.Errors)
		}
		if len(cfg.Files) != 2 {
			t.Errorf("%d files read; b.conf must not be read after the limit", len(cfg.Files))
		}
	})
}
