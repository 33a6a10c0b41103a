package retry

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/emulator/nginxengine"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// TestModelAgainstRealNginx checks the model's predictions against
// Debian's nginx 1.22.1 + lua-nginx-module 0.10.23 on every case whose
// profile that binary can show. Real nginx gives no per-attempt trace, so
// the count compared is what the backends read: with backends that read
// and close, every attempt is one request read.
func TestModelAgainstRealNginx(t *testing.T) {
	bin := "/usr/sbin/nginx"
	if _, err := exec.LookPath(bin); err != nil || !fileExists("/usr/share/nginx/modules/ngx_http_lua_module.so") {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI needs nginx with the Lua module (.ci/run installs nginx libnginx-mod-http-lua)")
		}
		t.Skip("nginx with the Lua module not installed")
	}
	prof, _ := versions.Resolve("1.22.1", "0.10.23", "")
	n := 0
	for _, tc := range modelCases {
		if tc.versions[0] != "1.22.1" || tc.wantUnbounded || (tc.versions[1] != "" && tc.versions[1] != "0.10.23") {
			continue
		}
		n++
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			conf := "http {\n upstream u { " + tc.upstream + " }\n server { listen 80; location / { proxy_pass http://u; " + tc.location + " } }\n}\n"
			path := filepath.Join(dir, "nginx.conf")
			if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := nginxconf.LoadFile(path, nginxconf.Options{})
			target, err := fromconf.Find(nginxconf.BuildModel(cfg), "u", "")
			if err != nil {
				t.Fatal(err)
			}
			var bal *luacheck.Result
			if b := target.Upstream.Balancer; b != nil {
				bal = luacheck.Analyze(b.Lua, luacheck.Options{})
			}
			p := Predict(FromModel(prof, target.Upstream, target.Location, bal))
			policy, _ := emulator.ParsePolicy("close")
			reqs := []emulator.Request{{Method: "GET", Path: "/"}}
			if tc.warmup {
				policy, _ = emulator.ParsePolicy("first-only")
				reqs = append(reqs, emulator.Request{Method: "GET", Path: "/"})
			}
			fsys, main, err := nginxengine.TreeFor(path)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := nginxengine.Run(ctx, bin, nginxengine.Scenario{ConfigFS: fsys, Main: main, Requests: reqs,
				DefaultPolicy: policy, Timeout: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			q := res.Requests[len(res.Requests)-1]
			if q.Unbounded || q.UpstreamRequests != p.Attempts {
				var b strings.Builder
				res.WriteText(&b)
				t.Errorf("real nginx: the backends read %d request(s) (unbounded %v); the model predicted %d attempts\n%s\n%s", q.UpstreamRequests, q.Unbounded, p.Attempts, strings.Join(p.Steps, "\n"), b.String())
			}
		})
	}
	if n < 10 {
		t.Errorf("only %d cases ran against real nginx", n)
	}
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
