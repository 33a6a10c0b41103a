package directives

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestTableAgainstNginx checks a sample of the table against the installed
// nginx (Debian's 1.22.1 with lua-nginx-module and NDK as dynamic modules
// in CI): for each sampled directive it writes small configurations and
// runs `nginx -t`, and the table must predict nginx's verdict and message:
// a valid value in an allowed context passes; a context the table does not
// allow gives "is not allowed here"; an argument count it does not accept
// gives "invalid number of arguments"; a bad value gives CheckValue's
// message; a second occurrence gives "is duplicate" exactly when Dup says
// so. Directives whose module the installed build lacks (nginx answers
// "unknown directive") are skipped and counted.
func TestTableAgainstNginx(t *testing.T) {
	bin := findNginx()
	if bin == "" {
		t.Skip("no nginx installed")
	}
	modDir := ""
	for _, d := range []string{"/usr/lib/nginx/modules", "/usr/share/nginx/modules"} {
		if _, err := os.Stat(filepath.Join(d, "ngx_http_lua_module.so")); err == nil {
			modDir = d
			break
		}
	}
	h := &nginxHarness{t: t, bin: bin, dir: t.TempDir(), modDir: modDir}
	sample := sampleDirectives(modDir != "")
	if len(sample) < 60 {
		t.Fatalf("sample has %d directives, want at least 60", len(sample))
	}
	var checked, skipped, cases int
	perModule := map[string]int{}
	for _, name := range sample {
		n, ok := h.check(name)
		cases += n
		if !ok {
			skipped++
			continue
		}
		checked++
		perModule[Lookup(name)[0].Module]++
	}
	dupCases := h.checkHandlerDuplicates()
	t.Logf("nginx -t: %d directives checked over %d modules with %d configurations, %d skipped (module not in this build); %d duplicate cases of modules' own handlers",
		checked, len(perModule), cases+dupCases, skipped, dupCases)
	if checked < 60 {
		t.Errorf("only %d directives could be checked against this nginx, want at least 60", checked)
	}
}

// checkHandlerDuplicates writes directives whose module parses them itself
// twice in one block: nginx says "is duplicate" exactly when the table's
// Dup says so. The generator reads Dup from the handler's body (an
// "is duplicate" returned whatever the arguments); limit_conn, mirror,
// proxy_redirect and proxy_cookie_path refuse only some repetitions (the
// same zone, "off" with others) and must accept these.
func (h *nginxHarness) checkHandlerDuplicates() int {
	cases := []struct {
		ctx         Context
		name, first string
		second      string // "" repeats first
		lua         bool
	}{
		{HTTPLoc, "proxy_pass", "proxy_pass http://127.0.0.1:1;", "", false},
		{HTTPLoc, "root", "root /tmp;", "", false},
		{HTTPLoc, "expires", "expires 1h;", "", false},
		{HTTPLoc, "try_files", "try_files $uri =404;", "", false},
		{HTTPLoc, "internal", "internal;", "", false},
		{HTTPLoc, "auth_basic", `auth_basic "x";`, "", false},
		{HTTPSrv, "resolver", "resolver 127.0.0.1;", "", false},
		{HTTPUps, "keepalive", "keepalive 8;", "", false},
		{Main, "worker_processes", "worker_processes 1;", "", false},
		{Events, "use", "use epoll;", "", false},
		{HTTPLoc, "content_by_lua_block", "content_by_lua_block { ngx.say(1) }", "", true},
		{HTTPMain, "lua_package_path", `lua_package_path "/tmp/?.lua;;";`, "", true},
		{HTTPLoc, "limit_conn", "limit_conn z 1;", "limit_conn y 2;", false},
		{HTTPLoc, "mirror", "mirror /m1;", "mirror /m2;", false},
		{HTTPLoc, "proxy_redirect", "proxy_redirect http://a/ /;", "proxy_redirect http://b/ /;", false},
		{HTTPLoc, "proxy_cookie_path", "proxy_cookie_path /a /b;", "proxy_cookie_path /c /d;", false},
		{HTTPLoc, "add_header", "add_header X-A a;", "", false},
		{HTTPLoc, "set", "set $a 1;", "", false},
		{HTTPLoc, "rewrite", "rewrite ^ /x;", "", false},
	}
	n := 0
	for _, c := range cases {
		if c.lua && h.modDir == "" {
			continue
		}
		second := c.second
		if second == "" {
			second = c.first
		}
		want := true
		for _, e := range Allowed(Lookup(c.name), c.ctx) {
			want = want && e.Dup
		}
		n++
		got := h.runWith(c.ctx, c.first+"\n"+second, "limit_conn_zone $binary_remote_addr zone=z:1m;\nlimit_conn_zone $server_name zone=y:1m;")
		// lua-nginx-module's block parser prints the handler's answer
		// without the directive's name.
		dup := got == fmt.Sprintf("%q directive is duplicate", c.name) || got == "is duplicate"
		if dup != want || (!dup && got != "") {
			h.t.Errorf("%s twice in %s: nginx says %q; the table's Dup is %v", c.name, c.ctx, got, want)
		}
	}
	return n
}

func findNginx() string {
	if p := os.Getenv("NGXLINT_NGINX"); p != "" {
		return p
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	return ""
}

// testContexts are the contexts a test configuration can hold with the
// modules Debian builds in or ships (no stream or mail .so is installed).
var testContexts = []Context{Main, Events, HTTPMain, HTTPSrv, HTTPLoc, HTTPUps, HTTPSif, HTTPLif, HTTPLmt}

// sampleDirectives picks, per module nginx builds in by default or that
// Debian ships as a module, up to four directives with a slot parser (whose
// values the table models) and two with a handler of their own, by name
// order: spread over modules and kinds, and the same on every run.
func sampleDirectives(withLua bool) []string {
	skipModule := func(m Module) bool {
		if m.Project == "nginx" {
			// stream and mail are dynamic modules Debian does not
			// install here; the rest of these are not built.
			return strings.HasPrefix(m.Name, "ngx_stream_") || strings.HasPrefix(m.Name, "ngx_mail_")
		}
		return !withLua || m.Name != "ngx_http_lua_module"
	}
	slotN, otherN := map[string]int{}, map[string]int{}
	var out []string
	for _, d := range table {
		m, _ := LookupModule(d.Module)
		if skipModule(m) || d.Until != "" || d.Args&Block != 0 || len(Lookup(d.Name)) != 1 {
			continue
		}
		if d.Contexts&(Main|Events|HTTPMain|HTTPSrv|HTTPLoc|HTTPUps|HTTPSif|HTTPLif|HTTPLmt) == 0 {
			continue
		}
		switch {
		case validValue(d) != nil && slotN[d.Module] < 4:
			slotN[d.Module]++
		case validValue(d) == nil && otherN[d.Module] < 2:
			otherN[d.Module]++
		default:
			continue
		}
		out = append(out, d.Name)
	}
	sort.Strings(out)
	return out
}

// validValue is an argument list the directive's slot parser accepts, nil
// for handlers the table does not model.
func validValue(d Directive) []string {
	switch d.Value {
	case FlagV:
		return []string{"on"}
	case Num:
		if d.Bounded {
			return []string{fmt.Sprint(d.Low)}
		}
		return []string{"4"}
	case Size:
		return []string{"8k"}
	case Off:
		return []string{"1m"}
	case Msec, Sec:
		return []string{"10s"}
	case Bufs:
		return []string{"4", "8k"}
	case Enum, Bitmask:
		return []string{d.Values[0]}
	}
	return nil
}

// badValue is an argument list the slot parser refuses.
func badValue(d Directive) []string {
	switch d.Value {
	case FlagV:
		return []string{"maybe"}
	case Num:
		return []string{"4x"}
	case Size, Off:
		return []string{"8t"}
	case Msec, Sec:
		return []string{"10x"}
	case Bufs:
		return []string{"four", "8k"}
	case Enum, Bitmask:
		return []string{"ngxlint_bogus"}
	}
	return nil
}

type nginxHarness struct {
	t        *testing.T
	bin, dir string
	modDir   string
	runs     int
	reEmerg  *regexp.Regexp
}

// check runs the cases of one directive; ok is false when the build lacks
// its module.
func (h *nginxHarness) check(name string) (runs int, ok bool) {
	d := Lookup(name)[0]
	start := h.runs
	defer func() { runs = h.runs - start }()
	allowed := firstContext(d.Contexts)
	forbidden := Context(0)
	for _, c := range testContexts {
		if d.Contexts&c == 0 {
			forbidden = c
			break
		}
	}
	line := func(args []string) string { return name + " " + strings.Join(args, " ") + ";" }
	valid := validValue(d)
	if valid != nil && d.Values == nil && d.Value == Other {
		valid = nil
	}
	if valid != nil {
		msg := h.run(allowed, line(valid))
		if strings.HasPrefix(msg, "unknown directive") {
			return 0, false
		}
		if msg != "" {
			h.t.Errorf("%s %v in %s: nginx refused a value the table accepts: %s", name, valid, allowed, msg)
		}
		bad := badValue(d)
		want := d.CheckValue(bad)
		if want == nil {
			h.t.Errorf("%s: CheckValue accepts %v", name, bad)
		} else if got := h.run(allowed, line(bad)); got != want.Message {
			h.t.Errorf("%s %v: nginx says %q, the table %q", name, bad, got, want.Message)
		}
		if d.Bounded {
			out := []string{fmt.Sprint(d.Low - 1)}
			if want := d.CheckValue(out); want == nil {
				h.t.Errorf("%s: CheckValue accepts %v below its bound", name, out)
			} else if got := h.run(allowed, line(out)); got != want.Message {
				h.t.Errorf("%s %v: nginx says %q, the table %q", name, out, got, want.Message)
			}
		}
		got := h.run(allowed, line(valid)+"\n"+line(valid))
		if wantDup := fmt.Sprintf("%q directive is duplicate", name); d.Dup && got != wantDup {
			h.t.Errorf("%s twice: nginx says %q, the table says duplicate", name, got)
		} else if !d.Dup && got != "" {
			h.t.Errorf("%s twice: nginx says %q, the table says nginx accepts it", name, got)
		}
	}
	if forbidden != 0 {
		got := h.run(forbidden, line([]string{"x"}))
		if strings.HasPrefix(got, "unknown directive") {
			return h.runs - start, valid != nil
		}
		if want := fmt.Sprintf("%q directive is not allowed here", name); got != want {
			h.t.Errorf("%s in %s: nginx says %q, the table says not allowed", name, forbidden, got)
		}
	}
	for n := 0; n <= maxArgs+1; n++ {
		if d.Args.Accepts(n) {
			continue
		}
		args := make([]string, n)
		for i := range args {
			args[i] = "x"
		}
		got := h.run(allowed, line(args))
		if strings.HasPrefix(got, "unknown directive") {
			return h.runs - start, false
		}
		if want := fmt.Sprintf("invalid number of arguments in %q directive", name); got != want {
			h.t.Errorf("%s with %d arguments: nginx says %q, the table says invalid number", name, n, got)
		}
		break
	}
	return h.runs - start, true
}

func firstContext(c Context) Context {
	for _, x := range testContexts {
		if c&x != 0 {
			return x
		}
	}
	return 0
}

// run writes a configuration with text in context c, runs nginx -t on it
// and returns nginx's first [emerg] message without its "in file:line"
// tail, or "" when the test passed.
func (h *nginxHarness) run(c Context, text string) string { return h.runWith(c, text, "") }

// runWith is run with setup written at the top of the http block.
func (h *nginxHarness) runWith(c Context, text, setup string) string {
	h.runs++
	if h.reEmerg == nil {
		h.reEmerg = regexp.MustCompile(`\[emerg\] \d+#\d+: (.*?)(?: in [^ ]+:\d+)?\n`)
	}
	slot := map[Context]string{}
	slot[c] = text
	var b strings.Builder
	if h.modDir != "" {
		fmt.Fprintf(&b, "load_module %s/ndk_http_module.so;\nload_module %s/ngx_http_lua_module.so;\n", h.modDir, h.modDir)
	}
	fmt.Fprintf(&b, "pid %s/nginx.pid;\n%s\nevents {\n%s\n}\nhttp {\n", h.dir, slot[Main], slot[Events])
	b.WriteString("access_log off;\n" + setup + "\n")
	for _, p := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "%s_temp_path %s/%s;\n", p, h.dir, p)
	}
	fmt.Fprintf(&b, "%s\nupstream u {\nserver 127.0.0.1:1;\n%s\n}\n", slot[HTTPMain], slot[HTTPUps])
	fmt.Fprintf(&b, "server {\nlisten 127.0.0.1:8080;\n%s\nif ($args) {\n%s\n}\n", slot[HTTPSrv], slot[HTTPSif])
	fmt.Fprintf(&b, "location / {\n%s\nif ($args) {\n%s\n}\nlimit_except GET {\n%s\n}\n}\n}\n}\n", slot[HTTPLoc], slot[HTTPLif], slot[HTTPLmt])
	conf := filepath.Join(h.dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		h.t.Fatal(err)
	}
	out, err := exec.Command(h.bin, "-t", "-q", "-p", h.dir, "-c", conf, "-e", "stderr").CombinedOutput()
	if err == nil {
		return ""
	}
	if m := h.reEmerg.FindSubmatch(out); m != nil {
		return string(m[1])
	}
	return strings.TrimSpace(string(out))
}
