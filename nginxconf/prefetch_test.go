package nginxconf

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
)

// prefetchTree is a glob include of many files with everything that makes
// the order of reading matter: nested globs, an include cycle through the
// glob, a directory and an unreadable name among the matches, a Lua file,
// syntax errors, and files of different sizes (so that the directive and
// file limits fall in the middle of the glob).
func prefetchTree() fstest.MapFS {
	fsys := fstest.MapFS{
		"conf/nginx.conf":       {Data: []byte("events {}\nhttp {\n    include sites/*.conf;\n    server { listen 1; }\n}\n")},
		"conf/sites/dir.conf/x": {Data: []byte("")}, // a directory the glob matches
		"conf/sub/a.inc":        {Data: []byte("location /sub-a { return 200; }\n")},
		"conf/sub/b.inc":        {Data: []byte("location /sub-b { content_by_lua_file lua/h.lua; }\n")},
		"lua/h.lua":             {Data: []byte("ngx.say('hi')\n")},
	}
	for i := range 40 {
		var b strings.Builder
		fmt.Fprintf(&b, "server {\n    listen %d;\n    server_name s%d;\n", 1000+i, i)
		for j := range i % 7 {
			fmt.Fprintf(&b, "    location /l%d { proxy_pass http://u%d; proxy_set_header X-A %d; }\n", j, j, j)
		}
		switch i % 10 {
		case 3:
			b.WriteString("    include sub/*.inc;\n")
		case 5:
			b.WriteString("    location /bad { return 200 }\n") // missing ';' before '}'
		case 8:
			b.WriteString("    include sites/s08.conf;\n") // includes itself: a cycle
		}
		b.WriteString("}\n")
		fsys[fmt.Sprintf("conf/sites/s%02d.conf", i)] = &fstest.MapFile{Data: []byte(b.String())}
	}
	return fsys
}

// TestPrefetchSameAsSequential loads the tree with one processor (no
// prefetch) and with several (the glob's files parsed ahead), under limits
// that fall at different places, and wants the same files, tree,
// positions and errors every time.
func TestPrefetchSameAsSequential(t *testing.T) {
	fsys := prefetchTree()
	full := Load(fsys, "conf/nginx.conf", Options{})
	total := 0
	full.Walk(func(*Directive, []*Directive) bool { total++; return true })
	if len(full.Files) < 40 {
		t.Fatalf("the tree loaded %d files", len(full.Files))
	}
	limits := []Options{{}}
	for _, d := range []int{7, total / 3, total / 2, total - 5, total - 1, total} {
		limits = append(limits, Options{MaxDirectives: d})
	}
	for _, n := range []int{2, 10, 25, 41} {
		limits = append(limits, Options{MaxFiles: n})
	}
	limits = append(limits, Options{MaxIncludeDepth: 1})
	for _, o := range limits {
		t.Run(fmt.Sprintf("dirs=%d,files=%d,depth=%d", o.MaxDirectives, o.MaxFiles, o.MaxIncludeDepth), func(t *testing.T) {
			prev := runtime.GOMAXPROCS(1)
			want := dump(Load(fsys, "conf/nginx.conf", o))
			runtime.GOMAXPROCS(4)
			for range 3 {
				if got := dump(Load(fsys, "conf/nginx.conf", o)); got != want {
					t.Fatalf("prefetching load differs from the sequential one:\n--- sequential\n%s\n--- prefetching\n%s", want, got)
				}
			}
			runtime.GOMAXPROCS(prev)
			if !strings.Contains(want, "include cycle") && o.MaxFiles == 0 && o.MaxDirectives == 0 && o.MaxIncludeDepth == 0 {
				t.Errorf("the tree has no include cycle error:\n%s", want)
			}
		})
	}
}
