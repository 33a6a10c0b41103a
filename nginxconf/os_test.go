package nginxconf

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
)

// TestLoadFileOS loads from the real file system with a relative path and
// checks how files are named, that a FIFO is refused without blocking, and
// that absolute includes work.
func TestLoadFileOS(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	abs := filepath.Join(dir, "abs.conf")
	write("conf/nginx.conf", "include sites/*.conf;\ninclude "+abs+";\ninclude pipe;\ncontent_by_lua_file lua/x.lua;\n")
	write("conf/sites/a.conf", "a on;\n")
	write("abs.conf", "b on;\n")
	write("lua/x.lua", "return 1\n")
	if err := syscall.Mkfifo(filepath.Join(dir, "conf", "pipe"), 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	t.Chdir(dir)
	cfg := LoadFile("conf/nginx.conf", Options{})
	var names []string
	for _, f := range cfg.Files {
		names = append(names, f.Path)
	}
	if got := strings.Join(names, " "); got != "conf/nginx.conf conf/sites/a.conf abs.conf" {
		t.Errorf("files %q", got)
	}
	if len(cfg.Errors) != 1 || !strings.Contains(cfg.Errors[0].Error(), "conf/nginx.conf:3:1: include \"pipe\": conf/pipe: is a FIFO") {
		t.Errorf("errors %v", cfg.Errors)
	}
	if len(cfg.LuaFiles) != 1 || cfg.LuaFiles[0].Path != "lua/x.lua" {
		t.Errorf("lua files %v (prefix %s)", cfg.LuaFiles, cfg.Prefix)
	}
	checkInvariants(t, cfg)

	// A missing main file is an error without a line, and Main is nil.
	cfg = LoadFile("nope.conf", Options{})
	if cfg.Main != nil || len(cfg.Errors) != 1 || !strings.HasPrefix(cfg.Errors[0].Error(), "nope.conf: ") {
		t.Errorf("missing main: %+v %v", cfg.Main, cfg.Errors)
	}
}

// TestDeepNesting: 100,000 nested blocks give a clear error, not a stack
// overflow, and the default limit allows 1,000.
func TestDeepNesting(t *testing.T) {
	src := strings.Repeat("a {", 100000) + strings.Repeat("}", 100000)
	f := ParseString("deep.conf", src)
	if len(f.Errors) != 1 || !strings.Contains(f.Errors[0].Msg, "nested more than 1000 levels") || f.Errors[0].Pos.Column != 3003 {
		t.Fatalf("errors %v", f.Errors)
	}
	ok := strings.Repeat("a {", 1000) + strings.Repeat("}", 1000)
	cfg := Load(fstest.MapFS{"nginx.conf": {Data: []byte(ok)}}, "nginx.conf", Options{})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	n := 0
	cfg.Walk(func(_ *Directive, parents []*Directive) bool { n = max(n, len(parents)); return true })
	if n != 999 {
		t.Errorf("deepest parents %d", n)
	}
	if _, err := cfg.MarshalParseJSON(); err != nil {
		t.Fatal(err)
	}
}

// TestFileSizeLimit: a file over MaxFileSize is refused with a clear error.
func TestFileSizeLimit(t *testing.T) {
	fsys := fstest.MapFS{"nginx.conf": {Data: []byte("include big.conf;\n")}, "big.conf": {Data: []byte(strings.Repeat("# x\n", 100))}}
	cfg := Load(fsys, "nginx.conf", Options{MaxFileSize: 100})
	if len(cfg.Errors) != 1 || !strings.Contains(cfg.Errors[0].Msg, "file too large") || cfg.Errors[0].Pos.Line != 1 {
		t.Fatalf("errors %v", cfg.Errors)
	}
}

// TestParseJSON checks the crossplane-shaped output, byte-exact Lua code
// included.
func TestParseJSON(t *testing.T) {
	fsys := fstest.MapFS{
		"nginx.conf": {Data: []byte("http {\n  include a.conf;\n  server { }\n}\n")},
		"a.conf":     {Data: []byte("init_by_lua_block {\n\tlocal s = \"}\" -- \xff\n}\n")},
	}
	cfg := Load(fsys, "nginx.conf", Options{})
	out, err := cfg.MarshalParseJSON()
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Status string
		Errors []any
		Config []struct {
			File   string
			Status string
			Parsed []struct {
				Directive string
				Line      int
				Column    int
				Args      []string
				Block     *[]json.RawMessage
				Includes  []int
				Lua       *struct {
					Line, Column int
					Code         string
					CodeBase64   string `json:"code_base64"`
				}
			}
		}
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	if v.Status != "ok" || len(v.Config) != 2 || v.Config[1].File != "a.conf" {
		t.Fatalf("payload %s", out)
	}
	lua := v.Config[1].Parsed[0].Lua
	if lua == nil || lua.Line != 1 || lua.Column != 20 || lua.CodeBase64 == "" {
		t.Fatalf("lua %+v", lua)
	}
	if !strings.Contains(string(out), `"args":[]`) || !strings.Contains(string(out), `"includes":[1]`) || !strings.Contains(string(out), `"block":[]`) {
		t.Errorf("json shape: %s", out)
	}
}
