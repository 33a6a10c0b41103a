package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPathMapFollowsModules: a configuration written with install paths
// loads its Lua modules from the checkout through path_map, and ngxlint
// analyses them in their own files.
func TestPathMapFollowsModules(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, ".ngxlint.yaml"), "path_map: {\"/usr/local/openresty/nginx/\": \"./\"}\n")
	writeTestFile(t, filepath.Join(dir, "conf", "nginx.conf"), `http {
    lua_package_path "/usr/local/openresty/nginx/lua/?.lua;;";
    upstream app {
        server 0.0.0.1;
        balancer_by_lua_block {
            require("app.peers").pick()
        }
    }
    server { listen 80; location / { proxy_pass http://app; } }
}
`)
	writeTestFile(t, filepath.Join(dir, "lua", "app", "peers.lua"), "local _M = {}\nfunction _M.pick() return undefined_peer end\nreturn _M\n")
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	code, out, errs := runBounded(t, "check", "conf/nginx.conf")
	if !strings.Contains(out, "lua/app/peers.lua:2:") || !strings.Contains(out, "undefined variable 'undefined_peer'") {
		t.Errorf("check: exit %d, no finding in the module file:\n%.3000s%s", code, out, errs)
	}
}

// TestParseUsesProjectConfig: parse reads the same .ngxlint.yaml as check,
// so an include written with an install path is found through path_map
// (issue 18 item 2: one configuration path for every subcommand).
func TestParseUsesProjectConfig(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, ".ngxlint.yaml"), "path_map: {\"/usr/local/openresty/nginx/\": \"./\"}\n")
	writeTestFile(t, filepath.Join(dir, "conf", "nginx.conf"), "http {\n    include /usr/local/openresty/nginx/conf/extra.conf;\n}\n")
	writeTestFile(t, filepath.Join(dir, "conf", "extra.conf"), "server_tokens off;\n")
	code, out, errs := runBounded(t, "parse", filepath.Join(dir, "conf", "nginx.conf"))
	if code != ExitClean || !strings.Contains(out, `"directive":"server_tokens"`) {
		t.Errorf("exit %d: the mapped include was not read\n%s%s", code, out, errs)
	}
	if code, out, _ = runBounded(t, "parse", "--no-config", filepath.Join(dir, "conf", "nginx.conf")); strings.Contains(out, `"directive":"server_tokens"`) {
		t.Errorf("--no-config: exit %d, the include was read without the path map", code)
	}
}
