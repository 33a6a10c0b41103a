package fromconf

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// appFixtures is testdata/apps/<app>/ngxlint.yaml: what a user of the app
// would write in .ngxlint.yaml to run its balancer in the emulator
// (path_map and emulate: as cmd/ngxlint reads them, paths relative to the
// fixtures folder), plus the requests to send (the CLI's --requests).
type appFixtures struct {
	// PathMap values starting with "app:" are relative to the app's
	// folder, others to the fixtures folder.
	PathMap map[string]string `yaml:"path_map"`
	Emulate struct {
		SharedDicts map[string]map[string]string `yaml:"shared_dicts"`
		Env         map[string]string            `yaml:"env"`
		Modules     map[string]string            `yaml:"modules"`
		Vars        map[string]string            `yaml:"vars"`
	} `yaml:"emulate"`
	Requests string `yaml:"requests"`
	// Expect is per upstream what the run must show: "reached" (every
	// request reached an emulated backend) or "missing: TEXT" (no request
	// did, and TEXT is in what the emulator says is missing).
	Expect map[string]string `yaml:"expect"`
}

// manifestApp is one line of ../shared/apps/MANIFEST.jsonl.
type manifestApp struct {
	Folder       string            `json:"folder"`
	Prefix       string            `json:"prefix"`
	AbsPathMap   map[string]string `json:"abs_path_map"`
	EntryConfigs []struct {
		Path string `json:"path"`
	} `json:"entry_configs"`
	Balancers []struct {
		Name string `json:"name"`
	} `json:"balancer_upstreams"`
}

func readManifest(t *testing.T, dir string) []manifestApp {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "MANIFEST.jsonl"))
	if err != nil {
		t.Skip("no ../shared/apps")
	}
	defer f.Close()
	var out []manifestApp
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var a manifestApp
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// loadApp loads an app's entry configuration as the CLI would with the
// fixtures folder's .ngxlint.yaml: modules followed, roots the app and the
// fixtures, the manifest's path map plus the fixtures', the manifest's
// prefix; and maps its fixtures to emulator.Fixtures.
func loadApp(t *testing.T, appDir, fxDir string, a manifestApp) (*nginxconf.Model, []string, []nginxconf.PathMapping, appFixtures, emulator.Fixtures) {
	t.Helper()
	var fx appFixtures
	data, err := os.ReadFile(filepath.Join(fxDir, "ngxlint.yaml"))
	if err != nil {
		t.Fatalf("%s: %v (every app with a Lua balancer needs its fixtures file)", a.Folder, err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&fx); err != nil {
		t.Fatalf("%s/ngxlint.yaml: %v", fxDir, err)
	}
	roots := []string{appDir, fxDir}
	opts := nginxconf.Options{Requires: luacheck.Requires, Roots: roots, Prefix: filepath.Join(appDir, a.Prefix)}
	for from, to := range a.AbsPathMap {
		opts.PathMap = append(opts.PathMap, nginxconf.PathMapping{From: from, To: filepath.Join(appDir, to)})
	}
	for from, to := range fx.PathMap {
		// "app:" names a file of the app (a user's .ngxlint.yaml sits in
		// the app's own folder); anything else is in the fixtures folder.
		if rest, ok := strings.CutPrefix(to, "app:"); ok {
			to = filepath.Join(appDir, rest)
		} else {
			to = filepath.Join(fxDir, to)
		}
		opts.PathMap = append(opts.PathMap, nginxconf.PathMapping{From: from, To: to})
	}
	cfg := nginxconf.LoadFile(filepath.Join(appDir, a.EntryConfigs[0].Path), opts)
	var ef emulator.Fixtures
	ef.SharedDicts, ef.Env, ef.Vars = fx.Emulate.SharedDicts, fx.Emulate.Env, fx.Emulate.Vars
	for name, file := range fx.Emulate.Modules {
		// "app:" points at one of the app's own files: a module the app
		// loads by a computed name (require("plugins." .. name ..
		// ".handler")), which the loader does not guess.
		p := filepath.Join(fxDir, file)
		if rest, ok := strings.CutPrefix(file, "app:"); ok {
			p = filepath.Join(appDir, rest)
		}
		code, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%s: emulate.modules.%s: %v", a.Folder, name, err)
		}
		if ef.Modules == nil {
			ef.Modules = map[string]emulator.LuaSource{}
		}
		rel, err := filepath.Rel(filepath.Join(fxDir, "..", "..", ".."), p)
		if err != nil {
			rel = p
		}
		ef.Modules[name] = emulator.LuaSource{Code: string(code), File: filepath.ToSlash(rel), Line: 1, Column: 1, Name: name}
	}
	return nginxconf.BuildModel(cfg), roots, opts.PathMap, fx, ef
}

// TestAppsWithFixtures is issue 15's "done means" for real applications:
// every upstream with balancer_by_lua* in ../shared/apps runs through the
// emulator with its own Lua tree and the init code its configuration
// runs, plus what a user would write as fixtures
// (testdata/apps/<app>/ngxlint.yaml: stubs for third-party modules that
// are not in the app and for modules that talk to the outside world, shared
// dict data, environment, variables), five requests against "ok"
// backends. Each upstream must do what its fixtures file expects: reach
// an emulated backend on every request (the peers chosen are logged), or
// say exactly what is missing. The app's own balancer logic is never
// stubbed.
func TestAppsWithFixtures(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "apps")
	apps := readManifest(t, dir)
	var table []string
	for _, a := range apps {
		if len(a.Balancers) == 0 || len(a.EntryConfigs) == 0 {
			continue
		}
		appDir, err := filepath.Abs(filepath.Join(dir, a.Folder))
		if err != nil {
			t.Fatal(err)
		}
		fxDir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "apps", a.Folder))
		if err != nil {
			t.Fatal(err)
		}
		m, roots, pm, fx, ef := loadApp(t, appDir, fxDir, a)
		used := fixturesUsed(fx)
		for _, b := range a.Balancers {
			got, reached, missing := runAppFixtures(t, m, roots, pm, ef, fx.Requests, b.Name)
			table = append(table, fmt.Sprintf("%s | %s | %s | %s", a.Folder, b.Name, got, used))
			switch want := fx.Expect[b.Name]; {
			case want == "":
				t.Errorf("%s %s: no expect: entry in %s/ngxlint.yaml", a.Folder, b.Name, fxDir)
			case want == "reached":
				if !reached {
					t.Errorf("%s %s: want every request to reach a backend, got %s", a.Folder, b.Name, got)
				}
			case strings.HasPrefix(want, "missing: "):
				if reached || !strings.Contains(missing, strings.TrimPrefix(want, "missing: ")) {
					t.Errorf("%s %s: want %q, got %s", a.Folder, b.Name, want, got)
				}
			default:
				t.Errorf("%s %s: expect %q: want \"reached\" or \"missing: TEXT\"", a.Folder, b.Name, want)
			}
		}
	}
	sort.Strings(table)
	t.Log("app | upstream | result | fixtures\n" + strings.Join(table, "\n"))
}

func fixturesUsed(fx appFixtures) string {
	var parts []string
	keys := func(m map[string]string) string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return strings.Join(ks, ",")
	}
	if len(fx.Emulate.Modules) > 0 {
		parts = append(parts, "stubs "+keys(fx.Emulate.Modules))
	}
	for d, kv := range fx.Emulate.SharedDicts {
		parts = append(parts, fmt.Sprintf("dict %s (%d keys)", d, len(kv)))
	}
	if len(fx.Emulate.Env) > 0 {
		parts = append(parts, "env "+keys(fx.Emulate.Env))
	}
	if len(fx.Emulate.Vars) > 0 {
		parts = append(parts, "vars "+keys(fx.Emulate.Vars))
	}
	if len(fx.PathMap) > 0 {
		parts = append(parts, "files "+keys(fx.PathMap))
	}
	if len(parts) == 0 {
		return "none"
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// runAppFixtures runs one upstream and describes the outcome: reached is
// true when every request reached an emulated backend; missing gathers
// what the emulator says stopped it (start-up error, Lua errors, missing
// modules, outside dependencies, hints).
func runAppFixtures(t *testing.T, m *nginxconf.Model, roots []string, pm []nginxconf.PathMapping, fx emulator.Fixtures, requests, upstream string) (string, bool, string) {
	t.Helper()
	tg, err := Find(m, upstream, "")
	if st, ok := streamAppTarget(m, upstream); ok {
		tg, err = st, nil
	}
	if err != nil {
		u := m.HTTP.UpstreamByName[upstream]
		if u == nil {
			return "not run: " + err.Error(), false, err.Error()
		}
		// proxy_pass built from variables names no upstream
		// statically: take the location whose variable a literal `set`
		// points at the upstream, else run the upstream alone.
		tg = Target{Upstream: u, Location: varLocation(m, upstream), Config: m.Config}
	}
	tg.Files, tg.PathMap = nginxconf.TreeFS(roots, 0), pm
	ec, err := Build(tg)
	if err != nil {
		return "not run: " + err.Error(), false, err.Error()
	}
	if requests == "" {
		requests = "GET /, GET /, GET /, GET /, GET /"
	}
	if ec.Requests, err = emulator.ParseRequests(requests); err != nil {
		t.Fatal(err)
	}
	if len(ec.Requests) != 5 {
		t.Fatalf("%s: %d requests, want 5", upstream, len(ec.Requests))
	}
	ec.DefaultPolicy, _ = emulator.ParsePolicy("ok")
	ec.Fixtures = fx
	ec.Timeout = 5 * time.Second
	ec.LuaTimeout = time.Second
	res, err := emulator.Run(context.Background(), ec)
	if err != nil {
		return "emulator refused the config: " + err.Error(), false, err.Error()
	}
	reached := 0
	var peers []string
	for _, q := range res.Requests {
		var ps []string
		ok := false
		for _, at := range q.Attempts {
			if at.Peer != "" {
				ps = append(ps, at.Peer)
			}
			// 0.0.0.1 is the placeholder server these upstreams write;
			// answering from it means the Lua code set no peer
			// (LNM < 0.10.27 then connects to the server line).
			ok = ok || (at.Outcome == emulator.OutcomeResponse || at.Outcome == emulator.OutcomeProxied) && !strings.HasPrefix(at.Peer, "0.0.0.1:")
		}
		if ok {
			reached++
		}
		if len(ps) == 0 {
			ps = []string{"-"}
		}
		peers = append(peers, strings.Join(ps, ">"))
	}
	var miss []string
	if w := res.Worker; w != nil && w.StartError != "" {
		miss = append(miss, "start: "+firstLine(w.StartError))
		// The app's own error log lines say why, when it caught the
		// error itself before giving up (pcall, then os.exit).
		for _, l := range w.Log {
			if strings.Contains(l, "[error]") || strings.Contains(l, "[crit]") || strings.Contains(l, "[alert]") {
				miss = append(miss, "log: "+firstLine(l))
			}
		}
	}
	if w := res.Worker; w != nil {
		for _, e := range w.Errors {
			miss = append(miss, "worker: "+firstLine(e))
		}
	}
	for _, q := range res.Requests {
		if q.LuaError != "" {
			miss = append(miss, firstLine(q.LuaError))
			break
		}
	}
	if len(res.MissingModules) > 0 {
		miss = append(miss, "modules "+strings.Join(res.MissingModules, ","))
	}
	for _, d := range res.ExternalDeps {
		miss = append(miss, "external "+d.What)
	}
	miss = append(miss, res.Hints...)
	missing := strings.Join(miss, "; ")
	all := len(res.Requests) > 0 && reached == len(res.Requests)
	out := fmt.Sprintf("%d/5 reached", reached)
	if len(res.Requests) > 0 {
		out += ", peers " + strings.Join(peers, " ")
	}
	switch {
	case all && len(res.ExternalDeps) > 0:
		// What the fixtures stood in for was still tried and refused.
		out += fmt.Sprintf(" (%d outside calls refused)", len(res.ExternalDeps))
	case !all && missing != "":
		out += " (" + missing + ")"
	}
	return out, all, missing
}

// varLocation finds a location with `proxy_pass $v` where a `set $v
// "http://<upstream>"` of the location or its server gives the variable a
// literal value naming upstream (yumchina's pulsar proxy writes
// set $upstream_url 'http://default_upstream'; proxy_pass $upstream_url).
// fromconf.Find does not follow variables; this is the test's stand-in.
func varLocation(m *nginxconf.Model, upstream string) *nginxconf.Location {
	for _, s := range m.HTTP.Servers {
		for _, l := range s.AllLocations {
			pp := l.Proxy.Pass
			if pp == nil || !strings.HasPrefix(pp.Target, "$") {
				continue
			}
			v := strings.TrimPrefix(pp.Target, "$")
			for _, sc := range []*nginxconf.Scope{&l.Scope, &s.Scope} {
				for _, d := range sc.Own("set") {
					if d.Arg(0) == "$"+v && strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(d.Arg(1), "http://"), "https://"), "/") == upstream {
						return l
					}
				}
			}
		}
	}
	return nil
}
