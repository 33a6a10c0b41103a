package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureBalancer takes its peer from a shared dict and the environment,
// as balancers fed by a service registry do.
const fixtureBalancer = `http {
    lua_shared_dict peers 1m;
    upstream app {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            local host = ngx.shared.peers:get("host")
            local port = tonumber(os.getenv("APP_PORT"))
            if not host or not port then
                error("no peer: host " .. tostring(host) .. ", port " .. tostring(port))
            end
            local ok, err = b.set_current_peer(host, port)
            if not ok then ngx.log(ngx.ERR, err); return ngx.exit(500) end
        }
    }
    server { listen 80; location / { proxy_pass http://app; } }
}
`

type emulateJSON struct {
	Profile  map[string]string `json:"profile"`
	Requests []struct {
		Status   any `json:"status"`
		Attempts []struct {
			Peer    string `json:"peer"`
			Outcome string `json:"outcome"`
		} `json:"attempts"`
	} `json:"requests"`
}

func decodeEmulate(t *testing.T, out string) emulateJSON {
	t.Helper()
	var r emulateJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bad JSON: %v\n%.2000s", err, out)
	}
	return r
}

// TestEmulateUsesProjectConfig: emulate reads the same .ngxlint.yaml as
// check (versions, fixtures), takes --versions, gives fixtures as flags
// too, and exits 4 when the balancer fails on every request (issue 15
// items 4-5, issue 18 item 2).
func TestEmulateUsesProjectConfig(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	writeTestFile(t, conf, fixtureBalancer)

	// Without fixtures the balancer fails: exit 4, the error in the trace.
	code, out, errs := runBounded(t, "emulate", "--no-config", "--backend", "ok", "--requests", "GET /", conf)
	if code != ExitLuaFailed || !strings.Contains(out, "no peer: host nil, port nil") {
		t.Errorf("no fixtures: exit %d (want %d)\n%s%s", code, ExitLuaFailed, out, errs)
	}

	// Fixtures as flags.
	code, out, errs = runBounded(t, "emulate", "--no-config", "--backend", "ok", "--requests", "GET /", "--format", "json",
		"--shared-dict", "peers:host=127.0.0.1", "--env", "APP_PORT=8088", conf)
	r := decodeEmulate(t, out)
	if code != ExitClean || len(r.Requests) != 1 || len(r.Requests[0].Attempts) != 1 || r.Requests[0].Attempts[0].Peer != "127.0.0.1:8088" {
		t.Errorf("flags: exit %d, %+v\n%s", code, r, errs)
	}

	// The same from .ngxlint.yaml, with its versions.
	writeTestFile(t, filepath.Join(dir, ".ngxlint.yaml"), "versions: {openresty: 1.21.4.1}\nemulate:\n  shared_dicts: {peers: {host: 127.0.0.1}}\n  env: {APP_PORT: \"8089\"}\n")
	code, out, errs = runBounded(t, "emulate", "--backend", "ok", "--requests", "GET /", "--format", "json", conf)
	r = decodeEmulate(t, out)
	if code != ExitClean || len(r.Requests) != 1 || r.Requests[0].Attempts[0].Peer != "127.0.0.1:8089" || r.Profile["openresty"] != "1.21.4.1" {
		t.Errorf(".ngxlint.yaml: exit %d, profile %v, %+v\n%s", code, r.Profile, r.Requests, errs)
	}
	// --versions beats the file; a flag fixture beats the file's.
	code, out, errs = runBounded(t, "emulate", "--backend", "ok", "--requests", "GET /", "--format", "json", "--versions", "nginx=1.22.1,lua_nginx_module=0.10.23", "--env", "APP_PORT=8090", conf)
	r = decodeEmulate(t, out)
	if code != ExitClean || r.Profile["nginx"] != "1.22.1" || r.Profile["openresty"] != "" || r.Requests[0].Attempts[0].Peer != "127.0.0.1:8090" {
		t.Errorf("--versions: exit %d, profile %v, %+v\n%s", code, r.Profile, r.Requests, errs)
	}
	// explain-retries reads the file's versions too.
	_, out, _ = runBounded(t, "explain-retries", conf)
	if !strings.Contains(out, "openresty 1.21.4.1") && !strings.Contains(out, "OpenResty 1.21.4.1") {
		t.Errorf("explain-retries ignores .ngxlint.yaml versions:\n%s", out)
	}
}

// TestCheckConfirmUsesFixtures: check --confirm gives the same fixtures to
// its scenarios, so a confirmation runs the balancer instead of failing.
func TestCheckConfirmUsesFixtures(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "nginx.conf"), strings.Replace(fixtureBalancer, "    upstream app {\n", "    upstream app {\n        keepalive 4;\n", 1))
	writeTestFile(t, filepath.Join(dir, ".ngxlint.yaml"), "versions: {nginx: 1.22.1, lua_nginx_module: 0.10.23}\nemulate:\n  shared_dicts: {peers: {host: 127.0.0.1}}\n  env: {APP_PORT: \"8091\"}\n")
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	code, out, errs := runBounded(t, "check", "--confirm", "--enable", "NGX2002", "--format", "json", "nginx.conf")
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("exit %d: %v\n%s%s", code, err, out, errs)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Confirmation.Status != "confirmed" {
		t.Errorf("NGX2002 with fixtures: %+v", rep.Findings)
	}
	os.Remove(filepath.Join(dir, ".ngxlint.yaml"))
	_, out, _ = runBounded(t, "check", "--confirm", "--enable", "NGX2002", "--nginx-version", "1.22.1", "--format", "json", "nginx.conf")
	rep = checkReport{}
	json.Unmarshal([]byte(out), &rep)
	if len(rep.Findings) != 1 || rep.Findings[0].Confirmation.Status != "error" {
		t.Errorf("NGX2002 without fixtures: want an error confirmation, got %+v", rep.Findings)
	}
}
