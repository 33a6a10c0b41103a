package rules

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// realNginx returns the nginx binary the real-engine tests use, skipping
// when it (or its Lua module) is absent outside CI and failing in CI.
func realNginx(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("NGXLINT_NGINX")
	if bin == "" {
		bin = "/usr/sbin/nginx"
	}
	_, err := exec.LookPath(bin)
	if err == nil {
		if _, err = os.Stat("/usr/share/nginx/modules/ngx_http_lua_module.so"); err != nil && os.Getenv("NGXLINT_NGINX") != "" {
			err = nil // a custom binary may have Lua built in
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("real nginx with the Lua module is required in CI: %v (.ci/run installs nginx libnginx-mod-http-lua)", err)
		}
		t.Skipf("real nginx with the Lua module not available: %v", err)
	}
	return bin
}

// TestConfirmOnRealNginx confirms findings with the real-nginx engine and
// with both engines (which must agree), on Debian's nginx 1.22.1 + ngx_lua
// 0.10.23.
func TestConfirmOnRealNginx(t *testing.T) {
	bin := realNginx(t)
	dir := t.TempDir()
	conf := `http {
    upstream app {
        server 10.0.0.1:8080;
        keepalive 4;
    }
    upstream unguarded {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            b.set_more_tries(1)
            assert(b.set_current_peer("127.0.0.1", 8080))
        }
    }
    server {
        listen 80;
        location /app { proxy_pass http://app; }
        location /loop { proxy_pass http://unguarded; }
    }
}
`
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := nginxconf.LoadFile(path, nginxconf.Options{})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	prof, _ := versions.Resolve("1.22.1", "0.10.23", "")
	for _, engine := range []string{"nginx", "both"} {
		t.Run(engine, func(t *testing.T) {
			res := analyzer.Run(cfg, nginxconf.BuildModel(cfg), []*analyzer.Rule{KeepaliveNotEffective, SetMoreTriesUnbounded},
				analyzer.Options{Profile: prof, Settings: map[string]string{"confirm-engine": engine, "nginx-binary": bin}})
			if len(res.Diagnostics) != 2 {
				t.Fatalf("want 2 findings, got %d", len(res.Diagnostics))
			}
			analyzer.ConfirmAll(context.Background(), res.Diagnostics, 1)
			for _, d := range res.Diagnostics {
				cf := d.Confirmation
				if cf.Status != analyzer.Confirmed {
					t.Errorf("%s: %s %s %s", d.Rule.ID, cf.Status, cf.Summary, cf.Reason)
					continue
				}
				if _, differ := cf.Observed["engine_differences"]; differ {
					t.Errorf("%s: the engines differ: %v", d.Rule.ID, cf.Observed["engine_differences"])
				}
				t.Logf("%s on %s: %s (%s)", d.Rule.ID, cf.Engine, cf.Summary, cf.Profile)
			}
		})
	}
}
