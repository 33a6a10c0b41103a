package rules

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/tools/txtar"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// fuzzSep splits a fuzz input into the files of one configuration tree.
var fuzzSep = []byte("\x00--\x00")

// fuzzNames are the files a fuzz input fills, in order; nginx.conf may
// include the others and name the Lua file.
var fuzzNames = []string{"nginx.conf", "a.conf", "lua/x.lua", "lua/y.lua"}

// fuzzProfiles are the version profiles a fuzz input picks from: unknown
// versions, a few nginx / lua-nginx-module pairs on either side of the
// changes the rules key on, and OpenResty bundles.
var fuzzProfiles = [][3]string{
	{"", "", ""},
	{"1.22.1", "0.10.23", ""},
	{"1.12.2", "0.10.7", ""},
	{"1.29.7", "0.10.27", ""},
	{"", "", "1.21.4.1"},
	{"", "", "1.27.1.2"},
}

// FuzzRules runs every registered rule over arbitrary configuration trees,
// including Lua blocks and *_by_lua_file files: no rule may fail or panic
// (a RuleError is an internal error, exit 3 in the CLI), and every
// diagnostic must point into a loaded file.
func FuzzRules(f *testing.F) {
	for _, glob := range []string{"../testdata/rules/*/*.txtar", "../testdata/ok/*.txtar"} {
		files, _ := filepath.Glob(glob)
		for i, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			parts := make([][]byte, len(fuzzNames))
			for _, af := range txtar.Parse(data).Files {
				switch {
				case af.Name == "nginx.conf":
					parts[0] = af.Data
				case strings.HasSuffix(af.Name, ".lua") && parts[2] == nil:
					parts[2] = af.Data
				case strings.HasSuffix(af.Name, ".conf") && parts[1] == nil:
					parts[1] = af.Data
				}
			}
			if parts[0] != nil {
				f.Add(bytes.Join(parts, fuzzSep), uint8(i))
			}
		}
	}
	f.Add([]byte("http { upstream u { server 10.0.0.1; balancer_by_lua_block { local b = require \"ngx.balancer\" b.set_more_tries(-1) b.set_current_peer(ngx.var.x) } keepalive 4; }\n"+
		"server { location / { proxy_next_upstream error http_502 non_idempotent off; proxy_pass http://u; content_by_lua_file lua/x.lua; } } }"+
		"\x00--\x00\x00--\x00local x = ngx.ctx.y ngx.say(x .. z) goto l ::l::"), uint8(1))
	f.Add([]byte("include a.conf;\x00--\x00upstream u { server x; balancer_by_lua_file lua/y.lua; }\x00--\x00\x00--\x00return"), uint8(3))
	reg := Registry()
	all := reg.All()
	f.Fuzz(func(t *testing.T, data []byte, pick uint8) {
		fsys := fstest.MapFS{}
		for i, p := range bytes.SplitN(data, fuzzSep, len(fuzzNames)) {
			fsys[fuzzNames[i]] = &fstest.MapFile{Data: p}
		}
		cfg := nginxconf.Load(fsys, "nginx.conf", nginxconf.Options{MaxFiles: 20, MaxIncludeDepth: 4})
		pv := fuzzProfiles[int(pick)%len(fuzzProfiles)]
		prof, err := versions.Resolve(pv[0], pv[1], pv[2])
		if err != nil {
			t.Fatalf("profile %v: %v", pv, err)
		}
		res := analyzer.Run(cfg, nginxconf.BuildModel(cfg), all, analyzer.Options{Profile: prof, Settings: map[string]string{}})
		for _, e := range res.RuleErrors {
			t.Errorf("rule error: %v", e)
		}
		loaded := map[string]*nginxconf.File{}
		for _, fl := range append(append([]*nginxconf.File(nil), cfg.Files...), cfg.LuaFiles...) {
			loaded[fl.Path] = fl
		}
		for _, d := range res.Diagnostics {
			// "%!" marks a fmt verb mismatch, unless the input holds it.
			if d.Rule == nil || d.Message == "" || strings.Contains(d.Message, "%!") && !bytes.Contains(data, []byte("%!")) {
				t.Fatalf("malformed diagnostic %+v", d)
			}
			if !d.Pos.IsValid() {
				continue
			}
			fl := loaded[d.Pos.File]
			if fl == nil {
				t.Fatalf("%s %s: diagnostic in a file that was not loaded: %q", d.Rule.ID, d.Message, d.Pos.File)
			}
			if d.Pos.Offset < 0 || d.Pos.Offset > len(fl.Data) {
				t.Fatalf("%s at %v: offset outside %s (%d bytes)", d.Rule.ID, d.Pos, fl.Path, len(fl.Data))
			}
			for _, fx := range d.Fixes {
				for _, e := range fx.Edits {
					ef := loaded[e.Pos.File]
					if ef == nil || e.Pos.Offset < 0 || e.End.Offset < e.Pos.Offset || e.End.Offset > len(ef.Data) {
						t.Fatalf("%s: fix edit %v-%v outside its file", d.Rule.ID, e.Pos, e.End)
					}
				}
			}
		}
	})
}
