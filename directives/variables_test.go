package directives

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/versions"
)

// TestVariablesAgainstNginx checks the table against the installed nginx
// (Debian's 1.22.1 in CI): every http variable the table says 1.22.1 has,
// from a module compiled into that binary, must be accepted by nginx -t,
// and every one it says 1.22.1 lacks must be refused. A module the binary
// has is read from nginx -V (--with-X_module, not =dynamic) or is one of
// those built by default.
func TestVariablesAgainstNginx(t *testing.T) {
	const bin = "/usr/sbin/nginx"
	if _, err := os.Stat(bin); err != nil {
		t.Skip("no nginx installed")
	}
	out, err := exec.Command(bin, "-V").CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -V: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`nginx version: nginx/(\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no version in %s", out)
	}
	ng := versions.MustParse(string(m[1]))
	built := func(source string) bool {
		base := strings.TrimSuffix(filepath.Base(source), ".c")
		if !strings.Contains(source, "/modules/") {
			return true // core: ngx_http_variables.c, ngx_http_upstream.c
		}
		mod := strings.TrimPrefix(base, "ngx_http_")
		mod = strings.TrimSuffix(strings.TrimSuffix(mod, "_filter_module"), "_module")
		switch mod {
		case "browser", "fastcgi", "grpc", "limit_conn", "limit_req", "proxy", "referer", "gzip",
			"userid", "ssi", "map", "geo", "split_clients", "upstream_keepalive", "memcached":
			return true // built unless --without-http_X_module
		}
		return regexp.MustCompile(`--with-http_` + mod + `_module(\s|$)`).Match(out)
	}
	var have, lack []string
	for _, v := range builtinVariables {
		if v.Stream || v.Module != "" || strings.HasPrefix(v.Source, "src/http/v3/") {
			continue
		}
		name := v.Name
		if v.Prefix {
			name += "x"
		}
		if v.In(ng) {
			if built(v.Source) {
				have = append(have, name)
			}
		} else if len(LookupVariable(name, false)) == len(lookupIn(name, ng)) {
			// Not in this release under any entry (a variable that moved
			// files has two).
			lack = append(lack, name)
		}
	}
	if len(have) < 100 {
		t.Fatalf("only %d variables to check: table or filter broken", len(have))
	}
	run := func(names []string) (bool, string) {
		dir := t.TempDir()
		var b strings.Builder
		b.WriteString("events {}\nhttp {\n    log_format all '")
		for _, n := range names {
			b.WriteString("$" + n + " ")
		}
		b.WriteString("';\n}\n")
		conf := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "-t", "-q", "-p", dir+"/", "-c", conf,
			"-g", "error_log "+filepath.Join(dir, "error.log")+"; pid "+filepath.Join(dir, "nginx.pid")+";").CombinedOutput()
		return err == nil, string(out)
	}
	if ok, msg := run(have); !ok {
		t.Errorf("nginx %s refuses variables the table says it has: %s", ng, msg)
	}
	t.Logf("nginx %s accepts the %d variables the table gives it", ng, len(have))
	for _, n := range lack {
		if ok, _ := run([]string{n}); ok {
			t.Errorf("nginx %s accepts $%s, which the table says it lacks", ng, n)
		}
	}
	t.Logf("and refuses the %d it lacks", len(lack))
}

// lookupIn is LookupVariable limited to release ng.
func lookupIn(name string, ng versions.Version) []Variable {
	var out []Variable
	for _, v := range LookupVariable(name, false) {
		if !v.In(ng) {
			out = append(out, v)
		}
	}
	return out
}

// TestLookupVariable checks the lookups the rule relies on: exact names,
// prefixes (longer names only), http and stream apart, release ranges.
func TestLookupVariable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream bool
		want   bool
	}{
		{"request_uri", false, true},
		{"http_x_forwarded_for", false, true},
		{"http_", false, false}, // the prefix alone is no variable
		{"arg_id", false, true},
		{"upstream_http_location", false, true},
		{"echo_timer_elapsed", false, true},
		{"connection_upgrade", false, false},
		{"request_uri", true, false},
		{"ssl_preread_server_name", true, true},
		{"remote_addr", true, true},
	} {
		if got := len(LookupVariable(tc.name, tc.stream)) > 0; got != tc.want {
			t.Errorf("LookupVariable(%q, stream=%v) found=%v, want %v", tc.name, tc.stream, got, tc.want)
		}
	}
	vs := LookupVariable("connection_time", false)
	if len(vs) != 1 || vs[0].In(versions.MustParse("1.19.9")) || !vs[0].In(versions.MustParse("1.19.10")) {
		t.Errorf("connection_time: %+v, want since 1.19.10", vs)
	}
}
