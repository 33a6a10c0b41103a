package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyTree copies the regular files below src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		writeTestFile(t, filepath.Join(dst, rel), string(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestConsulExample runs the README's worked example (examples/consul): a
// balancer whose peers a timer fetches from Consul. Without the fixtures
// the poll is refused, no request reaches a peer and emulate exits 4 naming
// what the Lua reached for; with the example's .ngxlint.yaml the balancer
// alternates between the fixture's peers, and check is clean.
func TestConsulExample(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, filepath.Join("..", "..", "examples", "consul"), dir)
	conf := filepath.Join(dir, "conf", "nginx.conf")

	code, out, errs := runBounded(t, "emulate", "--requests", "GET /,GET /,GET /,GET /", conf)
	if code != ExitClean {
		t.Fatalf("with fixtures: exit %d\n%s%s", code, out, errs)
	}
	var peers []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[0] == "#1" && f[1] == "peer" {
			peers = append(peers, f[2])
		}
	}
	if strings.Join(peers, " ") != "127.0.0.1:8081, 127.0.0.1:8082, 127.0.0.1:8081, 127.0.0.1:8082," {
		t.Errorf("peers %v, want 8081 and 8082 in turn\n%s", peers, out)
	}
	if !strings.Contains(out, "consul.lua:15") {
		t.Errorf("the refused Consul connection is not reported at its line:\n%s", out)
	}

	writeTestFile(t, filepath.Join(dir, ".ngxlint.yaml"), "versions: {openresty: 1.21.4.1}\npath_map: {\"/usr/local/openresty/nginx/\": \"./\"}\n")
	code, out, errs = runBounded(t, "emulate", "--requests", "GET /,GET /", conf)
	if code != ExitLuaFailed || !strings.Contains(errs, "reaches outside the configuration") || !strings.Contains(out, "no peers for app yet") {
		t.Errorf("without fixtures: exit %d (want %d)\n%s%s", code, ExitLuaFailed, out, errs)
	}

	if code, out, errs = runBounded(t, "check", "--confirm", conf); code != ExitClean {
		t.Errorf("check of the example: exit %d\n%s%s", code, out, errs)
	}
}
