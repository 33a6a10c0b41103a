package luacheck

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/internal/luagen"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// dumpResult renders every fact of r (pointers dereferenced) so that two
// analyses can be compared byte for byte.
func dumpResult(r *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Context %q\n", r.Context)
	for _, e := range r.SyntaxErrors {
		fmt.Fprintf(&b, "SyntaxError %+v\n", e)
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "Warning %+v\n", w)
	}
	for _, u := range r.APIUses {
		// APIUse.Context (issue 16) is left out where it is the chunk's,
		// as the module facts below, so that the digests show that it
		// changed no earlier fact.
		us := fmt.Sprintf("APIUse %+v\n", u)
		if u.Context == r.Context {
			us = strings.Replace(us, " Context:"+u.Context+" ", " ", 1)
		}
		b.WriteString(us)
	}
	if r.Balancer != nil {
		// The module facts added later (issue 15: OpaqueModuleCalls,
		// ViaModuleCall, and Result.ModuleCalls, Exports,
		// DefinedGlobals) are left out, so that the digests recorded
		// before show that they changed no earlier fact; modules_test.go
		// checks them.
		bs := fmt.Sprintf("Balancer %+v\n", *r.Balancer)
		bs = strings.ReplaceAll(bs, " OpaqueModuleCalls:0", "")
		bs = strings.ReplaceAll(bs, " ViaModuleCall:false", "")
		bs = strings.ReplaceAll(bs, " Context:"+r.Context+" ", " ")
		b.WriteString(bs)
	}
	for _, ig := range r.Ignores {
		fmt.Fprintf(&b, "Ignore %+v\n", ig)
	}
	for _, e := range r.InternalErrors {
		fmt.Fprintf(&b, "InternalError %s\n", e)
	}
	return b.String()
}

func digest(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// generatedDigests are the SHA-256 digests of dumpResult for luagen files
// of the given sizes, recorded with the quadratic closure propagation that
// preceded the indexed one (resolve.go), so the rewrite provably changes no
// result. A deliberate change to the analysis or to luagen must update them
// (the test prints the new digest).
var generatedDigests = map[int]string{
	3125:  "61b0194cc7171a785a875906db72c9ef1cb0afa02a3e9bb33def016f92877cac",
	12500: "8246d7265124494c2c2958299d372dfc13b20d4aeb7dcd4362c099c2a0c87832",
	50000: "98bb4ba9d8e55bb4f579d991e72f139df697300d3d0d0c7b3976aa77401a8838",
}

func TestGeneratedResultDigest(t *testing.T) {
	sizes := make([]int, 0, len(generatedDigests))
	for n := range generatedDigests {
		sizes = append(sizes, n)
	}
	sort.Ints(sizes)
	for _, n := range sizes {
		if testing.Short() && n > 12500 {
			continue
		}
		src := luagen.Generate(n)
		chunk := &nginxconf.LuaChunk{Code: src, Pos: nginxconf.Pos{File: "gen.lua", Line: 1, Column: 1},
			Origin: nginxconf.LuaFile, Context: "content_by_lua"}
		r := Analyze(chunk, Options{})
		if len(r.Warnings) == 0 || len(r.APIUses) == 0 {
			t.Fatalf("%d lines: %d warnings, %d API uses", n, len(r.Warnings), len(r.APIUses))
		}
		if got := digest(dumpResult(r)); got != generatedDigests[n] {
			t.Errorf("%d lines: result digest %s, want %s", n, got, generatedDigests[n])
		}
	}
}

// equivChunks lists the Lua the equivalence dump covers: testdata/diff and,
// when present, every .lua file and inline *_by_lua* chunk of the corpus.
func equivChunks(t *testing.T) map[string]*nginxconf.LuaChunk {
	out := map[string]*nginxconf.LuaChunk{}
	add := func(name, code, ctx string) {
		out[name] = &nginxconf.LuaChunk{Code: code, Pos: nginxconf.Pos{File: name, Line: 1, Column: 1},
			Origin: nginxconf.LuaFile, Context: ctx}
	}
	files, _ := filepath.Glob("testdata/diff/*.lua")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ctx := "content_by_lua"
		if strings.Contains(f, "balancer") {
			ctx = "balancer_by_lua"
		}
		add(f, string(data), ctx)
	}
	root := "../../shared/corpus"
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		switch {
		case strings.HasSuffix(p, ".lua"):
			if data, err := os.ReadFile(p); err == nil {
				add(p, string(data), "content_by_lua")
			}
		case strings.HasSuffix(p, ".conf"):
			data, err := os.ReadFile(p)
			if err != nil {
				return nil
			}
			f := nginxconf.ParseString(p, string(data))
			var walk func(ds []*nginxconf.Directive)
			walk = func(ds []*nginxconf.Directive) {
				for _, dr := range ds {
					if dr.Lua != nil && dr.Lua.Origin != nginxconf.LuaFile {
						out[fmt.Sprintf("%s:%d:%d", p, dr.Lua.Pos.Line, dr.Lua.Pos.Column)] = dr.Lua
					}
					walk(dr.Block)
				}
			}
			walk(f.Directives)
		}
		return nil
	})
	return out
}

// TestEquivalenceDump writes (LUACHECK_DUMP_WRITE=dir) or compares against
// (LUACHECK_DUMP_CHECK=dir) the full results for equivChunks; it is a tool
// for checking that a performance change keeps every result, and skips
// when neither variable is set.
func TestEquivalenceDump(t *testing.T) {
	wdir, cdir := os.Getenv("LUACHECK_DUMP_WRITE"), os.Getenv("LUACHECK_DUMP_CHECK")
	if wdir == "" && cdir == "" {
		t.Skip("set LUACHECK_DUMP_WRITE or LUACHECK_DUMP_CHECK to a directory")
	}
	chunks := equivChunks(t)
	names := make([]string, 0, len(chunks))
	for n := range chunks {
		names = append(names, n)
	}
	sort.Strings(names)
	var all strings.Builder
	for _, n := range names {
		fmt.Fprintf(&all, "== %s\n%s", n, dumpResult(Analyze(chunks[n], Options{})))
	}
	for _, k := range []int{1, 4, 16} {
		src := luagen.Generate(3125 * k)
		chunk := &nginxconf.LuaChunk{Code: src, Pos: nginxconf.Pos{File: "gen.lua", Line: 1, Column: 1},
			Origin: nginxconf.LuaFile, Context: "content_by_lua"}
		fmt.Fprintf(&all, "== gen %d\n%s", 3125*k, dumpResult(Analyze(chunk, Options{})))
	}
	t.Logf("%d chunks, %d bytes", len(names)+3, all.Len())
	if wdir != "" {
		if err := os.WriteFile(filepath.Join(wdir, "luacheck-dump.txt"), []byte(all.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if cdir != "" {
		want, err := os.ReadFile(filepath.Join(cdir, "luacheck-dump.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if string(want) != all.String() {
			t.Errorf("results differ from %s/luacheck-dump.txt", cdir)
		}
	}
}

// TestManyVariablesInOneItem covers items that touch more variables than
// item.used scans linearly (usedScanMax): each argument must still be
// resolved to its single literal value, and no local reported unused.
func TestManyVariablesInOneItem(t *testing.T) {
	const n = 3 * usedScanMax
	var b strings.Builder
	var args []string
	for i := range n {
		fmt.Fprintf(&b, "local a%d = \"v%d\"\n", i, i)
		args = append(args, fmt.Sprintf("a%d", i))
	}
	fmt.Fprintf(&b, "ngx.log(ngx.ERR, %s)\n", strings.Join(args, ", "))
	chunk := &nginxconf.LuaChunk{Code: b.String(), Pos: nginxconf.Pos{File: "many.lua", Line: 1, Column: 1},
		Origin: nginxconf.LuaFile, Context: "content_by_lua"}
	r := Analyze(chunk, Options{})
	for _, w := range r.Warnings {
		t.Errorf("unexpected warning %+v", w)
	}
	var log *APIUse
	for i := range r.APIUses {
		if r.APIUses[i].Name == "ngx.log" {
			log = &r.APIUses[i]
		}
	}
	if log == nil || len(log.Args) != n+1 {
		t.Fatalf("ngx.log use not found with %d args: %+v", n+1, r.APIUses)
	}
	for i, a := range log.Args[1:] {
		if a.Kind != ArgString || a.Value != fmt.Sprintf("v%d", i) {
			t.Errorf("arg %d = %+v, want string v%d", i+1, a, i)
		}
	}
}
