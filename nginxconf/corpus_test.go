package nginxconf

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// corpusRoot is ../shared/corpus relative to the repository root; tests
// skip when it is absent.
func corpusRoot(t testing.TB) string {
	t.Helper()
	root := filepath.Join("..", "..", "shared", "corpus")
	if _, err := os.Stat(filepath.Join(root, "MANIFEST.jsonl")); err != nil {
		t.Skip("corpus not present:", err)
	}
	return root
}

var nginxErrAt = regexp.MustCompile(` in (\S+):(\d+)$`)

type manifestEntry struct {
	Path   string `json:"path"`
	Role   string `json:"role"`
	NginxT string `json:"nginx_t"`
}

// syntaxErrorPrefixes are the nginx -t messages that come from the
// tokenizer / block parser (ngx_conf_read_token, ngx_conf_parse) rather
// than from directive handlers, i.e. the errors our loader must also find.
var syntaxErrorPrefixes = []string{
	"[emerg] unexpected",
	"[emerg] unknown directive",
}

// TestCorpus loads every configuration of the shared corpus: none may fail
// to load except those whose nginx -t failed with a syntax error.
func TestCorpus(t *testing.T) {
	root := corpusRoot(t)
	mf, err := os.Open(filepath.Join(root, "MANIFEST.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	sc := bufio.NewScanner(mf)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var e manifestEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e.Role == "lua_source" {
			continue
		}
		syntaxErr := false
		for _, p := range syntaxErrorPrefixes {
			if strings.HasPrefix(e.NginxT, "error: "+p) {
				syntaxErr = true
			}
		}
		n++
		cfg := Load(os.DirFS(root), e.Path, Options{})
		checkInvariants(t, cfg)
		if _, err := cfg.MarshalParseJSON(); err != nil {
			t.Errorf("%s: json: %v", e.Path, err)
		}
		BuildModel(cfg)
		if syntaxErr {
			if len(cfg.Errors) == 0 {
				t.Logf("%s: nginx -t said %q; we found no syntax error", e.Path, e.NginxT)
			}
			continue
		}
		for _, err := range cfg.Errors {
			// Includes that point outside the corpus (absolute system
			// paths such as /etc/nginx/mime.types) cannot be read here;
			// nginx -t ran with those files present.
			if strings.HasPrefix(err.Msg, "include ") && (strings.Contains(err.Msg, "no such file") || strings.Contains(err.Msg, "does not exist")) {
				continue
			}
			// nginx stops at its first error. When it failed for another
			// reason before reaching our error, it never saw that part of
			// the file, so its verdict does not contradict ours.
			if m := nginxErrAt.FindStringSubmatch(e.NginxT); m != nil && strings.HasPrefix(e.NginxT, "error:") {
				at := err.Pos.Line
				if strings.HasPrefix(err.Msg, "unexpected end of file") {
					// Found at the end of the file, reported at the block.
					for _, f := range cfg.Files {
						if f.Path == err.Pos.File {
							at = f.PosAt(len(f.Data)).Line
						}
					}
				}
				if line, _ := strconv.Atoi(m[2]); m[1] == err.Pos.File && line < at {
					t.Logf("%s: %v (after nginx -t's own stop at line %d)", e.Path, err, line)
					continue
				}
			}
			t.Errorf("%s: %v (nginx -t: %s)", e.Path, err, e.NginxT)
		}
	}
	if n == 0 {
		t.Error("no corpus entries")
	}
	t.Logf("loaded %d corpus configurations", n)
}
