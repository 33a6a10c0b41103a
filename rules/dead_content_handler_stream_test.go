package rules

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// streamModuleSO is Debian's libnginx-mod-stream.
const streamModuleSO = "/usr/lib/nginx/modules/ngx_stream_module.so"

// TestDeadContentHandlerStreamOnRealNginx checks NGX2006's stream claim on
// Debian's nginx: with return and proxy_pass in one stream server, nginx -t
// accepts it and the one written last answers; NGX2006 reports the other
// one, in both orders.
func TestDeadContentHandlerStreamOnRealNginx(t *testing.T) {
	bin := realNginx(t)
	if _, err := os.Stat(streamModuleSO); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is missing (install libnginx-mod-stream)", streamModuleSO)
		}
		t.Skipf("skipping: %s is missing", streamModuleSO)
	}
	backend, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	go func() {
		for {
			c, err := backend.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "from-backend\n")
			c.Close()
		}
	}()
	free := func() string {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}
	returnFirst, proxyFirst := free(), free()
	stream := fmt.Sprintf(`stream {
    server {
        listen %s;
        return "from-return\n";
        proxy_pass %s;
    }
    server {
        listen %s;
        proxy_pass %s;
        return "from-return\n";
    }
}
`, returnFirst, backend.Addr(), proxyFirst, backend.Addr())

	// What ngxlint says.
	cfg := nginxconf.Load(fstest.MapFS{"nginx.conf": {Data: []byte(stream)}}, "nginx.conf", nginxconf.Options{})
	res := analyzer.Run(cfg, nginxconf.BuildModel(cfg), []*analyzer.Rule{DeadContentHandler}, analyzer.Options{})
	if len(res.RuleErrors) > 0 {
		t.Fatal(res.RuleErrors)
	}
	var dead []string
	for _, d := range res.Diagnostics {
		dead = append(dead, fmt.Sprintf("%d:%s", d.Pos.Line, strings.Fields(d.Message)[0]))
	}
	if strings.Join(dead, " ") != "4:return 9:proxy_pass" {
		t.Fatalf("NGX2006 reported %v, want the return of the first server (line 4) and the proxy_pass of the second (line 9)", dead)
	}

	// What nginx does.
	dir := t.TempDir()
	conf := fmt.Sprintf("load_module %s;\ndaemon off;\nmaster_process off;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log info;\nevents { worker_connections 64; }\n%s",
		streamModuleSO, dir, dir, stream)
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-p", dir, "-c", confFile).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t rejected it: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-p", dir, "-c", confFile)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	read := func(addr string) string {
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			c, err := net.DialTimeout("tcp4", addr, time.Second)
			if err != nil {
				continue
			}
			c.SetDeadline(time.Now().Add(2 * time.Second))
			b, _ := io.ReadAll(c)
			c.Close()
			return strings.TrimSpace(string(b))
		}
		t.Fatalf("nginx did not listen on %s", addr)
		return ""
	}
	if got := read(returnFirst); got != "from-backend" {
		t.Errorf("return then proxy_pass answered %q, want the later proxy_pass (from-backend)", got)
	}
	if got := read(proxyFirst); got != "from-return" {
		t.Errorf("proxy_pass then return answered %q, want the later return (from-return)", got)
	}
}
