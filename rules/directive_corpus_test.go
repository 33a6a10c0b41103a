package rules

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/analyzer"
	dirs "github.com/ngxlint/ngxlint/directives"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// directiveRules are the NGX3xxx rules.
func directiveRules() []*analyzer.Rule {
	return []*analyzer.Rule{DirectiveUnknown, DirectiveContext, DirectiveArgs, DirectiveValue, DirectiveDuplicate, DirectiveVersion}
}

// debianProfile is the build the shared corpus's and apps' nginx -t
// verdicts were taken with: Debian 12's nginx 1.22.1 with NDK and
// lua-nginx-module 0.10.23 loaded.
func debianProfile(t *testing.T) versions.Profile {
	p, err := versions.Resolve("1.22.1", "0.10.23", "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDirectiveCorpusPrecision is the precision gate of the NGX3xxx rules:
// every configuration of ../shared/corpus that Debian's nginx -t accepts
// gets no error from them, both with nothing declared and with the
// verdicts' versions declared (nginx 1.22.1, lua-nginx-module 0.10.23).
// The modules are left open: the verdicts loaded the Debian module
// packages each file needed (echo, headers-more), which the manifest does
// not list per file.
func TestDirectiveCorpusPrecision(t *testing.T) {
	var paths []string
	for _, e := range corpusManifest(t) {
		// An included file is checked through the file that includes it.
		if e.Verdict == "ok" && e.Context != "included" {
			paths = append(paths, e.Path)
		}
	}
	if len(paths) < 50 {
		t.Fatalf("only %d accepted configurations in the manifest", len(paths))
	}
	for _, run := range []struct {
		name    string
		profile versions.Profile
	}{{"nothing declared", versions.Profile{}}, {"Debian versions declared", debianProfile(t)}} {
		warnings := map[string]int{}
		for _, p := range paths {
			cfg := nginxconf.LoadFile(filepath.Join(corpusRoot, p), nginxconf.Options{})
			if cfg.Main == nil {
				t.Errorf("%s: not loaded", p)
				continue
			}
			res := analyzer.Run(cfg, nginxconf.BuildModel(cfg), directiveRules(), analyzer.Options{Profile: run.profile})
			for _, e := range res.RuleErrors {
				t.Errorf("%s: %v", p, e)
			}
			for _, d := range res.Diagnostics {
				if d.Severity == analyzer.Error {
					t.Errorf("%s (%s): nginx -t accepts it, yet %s %s: %s", p, run.name, d.Pos, d.Rule.ID, d.Message)
				} else {
					warnings[d.Rule.ID+" "+d.Message]++
				}
			}
		}
		t.Logf("%s: %d accepted configurations, no error; warnings: %v", run.name, len(paths), warnings)
	}
}

// TestDirectiveApps runs the NGX3xxx rules over ../shared/apps with the
// build each app's nginx -t verdict was taken with (Debian's nginx 1.22.1,
// lua-nginx-module 0.10.23, and the modules its command loads): every error
// must be one nginx -t reported too (the manifest's blockers, same file
// and line), and each app's findings are logged. Where nginx -t could not
// get past a blocker (passes_after_dropping_blocker_lines false), errors
// after the last blocker cannot be verified that way and are logged.
func TestDirectiveApps(t *testing.T) {
	const root = "../../shared/apps"
	f, err := os.Open(filepath.Join(root, "MANIFEST.jsonl"))
	if err != nil {
		t.Skip("apps not available: ", err)
	}
	defer f.Close()
	reLoad := regexp.MustCompile(`load_module [^;]*/([A-Za-z0-9_]+)\.so;`)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<24), 1<<24)
	total := 0
	for sc.Scan() {
		var app struct {
			Folder       string            `json:"folder"`
			Prefix       string            `json:"prefix"`
			AbsPathMap   map[string]string `json:"abs_path_map"`
			EntryConfigs []struct {
				Path string `json:"path"`
			} `json:"entry_configs"`
			NginxT struct {
				Command  string `json:"command"`
				Passes   bool   `json:"passes_after_dropping_blocker_lines"`
				Blockers []struct {
					Error string `json:"error"`
					File  string `json:"file"`
					Line  int    `json:"line"`
				} `json:"blockers"`
			} `json:"nginx_t"`
		}
		if err := json.Unmarshal(sc.Bytes(), &app); err != nil {
			t.Fatal(err)
		}
		load := []string{}
		for _, m := range reLoad.FindAllStringSubmatch(app.NginxT.Command, -1) {
			load = append(load, m[1])
		}
		mods, err := dirs.NewModuleSet(load, nil)
		if err != nil {
			t.Fatalf("%s: %v", app.Folder, err)
		}
		blocked := map[string]bool{}
		lastBlocker := map[string]int{}
		for _, b := range app.NginxT.Blockers {
			blocked[fmt.Sprintf("%s:%d", b.File, b.Line)] = true
			lastBlocker[b.File] = max(lastBlocker[b.File], b.Line)
		}
		dir := filepath.Join(root, app.Folder)
		for _, ec := range app.EntryConfigs {
			opts := nginxconf.Options{Prefix: app.Prefix, Roots: []string{"."}}
			for from, to := range app.AbsPathMap {
				opts.PathMap = append(opts.PathMap, nginxconf.PathMapping{From: from, To: to})
			}
			sort.Slice(opts.PathMap, func(i, j int) bool { return opts.PathMap[i].From < opts.PathMap[j].From })
			cfg := nginxconf.Load(os.DirFS(dir), ec.Path, opts)
			res := analyzer.Run(cfg, nginxconf.BuildModel(cfg), directiveRules(), analyzer.Options{Profile: debianProfile(t), Modules: mods})
			for _, d := range res.Diagnostics {
				total++
				file := strings.TrimPrefix(d.Pos.File, "/")
				where := fmt.Sprintf("%s:%d", file, d.Pos.Line)
				t.Logf("%s: %s %s %s: %s", app.Folder, where, d.Severity, d.Rule.ID, d.Message)
				unverifiable := !app.NginxT.Passes && d.Pos.Line > lastBlocker[file]
				if d.Severity == analyzer.Error && !blocked[where] && !unverifiable {
					t.Errorf("%s: %s %s: %s, which nginx -t did not report", app.Folder, where, d.Rule.ID, d.Message)
				}
			}
		}
	}
	t.Logf("%d findings over the apps", total)
}
