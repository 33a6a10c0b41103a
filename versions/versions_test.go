package versions

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestCompare(t *testing.T) {
	ordered := []string{"0.9.20", "0.10.0", "0.10.1rc0", "0.10.1rc1", "0.10.1", "0.10.7", "0.10.8", "0.10.29", "0.10.29R2", "0.10.30RC1", "0.10.30rc2", "0.10.30", "0.10.31rc2", "0.10.31rc5", "1.9.7", "1.9.12", "1.9.13", "1.29.2.3", "1.29.2.4", "1.29.8.1rc1", "1.29.8.1"}
	for i := range ordered {
		for j := range ordered {
			a, b := MustParse(ordered[i]), MustParse(ordered[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := a.Compare(b); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", a, b, got, want)
			}
		}
	}
	if !MustParse("1.9").AtLeast("1.9.0") || MustParse("1.9").Less("1.9.0") {
		t.Error("1.9 should equal 1.9.0")
	}
	if !MustParse("v0.10.23").InRange("0.10.1", "0.10.27") || MustParse("0.10.27").InRange("0.10.1", "0.10.27") {
		t.Error("InRange is half-open [from, to)")
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"", "abc", "1..2", "1.2.3.4.5", "1.2x", "1.2.rc1", "99999999999.1"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) succeeded, want error", s)
		}
	}
}

// TestBundlesMatchKnowledgeFile checks every row of the knowledge file's
// OpenResty table against the bundle table (skipped when shared/ is absent).
func TestBundlesMatchKnowledgeFile(t *testing.T) {
	data, err := os.ReadFile("../../shared/knowledge/nginx-lua-upstream.md")
	if err != nil {
		t.Skipf("knowledge file not available: %v", err)
	}
	// Rows look like: | 1.9.7.2 / .3 | 1.9.7 | 0.10.0 | 0.1.4 | notes |
	// or | 1.13.6.1 / .2 | 1.13.6 | 0.10.11 / 0.10.13 | 0.1.13 / 0.1.15 | |
	// or | 1.21.4.2–.4 | ... |.
	row := regexp.MustCompile(`(?m)^\| (1\.[0-9.]+(?:rc1)?)(?: \(\S+\))?((?: / \.\d)*|–\.\d)? \| (1\.[0-9.]+) \| ([^|]+)\| ([^|]+)\|`)
	rows := row.FindAllStringSubmatch(string(data), -1)
	if len(rows) < 20 {
		t.Fatalf("parsed only %d rows from the knowledge file", len(rows))
	}
	seen := 0
	for _, m := range rows {
		first := m[1]
		ors := []string{first}
		base := first[:strings.LastIndex(first, ".")+1]
		switch suf := m[2]; {
		case strings.HasPrefix(suf, "–."):
			from := first[strings.LastIndex(first, ".")+1:]
			to := suf[len("–."):]
			for n := from[0] + 1; n <= to[0]; n++ {
				ors = append(ors, base+string(n))
			}
		case suf != "":
			for _, s := range strings.Split(strings.TrimSpace(suf), "/") {
				if s = strings.TrimSpace(s); s != "" {
					ors = append(ors, base+strings.TrimPrefix(s, "."))
				}
			}
		}
		lnms := strings.Split(strings.TrimSpace(m[4]), " / ")
		cores := strings.Split(strings.TrimSpace(m[5]), " / ")
		for i, or := range ors {
			b, ok := LookupBundle(or)
			if !ok {
				t.Errorf("OpenResty %s from the knowledge file is missing from the table", or)
				continue
			}
			lnm, core := lnms[0], cores[0]
			if len(lnms) == len(ors) {
				lnm, core = expandAbbrev(lnms[0], lnms[i]), expandAbbrev(cores[0], cores[i])
			}
			if b.Nginx != m[3] || !strings.EqualFold(b.LNM, strings.TrimSpace(lnm)) || !strings.EqualFold(b.Core, strings.TrimSpace(core)) {
				t.Errorf("OpenResty %s: table has nginx %s lnm %s core %s; knowledge file says %s %s %s", or, b.Nginx, b.LNM, b.Core, m[3], lnm, core)
			}
			seen++
		}
	}
	if seen != len(bundles) {
		t.Errorf("knowledge file rows cover %d bundles, table has %d", seen, len(bundles))
	}
}

func TestResolve(t *testing.T) {
	p, err := Resolve("", "", "1.21.4.1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Nginx.String() != "1.21.4" || p.LNM.String() != "0.10.21" || p.NotifyPatch || !p.StatusCodePatch {
		t.Errorf("1.21.4.1 resolved to %+v", p)
	}
	p, _ = Resolve("", "", "1.29.2.4")
	if !p.NotifyPatch {
		t.Error("1.29.2.4 applies the notify patch")
	}
	p, _ = Resolve("", "", "1.29.2.3")
	if p.NotifyPatch {
		t.Error("1.29.2.3 does not apply the notify patch")
	}
	if _, err := Resolve("1.22.1", "", "1.21.4.1"); err == nil {
		t.Error("conflicting nginx and OpenResty versions must be an error")
	}
	p, err = Resolve("", "", "1.99.1.1")
	if err != nil || p.Nginx.String() != "1.99.1" || p.HasLNM() || len(p.Assumed) != 1 {
		t.Errorf("unknown bundle: %+v %v", p, err)
	}
	p, _ = Resolve("", "0.10.0", "")
	if p.HasNginx() {
		t.Error("nginx must stay unknown when only the module is declared")
	}
	c := p.Concrete()
	if c.Nginx.String() != "1.9.7" || len(c.Assumed) != 1 {
		t.Errorf("Concrete of LNM 0.10.0 = %+v", c)
	}
	for lnm, nginx := range map[string]string{"0.10.1": "1.9.7", "0.10.23": "1.22.1", "0.10.24": "1.21.4", "0.10.26": "1.25.3", "0.10.99": "1.22.1"} {
		p, _ := Resolve("", lnm, "")
		if got := p.Concrete().Nginx.String(); got != nginx {
			t.Errorf("Concrete(lnm %s).Nginx = %s, want %s", lnm, got, nginx)
		}
	}
	c = Profile{}.Concrete()
	if c.Nginx.String() != "1.22.1" || c.LNM.String() != "0.10.23" || len(c.Assumed) != 2 {
		t.Errorf("Concrete of unknown = %+v", c)
	}
}

func TestFromNginxV(t *testing.T) {
	// Captured from Debian 12's nginx 1.22.1 (the CI machine), trimmed.
	debian := "nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0.22 25 Aug 2026 (running with OpenSSL 3.0.19 27 Jan 2026)\nTLS SNI support enabled\nconfigure arguments: --with-cc-opt='-g -O2' --prefix=/usr/share/nginx --conf-path=/etc/nginx/nginx.conf --with-compat --with-debug --with-stream=dynamic\n"
	p, note, err := FromNginxV(debian, "")
	if err != nil || p.Nginx.String() != "1.22.1" || p.HasLNM() || note == "" {
		t.Errorf("debian: %+v %q %v", p, note, err)
	}
	p, _, _ = FromNginxV(debian, "0.10.23")
	if p.LNM.String() != "0.10.23" {
		t.Errorf("override ignored: %+v", p)
	}
	or := "nginx version: openresty/1.21.4.1\nbuilt by gcc 10.2.1\nconfigure arguments: --prefix=/usr/local/openresty/nginx --add-module=../ngx_lua-0.10.21 --add-module=../ngx_lua_upstream-0.07\n"
	p, _, err = FromNginxV(or, "")
	if err != nil || p.OpenResty.String() != "1.21.4.1" || p.LNM.String() != "0.10.21" {
		t.Errorf("openresty: %+v %v", p, err)
	}
	custom := "nginx version: nginx/1.9.7\nconfigure arguments: --add-module=/src/lua-nginx-module-0.10.0\n"
	p, _, _ = FromNginxV(custom, "")
	if p.LNM.String() != "0.10.0" || p.Nginx.String() != "1.9.7" {
		t.Errorf("custom build: %+v", p)
	}
	if _, _, err := FromNginxV("garbage", ""); err == nil {
		t.Error("garbage must be an error")
	}
}

// expandAbbrev turns the knowledge file's "0.1.33RC1 / rc2" shorthand into
// "0.1.33rc2": a part with no digits before its suffix borrows the numbers of
// the first part.
func expandAbbrev(first, s string) string {
	s = strings.TrimSpace(s)
	if s != "" && (s[0] < '0' || s[0] > '9') {
		i := strings.IndexFunc(first, func(r rune) bool { return r != '.' && (r < '0' || r > '9') })
		if i > 0 {
			return first[:i] + s
		}
	}
	return s
}

func TestLuaModuleVersion(t *testing.T) {
	for in, want := range map[string]string{
		"\x00--add-dynamic-module=/build/reproducible-path/libnginx-mod-http-lua-0.10.23/.\x00": "0.10.23",
		"../ngx_lua-0.10.21 ":                  "0.10.21",
		"x/lua-nginx-module-0.10.30rc2/src":    "0.10.30rc2",
		"no version here ngx_http_lua_module ": "",
	} {
		got, err := LuaModuleVersion(strings.NewReader(in))
		if err != nil || got != want {
			t.Errorf("LuaModuleVersion(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
