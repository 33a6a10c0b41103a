package nginxengine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
)

// TestSyntheticTreeRealNginx: with Scenario.Files, Debian's nginx serves
// the alias traversal's secret and "root /"'s /etc/passwd from the tree
// written into the run's directory, never from the machine's file system:
// a file the tree lacks (/etc/hostname exists on the host) is a 404.
func TestSyntheticTreeRealNginx(t *testing.T) {
	b := realNginx(t)
	const secret = "ngxlint secret outside the alias\n"
	const passwd = "root:x:0:0:ngxlint:/root:/bin/sh\n"
	sc := treeScenario(`events {}
http {
    server {
        listen 80;
        root /;
        location /static {
            alias /srv/app/static/;
        }
    }
}
`)
	sc.Files = fstest.MapFS{
		"srv/app/static/inside.txt":  {Data: []byte("inside\n")},
		"srv/app/ngxlint-secret.txt": {Data: []byte(secret)},
		"etc/passwd":                 {Data: []byte(passwd)},
	}
	sc.Requests = []emulator.Request{{Path: "/static../ngxlint-secret.txt"}, {Path: "/etc/passwd"}, {Path: "/etc/hostname"}, {Path: "/static/inside.txt"}}
	res, err := b.Run(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		code int
		body string
	}{{200, secret}, {200, passwd}, {404, ""}, {200, "inside\n"}}
	for i, w := range want {
		got := res.Requests[i]
		if got.Status.Code != w.code || (w.body != "" && got.Body != w.body) {
			t.Errorf("%s: %d %q, want %d %q", sc.Requests[i].Path, got.Status.Code, got.Body, w.code, w.body)
		}
	}
	moved := 0
	for _, rw := range res.Rewrites {
		if strings.Contains(rw.Why, "synthetic file tree") {
			moved++
			if !strings.HasPrefix(rw.After, "$TMP/files/tree/") {
				t.Errorf("root/alias moved outside the run's tree: %s", rw)
			}
		}
	}
	if moved != 2 {
		t.Errorf("%d root/alias rewritten, want 2: %v", moved, res.Rewrites)
	}
}

// TestSyntheticTreeRefused: what could write outside the run's tree or
// serve a file outside it is refused as not replayable, before any nginx
// runs (noNginx would fail with an exec error otherwise).
func TestSyntheticTreeRefused(t *testing.T) {
	const plain = `events {}
http {
    server {
        listen 80;
        location /static {
            alias /srv/app/static/;
        }
%s
    }
}
`
	ok := fstest.MapFS{"srv/app/secret.txt": {Data: []byte("s\n")}}
	for _, c := range []struct {
		name, extra string
		files       fstest.MapFS
		reason      string
	}{
		{name: "dotdot file name", files: fstest.MapFS{"../escape.txt": {Data: []byte("x")}}, reason: "not a clean relative path"},
		{name: "dotdot inside", files: fstest.MapFS{"srv/../../escape.txt": {Data: []byte("x")}}, reason: "not a clean relative path"},
		{name: "alias with variable", extra: `location ~ ^/u/(.*)$ { alias /home/$1; }`, files: ok, reason: "the path has variables"},
		{name: "root with variable", extra: `location /v/ { root $document_root/x; }`, files: ok, reason: "the path has variables"},
		{name: "alias climbing out", extra: `location /up/ { alias /../../etc/; }`, files: ok, reason: "outside the synthetic tree"},
		{name: "relative root climbing out", extra: `location /rel/ { root ../../..; }`, files: ok, reason: "leaves the copied prefix"},
		{name: "rewrite with dotdot", extra: `location /r/ { rewrite ^ /../../etc/passwd break; }`, files: ok, reason: `"..\" in an argument`},
		{name: "rewrite from raw uri", extra: `location /q/ { rewrite ^ $request_uri break; }`, files: ok, reason: "raw request variable"},
		{name: "rewrite rebuilding dotdot from captures", extra: `location ~ ^/c(.)(.)/ { rewrite ^/c(.)(.)/(.*)$ /$1$2/$1$2/$3 break; }`, files: ok, reason: "$1 in a URI could rebuild"},
		{name: "ssi", extra: `location /s/ { ssi on; }`, files: ok, reason: "SSI includes"},
		{name: "lua", extra: `location /l/ { content_by_lua_block { ngx.say(io.open("/etc/passwd"):read("*a")) } }`, files: ok, reason: "code that can read any file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sc := treeScenario(strings.Replace(plain, "%s", c.extra, 1))
			sc.Files = c.files
			sc.Timeout = time.Second
			_, err := noNginx(t).Run(context.Background(), sc)
			if !errors.Is(err, emulator.ErrNotReplayable) {
				t.Fatalf("not refused as not replayable: %v", err)
			}
			if !strings.Contains(err.Error(), strings.ReplaceAll(c.reason, `\"`, `"`)) {
				t.Errorf("refusal does not say %q: %v", c.reason, err)
			}
		})
	}
}

// TestIntoFiles: absolute paths move into the tree with their trailing
// slash; relative ones, variables and paths leaving the tree stay for
// checkConfined to judge.
func TestIntoFiles(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"/srv/app/static/", "/R/tree/srv/app/static/", true},
		{"/srv/app/media", "/R/tree/srv/app/media", true},
		{"/", "/R/tree/", true},
		{"//", "/R/tree/", true},
		{"/a/../b", "/R/tree/b", true},
		{"/../etc/", "", false},
		{"/home/$1", "", false},
		{"html", "", false},
	} {
		got, ok := intoFiles("/R/tree", c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("intoFiles(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
