package luacheck

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/nginxconf"
)

// diffCodes are the luacheck codes the differential test compares.
var diffCodes = []string{"111", "112", "113", "143", "211", "212", "213", "311", "421", "422", "423", "511"}

// luacheckStd is the std both sides use: luacheck's ngx_lua (luajit + ngx).
const luacheckStd = "ngx_lua"

// allowedDisagreements lists every known disagreement with luacheck 1.1.0,
// as "file:line:code:side" where side is "ours" (only we report it) or
// "theirs" (only luacheck does). Each is explained in DIFFERENCES.md; the
// test fails on any disagreement not listed here, and on a listed one that
// no longer happens (so the list cannot go stale).
var allowedDisagreements = map[string]bool{
	// ngx.worker.pids exists since lua-nginx-module 0.10.23; luacheck's
	// ngx_lua std stops at 0.10.10 (DIFFERENCES.md, "ngx fields").
	"openresty.lua:20:W143:theirs": true,
}

// luacheckPath finds luacheck; the test skips without it, except in CI.
func luacheckPath(t testing.TB) string {
	p, err := exec.LookPath("luacheck")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("luacheck not found but CI=true: install Debian's lua-check")
		}
		t.Skip("luacheck not installed; skipping the differential test")
	}
	return p
}

var plainLine = regexp.MustCompile(`^(.*):(\d+):(\d+): \(W(\d+)\)`)

// runLuacheck returns "line:Wcode" occurrences per file.
func runLuacheck(t *testing.T, bin string, files []string) map[string][]string {
	args := []string{"--codes", "--formatter", "plain", "--std", luacheckStd, "--no-config", "--no-cache", "--only"}
	args = append(args, diffCodes...)
	args = append(args, "--")
	args = append(args, files...)
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	_ = cmd.Run() // exit status 1/2 means warnings/errors found
	res := map[string][]string{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		m := plainLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		res[m[1]] = append(res[m[1]], m[2]+":W"+m[4])
	}
	return res
}

func ourCodes(t *testing.T, file string) []string {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r := Analyze(&nginxconf.LuaChunk{Code: string(b), Pos: nginxconf.Pos{File: file, Line: 1, Column: 1},
		Origin: nginxconf.LuaFile, Path: file, Context: "content_by_lua"}, Options{})
	if len(r.InternalErrors) > 0 {
		t.Fatalf("%s: %v", file, r.InternalErrors)
	}
	want := map[string]bool{}
	for _, c := range diffCodes {
		want["W"+c] = true
	}
	var out []string
	for _, w := range r.Warnings {
		if want[w.Code] {
			out = append(out, fmt.Sprintf("%d:%s", w.Pos.Line, w.Code))
		}
	}
	return out
}

// diff returns items only in a and only in b (multisets).
func diffMultiset(a, b []string) (onlyA, onlyB []string) {
	count := map[string]int{}
	for _, x := range a {
		count[x]++
	}
	for _, x := range b {
		count[x]--
	}
	for k, n := range count {
		for ; n > 0; n-- {
			onlyA = append(onlyA, k)
		}
		for ; n < 0; n++ {
			onlyB = append(onlyB, k)
		}
	}
	sort.Strings(onlyA)
	sort.Strings(onlyB)
	return
}

func diffCorpus(t *testing.T) []string {
	files, _ := filepath.Glob("testdata/diff/*.lua")
	corpus := "../../shared/corpus"
	if _, err := os.Stat(corpus); err == nil {
		_ = filepath.Walk(corpus, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && strings.HasSuffix(p, ".lua") {
				files = append(files, p)
			}
			return nil
		})
	} else {
		t.Logf("corpus %s absent: differential runs on testdata/diff only", corpus)
	}
	sort.Strings(files)
	return files
}

func TestDifferentialLuacheck(t *testing.T) {
	bin := luacheckPath(t)
	files := diffCorpus(t)
	if len(files) == 0 {
		t.Fatal("no Lua files")
	}
	theirs := runLuacheck(t, bin, files)
	seen := map[string]bool{}
	agree, disagree := 0, 0
	for _, f := range files {
		ours := ourCodes(t, f)
		onlyOurs, onlyTheirs := diffMultiset(ours, theirs[f])
		agree += len(ours) - len(onlyOurs)
		key := filepath.ToSlash(f)
		if i := strings.Index(key, "shared/corpus/"); i >= 0 {
			key = "corpus:" + key[i+len("shared/corpus/"):]
		} else {
			key = filepath.Base(f)
		}
		for _, x := range onlyOurs {
			k := key + ":" + x + ":ours"
			seen[k] = true
			disagree++
			if !allowedDisagreements[k] {
				t.Errorf("new disagreement: %s (we report, luacheck does not)", k)
			}
		}
		for _, x := range onlyTheirs {
			k := key + ":" + x + ":theirs"
			seen[k] = true
			disagree++
			if !allowedDisagreements[k] {
				t.Errorf("new disagreement: %s (luacheck reports, we do not)", k)
			}
		}
	}
	for k := range allowedDisagreements {
		if !seen[k] {
			t.Errorf("listed disagreement %s no longer happens: remove it from allowedDisagreements and DIFFERENCES.md", k)
		}
	}
	t.Logf("%d files, %d agreeing warnings, %d listed disagreements", len(files), agree, disagree)
}
