package nginxconf

import (
	"fmt"
	"io/fs"
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
		// The word is described, not quoted: it is no directive name.
		f = ParseString("big.conf", line)
		if len(f.Errors) != 1 || len(f.Errors[0].Error()) > 400 || !strings.Contains(f.Errors[0].Msg, "directive (a word of 10485760 bytes, not quoted)") {
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
		if got := f.Errors[0].Error(); got != `crlf.conf:6:4: unexpected "}" at 7:1: directive "z" is not terminated by ";"; add ";" here` {
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
		if got := f.Errors[0].Error(); got != `cr.conf:1:26: unexpected "}" at 1:27: directive "z" is not terminated by ";"; add ";" here` {
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
		// A binary file: refused whole, one error (ParseString still
		// reports NUL bytes one by one, up to maxErrorsPerFile).
		src := "x " + strings.Repeat("\x00", 16<<20) + ";"
		cfg := measure(t, src, Options{})
		if n := len(cfg.Errors); n != 1 || !strings.HasSuffix(cfg.Errors[0].Msg, "binary file, not read") {
			t.Fatalf("errors %v", cfg.Errors)
		}
		if n := len(ParseString("nul.conf", src).Errors); n != maxErrorsPerFile+1 {
			t.Fatalf("ParseString: %d errors", n)
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

// token is a credential-shaped secret: hostile tests put it in files
// that must not be echoed, and check that no error message holds it.
const token = "ghp_R3aLlyS3cr3tT0k3nAbCdEf0123456789"

// noToken fails when any error or Lua load error of cfg holds the token.
func noToken(t *testing.T, cfg *Config) {
	t.Helper()
	for _, e := range cfg.Errors {
		if strings.Contains(e.Error(), token) || strings.Contains(e.Error(), "R3aLly") {
			t.Errorf("error quotes the secret: %v", e)
		}
	}
	cfg.Walk(func(d *Directive, _ []*Directive) bool {
		if d.Lua != nil && strings.Contains(d.Lua.LoadError, "R3aLly") {
			t.Errorf("Lua load error quotes the secret: %s", d.Lua.LoadError)
		}
		return true
	})
}

// TestMaxTotalBytes: one file included again and again stops at the
// total byte budget, at the include that would pass it; nothing is read
// after it (issue 14 item 5).
func TestMaxTotalBytes(t *testing.T) {
	if DefaultMaxTotalBytes != 256<<20 {
		t.Errorf("DefaultMaxTotalBytes %d", DefaultMaxTotalBytes)
	}
	big := "# " + strings.Repeat("x", 997) + "\n" // 1,000 bytes
	main := strings.Repeat("include big.conf;\n", 10) + "content_by_lua_file x.lua;\n"
	fsys := fstest.MapFS{
		"nginx.conf": {Data: []byte(main)},
		"big.conf":   {Data: []byte(big)},
		"x.lua":      {Data: []byte("return 1\n")},
	}
	// main (207 bytes) and four copies fit in 4,500; the fifth does not.
	cfg := Load(fsys, "nginx.conf", Options{MaxTotalBytes: 4500})
	want := "nginx.conf:5:1: include \"big.conf\": big.conf: not read: the files read would total 5207 bytes, over the limit of 4500 per load (--max-total-bytes); nothing more is read"
	if len(cfg.Errors) != 1 || cfg.Errors[0].Error() != want {
		t.Fatalf("errors %v\nwant %s", cfg.Errors, want)
	}
	if len(cfg.Files) != 5 || len(cfg.LuaFiles) != 0 {
		t.Errorf("%d files and %d Lua files read, want 5 and 0", len(cfg.Files), len(cfg.LuaFiles))
	}
	// A Lua file counts, and is the load error when it passes the limit.
	cfg = Load(fsys, "nginx.conf", Options{MaxTotalBytes: 10210})
	if len(cfg.Errors) != 1 || !strings.Contains(cfg.Errors[0].Error(), "nginx.conf:11:1: Lua file \"x.lua\": x.lua: not read: the files read would total 10216 bytes") {
		t.Errorf("errors %v", cfg.Errors)
	}
	// Glob matches read ahead in parallel are bounded the same way.
	fsys = fstest.MapFS{"nginx.conf": {Data: []byte("include conf.d/*.conf;\ninclude big.conf;\n")}, "big.conf": {Data: []byte(big)}}
	for i := range 40 {
		fsys[fmt.Sprintf("conf.d/%02d.conf", i)] = &fstest.MapFile{Data: []byte(big)}
	}
	cfg = Load(fsys, "nginx.conf", Options{MaxTotalBytes: 10_000})
	if len(cfg.Errors) != 1 || !strings.Contains(cfg.Errors[0].Error(), `nginx.conf:1:1: include "conf.d/*.conf": conf.d/09.conf: not read: the files read would total 10041 bytes, over the limit of 10000`) {
		t.Errorf("errors %v", cfg.Errors)
	}
	if len(cfg.Files) != 10 {
		t.Errorf("%d files read, want 10", len(cfg.Files))
	}
}

// TestMaxErrors: thousands of errors over many files are cut to
// MaxErrors, with one error saying how many were dropped, in the files'
// lists as well (issue 14 item 5).
func TestMaxErrors(t *testing.T) {
	fsys := fstest.MapFS{"nginx.conf": {Data: []byte("include e/*.conf;\n")}}
	for i := range 30 {
		fsys[fmt.Sprintf("e/%02d.conf", i)] = &fstest.MapFile{Data: []byte(strings.Repeat(";", 150))}
	}
	for _, tc := range []struct{ max, want int }{{0, DefaultMaxErrors}, {10, 10}} {
		cfg := Load(fsys, "nginx.conf", Options{MaxErrors: tc.max})
		if len(cfg.Errors) != tc.want+1 {
			t.Fatalf("MaxErrors %d: %d errors", tc.max, len(cfg.Errors))
		}
		note := fmt.Sprintf("%d more errors are not reported (at most %d are kept)", 30*101-tc.want, tc.want)
		if last := cfg.Errors[tc.want]; last.Msg != note {
			t.Errorf("last error %v, want %q", last, note)
		}
		n := 0
		for _, f := range cfg.Files {
			n += len(f.Errors)
		}
		if n != tc.want+1 {
			t.Errorf("the files hold %d errors, want %d", n, tc.want+1)
		}
	}
}

// TestBinaryFiles: a file with a NUL byte, or mostly control bytes, is
// refused as binary, as an include and as a Lua file, and nothing of it
// is quoted (issue 14 item 5).
func TestBinaryFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"nginx.conf": {Data: []byte("include nul.conf;\ninclude ctl.conf;\ncontent_by_lua_file x.lua;\ninclude ok.conf;\n")},
		"nul.conf":   {Data: []byte(token + " x\x00y;\n")},
		"ctl.conf":   {Data: []byte(token + strings.Repeat("\x01\x02\x1b", 100) + ";\n")},
		"x.lua":      {Data: []byte("\x1bLJ\x02" + token + "\x00\x00")},
		"ok.conf":    {Data: []byte("caf\xe9 \xff;\n")}, // Latin-1 is text
	}
	cfg := Load(fsys, "nginx.conf", Options{})
	want := []string{
		`nginx.conf:1:1: include "nul.conf": nul.conf: binary file, not read`,
		`nginx.conf:2:1: include "ctl.conf": ctl.conf: binary file, not read`,
		`ok.conf:1:1: directive name (a word of 4 bytes, not quoted) is not valid UTF-8`,
	}
	if len(cfg.Errors) != len(want) {
		t.Fatalf("errors %v", cfg.Errors)
	}
	for i, w := range want {
		if got := cfg.Errors[i].Error(); got != w {
			t.Errorf("error %q, want %q", got, w)
		}
	}
	lua := cfg.Main.Directives[2].Lua
	if lua.LoadError != "cannot read Lua file x.lua: x.lua: binary file, not read" || len(cfg.LuaFiles) != 0 {
		t.Errorf("Lua load error %q", lua.LoadError)
	}
	noToken(t, cfg)
}

// TestNestingAcrossIncludes: MaxNesting counts the blocks of the whole
// include chain, not of each file (issue 14 item 6: 59,400 nested
// locations chained through includes passed a per-file limit of 1,000).
func TestNestingAcrossIncludes(t *testing.T) {
	fsys := fstest.MapFS{}
	for i := range 3 {
		fsys[fmt.Sprintf("n%d.conf", i)] = &fstest.MapFile{Data: []byte(strings.Repeat("a {\n", 600) + fmt.Sprintf("include n%d.conf;\n", i+1) + strings.Repeat("}\n", 600))}
	}
	fsys["n3.conf"] = &fstest.MapFile{Data: []byte("x;\n")}
	cfg := Load(fsys, "n0.conf", Options{})
	want := "n1.conf:401:3: blocks nested more than 1000 levels deep, counting the 600 blocks around the include of this file; the rest of the file is not parsed"
	if len(cfg.Errors) != 1 || cfg.Errors[0].Error() != want {
		t.Fatalf("errors %v\nwant %s", cfg.Errors, want)
	}
	if len(cfg.Files) != 2 {
		t.Errorf("%d files read, want 2", len(cfg.Files))
	}
	deepest := 0
	cfg.Walk(func(_ *Directive, parents []*Directive) bool { deepest = max(deepest, len(parents)); return true })
	if deepest > 1000 {
		t.Errorf("blocks nested %d deep", deepest)
	}
}

// locationChain is a server whose locations nest depth deep, one file per
// level, as in issue 14 item 6.
func locationChain(depth int) fstest.MapFS {
	fsys := fstest.MapFS{"nginx.conf": {Data: []byte("events {}\nhttp {\n  proxy_buffering off;\n  server {\n    include l0.conf;\n  }\n}\n")}}
	for i := range depth {
		next := ""
		if i+1 < depth {
			next = fmt.Sprintf("include l%d.conf;", i+1)
		}
		fsys[fmt.Sprintf("l%d.conf", i)] = &fstest.MapFile{Data: []byte(fmt.Sprintf("location /l%d {\n  %s\n}\n", i, next))}
	}
	return fsys
}

// TestEffectiveLinear: the effective settings of nested locations cost
// work linear in the depth (issue 14 item 6: the parent chain was walked
// for every location and setting, quadratic).
func TestEffectiveLinear(t *testing.T) {
	steps := func(depth int) int64 {
		opts := Options{MaxNesting: 2 * depth, MaxIncludeDepth: 2 * depth}
		cfg := Load(locationChain(depth), "nginx.conf", opts)
		if err := cfg.Err(); err != nil {
			t.Fatal(err)
		}
		m := BuildModel(cfg)
		locs := m.HTTP.Servers[0].AllLocations
		if len(locs) != depth {
			t.Fatalf("%d locations, want %d", len(locs), depth)
		}
		deepest := locs[depth-1]
		if b := deepest.Proxy.Buffering; b == nil || b.Arg(0) != "off" {
			t.Errorf("deepest location's proxy_buffering %v, want the http level's", b)
		}
		if d := deepest.Effective("proxy_buffering"); d != deepest.Proxy.Buffering {
			t.Errorf("Effective %v", d)
		}
		if d := deepest.Effective("proxy_read_timeout"); d != nil {
			t.Errorf("Effective of an unset directive %v", d)
		}
		return m.steps.Load()
	}
	small, large := steps(400), steps(800)
	t.Logf("steps: %d at depth 400, %d at depth 800", small, large)
	if large > 3*small {
		t.Errorf("twice the depth took %.1f times the steps: not linear", float64(large)/float64(small))
	}
}

// TestCredentialFiles: files named like credentials are not read, even
// when the include names them through a link, and their content never
// reaches an error (issue 14 item 8).
func TestCredentialFiles(t *testing.T) {
	secret := []byte("https://user:" + token + "@github.com\n")
	names := []string{".env", ".env.production", ".git-credentials", ".netrc", ".npmrc", ".pypirc", ".htpasswd",
		"id_rsa", "id_rsa.pub", "id_ed25519", "id_ecdsa_sk", "tls/server.pem", "tls/server.key", "cert.p12", "cert.pfx",
		".git/config", ".ssh/config", ".aws/credentials", ".docker/config.json", ".kube/config"}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"nginx.conf": {Data: []byte("include " + name + ";\ncontent_by_lua_file " + name + ";\n")},
				name:         {Data: secret},
			}
			cfg := Load(fsys, "nginx.conf", Options{Prefix: "/"})
			want := "nginx.conf:1:1: include \"" + name + "\": not read: " + name + " looks like a credentials file"
			if len(cfg.Errors) != 1 || cfg.Errors[0].Error() != want {
				t.Errorf("errors %v\nwant %v", cfg.Errors, want)
			}
			// The Lua file is the chunk's LoadError (NGX1001 reports it).
			if lua := cfg.Files[0].Directives[1].Lua; lua == nil || lua.LoadError != "cannot read Lua file "+name+": not read: "+name+" looks like a credentials file" {
				t.Errorf("Lua chunk %+v", lua)
			}
			if len(cfg.Files) != 1 {
				t.Errorf("%d files read", len(cfg.Files))
			}
			noToken(t, cfg)
		})
	}
	// Through a symbolic link with an innocent name.
	fsys := fstest.MapFS{
		"nginx.conf":              {Data: []byte("include site.conf;\n")},
		"site.conf":               {Data: []byte("home/u/.git-credentials"), Mode: fs.ModeSymlink},
		"home/u/.git-credentials": {Data: secret},
	}
	cfg := Load(fsys, "nginx.conf", Options{})
	if len(cfg.Errors) != 1 || cfg.Errors[0].Error() != `nginx.conf:1:1: include "site.conf": not read: site.conf looks like a credentials file` {
		t.Errorf("errors %v", cfg.Errors)
	}
	noToken(t, cfg)
	// The same secret in a file named like configuration is read and
	// fails to parse; the error describes the word without quoting it.
	fsys = fstest.MapFS{
		"nginx.conf": {Data: []byte("include notes.txt;\ninclude bad.conf;\n")},
		"notes.txt":  {Data: secret},
		// A file that fails to parse does not get the paths it names
		// echoed either.
		"bad.conf": {Data: []byte("}\ninclude " + token + ";\ncontent_by_lua_file " + token + ";\n")},
	}
	cfg = Load(fsys, "nginx.conf", Options{})
	want := []string{
		`notes.txt:1:62: unexpected end of file, expecting ";" or "}": directive (a word of 61 bytes, not quoted) is not terminated; add ";" here`,
		`bad.conf:1:1: unexpected "}"`,
		`bad.conf:2:1: include (a word of 37 bytes, not quoted): the file: file does not exist`,
	}
	if len(cfg.Errors) != len(want) {
		t.Fatalf("errors %v", cfg.Errors)
	}
	for i, w := range want {
		if got := cfg.Errors[i].Error(); got != w {
			t.Errorf("error %q, want %q", got, w)
		}
	}
	if le := cfg.Files[2].Directives[1].Lua.LoadError; le != "cannot read Lua file (a word of 37 bytes, not quoted): the file: file does not exist" {
		t.Errorf("Lua load error %q", le)
	}
	noToken(t, cfg)
}

// TestQuotedWords: an error quotes a word only when it looks like a
// directive name (issue 14 item 8).
func TestQuotedWords(t *testing.T) {
	for w, quoted := range map[string]bool{
		"proxy_pass": true, "http2": true, "ssl_ecdh_curve": true, "proxy_cache_background_update": true, "z": true,
		token: false, "Server": false, "https://user:pw@host": false, "a1b2c3d4e5": false, "_x": false,
		strings.Repeat("a", 41): false, "listen;": false, "": false,
	} {
		got := quoteWord(w)
		if quoted && got != `"`+w+`"` || !quoted && (strings.Contains(got, w) && w != "" || !strings.Contains(got, "a word of")) {
			t.Errorf("quoteWord(%q) = %s", w, got)
		}
	}
	f := ParseString("x.conf", "https://user:"+token+"@github.com\n")
	if len(f.Errors) != 1 || f.Errors[0].Msg != `unexpected end of file, expecting ";" or "}": directive (a word of 61 bytes, not quoted) is not terminated; add ";" here` {
		t.Errorf("errors %v", f.Errors)
	}
	f = ParseString("x.conf", "http {\n  server_tokens off\n}\n")
	if len(f.Errors) != 1 || !strings.Contains(f.Errors[0].Msg, `directive "server_tokens" is not terminated`) {
		t.Errorf("errors %v", f.Errors)
	}
}

// TestRoots: with Roots, nothing outside the checked tree is read:
// absolute and relative includes, links committed in the tree, globs
// (not even listed) and Lua files; and no name found outside is printed
// (issue 14 item 5).
func TestRoots(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	out := filepath.Join(dir, "outside")
	writeFile(t, filepath.Join(out, "secret.conf"), "token "+token+";\n")
	writeFile(t, filepath.Join(out, "hidden-name.conf"), "x;\n")
	writeFile(t, filepath.Join(out, "y.lua"), "return 1\n")
	writeFile(t, filepath.Join(repo, "conf.d/a.conf"), "a on;\n")
	writeFile(t, filepath.Join(repo, "lua/x.lua"), "return 1\n")
	if err := os.Symlink(filepath.Join(out, "secret.conf"), filepath.Join(repo, "conf.d/evil.conf")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(out, filepath.Join(repo, "linkdir")); err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(repo, "nginx.conf")
	writeFile(t, main, "include conf.d/*.conf;\n"+
		"include "+out+"/secret.conf;\n"+
		"include ../outside/*.conf;\n"+
		"include linkdir/*.conf;\n"+
		"content_by_lua_file "+out+"/y.lua;\n"+
		"content_by_lua_file lua/x.lua;\n"+
		"include /usr/*/*/*/*/*/*;\n")
	t.Chdir(dir)
	cfg := loadBounded(t, "repo/nginx.conf", Options{Roots: []string{"repo"}})
	tail := " is outside the checked tree (repo); not read: pass --allow-path to read it"
	want := []string{
		`repo/nginx.conf:1:1: include "conf.d/*.conf": repo/conf.d/evil.conf` + tail,
		`repo/nginx.conf:3:1: include "../outside/*.conf": ../outside/*.conf` + tail,
		`repo/nginx.conf:4:1: include "linkdir/*.conf": linkdir/*.conf` + tail,
	}
	// Absolute install paths outside the tree are the deployment's
	// files: not read either, and a note rather than a load error.
	wantNotes := []string{
		`repo/nginx.conf:2:1: include "` + out + `/secret.conf": not in this checkout (outside the checked tree (repo)); not read, so its directives are not checked: map the install path into the tree with path_map, or pass --allow-path`,
		`repo/nginx.conf:7:1: include "/usr/*/*/*/*/*/*": /usr/*/*/*/*/*/* is not in this checkout (outside the checked tree repo); not read, so its directives are not checked: map the install path into the tree with path_map, or pass --allow-path`,
	}
	var notes []string
	for _, n := range cfg.Notes {
		notes = append(notes, n.Error())
	}
	if strings.Join(notes, "\n") != strings.Join(wantNotes, "\n") {
		t.Errorf("notes\n%s\nwant\n%s", strings.Join(notes, "\n"), strings.Join(wantNotes, "\n"))
	}
	var got []string
	for _, e := range cfg.Errors {
		got = append(got, e.Error())
		if strings.Contains(e.Error(), "hidden-name") {
			t.Errorf("error names a file outside the roots: %v", e)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var files []string
	for _, f := range cfg.Files {
		files = append(files, f.Path)
	}
	if strings.Join(files, " ") != "repo/nginx.conf repo/conf.d/a.conf" || len(cfg.LuaFiles) != 1 {
		t.Errorf("files read %v, Lua files %d", files, len(cfg.LuaFiles))
	}
	noToken(t, cfg)

	// The main file itself, and the same tree through fs.FS.
	cfg = LoadFile(filepath.Join(out, "secret.conf"), Options{Roots: []string{repo}})
	if len(cfg.Errors) != 1 || !strings.HasSuffix(cfg.Errors[0].Msg, "is outside the checked tree ("+repo+"); not read: pass --allow-path to read it") {
		t.Errorf("errors %v", cfg.Errors)
	}
	fsys := fstest.MapFS{
		"repo/nginx.conf": {Data: []byte("include link.conf;\ninclude /etc/*.conf;\ninclude ok.conf;\n")},
		"repo/link.conf":  {Data: []byte("../etc/x.conf"), Mode: fs.ModeSymlink},
		"repo/ok.conf":    {Data: []byte("ok;\n")},
		"etc/x.conf":      {Data: []byte("x;\n")},
	}
	cfg = Load(fsys, "repo/nginx.conf", Options{Roots: []string{"repo"}})
	tail = " is outside the checked tree (repo); not read: pass --allow-path to read it"
	if len(cfg.Errors) != 1 || cfg.Errors[0].Error() != `repo/nginx.conf:1:1: include "link.conf": repo/link.conf`+tail ||
		len(cfg.Notes) != 1 || !strings.HasPrefix(cfg.Notes[0].Error(), `repo/nginx.conf:2:1: include "/etc/*.conf": /etc/*.conf is not in this checkout`) || len(cfg.Files) != 2 {
		t.Errorf("errors %v, notes %v, %d files", cfg.Errors, cfg.Notes, len(cfg.Files))
	}
	// Without roots the library reads what nginx would.
	cfg = Load(fsys, "repo/nginx.conf", Options{})
	if len(cfg.Errors) != 0 || len(cfg.Files) != 4 {
		t.Errorf("without roots: errors %v, %d files", cfg.Errors, len(cfg.Files))
	}
}

// TestGlobSymlinkLoops: a glob does not descend into a link back to a
// directory that holds it, which repeated the tree under every pattern
// component (issue 14 item 5: "include /usr/*/*/*/*/*/*;"), roots or not.
func TestGlobSymlinkLoops(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "sub/x.conf"), "x;\n")
	for _, l := range []string{"sub/up", "sub/up2", "sub/here"} {
		target := dir
		if l == "sub/here" {
			target = filepath.Join(dir, "sub")
		}
		if err := os.Symlink(target, filepath.Join(dir, l)); err != nil {
			t.Fatal(err)
		}
	}
	main := filepath.Join(dir, "nginx.conf")
	writeFile(t, main, "include sub/*/*/*/*/*/*/*.conf;\ninclude sub/*.conf;\n")
	for _, opts := range []Options{{}, {Roots: []string{dir}}} {
		cfg := loadBounded(t, main, opts)
		if len(cfg.Errors) != 0 || len(cfg.Files) != 2 {
			var files []string
			for _, f := range cfg.Files {
				files = append(files, f.Path)
			}
			t.Errorf("roots %v: errors %v, files read %v", opts.Roots, cfg.Errors, files)
		}
	}
}

// TestNestingCap: a MaxNesting far above what the Go stack allows for the
// recursive walks is lowered to maxNestingCap, so 200,000 nested blocks
// end in the nesting error, and Walk, the model and the parse JSON run
// on what was kept (issue 14 item 6).
func TestNestingCap(t *testing.T) {
	const n = 2 * maxNestingCap
	src := strings.Repeat("a {", n) + strings.Repeat("}", n)
	cfg := Load(fstest.MapFS{"nginx.conf": {Data: []byte(src)}}, "nginx.conf", Options{MaxNesting: 1 << 40})
	if len(cfg.Errors) != 1 || !strings.Contains(cfg.Errors[0].Msg, fmt.Sprintf("nested more than %d levels", maxNestingCap)) {
		t.Fatalf("errors %v", cfg.Errors)
	}
	deepest := 0
	cfg.Walk(func(_ *Directive, parents []*Directive) bool { deepest = max(deepest, len(parents)); return true })
	if deepest != maxNestingCap {
		t.Errorf("deepest block %d", deepest)
	}
	BuildModel(cfg)
	if _, err := cfg.MarshalParseJSON(); err != nil {
		t.Fatal(err)
	}
}
