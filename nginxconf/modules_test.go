package nginxconf

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// fakeRequires stands in for luacheck.Requires (this package may not
// import it): the literal names of require "x" / require("x").
var requireRE = regexp.MustCompile(`require\s*\(?\s*["']([^"']+)["']`)

func fakeRequires(code string) []string {
	var out []string
	for _, m := range requireRE.FindAllStringSubmatch(code, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return fsys
}

// loadModules loads main from files with Requires set.
func loadModules(t *testing.T, files map[string]string, main string, opts Options) *Config {
	t.Helper()
	opts.Requires = fakeRequires
	return Load(mapFS(files), main, opts)
}

func mustModule(t *testing.T, c *Config, name string) *Module {
	t.Helper()
	m := c.Module(name)
	if m == nil {
		var names []string
		for _, m := range c.Modules {
			names = append(names, m.Name)
		}
		t.Fatalf("module %q not followed; modules: %v; errors: %v", name, names, c.Errors)
	}
	return m
}

func TestModulePrefixAndDefaultPath(t *testing.T) {
	files := map[string]string{
		"app/nginx/conf/nginx.conf": `http {
    lua_package_path "$prefix/lua/?.lua;${prefix}lua2/?/init.lua;;";
    init_by_lua_block { require "app.init" }
    upstream u { server 0.0.0.1; balancer_by_lua_block { local b = require("app.bal") } }
}`,
		"app/nginx/lua/app/init.lua":        `local cjson = require "cjson"; local lib = require "vendored" return {}`,
		"app/nginx/lua2/app/bal/init.lua":   `local b = require "ngx.balancer" local p = require "app.init" return {}`,
		"app/site/lualib/vendored.lua":      `return 1`, // found through ";;" ($prefix/../site/lualib)
		"app/nginx/lua/app/unrelated.lua":   `return 2`,
		"app/nginx/lua/ngx/balancer_x.lua":  `return 3`,
		"app/nginx/conf/unrelated/init.lua": `return 4`,
	}
	c := loadModules(t, files, "app/nginx/conf/nginx.conf", Options{})
	if len(c.Errors) > 0 {
		t.Fatal(c.Errors)
	}
	var order []string
	for _, m := range c.Modules {
		order = append(order, m.Name)
	}
	// First-required order, depth first, each once.
	if want := []string{"app.init", "cjson", "vendored", "app.bal", "ngx.balancer"}; !slices.Equal(order, want) {
		t.Fatalf("modules %v, want %v", order, want)
	}
	if m := mustModule(t, c, "app.init"); m.Path != "app/nginx/lua/app/init.lua" || m.File == nil || m.Err != "" || m.Chunk == nil || m.Chunk.Pos.File != m.Path {
		t.Errorf("app.init = %+v", m)
	}
	if m := mustModule(t, c, "app.bal"); m.Path != "app/nginx/lua2/app/bal/init.lua" {
		t.Errorf("app.bal resolved to %q (tried %v): ${prefix} and ?/init.lua", m.Path, m.Tried)
	}
	if m := mustModule(t, c, "vendored"); m.Path != "app/site/lualib/vendored.lua" {
		t.Errorf(";; default path: vendored resolved to %q (tried %v)", m.Path, m.Tried)
	}
	for _, n := range []string{"cjson", "ngx.balancer"} {
		if m := mustModule(t, c, n); !m.Builtin || m.Err != "" || m.File != nil {
			t.Errorf("%s = %+v, want builtin", n, m)
		}
	}
	if m := mustModule(t, c, "app.init"); !slices.Equal(m.Requires, []string{"cjson", "vendored"}) {
		t.Errorf("app.init requires %v", m.Requires)
	}
	// The ";;" expansion is the OpenResty layout around the prefix.
	if !slices.Contains(c.LuaPath, "/app/nginx//../lualib/?/init.lua") {
		t.Errorf("LuaPath %v lacks the default lualib entry", c.LuaPath)
	}
}

func TestModuleSearchPathExpansion(t *testing.T) {
	got := luaSearchPath("$prefix/a/?.lua;rel/?.lua;;/abs/?.lua", "/p")
	if got[0] != "/p//a/?.lua" || got[1] != "/p/rel/?.lua" || got[len(got)-1] != "/abs/?.lua" {
		t.Errorf("expansion %v", got)
	}
	// ";;" stands for the whole default path, in its order.
	if len(got) != 3+len(defaultLuaPath) || got[2] != "/p//../site/lualib/?.lua" {
		t.Errorf("default path not spliced in: %v", got)
	}
	// No lua_package_path: the default path alone; "./?.lua" from the prefix.
	def := luaSearchPath("", "/p")
	if !slices.Contains(def, "/p/./?.lua") {
		t.Errorf("relative default entry not taken from the prefix: %v", def)
	}
}

func TestModuleNotFoundNamesTried(t *testing.T) {
	files := map[string]string{
		"nginx.conf": `http { lua_package_path "/lua/?.lua;/lib/?/init.lua"; init_by_lua_block { require "app.missing" } }`,
	}
	c := loadModules(t, files, "nginx.conf", Options{})
	m := mustModule(t, c, "app.missing")
	if m.File != nil || m.Builtin {
		t.Fatalf("%+v", m)
	}
	if !slices.Equal(m.Tried, []string{"lua/app/missing.lua", "lib/app/missing/init.lua"}) {
		t.Errorf("tried %v", m.Tried)
	}
	if !strings.HasPrefix(m.Err, "not found on lua_package_path") || !strings.Contains(m.Err, "lua/app/missing.lua, lib/app/missing/init.lua") {
		t.Errorf("err %q", m.Err)
	}
	// Not a load error: nginx fails only when the require runs.
	if len(c.Errors) > 0 {
		t.Errorf("errors %v", c.Errors)
	}
}

func TestModulePathMap(t *testing.T) {
	files := map[string]string{
		"repo/conf/nginx.conf": `http {
    lua_package_path "/usr/local/openresty/nginx/lua/?.lua;;";
    include /usr/local/openresty/nginx/conf/extra.conf;
    server { location / { content_by_lua_file /usr/local/openresty/nginx/lua/main.lua; } }
}`,
		"repo/conf/extra.conf": `init_by_lua_block { require "peers" }`,
		"repo/lua/peers.lua":   `return {}`,
		"repo/lua/main.lua":    `local m = require "helper" return m`,
		"repo/lua/helper.lua":  `return {}`,
	}
	opts := Options{Roots: []string{"repo"}, PathMap: []PathMapping{{From: "/usr/local/openresty/nginx/", To: "repo"}}}
	c := loadModules(t, files, "repo/conf/nginx.conf", opts)
	if len(c.Errors) > 0 {
		t.Fatal(c.Errors)
	}
	if len(c.Files) != 2 || c.Files[1].Path != "repo/conf/extra.conf" {
		t.Errorf("mapped include not read: %v", c.Files)
	}
	if len(c.LuaFiles) != 1 || c.LuaFiles[0].Path != "repo/lua/main.lua" {
		t.Errorf("mapped *_by_lua_file not read: %v", c.LuaFiles)
	}
	for _, n := range []string{"peers", "helper"} {
		if m := mustModule(t, c, n); m.Path != "repo/lua/"+n+".lua" {
			t.Errorf("%s: path %q err %q tried %v", n, m.Path, m.Err, m.Tried)
		}
	}
	// Without the map the same tree names only install paths.
	opts.PathMap = nil
	c = loadModules(t, files, "repo/conf/nginx.conf", opts)
	if len(c.Modules) != 0 {
		t.Errorf("modules followed from unread files: %v", c.Modules)
	}
}

func TestModuleOutsideTheTree(t *testing.T) {
	files := map[string]string{
		"repo/nginx.conf":        `http { lua_package_path "/opt/lib/?.lua;/repo/lua/?.lua;;"; init_by_lua_block { require "outside" require "resty.http" require "id_rsa" } }`,
		"opt/lib/outside.lua":    `return "secret"`,
		"opt/lib/resty/http.lua": `return {}`,
		"repo/lua/id_rsa.lua":    `return "key"`,
	}
	c := loadModules(t, files, "repo/nginx.conf", Options{Roots: []string{"repo"}})
	m := mustModule(t, c, "outside")
	if m.File != nil || !strings.HasPrefix(m.Err, "not in this checkout") || !strings.Contains(m.Err, "opt/lib/outside.lua") {
		t.Errorf("outside = %+v", m)
	}
	// Not builtin: lua-resty-http is not part of OpenResty's bundle.
	if m := mustModule(t, c, "resty.http"); m.File != nil || m.Builtin || !strings.HasPrefix(m.Err, "not in this checkout") {
		t.Errorf("resty.http = %+v", m)
	}
	if m := mustModule(t, c, "id_rsa"); m.File != nil || !strings.Contains(m.Err, "looks like a credentials file") {
		t.Errorf("id_rsa = %+v", m)
	}
	for _, f := range c.LuaFiles {
		t.Errorf("read %s", f.Path)
	}
}

func TestModuleSymlinkOutsideRefused(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"repo/lua", "elsewhere"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("repo/nginx.conf", `http { lua_package_path "$prefix/lua/?.lua"; init_by_lua_block { require "evil" } }`)
	write("elsewhere/secret.lua", `return "secret"`)
	if err := os.Symlink(filepath.Join(dir, "elsewhere/secret.lua"), filepath.Join(dir, "repo/lua/evil.lua")); err != nil {
		t.Skip(err)
	}
	c := LoadFile(filepath.Join(dir, "repo/nginx.conf"), Options{Roots: []string{filepath.Join(dir, "repo")}, Requires: fakeRequires})
	m := mustModule(t, c, "evil")
	if m.File != nil || !strings.HasPrefix(m.Err, "refused") || !strings.Contains(m.Err, "outside the checked tree") {
		t.Errorf("evil = %+v", m)
	}
}

func TestModuleBudget(t *testing.T) {
	big := strings.Repeat("-- padding\n", 100) + "return {}"
	files := map[string]string{
		"nginx.conf":   `http { lua_package_path "/lua/?.lua"; init_by_lua_block { require "big" } }`,
		"lua/big.lua":  big,
		"lua/next.lua": "return 1",
	}
	c := loadModules(t, files, "nginx.conf", Options{MaxTotalBytes: int64(len(files["nginx.conf"]) + 100)})
	m := mustModule(t, c, "big")
	if m.File != nil || !strings.Contains(m.Err, "--max-total-bytes") {
		t.Errorf("big = %+v", m)
	}
	if len(c.Errors) != 1 || !strings.Contains(c.Errors[0].Msg, `Lua module "big"`) || c.Errors[0].Pos.Line != 1 {
		t.Errorf("the budget must be a load error at the chunk: %v", c.Errors)
	}
	// MaxFiles counts module files too.
	files["nginx.conf"] = `http { lua_package_path "/lua/?.lua"; init_by_lua_block { require "next" require "big" } }`
	c = loadModules(t, files, "nginx.conf", Options{MaxFiles: 2})
	if m := mustModule(t, c, "big"); m.File != nil || m.Err == "" {
		t.Errorf("over MaxFiles: %+v", m)
	}
	if len(c.Errors) == 0 {
		t.Errorf("MaxFiles reached silently")
	}
}

func TestModuleStreamAndOddNames(t *testing.T) {
	files := map[string]string{
		"nginx.conf": `stream { lua_package_path "/s/?.lua"; upstream u { server 0.0.0.1:1; balancer_by_lua_block { require "sb" require "a/../../x" require ".x" } } }
http { lua_package_path "/h/?.lua"; init_by_lua_block { require "hb" } }`,
		"s/sb.lua": "return 1",
		"h/hb.lua": "return 2",
	}
	c := loadModules(t, files, "nginx.conf", Options{})
	if m := mustModule(t, c, "sb"); m.Path != "s/sb.lua" || m.Subsystem != "stream" {
		t.Errorf("stream module: %+v", m)
	}
	if m := mustModule(t, c, "hb"); m.Path != "h/hb.lua" || m.Subsystem != "http" {
		t.Errorf("http module: %+v", m)
	}
	if len(c.Modules) != 2 {
		t.Errorf("names that are no module names were followed: %d modules", len(c.Modules))
	}
}

func TestModuleSharesLuaFile(t *testing.T) {
	files := map[string]string{
		"nginx.conf":  `http { lua_package_path "$prefix/lua/?.lua"; upstream u { server 0.0.0.1; balancer_by_lua_file lua/bal.lua; } init_by_lua_block { require "bal" } }`,
		"lua/bal.lua": "return {}",
	}
	c := loadModules(t, files, "nginx.conf", Options{})
	m := mustModule(t, c, "bal")
	if len(c.LuaFiles) != 1 || m.File != c.LuaFiles[0] || m.Chunk.Context != "" {
		t.Errorf("module and *_by_lua_file should share the file read once: %+v", m)
	}
	// Without Requires nothing is followed.
	c = Load(mapFS(files), "nginx.conf", Options{})
	if len(c.Modules) != 0 || c.LuaPath != nil {
		t.Errorf("modules without Requires: %v", c.Modules)
	}
}
