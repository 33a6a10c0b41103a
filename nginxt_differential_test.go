package ngxlint_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/ngxlint/ngxlint"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// TestNginxTDifferential is issue 19's measure: real configurations of
// ../shared/corpus that Debian's nginx -t accepts, each edited once per
// kind of mistake (nginxt_mutations_test.go), are checked by the real
// nginx -t (with the Debian dynamic modules loaded, in a temporary prefix)
// and by ngxlint's nginx -t parity checks (load errors and the NGX3*
// rules). For an edit nginx refuses, ngxlint must report an error at the
// line nginx names or at the line of the mistake; for an edit nginx
// accepts, no error at all. The per-kind table goes to the test log, and
// the counts may not fall below what was measured when the checks were
// written (minCaught): raise them as checks improve.
//
// Run alone: go test . -run NginxTDifferential -v
func TestNginxTDifferential(t *testing.T) {
	const bin = "/usr/sbin/nginx"
	if _, err := os.Stat(bin); err != nil {
		t.Skip("no nginx at " + bin + " (CI installs Debian's nginx and libnginx-mod-http-lua)")
	}
	corpus := filepath.Join("..", "shared", "corpus")
	if _, err := os.Stat(filepath.Join(corpus, "MANIFEST.jsonl")); err != nil {
		t.Skip("no ../shared/corpus")
	}
	if testing.Short() {
		t.Skip("runs nginx -t some hundred times")
	}
	nx := newNginxT(t, bin)
	confs := corpusConfigs(t, corpus)

	// The unedited configurations: nginx must still accept them here
	// (the corpus verdicts came from another machine), and ngxlint must
	// report no error on them.
	type job struct {
		conf *corpusConf
		m    mutation
		res  result
	}
	var base []*job
	for _, c := range confs {
		base = append(base, &job{conf: c, m: mutation{kind: "unedited", text: c.files[c.target]}})
	}
	runAll := func(jobs []*job) {
		parallel(len(jobs), func(i int) {
			j := jobs[i]
			files := maps(j.conf.files)
			files[j.conf.target] = j.m.text
			j.res = compare(nx, files, j.conf.target, j.m)
		})
	}
	runAll(base)
	var jobs []*job
	var baseAlarms []string
	usable := 0
	for _, b := range base {
		if b.res.nginxErr != "" {
			t.Logf("skipped %s: nginx -t refuses it here: %s", b.conf.path, b.res.nginxErr)
			continue
		}
		usable++
		if len(b.res.ours) > 0 {
			baseAlarms = append(baseAlarms, fmt.Sprintf("%s: %s", b.conf.path, b.res.ours[0]))
		}
		for _, holdout := range []bool{false, true} {
			for _, m := range mutate(b.conf.target, b.conf.files[b.conf.target], holdout) {
				jobs = append(jobs, &job{conf: b.conf, m: m})
			}
		}
	}
	runAll(jobs)

	type row struct{ rejected, caught, elsewhere, accepted, alarms int }
	table := map[string]*row{}
	for _, j := range jobs {
		r := table[j.m.kind]
		if r == nil {
			r = &row{}
			table[j.m.kind] = r
		}
		res := j.res
		switch {
		case res.nginxErr != "" && res.caught:
			r.rejected++
			r.caught++
		case res.nginxErr != "":
			r.rejected++
			if neutral(j.m.kind) {
				t.Logf("nginx refuses a neutral edit [%s] %s (%s): %s", j.m.kind, j.conf.path, j.m.what, res.nginxErr)
			}
			if len(res.ours) > 0 {
				r.elsewhere++
			}
			if testing.Verbose() {
				t.Logf("missed [%s] %s (%s): nginx: %s; ngxlint: %v", j.m.kind, j.conf.path, j.m.what, res.nginxErr, res.ours)
			}
		default:
			r.accepted++
			if len(res.ours) > 0 {
				r.alarms++
				t.Logf("FALSE ALARM [%s] %s (%s): nginx accepts; ngxlint: %v", j.m.kind, j.conf.path, j.m.what, res.ours)
			}
		}
	}
	kinds := make([]string, 0, len(table))
	for k := range table {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var b strings.Builder
	fmt.Fprintf(&b, "nginx -t differential: %d corpus configurations (%d usable), %d edits\n", len(confs), usable, len(jobs))
	fmt.Fprintf(&b, "%-28s %9s %7s %10s %9s %7s\n", "kind", "rejected", "caught", "elsewhere", "accepted", "alarms")
	var tot, hold row
	for _, k := range kinds {
		r := table[k]
		fmt.Fprintf(&b, "%-28s %9d %7d %10d %9d %7d\n", k, r.rejected, r.caught, r.elsewhere, r.accepted, r.alarms)
		sum := &tot
		if strings.HasPrefix(k, "holdout/") {
			sum = &hold
		}
		sum.rejected += r.rejected
		sum.caught += r.caught
		sum.elsewhere += r.elsewhere
		sum.accepted += r.accepted
		sum.alarms += r.alarms
	}
	fmt.Fprintf(&b, "%-28s %9d %7d %10d %9d %7d\n", "total", tot.rejected, tot.caught, tot.elsewhere, tot.accepted, tot.alarms)
	fmt.Fprintf(&b, "%-28s %9d %7d %10d %9d %7d\n", "holdout total", hold.rejected, hold.caught, hold.elsewhere, hold.accepted, hold.alarms)
	fmt.Fprintf(&b, "unedited configurations with an ngxlint error: %d", len(baseAlarms))
	t.Log(b.String())

	for _, a := range baseAlarms {
		t.Errorf("ngxlint reports an error on a configuration nginx accepts: %s", a)
	}
	if tot.alarms+hold.alarms > 0 {
		t.Errorf("%d false alarms on edits nginx accepts (want 0)", tot.alarms+hold.alarms)
	}
	if hold.caught < minHoldoutCaught {
		t.Errorf("holdout: caught %d, was %d: a check got worse (or the corpus changed)", hold.caught, minHoldoutCaught)
	}
	if usable < 40 {
		t.Errorf("only %d corpus configurations usable: the harness lost its sample", usable)
	}
	for kind, min := range minCaught {
		if r := table[kind]; r == nil || r.caught < min {
			got := 0
			if r != nil {
				got = r.caught
			}
			t.Errorf("%s: caught %d, was %d: a check got worse (or the corpus changed)", kind, got, min)
		}
	}
}

// minCaught is the ratchet: per kind, the edits nginx refuses that
// ngxlint caught at the right place when last measured on Debian's nginx
// 1.22.1 with ngx_lua 0.10.23 (see the test log's table), with the
// directive rules (NGX3001-NGX3007), the handler checks of
// directives/handlers.go and rules/directive_handlers.go (listen,
// lua_shared_dict, return, error_page, upstream server, cache zones and
// paths) and the parser's checks: every refused edit of the corpus.
var minCaught = map[string]int{
	"semicolon":      64,
	"braces/missing": 35,
	"braces/extra":   34,
	"misspelt":       66,
	"context":        34,
	"args/none":      64,
	"args/extra":     61,
	"duplicate":      44,
	"value/flag":     9,
	"value/number":   46,
}

// minHoldoutCaught is the ratchet of the holdout set (mutate): the edits
// of every kind nginx refuses that ngxlint caught when last measured.
var minHoldoutCaught = 456

// corpusConf is a corpus configuration laid out for one nginx -t run.
type corpusConf struct {
	path   string            // the corpus file (MANIFEST path)
	files  map[string]string // the temporary tree: name -> content
	target string            // the file of files that is edited
}

// corpusConfigs reads the manifest: configurations nginx -t accepted as
// they are (main context, no includes of other corpus files, nothing
// substituted), and http / server fragments, which are wrapped the way
// the manifest says they were checked.
func corpusConfigs(t *testing.T, corpus string) []*corpusConf {
	f, err := os.Open(filepath.Join(corpus, "MANIFEST.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*corpusConf
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct {
			Path     string   `json:"path"`
			Verdict  string   `json:"nginx_t"`
			Context  string   `json:"nginx_t_context"`
			Notes    string   `json:"nginx_t_notes"`
			Includes []string `json:"includes_in_corpus"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("MANIFEST.jsonl: %v", err)
		}
		if e.Verdict != "ok" || len(e.Includes) > 0 || strings.Contains(e.Notes, "substituted") ||
			strings.Contains(e.Notes, "certificate") || strings.Contains(e.Notes, "copied") || strings.Contains(e.Notes, "user/group") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(corpus, e.Path))
		if err != nil {
			t.Fatal(err)
		}
		c := &corpusConf{path: e.Path, files: map[string]string{}}
		switch e.Context {
		case "main":
			c.target = "nginx.conf"
			if f := nginxconf.ParseString("x", string(data)); !slices.ContainsFunc(f.Directives, func(d *nginxconf.Directive) bool { return d.Name == "events" }) {
				// Test::Nginx adds the events block; so does the
				// corpus's own nginx -t. At the end: lines do not move.
				data = append(data, "\nevents {}\n"...)
			}
		case "http":
			c.target = "frag.conf"
			c.files["nginx.conf"] = "events {}\nhttp {\n    include frag.conf;\n}\n"
		case "server":
			c.target = "frag.conf"
			c.files["nginx.conf"] = "events {}\nhttp {\n    server {\n        listen 8080;\n        include frag.conf;\n    }\n}\n"
		default:
			continue
		}
		c.files[c.target] = string(data)
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// result is what both sides said about one tree.
type result struct {
	nginxErr string   // nginx -t's error, "" if it accepts
	ours     []string // ngxlint's errors, "file:line: message"
	caught   bool     // one of ours is at nginx's line or the mistake's
}

// compare runs both sides on files, target being the edited file.
func compare(nx *nginxT, files map[string]string, target string, m mutation) result {
	var res result
	nfile, nline, msg := nx.run(files)
	res.nginxErr = msg
	want := map[int]bool{}
	if nfile == target {
		want[nline] = true
	}
	for _, off := range m.mistake {
		want[1+strings.Count(m.text[:min(off, len(m.text))], "\n")] = true
	}
	fsys := fstest.MapFS{}
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text)}
	}
	rep, err := ngxlint.Check(context.Background(), fsys, []string{"nginx.conf"}, ngxlint.Options{
		Versions: "nginx=" + nx.version,
		Enable:   []string{"NGX3*"},
	})
	if err != nil {
		res.ours = append(res.ours, "check failed: "+err.Error())
		return res
	}
	add := func(file string, line int, text string) {
		res.ours = append(res.ours, fmt.Sprintf("%s:%d: %s", file, line, text))
		if path.Base(file) == target && want[line] {
			res.caught = true
		}
	}
	for _, e := range rep.Errors {
		add(e.File, e.Line, e.Message)
	}
	for _, f := range rep.Findings {
		if f.Severity == "error" {
			add(f.File, f.Line, f.Rule+" "+f.Message)
		}
	}
	return res
}

// nginxT runs the installed nginx -t on a tree in a fresh temporary
// prefix, loading the dynamic modules Debian enables (ndk, lua), with the
// error log and pid file in that prefix. nginx -t opens files (logs) but
// binds no socket, so the corpus's listen addresses are left as written.
type nginxT struct {
	bin, version string
	modules      []string
	dir          string
}

func newNginxT(t *testing.T, bin string) *nginxT {
	out, err := exec.Command(bin, "-v").CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -v: %v: %s", err, out)
	}
	m := regexp.MustCompile(`nginx/(\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("nginx -v: no version in %q", out)
	}
	nx := &nginxT{bin: bin, version: string(m[1]), dir: t.TempDir()}
	// The order matters: the lua module needs ndk's symbols.
	for _, so := range []string{"ndk_http_module.so", "ngx_http_lua_module.so"} {
		for _, d := range []string{"/usr/lib/nginx/modules", "/usr/share/nginx/modules"} {
			if _, err := os.Stat(filepath.Join(d, so)); err == nil {
				nx.modules = append(nx.modules, filepath.Join(d, so))
				break
			}
		}
	}
	return nx
}

var nginxPlace = regexp.MustCompile(` in (\S+):(\d+)\s*$`)

// run returns nginx -t's error ("" when it accepts) and the file and line
// it names.
func (nx *nginxT) run(files map[string]string) (file string, line int, msg string) {
	dir, err := os.MkdirTemp(nx.dir, "t")
	if err != nil {
		return "", 0, "harness: " + err.Error()
	}
	defer os.RemoveAll(dir)
	if err := os.Mkdir(filepath.Join(dir, "logs"), 0o755); err != nil {
		return "", 0, "harness: " + err.Error()
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return "", 0, "harness: " + err.Error()
		}
	}
	// Relative load_module paths (modules/x.so, as Debian's
	// modules-enabled files write them) resolve against the prefix.
	for _, d := range []string{"/usr/lib/nginx/modules", "/usr/share/nginx/modules"} {
		if _, err := os.Stat(d); err == nil {
			_ = os.Symlink(d, filepath.Join(dir, "modules"))
			break
		}
	}
	main := files["nginx.conf"]
	var g strings.Builder
	if !regexp.MustCompile(`(?m)^\s*load_module\s|modules-enabled`).MatchString(main) {
		for _, m := range nx.modules {
			g.WriteString("load_module " + m + "; ")
		}
	}
	g.WriteString("error_log " + filepath.Join(dir, "logs", "error.log") + "; ")
	if !regexp.MustCompile(`(?m)^\s*pid\s`).MatchString(main) {
		g.WriteString("pid " + filepath.Join(dir, "logs", "nginx.pid") + ";")
	}
	out, err := exec.Command(nx.bin, "-t", "-q", "-p", dir+"/", "-c", filepath.Join(dir, "nginx.conf"), "-g", g.String()).CombinedOutput()
	if err == nil {
		return "", 0, ""
	}
	for _, l := range strings.Split(string(out), "\n") {
		if i := strings.Index(l, "[emerg]"); i >= 0 {
			msg = strings.TrimSpace(l[i:])
			if m := nginxPlace.FindStringSubmatch(msg); m != nil {
				fmt.Sscan(m[2], &line)
				file = filepath.Base(m[1])
				msg = strings.Replace(msg, dir+"/", "", 1)
			}
			return file, line, msg
		}
	}
	return "", 0, strings.TrimSpace(string(out))
}

// parallel calls fn(0..n-1) on as many workers as processors: each call
// starts an nginx process, which is the cost.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(runtime.NumCPU(), n) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func maps(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
