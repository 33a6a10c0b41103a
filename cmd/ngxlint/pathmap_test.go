package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/rules"
)

// TestConfigPathMapAndFixturesValidated: path_map and emulate: in
// .ngxlint.yaml are read with positions, and may only point into the
// file's own tree (they come with the repository under test).
func TestConfigPathMapAndFixturesValidated(t *testing.T) {
	seed := seedConfig(t)
	for _, c := range []struct{ yaml, want string }{
		{"path_map: {\"/usr/local/openresty/nginx/\": \"../..\"}\n", `path_map: "../.." is outside the directory`},
		{"path_map: {\"/usr/local/openresty/nginx/\": \"/etc\"}\n", `must be a path relative to`},
		{"path_map: {\"lua/\": \"./\"}\n", `path_map: "lua/" is not an absolute path`},
		{"emulate: {modules: {peers: /etc/passwd}}\n", `emulate.modules.peers: "/etc/passwd" is outside the directory`},
		{"emulate: {modules: {peers: ../x.lua}}\n", `is outside the directory`},
		{"emulate: {shared_dicts: {peers: [a, b]}}\n", `emulate.shared_dicts.peers must be a mapping`},
		{"emulate: {envv: {A: b}}\n", `unknown key emulate.envv`},
	} {
		dir := t.TempDir()
		cfg := filepath.Join(dir, ".ngxlint.yaml")
		writeTestFile(t, cfg, c.yaml)
		code, _, errs := runBounded(t, "check", "--config", cfg, seed)
		if code != ExitUsage || !strings.Contains(errs, c.want) || !strings.Contains(errs, ".ngxlint.yaml:1:") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q at line 1", c.yaml, code, errs, c.want)
		}
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, ".ngxlint.yaml")
	writeTestFile(t, filepath.Join(dir, "stubs", "peers.lua"), "return {}\n")
	writeTestFile(t, cfg, "path_map: {\"/usr/local/openresty/nginx/\": \"./\"}\nemulate:\n  shared_dicts: {peers: {a: \"127.0.0.1:8080\"}}\n  env: {CONSUL: \"127.0.0.1:8500\"}\n  modules: {\"resty.consul\": stubs/peers.lua}\n  vars: {backend: \"127.0.0.1:8081\"}\n")
	fc, err := loadFileConfig(cfg, newRuleLookup(rules.Registry()))
	if err != nil {
		t.Fatal(err)
	}
	if len(fc.PathMap) != 1 || fc.PathMap[0].From != "/usr/local/openresty/nginx/" || fc.PathMap[0].To != dir {
		t.Errorf("path map %+v", fc.PathMap)
	}
	if fc.Emulate.SharedDicts["peers"]["a"] != "127.0.0.1:8080" || fc.Emulate.Env["CONSUL"] != "127.0.0.1:8500" ||
		fc.Emulate.Modules["resty.consul"] != filepath.Join(dir, "stubs", "peers.lua") || fc.Emulate.Vars["backend"] != "127.0.0.1:8081" {
		t.Errorf("fixtures %+v", fc.Emulate)
	}
}
