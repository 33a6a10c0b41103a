package nginxconf_test

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// appsDir holds complete real-world OpenResty applications (configs and
// their own Lua trees), described by MANIFEST.jsonl; it is not part of
// the repository.
const appsDir = "../../shared/apps"

type appManifest struct {
	Folder       string            `json:"folder"`
	Prefix       string            `json:"prefix"`
	AbsPathMap   map[string]string `json:"abs_path_map"`
	EntryConfigs []struct {
		Path string `json:"path"`
	} `json:"entry_configs"`
}

// appModuleExceptions are modules of an app folder that a literal require
// reaches but the resolver rightly does not find, with the reason.
// The folder check matches a file under any directory, so a third-party
// library whose name is also the last part of one of the app's own module
// names looks present.
var appModuleExceptions = map[string]string{
	"apache__apisix:ssl":        "luasec's ssl; apisix/ssl.lua is the module apisix.ssl",
	"apache__apisix:inspect":    "the inspect.lua library; apisix/inspect/init.lua is apisix.inspect",
	"apache__apisix:prometheus": "nginx-lua-prometheus; apisix/plugins/prometheus.lua is apisix.plugins.prometheus",
	"apache__apisix:brotli":     "lua-brotli; apisix/plugins/brotli.lua is apisix.plugins.brotli",
}

// TestAppsModules loads every app's entry configuration with module
// following, as the CLI does (the app folder is the checked tree, the
// manifest's prefix and path map as options), and checks that every
// module that a literal require reaches and that exists in the folder is
// found there.
func TestAppsModules(t *testing.T) {
	f, err := os.Open(filepath.Join(appsDir, "MANIFEST.jsonl"))
	if err != nil {
		t.Skip("no ../shared/apps:", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var app appManifest
		if err := json.Unmarshal(sc.Bytes(), &app); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(appsDir, app.Folder)
		// The module files of the folder, by every name require could
		// give them (a/b.lua is "a.b", a/b/init.lua is "a.b" too), under
		// any directory of the folder.
		files := map[string]bool{}
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".lua") {
				rel, _ := filepath.Rel(dir, p)
				files[filepath.ToSlash(rel)] = true
			}
			return nil
		})
		inFolder := func(name string) bool {
			stem := strings.ReplaceAll(name, ".", "/")
			for f := range files {
				if f == stem+".lua" || strings.HasSuffix(f, "/"+stem+".lua") || f == stem+"/init.lua" || strings.HasSuffix(f, "/"+stem+"/init.lua") {
					return true
				}
			}
			return false
		}
		for _, ec := range app.EntryConfigs {
			opts := nginxconf.Options{Prefix: app.Prefix, Roots: []string{"."}, Requires: luacheck.Requires}
			for from, to := range app.AbsPathMap {
				opts.PathMap = append(opts.PathMap, nginxconf.PathMapping{From: from, To: to})
			}
			cfg := nginxconf.Load(os.DirFS(dir), ec.Path, opts)
			var found, builtin, missing []string
			for _, m := range cfg.Modules {
				switch {
				case m.File != nil:
					found = append(found, m.Name)
				case m.Builtin:
					builtin = append(builtin, m.Name)
				default:
					missing = append(missing, m.Name)
					if inFolder(m.Name) && appModuleExceptions[app.Folder+":"+m.Name] == "" {
						t.Errorf("%s %s: module %q is in the folder but not found: %s", app.Folder, ec.Path, m.Name, m.Err)
					}
				}
			}
			if len(cfg.Modules) == 0 && len(cfg.Errors) > 0 {
				t.Logf("%s: %d errors, first: %v", app.Folder, len(cfg.Errors), cfg.Errors[0])
			}
			sort.Strings(missing)
			t.Logf("%s %s: %d modules found, %d builtin, %d not in the folder: %s", app.Folder, ec.Path, len(found), len(builtin), len(missing), strings.Join(missing, " "))
			if len(cfg.Modules) > 0 && len(found) == 0 {
				t.Errorf("%s %s: no module found (%d required)", app.Folder, ec.Path, len(cfg.Modules))
			}
		}
	}
}
