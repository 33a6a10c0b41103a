package fromconf

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
)

// TestRealApps runs every balancer_by_lua* upstream of the real
// applications in ../shared/apps (see its MANIFEST.jsonl) through
// fromconf and the emulator, five "GET /" requests against "ok" backends,
// using only the app's own files, and reports per upstream whether a
// backend was reached (and which peers) or exactly what was missing. It
// asserts what must hold whatever the app: the run ends, every request
// either reached a backend or carries its Lua error, and a failure on
// every request says so.
func TestRealApps(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "apps")
	f, err := os.Open(filepath.Join(dir, "MANIFEST.jsonl"))
	if err != nil {
		t.Skip("no ../shared/apps")
	}
	defer f.Close()
	type app struct {
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
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var table []string
	for sc.Scan() {
		var a app
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		if len(a.Balancers) == 0 || len(a.EntryConfigs) == 0 {
			continue
		}
		fsys := os.DirFS(filepath.Join(dir, a.Folder))
		opts := nginxconf.Options{Requires: luacheck.Requires, Prefix: a.Prefix}
		for from, to := range a.AbsPathMap {
			opts.PathMap = append(opts.PathMap, nginxconf.PathMapping{From: from, To: to})
		}
		cfg := nginxconf.Load(fsys, a.EntryConfigs[0].Path, opts)
		m := nginxconf.BuildModel(cfg)
		for _, b := range a.Balancers {
			row := a.Folder + " | " + b.Name + " | " + runApp(t, m, fsys, opts.PathMap, b.Name)
			table = append(table, row)
		}
	}
	sort.Strings(table)
	t.Log("app | upstream | result\n" + strings.Join(table, "\n"))
}

func runApp(t *testing.T, m *nginxconf.Model, fsys fs.FS, pm []nginxconf.PathMapping, upstream string) string {
	t.Helper()
	tg, err := Find(m, upstream, "")
	if st, ok := streamAppTarget(m, upstream); ok {
		tg, err = st, nil
	}
	if err != nil {
		// proxy_pass built from variables ($upstream_scheme://name$uri)
		// names no upstream statically: run the upstream alone.
		u := m.HTTP.UpstreamByName[upstream]
		if u == nil {
			return "not run: " + err.Error()
		}
		tg = Target{Upstream: u, Config: m.Config}
	}
	tg.Files, tg.PathMap = fsys, pm
	ec, err := Build(tg)
	if err != nil {
		return "not run: " + err.Error()
	}
	ec.Requests, _ = emulator.ParseRequests("GET /, GET /, GET /, GET /, GET /")
	ec.DefaultPolicy, _ = emulator.ParsePolicy("ok")
	ec.Timeout = 5 * time.Second
	ec.LuaTimeout = time.Second
	res, err := emulator.Run(context.Background(), ec)
	if err != nil {
		return "emulator refused the config: " + err.Error()
	}
	reached := 0
	var peers []string
	for i, q := range res.Requests {
		ok := false
		for _, at := range q.Attempts {
			if at.Outcome == emulator.OutcomeResponse || at.Outcome == emulator.OutcomeProxied {
				ok = true
				peers = append(peers, at.Peer)
			}
		}
		if ok {
			reached++
		} else if q.LuaError == "" && q.AnsweredBy == "" {
			t.Errorf("%s request %d: neither reached a backend nor carries a Lua error: %s", upstream, i+1, q.Why)
		}
	}
	if res.BalancerFailedEverywhere() != (reached == 0 && len(res.Requests) > 0 && allLuaErrors(res)) && res.Worker.StartError == "" {
		t.Errorf("%s: BalancerFailedEverywhere %v with %d requests reaching a backend", upstream, res.BalancerFailedEverywhere(), reached)
	}
	var b strings.Builder
	switch {
	case res.Worker != nil && res.Worker.StartError != "":
		fmt.Fprintf(&b, "nginx would not start: %s", firstLine(res.Worker.StartError))
	case reached > 0:
		fmt.Fprintf(&b, "%d/5 reached a backend, peers %s", reached, strings.Join(peers, " "))
	default:
		fmt.Fprintf(&b, "0/5: %s", firstLine(res.Requests[0].LuaError+res.Requests[0].AnsweredBy))
	}
	if res.Worker != nil && len(res.Worker.Errors) > 0 {
		fmt.Fprintf(&b, "; init_worker/timer errors: %s", firstLine(res.Worker.Errors[0]))
	}
	if len(res.MissingModules) > 0 {
		fmt.Fprintf(&b, "; missing modules %v", res.MissingModules)
	}
	if len(res.ExternalDeps) > 0 {
		var ws []string
		for _, d := range res.ExternalDeps {
			ws = append(ws, d.What)
		}
		fmt.Fprintf(&b, "; external %v", ws)
	}
	return b.String()
}

func allLuaErrors(res *emulator.Result) bool {
	for _, q := range res.Requests {
		if q.LuaError == "" {
			return false
		}
	}
	return true
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// streamAppTarget is the target of a manifest name "NAME (stream)": the
// stream server proxying to the stream upstream NAME, or the upstream
// alone when no server of the file does (a template rendered without TCP
// services).
func streamAppTarget(m *nginxconf.Model, name string) (Target, bool) {
	up, ok := strings.CutSuffix(name, " (stream)")
	if !ok || m.Stream == nil || m.Stream.UpstreamByName[up] == nil {
		return Target{}, false
	}
	if tg, err := FindStream(m, up, ""); err == nil {
		return tg, true
	}
	return Target{Upstream: m.Stream.UpstreamByName[up], Config: m.Config}, true
}
