package gen

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ngxlint/ngxlint/nginxconf"
)

func TestConfigShape(t *testing.T) {
	c := Config(3, 2, 4, 2)
	if got := strings.Count(c, "    server {\n"); got != 3 {
		t.Errorf("servers = %d, want 3", got)
	}
	if got := strings.Count(c, "location /api/"); got != 6 {
		t.Errorf("locations = %d, want 6", got)
	}
	if got := strings.Count(c, "upstream backend_"); got != 4 {
		t.Errorf("upstreams = %d, want 4", got)
	}
	if got := strings.Count(c, "balancer_by_lua_block"); got != 2 {
		t.Errorf("lua upstreams = %d, want 2", got)
	}
	if Config(3, 2, 4, 2) != c {
		t.Errorf("not deterministic")
	}
}

// TestShapesLoad loads every shape (scaled down) with the real loader and
// checks the include tree, the Lua chunks and that every proxy_pass finds
// its upstream.
func TestShapesLoad(t *testing.T) {
	for _, s := range Shapes() {
		t.Run(s.Name, func(t *testing.T) {
			p := s.Params
			p.Servers, p.Upstreams, p.LuaUpstreams = p.Servers/50, p.Upstreams/50, p.LuaUpstreams/50
			p.LuaFile = "lua/x.lua"
			fsys := fstest.MapFS{"lua/x.lua": {Data: []byte("ngx.say(1)\n")}}
			files := Tree(p)
			for _, f := range files {
				fsys[f.Name] = &fstest.MapFile{Data: []byte(f.Data)}
			}
			if files[0].Name != "nginx.conf" {
				t.Fatalf("first file %s", files[0].Name)
			}
			cfg := nginxconf.Load(fsys, "nginx.conf", nginxconf.Options{})
			if err := cfg.Err(); err != nil {
				t.Fatal(err)
			}
			if len(cfg.Files) != len(files) {
				t.Errorf("loaded %d files, generated %d", len(cfg.Files), len(files))
			}
			if p.IncludeDepth > 0 {
				want := 2 // nginx.conf, upstreams.conf
				for n, k := 1, 0; k < p.IncludeDepth; k++ {
					n *= p.IncludeFanout
					want += n
				}
				if len(files) != want {
					t.Errorf("include tree has %d files, want %d", len(files), want)
				}
			}
			m := nginxconf.BuildModel(cfg)
			if len(m.HTTP.Servers) != p.Servers+1 || len(m.HTTP.Upstreams) != p.Upstreams+p.LuaUpstreams {
				t.Errorf("servers %d upstreams %d", len(m.HTTP.Servers), len(m.HTTP.Upstreams))
			}
			// init_by_lua, one balancer per Lua upstream, two per Lua
			// location, the content_by_lua_file.
			if want := 2 + p.LuaUpstreams + 2*p.LuaLocations*p.Servers; len(m.Lua) != want {
				t.Errorf("%d Lua chunks, want %d", len(m.Lua), want)
			}
			for _, srv := range m.HTTP.Servers {
				for _, l := range srv.AllLocations {
					if pp := l.Proxy.Pass; pp != nil && pp.Upstream == nil {
						t.Fatalf("%s: proxy_pass %s not resolved", l.Directive.Pos, pp.Target)
					}
				}
			}
		})
	}
}

// TestNginxAccepts runs the real `nginx -t` on the reference and include
// shapes (scaled down), with the Debian module paths, when installed.
func TestNginxAccepts(t *testing.T) {
	nginx := "/usr/sbin/nginx"
	mods := []string{"/usr/share/nginx/modules/ndk_http_module.so", "/usr/share/nginx/modules/ngx_http_lua_module.so"}
	for _, f := range append([]string{nginx}, mods...) {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("%s not installed", f)
		}
	}
	for _, name := range []string{"reference", "includes", "lua"} {
		t.Run(name, func(t *testing.T) {
			s, _ := ShapeByName(name)
			p := s.Params
			p.Servers, p.Upstreams, p.LuaUpstreams = p.Servers/50, p.Upstreams/50, p.LuaUpstreams/50
			p.Modules = mods
			dir := t.TempDir()
			for _, f := range Tree(p) {
				name := filepath.Join(dir, filepath.FromSlash(f.Name))
				if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(name, []byte(f.Data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Mkdir(filepath.Join(dir, "logs"), 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(nginx, "-t", "-p", dir+"/", "-c", filepath.Join(dir, "nginx.conf")).CombinedOutput()
			if err != nil {
				t.Fatalf("nginx -t: %v\n%s", err, out)
			}
		})
	}
}
