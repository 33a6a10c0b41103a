package nginxconf

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/tools/txtar"
)

// seedCases adds every txtar case's main file as a seed.
func seedCases(f *testing.F, add func(main []byte, rest [][]byte)) {
	files, _ := filepath.Glob("testdata/cases/*.txtar")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var main []byte
		var rest [][]byte
		for _, af := range txtar.Parse(data).Files {
			switch af.Name {
			case "want", "golden":
			case "nginx.conf":
				main = af.Data
			default:
				rest = append(rest, af.Data)
			}
		}
		if main != nil {
			add(main, rest)
		}
	}
}

// FuzzParse checks the lexer and parser on arbitrary input: no panic,
// positions that agree with the bytes, Lua code equal to its source slice.
func FuzzParse(f *testing.F) {
	seedCases(f, func(main []byte, _ [][]byte) { f.Add(main) })
	f.Add([]byte("content_by_lua_block { local s = [==[ } ]==] --[[ } ]] ngx.say('}') }"))
	f.Add([]byte("a \"b\\\"c\" 'd' ${e}f g\\;h;"))
	// Words that must be described, not quoted (issue 14 item 8).
	f.Add([]byte("https://user:ghp_R3aLlyS3cr3tT0k3nAbCdEf0123456789@github.com\n"))
	f.Add([]byte("Server_Tokens off }\n\xff\xfe {"))
	// Issue 19: a ";" missing before a block directive, and braces that
	// count wrong but line up (diagnoseBraces).
	f.Add([]byte("upstream b {\n  keepalive 10\n  balancer_by_lua_block {\n    local t = { } }\n  root /x\n  location /a\n  location / {\n}\n"))
	f.Add([]byte("http {\n  server {\n    location / {\n      root x;\n\n  }\n}\n        }\n\t}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		file := ParseString("fuzz.conf", string(src))
		cfg := &Config{Main: file, Files: []*File{file}}
		checkInvariants(t, cfg)
		if _, err := cfg.MarshalParseJSON(); err != nil {
			t.Fatal(err)
		}
		BuildModel(cfg)
	})
}

// FuzzLoad checks loading through an in-memory file system: the input is
// split at "\x00--\x00" into nginx.conf, a.conf, b.conf, lua/x.lua, and
// the main file may include the others (globs, cycles, Lua files).
func FuzzLoad(f *testing.F) {
	sep := []byte("\x00--\x00")
	seedCases(f, func(main []byte, rest [][]byte) {
		f.Add(bytes.Join(append([][]byte{main}, rest...), sep))
	})
	f.Add([]byte("include a.conf;\x00--\x00include b.conf;\x00--\x00include a.conf;"))
	f.Add([]byte("include *.conf; content_by_lua_file lua/x.lua;\x00--\x00x;\x00--\x00}\x00--\x00return"))
	// Issue 14: nesting across includes, the same file included again
	// and again (total bytes), binary files, credentials names, roots.
	f.Add([]byte("a { b { include a.conf; } }\x00--\x00c { d { include b.conf; } }\x00--\x00e { f { g { } } }"))
	f.Add([]byte("include a.conf; include a.conf; include a.conf; include b.conf;\x00--\x00" + strings.Repeat("x;", 60) + "\x00--\x00y;"))
	f.Add([]byte("include a.conf; content_by_lua_file lua/x.lua;\x00--\x00x \x00;\x00--\x00\x00--\x00\x1bLJ\x00"))
	f.Add([]byte("include .env; include .git/config; include /*/*.conf; include ../*; content_by_lua_file x.key;\x00--\x00}}}"))
	// Issue 15: modules on lua_package_path ($prefix, ";;", ?/init.lua),
	// one that requires itself, one that is a configuration file.
	f.Add([]byte("http { lua_package_path \"$prefix/lua/?.lua;/?.conf;;\"; init_by_lua_block { require 'x' require \"a\" require('b') } }\x00--\x00x;\x00--\x00y;\x00--\x00local x = require 'x' local b = require 'b' return x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parts := bytes.SplitN(data, sep, 4)
		names := []string{"nginx.conf", "a.conf", "b.conf", "lua/x.lua"}
		fsys := fstest.MapFS{}
		for i, p := range parts {
			fsys[names[i]] = &fstest.MapFile{Data: p}
		}
		// Small limits, varied with the input, so that every limit is hit
		// in the middle of real trees.
		opts := Options{MaxFiles: 50, MaxIncludeDepth: 8, Requires: fakeRequires}
		if len(data)%3 == 0 {
			opts.MaxNesting = 1 + len(data)%5
			opts.MaxDirectives = 1 + len(data)%40
			opts.MaxFileSize = int64(16 + len(data)%200)
		}
		if len(data)%2 == 0 {
			opts.MaxTotalBytes = int64(32 + len(data)%300)
			opts.MaxErrors = 1 + len(data)%7
			opts.Roots = []string{[]string{"/", "lua", "a.conf"}[len(data)%3]}
		}
		cfg := Load(fsys, "nginx.conf", opts)
		checkInvariants(t, cfg)
		if len(cfg.Files) > 50 {
			t.Fatalf("read %d files", len(cfg.Files))
		}
		if opts.MaxTotalBytes > 0 {
			var total int64
			files := append(cfg.Files, cfg.LuaFiles...)
			for _, m := range cfg.Modules {
				if m.File != nil && !slices.Contains(files, m.File) {
					files = append(files, m.File)
				}
			}
			for _, f := range files {
				total += int64(len(f.Data))
			}
			if total > opts.MaxTotalBytes {
				t.Fatalf("read %d bytes, limit %d", total, opts.MaxTotalBytes)
			}
			if len(cfg.Errors) > opts.MaxErrors+1 {
				t.Fatalf("%d errors kept, limit %d", len(cfg.Errors), opts.MaxErrors)
			}
		}
		if opts.MaxDirectives > 0 {
			n := 0
			cfg.Walk(func(d *Directive, parents []*Directive) bool {
				n++
				return true
			})
			if n > opts.MaxDirectives {
				t.Fatalf("%d directives, limit %d", n, opts.MaxDirectives)
			}
			for _, f := range cfg.Files {
				if int64(len(f.Data)) > opts.MaxFileSize {
					t.Fatalf("%s: %d bytes read, limit %d", f.Path, len(f.Data), opts.MaxFileSize)
				}
				var depth func(ds []*Directive, n int)
				depth = func(ds []*Directive, n int) {
					for _, d := range ds {
						if len(d.Block) > 0 {
							if n+1 > opts.MaxNesting {
								t.Fatalf("%s: blocks nested %d deep, limit %d", f.Path, n+1, opts.MaxNesting)
							}
							depth(d.Block, n+1)
						}
					}
				}
				depth(f.Directives, 0)
			}
		}
		for _, e := range cfg.Errors {
			// "%!" marks a fmt verb mismatch, unless the input itself
			// holds it (a directive named "%!0" is quoted as written).
			if e.Msg == "" || strings.Contains(e.Msg, "%!") && !bytes.Contains(data, []byte("%!")) {
				t.Fatalf("bad error message %q", e.Msg)
			}
		}
		if _, err := cfg.MarshalParseJSON(); err != nil {
			t.Fatal(err)
		}
		m := BuildModel(cfg)
		cfg.Walk(func(*Directive, []*Directive) bool { return true })
		_ = m
		seen := map[string]bool{}
		for _, mod := range cfg.Modules {
			if seen[mod.Name] || cfg.Module(mod.Name) != mod {
				t.Fatalf("module %q listed twice or not found by name", mod.Name)
			}
			seen[mod.Name] = true
			if (mod.File == nil) != (mod.Chunk == nil) || mod.File != nil && (mod.Err != "" || mod.Builtin) || mod.File == nil && mod.Err == "" && !mod.Builtin {
				t.Fatalf("module %q: inconsistent %+v", mod.Name, mod)
			}
		}
	})
}
