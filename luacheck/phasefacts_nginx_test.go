package luacheck

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// The phase facts (apitable_gen.go, from phasefacts.json) checked against
// lua-nginx-module itself: one real nginx (Debian's nginx 1.22.1 with
// libnginx-mod-http-lua 0.10.23 and lua-resty-core 0.1.25) calls every
// probed API under pcall in init_by_lua*, init_worker_by_lua*, a timer
// created there, balancer_by_lua* and log_by_lua*, and each context writes
// what happened to a file in the temporary prefix.

const (
	probeNginx     = "/usr/sbin/nginx"
	probeModuleDir = "/usr/share/nginx/modules"
	probeLNM       = "v0.10.23" // libnginx-mod-http-lua in Debian bookworm
)

// probeContexts are the contexts probed, as the table names them.
var probeContexts = []string{"init_by_lua*", "init_worker_by_lua*", "ngx.timer.*", "balancer_by_lua*", "log_by_lua*"}

// probeCalls gives each probed API a call with arguments that are valid
// wherever the API is allowed, so that only a context refusal makes it
// fail. PORT is the test's backend port on 127.0.0.1.
var probeCalls = map[string]string{
	"ngx.location.capture":          `ngx.location.capture("/b")`,
	"ngx.location.capture_multi":    `ngx.location.capture_multi({{"/b"}})`,
	"ngx.req.set_method":            `ngx.req.set_method(ngx.HTTP_GET)`,
	"ngx.req.set_uri":               `ngx.req.set_uri("/x")`,
	"ngx.req.set_uri_args":          `ngx.req.set_uri_args("a=1")`,
	"ngx.req.set_header":            `ngx.req.set_header("X-Probe", "1")`,
	"ngx.req.clear_header":          `ngx.req.clear_header("X-Probe")`,
	"ngx.req.add_header":            `require("ngx.req").add_header("X-Probe", "1")`,
	"ngx.req.set_body_data":         `ngx.req.set_body_data("x")`,
	"ngx.req.set_body_file":         `ngx.req.set_body_file("/nonexistent-probe-file")`,
	"ngx.req.append_body":           `ngx.req.append_body("x")`,
	"ngx.print":                     `ngx.print("")`,
	"ngx.say":                       `ngx.say("")`,
	"ngx.log":                       `ngx.log(ngx.DEBUG, "probe")`,
	"print":                         `print("probe")`,
	"ngx.sleep":                     `ngx.sleep(0)`,
	"ngx.escape_uri":                `ngx.escape_uri("a b")`,
	"ngx.unescape_uri":              `ngx.unescape_uri("a%20b")`,
	"ngx.encode_args":               `ngx.encode_args({a = 1})`,
	"ngx.decode_args":               `ngx.decode_args("a=1")`,
	"ngx.encode_base64":             `ngx.encode_base64("a")`,
	"ngx.decode_base64":             `ngx.decode_base64("YQ==")`,
	"ngx.decode_base64mime":         `ngx.decode_base64mime("YQ==")`,
	"ngx.crc32_short":               `ngx.crc32_short("a")`,
	"ngx.crc32_long":                `ngx.crc32_long("a")`,
	"ngx.hmac_sha1":                 `ngx.hmac_sha1("k", "a")`,
	"ngx.md5":                       `ngx.md5("a")`,
	"ngx.md5_bin":                   `ngx.md5_bin("a")`,
	"ngx.sha1_bin":                  `ngx.sha1_bin("a")`,
	"ngx.quote_sql_str":             `ngx.quote_sql_str("a")`,
	"ngx.cookie_time":               `ngx.cookie_time(0)`,
	"ngx.http_time":                 `ngx.http_time(0)`,
	"ngx.parse_http_time":           `ngx.parse_http_time("Thu, 01 Jan 1970 00:00:00 GMT")`,
	"ngx.re.match":                  `ngx.re.match("a", "a")`,
	"ngx.re.find":                   `ngx.re.find("a", "a")`,
	"ngx.re.gmatch":                 `ngx.re.gmatch("a", "a")`,
	"ngx.re.sub":                    `ngx.re.sub("a", "a", "b")`,
	"ngx.re.gsub":                   `ngx.re.gsub("a", "a", "b")`,
	"ngx.re.split":                  `require("ngx.re").split("a,b", ",")`,
	"ngx.shared.DICT.get":           `ngx.shared.probe:get("k")`,
	"ngx.shared.DICT.get_stale":     `ngx.shared.probe:get_stale("k")`,
	"ngx.shared.DICT.set":           `ngx.shared.probe:set("k", 1)`,
	"ngx.shared.DICT.safe_set":      `ngx.shared.probe:safe_set("k", 1)`,
	"ngx.shared.DICT.add":           `ngx.shared.probe:add("a", 1)`,
	"ngx.shared.DICT.safe_add":      `ngx.shared.probe:safe_add("a", 1)`,
	"ngx.shared.DICT.replace":       `ngx.shared.probe:replace("k", 2)`,
	"ngx.shared.DICT.delete":        `ngx.shared.probe:delete("a")`,
	"ngx.shared.DICT.incr":          `ngx.shared.probe:incr("n", 1, 0)`,
	"ngx.shared.DICT.lpush":         `ngx.shared.probe:lpush("l", 1)`,
	"ngx.shared.DICT.rpush":         `ngx.shared.probe:rpush("l", 1)`,
	"ngx.shared.DICT.lpop":          `ngx.shared.probe:lpop("l")`,
	"ngx.shared.DICT.rpop":          `ngx.shared.probe:rpop("l")`,
	"ngx.shared.DICT.llen":          `ngx.shared.probe:llen("l")`,
	"ngx.shared.DICT.ttl":           `ngx.shared.probe:ttl("k")`,
	"ngx.shared.DICT.expire":        `ngx.shared.probe:expire("k", 100)`,
	"ngx.shared.DICT.flush_all":     `ngx.shared.probe:flush_all()`,
	"ngx.shared.DICT.flush_expired": `ngx.shared.probe:flush_expired()`,
	"ngx.shared.DICT.get_keys":      `ngx.shared.probe:get_keys(1)`,
	"ngx.shared.DICT.capacity":      `ngx.shared.probe:capacity()`,
	"ngx.shared.DICT.free_space":    `ngx.shared.probe:free_space()`,
	"ngx.socket.connect":            `ngx.socket.connect("127.0.0.1", PORT)`,
	"tcpsock:bind":                  `ngx.socket.tcp():bind("127.0.0.1")`,
	"tcpsock:connect":               `ngx.socket.tcp():connect("127.0.0.1", PORT)`,
	"tcpsock:sslhandshake":          `ngx.socket.tcp():sslhandshake()`,
	"tcpsock:send":                  `ngx.socket.tcp():send("x")`,
	"tcpsock:receive":               `ngx.socket.tcp():receive()`,
	"tcpsock:receiveany":            `ngx.socket.tcp():receiveany(1)`,
	"tcpsock:receiveuntil":          `ngx.socket.tcp():receiveuntil("x")`,
	"tcpsock:close":                 `ngx.socket.tcp():close()`,
	"tcpsock:settimeout":            `ngx.socket.tcp():settimeout(10)`,
	"tcpsock:settimeouts":           `ngx.socket.tcp():settimeouts(10, 10, 10)`,
	"tcpsock:setoption":             `ngx.socket.tcp():setoption("keepalive", true)`,
	"tcpsock:setkeepalive":          `ngx.socket.tcp():setkeepalive()`,
	"tcpsock:getreusedtimes":        `ngx.socket.tcp():getreusedtimes()`,
	"udpsock:setpeername":           `ngx.socket.udp():setpeername("127.0.0.1", PORT)`,
	"udpsock:send":                  `ngx.socket.udp():send("x")`,
	"udpsock:receive":               `ngx.socket.udp():receive()`,
	"udpsock:close":                 `ngx.socket.udp():close()`,
	"udpsock:settimeout":            `ngx.socket.udp():settimeout(10)`,
	"udpsock:bind":                  `ngx.socket.udp():bind("127.0.0.1")`,
	"ngx.thread.spawn":              `ngx.thread.spawn(function() end)`,
	"ngx.thread.wait":               `ngx.thread.wait(ngx.thread.spawn(function() end))`,
	"ngx.thread.kill":               `ngx.thread.kill(ngx.thread.spawn(function() end))`,
	"ngx.on_abort":                  `ngx.on_abort(function() end)`,
	"ngx.timer.at":                  `ngx.timer.at(3600, function() end)`,
	"ngx.timer.every":               `ngx.timer.every(3600, function() end)`,
	"coroutine.create":              `coroutine.create(function() end)`,
	"coroutine.wrap":                `coroutine.wrap(function() end)`,
	"coroutine.resume":              `coroutine.resume(coroutine.create(function() end))`,
	"coroutine.status":              `coroutine.status(coroutine.create(function() end))`,
	"coroutine.yield":               `coroutine.wrap(function() coroutine.yield(1) end)()`,
	"ngx.balancer.set_current_peer": `require("ngx.balancer").set_current_peer("127.0.0.1", PORT)`,
	"ngx.balancer.set_more_tries":   `require("ngx.balancer").set_more_tries(1)`,
	"ngx.balancer.set_timeouts":     `require("ngx.balancer").set_timeouts(1, 1, 1)`,
	"ngx.base64.encode_base64url":   `require("ngx.base64").encode_base64url("a")`,
	"ngx.base64.decode_base64url":   `require("ngx.base64").decode_base64url("YQ")`,
	"ngx.errlog.raw_log":            `require("ngx.errlog").raw_log(ngx.DEBUG, "probe")`,
	"ngx.errlog.set_filter_level":   `require("ngx.errlog").set_filter_level(ngx.DEBUG)`,
	"ngx.semaphore.new":             `require("ngx.semaphore").new()`,
	"ngx.semaphore.post":            `require("ngx.semaphore").new():post()`,
	"ngx.semaphore.count":           `require("ngx.semaphore").new():count()`,
	"ngx.semaphore.wait":            `require("ngx.semaphore").new(1):wait(0)`,
	"ngx.resp.add_header":           `require("ngx.resp").add_header("X-Probe", "1")`,
	"ngx.ssl.cert_pem_to_der":       `require("ngx.ssl").cert_pem_to_der("x")`,
	"ngx.ssl.priv_key_pem_to_der":   `require("ngx.ssl").priv_key_pem_to_der("x")`,
	"ngx.ssl.parse_pem_cert":        `require("ngx.ssl").parse_pem_cert("x")`,
	"ngx.ssl.parse_pem_priv_key":    `require("ngx.ssl").parse_pem_priv_key("x")`,
	"ngx.re.opt":                    `require("ngx.re").opt("jit_stack_size", 200000)`,
}

// probeSkipped are functions the test does not call, and why.
var probeSkipped = map[string]string{
	"ngx.exit":                            "ends the probing handler",
	"ngx.exec":                            "ends the probing handler",
	"ngx.redirect":                        "ends the probing handler",
	"ngx.eof":                             "would end the response where allowed",
	"ngx.process.signal_graceful_exit":    "stops the worker",
	"ngx.process.enable_privileged_agent": "forks an extra process that runs init_worker again",
	"ngx.req.socket":                      "would read the request body where allowed",
	"ngx.req.read_body":                   "would read the request body where allowed",
	"ngx.run_worker_thread":               "needs a thread_pool and a module",
	"ngx.pipe.spawn":                      "spawns processes",
	"ngx.balancer.recreate_request":       "rebuilds the upstream request",
}

// probeSkippedIn are calls that crash nginx in a context (the table says
// they are refused there, and the crash is the refusal's absence):
// ngx_http_lua_ngx_flush (ngx_http_lua_output.c@v0.10.23) reads the request
// before checking it exists, so ngx.flush() in init_by_lua* segfaults.
var probeSkippedIn = map[string]string{
	"ngx.flush": "init_by_lua*",
}

// probeTarget is the call expression for an API, "" if not probed.
func probeTarget(a *apiEntry) string {
	if a.field || strings.HasPrefix(a.name, "ngx.pipe.") || strings.HasPrefix(a.name, "ngx.ocsp.") {
		return ""
	}
	if _, skip := probeSkipped[a.name]; skip {
		return ""
	}
	if c, ok := probeCalls[a.name]; ok {
		return c
	}
	switch {
	case a.method:
		return ""
	case a.requireOnly:
		i := strings.LastIndex(a.name, ".")
		return fmt.Sprintf("require(%q).%s()", a.name[:i], a.name[i+1:])
	case a.global && strings.HasPrefix(a.name, "ngx."):
		return a.name + "()"
	}
	return ""
}

// contextsAt returns the table's contexts for the API at a
// lua-nginx-module release.
func contextsAt(name, lnm string) []string {
	if h, ok := apiContextHistory[name]; ok {
		var cur []string
		for _, p := range h {
			if !VersionLess(lnm, p.from) {
				cur = p.contexts
			}
		}
		return cur
	}
	return apiTable[apiIndex[name]].contexts
}

// probeRefusal recognises lua-nginx-module's and lua-resty-core's context
// refusals (ngx_http_lua_check_context, ngx_http_lua_check_fake_request,
// "no request" when there is none, NGX_HTTP_LUA_FFI_BAD_CONTEXT).
//
// "no upstream found" is how ngx.balancer's FFI functions fail where the
// request has no upstream (timers, init_worker): the balancer context check
// comes after it (ngx_http_lua_balancer.c).
var probeRefusal = regexp.MustCompile(`API disabled in the (?:context of|current context)|no request(?: object| ctx)? found|request object not found|no ctx found|\bno request$|no upstream found`)

func TestPhaseFactsOnRealNginx(t *testing.T) {
	if _, err := os.Stat(probeNginx); err != nil {
		skipOrFail(t, "nginx absent: "+err.Error())
	}
	if _, err := os.Stat(filepath.Join(probeModuleDir, "ngx_http_lua_module.so")); err != nil {
		skipOrFail(t, "lua-nginx-module absent: "+err.Error())
	}
	dir := t.TempDir()
	// NGXLINT_PHASEPROBE_DIR keeps the prefix (config, probe module, logs)
	// for debugging a failure by hand.
	if d := os.Getenv("NGXLINT_PHASEPROBE_DIR"); d != "" {
		dir = d
	}
	front, back := freePort(t), freePort(t)
	var names []string
	var cases strings.Builder
	for i := range apiTable {
		a := &apiTable[i]
		call := probeTarget(a)
		if call == "" {
			continue
		}
		names = append(names, a.name)
		call = strings.ReplaceAll(call, "PORT", fmt.Sprint(back))
		fmt.Fprintf(&cases, "  {%q, function() return %s end, %q},\n", a.name, call, probeSkippedIn[a.name])
	}
	writeFile(t, filepath.Join(dir, "phaseprobe.lua"), probeModule(cases.String()))
	writeFile(t, filepath.Join(dir, "nginx.conf"), probeConf(dir, front, back))
	writeFile(t, filepath.Join(dir, "logs", ".keep"), "")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, probeNginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "logs", "error.log"))
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	files := map[string]string{}
	for _, c := range probeContexts {
		files[c] = filepath.Join(dir, "probe-"+probeFileName(c)+".txt")
	}
	// The request runs the balancer and the log phase; the timer and init
	// files are there once the worker started.
	deadline := time.Now().Add(15 * time.Second)
	requested := false
	for {
		if !requested && exists(files["ngx.timer.*"]) {
			resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/", front))
			if err == nil {
				_ = resp.Body.Close()
				requested = true
			}
		}
		if all(files) {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "logs", "error.log"))
			t.Fatalf("probe files missing after 15s; nginx output %q; error.log tail %q", out.String(), tail(string(log), 2000))
		}
		time.Sleep(20 * time.Millisecond)
	}

	type result struct {
		raised, refused bool
		msg             string
	}
	results := map[string]map[string]result{}
	for c, f := range files {
		results[c] = map[string]result{}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			parts := strings.SplitN(sc.Text(), "\t", 3)
			if len(parts) != 3 {
				continue
			}
			results[c][parts[0]] = result{raised: parts[1] == "raise", refused: probeRefusal.MatchString(parts[2]), msg: parts[2]}
		}
		_ = fh.Close()
	}

	agree, disagree := 0, 0
	texts := map[string]bool{}
	var dump []string
	for _, n := range names {
		ctxs := contextsAt(n, probeLNM)
		for _, c := range probeContexts {
			r, ok := results[c][n]
			if !ok || r.msg == "absent" {
				continue
			}
			if r.refused {
				texts[normalizeRefusal(r.msg)] = true
			}
			want := contains(ctxs, c)
			dump = append(dump, fmt.Sprintf("%s\t%s\t%v\t%s", n, c, !r.refused, r.msg))
			if want == !r.refused {
				agree++
				continue
			}
			disagree++
			t.Errorf("%s in %s: table says allowed=%v, lua-nginx-module %s: %q", n, c, want, map[bool]string{true: "refused", false: "ran it"}[r.refused], r.msg)
		}
	}
	// The error text LUA2001 quotes (RefusalAt) is the one the API gives.
	textOK := 0
	for _, n := range names {
		for _, c := range probeContexts {
			r, ok := results[c][n]
			if !ok || !r.refused {
				continue
			}
			ref, ok := RefusalAt(n, c, probeLNM)
			if !ok {
				continue
			}
			got := normalizeRefusal(r.msg)
			if ref.Message == "no request found" && noRequestTexts[got] {
				textOK++ // the C functions word it their own way
				continue
			}
			if got != ref.Message {
				t.Errorf("%s in %s: RefusalAt says %q, lua-nginx-module says %q (%s; %v)", n, c, ref.Message, got, ref.Impl, ref.Sources)
				continue
			}
			textOK++
		}
	}
	t.Logf("%d refusal texts as RefusalAt says", textOK)
	if p := os.Getenv("NGXLINT_PHASEPROBE_DUMP"); p != "" {
		_ = os.WriteFile(p, []byte(strings.Join(dump, "\n")+"\n"), 0o644)
	}
	var ts []string
	for s := range texts {
		ts = append(ts, s)
	}
	sort.Strings(ts)
	t.Logf("%d APIs x %d contexts probed: %d agree, %d disagree; refusal texts seen: %q", len(names), len(probeContexts), agree, disagree, ts)
	if agree < 400 {
		t.Errorf("only %d API x context results: the probe did not run", agree)
	}
}

// noRequestTexts are the wordings of "there is no request" (init_by_lua*)
// across lua-nginx-module's C functions and lua-resty-core.
var noRequestTexts = map[string]bool{"no request found": true, "no request object found": true, "request object not found": true, "no request": true}

func normalizeRefusal(s string) string {
	if i := strings.Index(s, "API disabled"); i >= 0 {
		return s[i:]
	}
	return strings.TrimSpace(s[strings.LastIndex(s, ":")+1:])
}

func probeFileName(c string) string {
	return strings.NewReplacer("*", "", ".", "_").Replace(c)
}

func probeModule(cases string) string {
	return `local _M = {}
local cases = {
` + cases + `}
function _M.run(path, context)
  local out = {}
  for _, c in ipairs(cases) do
    if c[3] == context then goto continue end
    local res = {pcall(c[2])}
    local status, msg = "ok", ""
    if not res[1] then
      status, msg = "raise", tostring(res[2])
      if msg:find("attempt to call a nil value", 1, true) or msg:find("attempt to call field", 1, true)
         or msg:find("module '[%w.]+' not found") then
        status, msg = "ok", "absent"
      end
    elseif not res[2] then
      -- an error returned: nil, err; false, err (set_timeouts);
      -- nil, nil, err (get_last_failure)
      for i = 3, 4 do
        if type(res[i]) == "string" then msg = res[i] break end
      end
    end
    out[#out + 1] = c[1] .. "\t" .. status .. "\t" .. msg:gsub("[\t\n]", " ")
    ::continue::
  end
  local f = assert(io.open(path .. ".tmp", "w"))
  f:write(table.concat(out, "\n"), "\n")
  f:close()
  assert(os.rename(path .. ".tmp", path))
end
return _M
`
}

func probeConf(dir string, front, back int) string {
	file := func(c string) string { return filepath.Join(dir, "probe-"+probeFileName(c)+".txt") }
	return fmt.Sprintf(`load_module %[1]s/ndk_http_module.so;
load_module %[1]s/ngx_http_lua_module.so;
daemon off;
master_process off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/logs/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[2]s/tmp;
    proxy_temp_path %[2]s/tmp;
    lua_package_path "%[2]s/?.lua;/usr/share/lua/5.1/?.lua;;";
    lua_shared_dict probe 1m;
    lua_check_client_abort on;
    init_by_lua_block { require("phaseprobe").run(%[3]q, "init_by_lua*") }
    init_worker_by_lua_block {
        require("phaseprobe").run(%[4]q, "init_worker_by_lua*")
        assert(ngx.timer.at(0, function() require("phaseprobe").run(%[5]q, "ngx.timer.*") end))
    }
    upstream probe_backend {
        server 127.0.0.1:%[9]d;
        balancer_by_lua_block {
            assert(require("ngx.balancer").set_current_peer("127.0.0.1", %[9]d))
            require("phaseprobe").run(%[6]q, "balancer_by_lua*")
        }
    }
    server {
        listen 127.0.0.1:%[8]d;
        location / {
            proxy_pass http://probe_backend;
            log_by_lua_block { require("phaseprobe").run(%[7]q, "log_by_lua*") }
        }
    }
    server {
        listen 127.0.0.1:%[9]d;
        location / { return 200 "ok"; }
    }
}
`, probeModuleDir, dir, file("init_by_lua*"), file("init_worker_by_lua*"), file("ngx.timer.*"),
		file("balancer_by_lua*"), file("log_by_lua*"), front, back)
}

func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func all(files map[string]string) bool {
	for _, f := range files {
		if !exists(f) {
			return false
		}
	}
	return true
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
