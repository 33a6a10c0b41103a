package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
	"golang.org/x/tools/txtar"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/internal/sariftest"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules"
	"github.com/ngxlint/ngxlint/versions"
)

// writeTree writes files (name → content) under a new temp directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, s := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// --- SARIF -----------------------------------------------------------------

type sarifLog struct {
	Version string `json:"version"`
	Runs    []struct {
		ColumnKind string `json:"columnKind"`
		Tool       struct {
			Driver struct {
				Rules []struct {
					ID               string            `json:"id"`
					Name             string            `json:"name"`
					HelpURI          string            `json:"helpUri"`
					Help             map[string]string `json:"help"`
					FullDescription  map[string]string `json:"fullDescription"`
					ShortDescription map[string]string `json:"shortDescription"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			RuleIndex int    `json:"ruleIndex"`
			Level     string `json:"level"`
			Message   struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations        []sarifLoc `json:"locations"`
			RelatedLocations []sarifLoc `json:"relatedLocations"`
			Fixes            []struct {
				ArtifactChanges []struct {
					ArtifactLocation struct {
						URI string `json:"uri"`
					} `json:"artifactLocation"`
					Replacements []struct {
						DeletedRegion struct {
							ByteOffset int `json:"byteOffset"`
							ByteLength int `json:"byteLength"`
						} `json:"deletedRegion"`
						InsertedContent struct {
							Text string `json:"text"`
						} `json:"insertedContent"`
					} `json:"replacements"`
				} `json:"artifactChanges"`
			} `json:"fixes"`
			PartialFingerprints map[string]string `json:"partialFingerprints"`
		} `json:"results"`
		Invocations []struct {
			ExecutionSuccessful bool `json:"executionSuccessful"`
		} `json:"invocations"`
	} `json:"runs"`
}

type sarifLoc struct {
	PhysicalLocation struct {
		ArtifactLocation struct {
			URI string `json:"uri"`
		} `json:"artifactLocation"`
		Region struct {
			StartLine   int  `json:"startLine"`
			StartColumn int  `json:"startColumn"`
			EndLine     int  `json:"endLine"`
			EndColumn   int  `json:"endColumn"`
			ByteOffset  *int `json:"byteOffset"`
			ByteLength  *int `json:"byteLength"`
		} `json:"region"`
	} `json:"physicalLocation"`
	Message struct {
		Text string `json:"text"`
	} `json:"message"`
}

// sarifSchema compiles the official SARIF 2.1.0 schema from shared/ (the
// test skips when shared/ is not beside the repository).
func sarifSchema(t *testing.T) *jsonschema.Schema {
	return sariftest.Schema(t, "../../../shared/data/sarif-schema-2.1.0.json")
}

func validateSARIF(t *testing.T, schema *jsonschema.Schema, out string) sarifLog {
	t.Helper()
	sariftest.Validate(t, schema, out)
	var log sarifLog
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("version %q, %d runs; want 2.1.0 and one run", log.Version, len(log.Runs))
	}
	return log
}

func TestSARIF(t *testing.T) {
	schema := sarifSchema(t)

	// The seed: NGX2001 at the keepalive line with the balancer block as
	// related location, LUA3001 inside the balancer_by_lua_block.
	code, out, errs := run(t, "check", "--format", "sarif", "--lua-nginx-module-version", "0.10.0", seed)
	if code != ExitFindings {
		t.Fatalf("exit %d: %s", code, errs)
	}
	log := validateSARIF(t, schema, out)
	runv := log.Runs[0]
	if runv.ColumnKind != "unicodeCodePoints" {
		t.Errorf("columnKind %q", runv.ColumnKind)
	}
	ruleIdx := map[string]int{}
	for i, r := range runv.Tool.Driver.Rules {
		ruleIdx[r.ID] = i
	}
	for _, r := range append(rules.Registry().All(), analyzer.InvalidIgnoreRule, analyzer.UnusedIgnoreRule) {
		i, ok := ruleIdx[r.ID]
		if !ok {
			t.Errorf("rule %s missing from tool.driver.rules", r.ID)
			continue
		}
		d := runv.Tool.Driver.Rules[i]
		if d.HelpURI != r.URL() || d.Name != r.Slug || d.ShortDescription["text"] != r.Doc.Title ||
			!strings.Contains(d.Help["text"], strings.TrimSpace(r.Doc.Text)[:20]) || d.Help["markdown"] == "" {
			t.Errorf("rule %s descriptor %+v", r.ID, d)
		}
	}
	src, _ := os.ReadFile(seed)
	var sawNGX2001, sawLua bool
	for _, res := range runv.Results {
		if runv.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("ruleIndex %d does not point at %s", res.RuleIndex, res.RuleID)
		}
		if res.PartialFingerprints["ngxlintFingerprint/v1"] == "" {
			t.Errorf("%s: no partial fingerprint", res.RuleID)
		}
		reg := res.Locations[0].PhysicalLocation.Region
		if res.Locations[0].PhysicalLocation.ArtifactLocation.URI != "../../examples/seed/nginx.conf" {
			t.Errorf("uri %q", res.Locations[0].PhysicalLocation.ArtifactLocation.URI)
		}
		switch res.RuleID {
		case "NGX2001":
			sawNGX2001 = true
			if reg.StartLine != 13 || reg.StartColumn != 9 || reg.EndLine != 13 || reg.EndColumn != 21 || res.Level != "error" {
				t.Errorf("NGX2001 region %+v level %s", reg, res.Level)
			}
			if got := string(src[*reg.ByteOffset : *reg.ByteOffset+*reg.ByteLength]); got != "keepalive 1;" {
				t.Errorf("NGX2001 byte range holds %q", got)
			}
			if len(res.RelatedLocations) == 0 || res.RelatedLocations[0].PhysicalLocation.Region.StartLine != 5 ||
				!strings.Contains(res.RelatedLocations[0].Message.Text, "balancer_by_lua") {
				t.Errorf("NGX2001 related %+v", res.RelatedLocations)
			}
		case "LUA3001":
			sawLua = true // inside the Lua block: line and column in nginx.conf
			if reg.StartLine != 10 || reg.StartColumn != 29 {
				t.Errorf("LUA3001 region %+v", reg)
			}
			if got := string(src[*reg.ByteOffset : *reg.ByteOffset+*reg.ByteLength]); !strings.HasPrefix(got, "balancer.set_current_peer(") {
				t.Errorf("LUA3001 byte range holds %q", got)
			}
		}
	}
	if !sawNGX2001 || !sawLua {
		t.Fatalf("missing NGX2001 or LUA3001 in %s", out)
	}

	// A *_by_lua_file finding lands in the Lua file, with a code point
	// column after a non-ASCII character; NGX2002 carries its fix; a second
	// config with a syntax error gives a failed invocation.
	dir := writeTree(t, map[string]string{
		"nginx.conf": rules.KeepaliveNotEffective.Doc.Bad[:strings.LastIndex(rules.KeepaliveNotEffective.Doc.Bad, "}")] +
			"    server { listen 81; location /lua { content_by_lua_file app.lua; } }\n}\n",
		"app.lua":     "ngx.say(\"héllo\") local unused = 1\n",
		"broken.conf": "http {\n",
	})
	code, out, errs = run(t, "check", "--format", "sarif", "--nginx-version", "1.22.1", filepath.Join(dir, "nginx.conf"), filepath.Join(dir, "broken.conf"))
	if code != ExitUsage {
		t.Fatalf("exit %d, want 2 (broken.conf): %s", code, errs)
	}
	log = validateSARIF(t, schema, out)
	runv = log.Runs[0]
	if len(runv.Invocations) != 1 || runv.Invocations[0].ExecutionSuccessful {
		t.Errorf("invocations %+v: want one, unsuccessful", runv.Invocations)
	}
	var sawFix, sawLuaFile bool
	conf, _ := os.ReadFile(filepath.Join(dir, "nginx.conf"))
	for _, res := range runv.Results {
		loc := res.Locations[0].PhysicalLocation
		if res.RuleID == "LUA1211" && strings.HasSuffix(loc.ArtifactLocation.URI, "app.lua") {
			sawLuaFile = true
			// "unused": byte column 25, code point column 24 (é is two bytes).
			if loc.Region.StartLine != 1 || loc.Region.StartColumn != 24 || *loc.Region.ByteOffset != 24 {
				t.Errorf("Lua file region %+v", loc.Region)
			}
		}
		if res.RuleID == "NGX2002" && len(res.Fixes) > 0 {
			sawFix = true
			ch := res.Fixes[0].ArtifactChanges[0]
			rp := ch.Replacements[0]
			fixed := string(conf[:rp.DeletedRegion.ByteOffset]) + rp.InsertedContent.Text + string(conf[rp.DeletedRegion.ByteOffset+rp.DeletedRegion.ByteLength:])
			if !strings.HasSuffix(ch.ArtifactLocation.URI, "nginx.conf") || !strings.Contains(fixed, "proxy_http_version 1.1;") {
				t.Errorf("fix %+v gives:\n%s", res.Fixes[0], fixed)
			}
		}
	}
	if !sawFix || !sawLuaFile {
		t.Errorf("fix seen %v, Lua file finding seen %v:\n%s", sawFix, sawLuaFile, out)
	}

	// With --confirm, the confirmation summary is in the message.
	_, out, _ = run(t, "check", "--format", "sarif", "--confirm", "--enable", "NGX2001", "--lua-nginx-module-version", "0.10.0", seed)
	log = validateSARIF(t, schema, out)
	if len(log.Runs[0].Results) != 1 || !strings.Contains(log.Runs[0].Results[0].Message.Text, "Confirmed by the emulator: request 2 of 2") {
		t.Errorf("confirmation not in message: %+v", log.Runs[0].Results)
	}
}

// --- GitHub annotations and GitLab Code Quality ----------------------------

func TestGitHubFormat(t *testing.T) {
	code, out, _ := run(t, "check", "--format", "github", "--lua-nginx-module-version", "0.10.0", seed)
	if code != ExitFindings {
		t.Fatalf("exit %d", code)
	}
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "title=NGX2001") {
			line = l
		}
	}
	want := "::error file=../../examples/seed/nginx.conf,line=13,col=9,endLine=13,endColumn=21,title=NGX2001 lua-balancer-keepalive-loop::keepalive with balancer_by_lua on lua-nginx-module 0.10.0"
	if !strings.HasPrefix(line, want) {
		t.Fatalf("annotation\n%s\nwant prefix\n%s", line, want)
	}
	msg := line[strings.Index(line, "::keepalive")+2:]
	if strings.ContainsAny(msg, "\r\n") || !strings.Contains(msg, "%0A../../examples/seed/nginx.conf:5:9: balancer_by_lua defined here") {
		t.Errorf("message not escaped or lacks the related position: %s", msg)
	}
	if !strings.Contains(out, "::warning file=../../examples/seed/nginx.conf,line=10,col=29,") {
		t.Errorf("no warning annotation for LUA3001:\n%s", out)
	}
	// Load errors are annotations too, and exit 2.
	dir := writeTree(t, map[string]string{"nginx.conf": "http {\n  server {\n"})
	code, out, _ = run(t, "check", "--format", "github", filepath.Join(dir, "nginx.conf"))
	if code != ExitUsage || !strings.HasPrefix(out, "::error file="+filepath.ToSlash(filepath.Join(dir, "nginx.conf"))+",line=") {
		t.Errorf("load error: exit %d\n%s", code, out)
	}
}

func TestCodeQualityFormat(t *testing.T) {
	code, out, _ := run(t, "check", "--format", "codequality", "--lua-nginx-module-version", "0.10.0", seed)
	if code != ExitFindings {
		t.Fatalf("exit %d", code)
	}
	// GitLab's fields, read as GitLab reads them.
	var issues []struct {
		CheckName   string `json:"check_name"`
		Fingerprint string `json:"fingerprint"`
		Severity    string `json:"severity"`
		Location    struct {
			Path  string `json:"path"`
			Lines struct {
				Begin int `json:"begin"`
			} `json:"lines"`
		} `json:"location"`
	}
	if err := json.Unmarshal([]byte(out), &issues); err != nil {
		t.Fatal(err)
	}
	fps := map[string]bool{}
	var found bool
	for _, is := range issues {
		if is.Fingerprint == "" || fps[is.Fingerprint] {
			t.Errorf("missing or duplicate fingerprint in %+v", is)
		}
		fps[is.Fingerprint] = true
		if is.CheckName == "NGX2001" {
			found = is.Severity == "critical" && is.Location.Path == "../../examples/seed/nginx.conf" && is.Location.Lines.Begin == 13
		}
	}
	if !found {
		t.Errorf("no NGX2001 issue at line 13:\n%s", out)
	}
}

// --- .ngxlint.yaml ---------------------------------------------------------

func seedText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(seed)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func findingIDs(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, f := range decodeCheck(t, out).Findings {
		m[f.Rule+"@"+filepath.Base(f.File)] = f.Severity
	}
	return m
}

func TestConfigFile(t *testing.T) {
	legacy := "server {\n    listen 8080;\n    location / { proxy_pass http://app; }\n}\n"
	main := rules.KeepaliveNotEffective.Doc.Bad[:strings.LastIndex(rules.KeepaliveNotEffective.Doc.Bad, "}")] + "    include conf.d/legacy/*.conf;\n}\n"
	dir := writeTree(t, map[string]string{
		".ngxlint.yaml": `# project settings
versions: {nginx: 1.9.7, lua_nginx_module: 0.10.0}
disable: [LUA1*]
severity:
  lua-balancer-peer-unchecked: error
  NGX2002: info
paths:
  - glob: "**/conf.d/legacy/*.conf"
    disable: [keepalive-not-effective]
settings:
  retry-threshold: 3
`,
		"seed/nginx.conf":          seedText(t),
		"app/nginx.conf":           main,
		"app/conf.d/legacy/a.conf": legacy,
	})
	// Versions from the file (found by walking up from seed/nginx.conf):
	// NGX2001 fires for lua-nginx-module 0.10.0; the severity override
	// turns LUA3001 into an error; LUA1* are disabled.
	_, out, errs := run(t, "check", "--format", "json", filepath.Join(dir, "seed/nginx.conf"))
	got := findingIDs(t, out)
	if got["NGX2001@nginx.conf"] == "" || got["LUA3001@nginx.conf"] != "error" {
		t.Errorf("with the config file: %v\n%s", got, errs)
	}
	for k := range got {
		if strings.HasPrefix(k, "LUA1") {
			t.Errorf("%s reported though disabled in the file", k)
		}
	}
	if r := decodeCheck(t, out); r.Profile["lua_nginx_module"] != "0.10.0" || r.Profile["nginx"] != "1.9.7" {
		t.Errorf("profile %v", r.Profile)
	}
	// Flags override the file: versions and the disable list.
	_, out, _ = run(t, "check", "--format", "json", "--openresty-version", "1.21.4.1", "--disable", "LUA3001", filepath.Join(dir, "seed/nginx.conf"))
	got = findingIDs(t, out)
	if got["NGX2001@nginx.conf"] != "" || got["LUA3001@nginx.conf"] != "" {
		t.Errorf("flags did not override the file: %v", got)
	}
	// paths[]: NGX2002 is dropped in conf.d/legacy/a.conf but kept in
	// nginx.conf, where its severity is info.
	_, out, _ = run(t, "check", "--format", "json", "--fail-on", "info", filepath.Join(dir, "app/nginx.conf"))
	got = findingIDs(t, out)
	if got["NGX2002@nginx.conf"] != "info" || got["NGX2002@a.conf"] != "" {
		t.Errorf("paths/severity: %v\n%s", got, out)
	}
	// --no-config ignores it: NGX2002 comes back in a.conf.
	_, out, _ = run(t, "check", "--format", "json", "--no-config", "--nginx-version", "1.22.1", filepath.Join(dir, "app/nginx.conf"))
	if got = findingIDs(t, out); got["NGX2002@a.conf"] == "" {
		t.Errorf("--no-config: %v", got)
	}
	// --config names the file explicitly.
	other := writeTree(t, map[string]string{"strict.yaml": "enable: [NGX2001]\nversions: {lua_nginx_module: 0.10.0}\n"})
	_, out, _ = run(t, "check", "--format", "json", "--config", filepath.Join(other, "strict.yaml"), filepath.Join(dir, "seed/nginx.conf"))
	if got = findingIDs(t, out); len(got) != 1 || got["NGX2001@nginx.conf"] != "error" {
		t.Errorf("--config: %v", got)
	}
	// Settings reach the analyzer options.
	fc, err := loadFileConfig(filepath.Join(dir, ".ngxlint.yaml"), newRuleLookup(rules.Registry()))
	if err != nil || fc.Settings["retry-threshold"] != "3" || len(fc.Paths) != 1 || fc.Severity["LUA3001"] != analyzer.Error {
		t.Errorf("parsed config %+v %v", fc, err)
	}
}

func TestConfigFileErrors(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"bad yaml", "versions:\n  nginx: [1.22\n", ".ngxlint.yaml: line "},
		{"unknown key", "versions: {nginx: 1.22.1}\nenabled: [NGX2001]\n", ".ngxlint.yaml:2:1: unknown key \"enabled\""},
		{"unknown rule", "disable:\n  - NGX2002\n  - NGX9999\n", ".ngxlint.yaml:3:5: disable: no rule matches \"NGX9999\""},
		{"unknown rule in severity", "severity: {nope-rule: error}\n", ".ngxlint.yaml:1:12: no rule matches \"nope-rule\""},
		{"bad severity", "severity:\n  NGX2002: fatal\n", ".ngxlint.yaml:2:12: severity of NGX2002: want error, warning or info, got \"fatal\""},
		{"bad version", "versions:\n  nginx: one.two\n", ".ngxlint.yaml:2:10: versions.nginx:"},
		{"unknown version key", "versions: {nginks: 1.22.1}\n", ".ngxlint.yaml:1:12: unknown version key \"nginks\""},
		{"paths without glob", "paths:\n  - disable: [NGX2002]\n", ".ngxlint.yaml:2:5: paths entry without glob"},
		{"bad glob", "paths:\n  - glob: \"conf.d/[\"\n    disable: [NGX2002]\n", ".ngxlint.yaml:2:11: bad glob"},
		{"not a mapping", "- NGX2002\n", ".ngxlint.yaml:1:1: the configuration must be a mapping"},
		{"duplicate key", "enable: [NGX2001]\nenable: [NGX2002]\n", ".ngxlint.yaml:2:1: duplicate key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{".ngxlint.yaml": tc.yaml, "nginx.conf": "http {}\n"})
			code, out, errs := run(t, "check", filepath.Join(dir, "nginx.conf"))
			if code != ExitUsage || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q, want exit 2 and %q (stdout %q)", code, errs, tc.want, out)
			}
		})
	}
}

func TestGlobRegexp(t *testing.T) {
	cases := []struct {
		glob, path string
		want       bool
	}{
		{"conf.d/legacy/*.conf", "conf.d/legacy/a.conf", true},
		{"conf.d/legacy/*.conf", "conf.d/legacy/sub/a.conf", false},
		{"conf.d/**/*.conf", "conf.d/a.conf", true},
		{"conf.d/**/*.conf", "conf.d/x/y/a.conf", true},
		{"**/*.lua", "lua/app.lua", true},
		{"site-?.conf", "site-a.conf", true},
		{"site-[ab].conf", "site-c.conf", false},
	}
	for _, c := range cases {
		re, err := globRegexp(c.glob)
		if err != nil {
			t.Fatal(err)
		}
		if got := re.MatchString(c.path); got != c.want {
			t.Errorf("%s ~ %s = %v", c.glob, c.path, got)
		}
	}
}

// TestTargetsAndStagedFiles checks how pre-commit's file lists are
// handled: an included file or a Lua file is checked through the target
// that loads it; a Lua file no target loads is checked on its own, with a note.
func TestTargetsAndStagedFiles(t *testing.T) {
	dir := writeTree(t, map[string]string{
		".ngxlint.yaml":   "targets: [nginx.conf]\n",
		"nginx.conf":      "http {\n  include conf.d/*.conf;\n}\n",
		"conf.d/app.conf": "server { listen 80; location / { content_by_lua_file lua/app.lua; } }\n",
		"lua/app.lua":     "local unused = 1\n",
		"lua/other.lua":   "local x = 1\n",
	})
	t.Chdir(dir)
	code, out, errs := run(t, "check", "--format", "json", "--fail-on", "info", "lua/app.lua", "conf.d/app.conf", "lua/other.lua")
	if code != ExitFindings {
		t.Fatalf("exit %d: %s", code, errs)
	}
	r := decodeCheck(t, out)
	// lua/other.lua is loaded by no target: checked on its own (issue 15
	// item 2), with a note saying so.
	if len(r.Findings) != 2 || r.Findings[0].File != "lua/app.lua" || r.Findings[0].Rule != "LUA1211" ||
		r.Findings[1].File != "lua/other.lua" || r.Findings[1].Rule != "LUA1211" {
		t.Errorf("findings %+v", r.Findings)
	}
	if !strings.Contains(errs, "lua/other.lua: no configuration loads it") {
		t.Errorf("no note for a Lua file no target loads: %s", errs)
	}
	// With no PATH, the targets are checked.
	if code, out, _ = run(t, "check", "--format", "json", "--fail-on", "info"); code != ExitFindings || len(decodeCheck(t, out).Findings) != 1 {
		t.Errorf("no PATH: exit %d\n%s", code, out)
	}
}

// --- baseline ---------------------------------------------------------------

func TestBaseline(t *testing.T) {
	loc := "        location /%s { proxy_pass http://app; }\n"
	conf := func(extraTop string, names ...string) string {
		var b strings.Builder
		b.WriteString(extraTop + "http {\n    upstream app { server 127.0.0.1:8080; keepalive 16; }\n    server {\n        listen 80;\n")
		for _, n := range names {
			b.WriteString(strings.ReplaceAll(loc, "%s", n))
		}
		b.WriteString("        location /same { proxy_pass http://app; }\n        location /same2 { proxy_pass http://app; }\n    }\n}\n")
		return b.String()
	}
	dir := writeTree(t, map[string]string{"conf/nginx.conf": conf("", "a", "b")})
	cfgPath := filepath.Join(dir, "conf/nginx.conf")
	basePath := filepath.Join(dir, "ngxlint-baseline.json")
	args := []string{"check", "--format", "json", "--nginx-version", "1.22.1", "--enable", "NGX2002"}

	code, _, errs := run(t, append(args, "--write-baseline", basePath, cfgPath)...)
	if code != ExitClean || !strings.Contains(errs, "wrote 4 finding(s)") {
		t.Fatalf("--write-baseline: exit %d %s", code, errs)
	}
	var bf baselineFile
	data, _ := os.ReadFile(basePath)
	if err := json.Unmarshal(data, &bf); err != nil || bf.Version != baselineVersion || len(bf.Findings) != 4 {
		t.Fatalf("baseline %v: %s", err, data)
	}
	if e := bf.Findings[0]; e.File != "conf/nginx.conf" || e.Rule != "NGX2002" || len(e.Hash) != 16 || e.Line != 5 {
		t.Errorf("entry %+v", e)
	}
	code, out, _ := run(t, append(args, "--baseline", basePath, cfgPath)...)
	if code != ExitClean || len(decodeCheck(t, out).Findings) != 0 {
		t.Errorf("with the baseline: exit %d\n%s", code, out)
	}
	// Lines inserted above (and a re-indent) do not revive known findings;
	// a new location does, and only it is reported.
	os.WriteFile(cfgPath, []byte(conf("# added\n# more\n\n", "a", "b", "c")), 0o644)
	code, out, _ = run(t, append(args, "--baseline", basePath, cfgPath)...)
	r := decodeCheck(t, out)
	if code != ExitFindings || len(r.Findings) != 1 || r.Findings[0].Line != 10 {
		t.Errorf("after edits: exit %d, findings %+v", code, r.Findings)
	}
	// The occurrence index tells identical lines apart: turning "/same2"
	// into a second "/same" line makes occurrence 1 of that line, which the
	// baseline does not have.
	os.WriteFile(cfgPath, []byte(strings.Replace(conf("", "a", "b"), "location /same2", "location /same", 1)), 0o644)
	code, out, _ = run(t, append(args, "--baseline", basePath, cfgPath)...)
	if r := decodeCheck(t, out); code != ExitFindings || len(r.Findings) != 1 || r.Findings[0].Line != 8 {
		t.Errorf("second identical line: exit %d, findings %+v", code, r.Findings)
	}
	// Fingerprints do not depend on the working directory.
	t.Chdir(filepath.Join(dir, "conf"))
	os.WriteFile(cfgPath, []byte(conf("", "a", "b")), 0o644)
	if code, out, _ = run(t, append(args, "--baseline", basePath, "nginx.conf")...); code != ExitClean {
		t.Errorf("from another directory: exit %d\n%s", code, out)
	}
	// A malformed baseline is a usage error.
	os.WriteFile(basePath, []byte(`{"findings": 3}`), 0o644)
	if code, _, _ = run(t, append(args, "--baseline", basePath, "nginx.conf")...); code != ExitUsage {
		t.Errorf("malformed baseline: exit %d", code)
	}
}

func TestFingerprintOccurrences(t *testing.T) {
	r := &analyzer.Rule{ID: "TST1", Slug: "t"}
	data := []byte("a;\n  a;\nb;\n")
	ds := []*analyzer.Diagnostic{
		{Rule: r, Pos: nginxconf.Pos{File: "f", Offset: 0}},
		{Rule: r, Pos: nginxconf.Pos{File: "f", Offset: 5}},
		{Rule: r, Pos: nginxconf.Pos{File: "f", Offset: 8}},
	}
	fps := analyzer.Fingerprints(ds, func(s string) string { return s }, func(string) []byte { return data })
	if fps[0].Hash != fps[1].Hash || fps[0].Occurrence != 0 || fps[1].Occurrence != 1 || fps[2].Hash == fps[0].Hash || fps[2].Occurrence != 0 {
		t.Errorf("fingerprints %+v", fps)
	}
}

// --- --fix and --diff ------------------------------------------------------

// TestFixGolden runs --diff and --fix on each testdata/fix/*.txtar: the
// archive holds the flags, the input nginx.conf, the expected file after
// --fix (want/nginx.conf) and the expected --diff output (want.diff).
func TestFixGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/fix/*.txtar")
	if len(files) == 0 {
		t.Fatal("no testdata/fix cases")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sec := map[string][]byte{}
			for _, f := range ar.Files {
				sec[f.Name] = f.Data
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), sec["nginx.conf"], 0o640); err != nil {
				t.Fatal(err)
			}
			t.Chdir(dir)
			args := append([]string{"check"}, strings.Fields(string(sec["args"]))...)
			code, out, errs := run(t, append(args, "--diff", "nginx.conf")...)
			if code != ExitFindings || out != string(sec["want.diff"]) {
				t.Errorf("--diff: exit %d\n%s\nwant:\n%s\n%s", code, out, sec["want.diff"], errs)
			}
			if got, _ := os.ReadFile("nginx.conf"); !bytes.Equal(got, sec["nginx.conf"]) {
				t.Error("--diff changed the file")
			}
			code, out, errs = run(t, append(args, "--fix", "nginx.conf")...)
			if code != ExitClean || !strings.Contains(errs, "ngxlint: fixed") {
				t.Errorf("--fix: exit %d\n%s\n%s", code, out, errs)
			}
			got, _ := os.ReadFile("nginx.conf")
			if !bytes.Equal(got, sec["want/nginx.conf"]) {
				t.Errorf("fixed file:\n%s\nwant:\n%s", got, sec["want/nginx.conf"])
			}
			if st, _ := os.Stat("nginx.conf"); st.Mode().Perm() != 0o640 {
				t.Errorf("mode %v, want 0640 kept", st.Mode().Perm())
			}
			if leftovers, _ := filepath.Glob(".nginx.conf.ngxlint-*"); len(leftovers) != 0 {
				t.Errorf("temp files left: %v", leftovers)
			}
			// The fixed config is clean for the rule.
			if code, out, _ = run(t, append(args, "nginx.conf")...); code != ExitClean {
				t.Errorf("still findings after --fix:\n%s", out)
			}
		})
	}
}

// loadAndPlan loads dir/nginx.conf, runs NGX2002 on nginx 1.22.1 and plans
// its fixes.
func loadAndPlan(t *testing.T, path string) *fixPlan {
	t.Helper()
	cfg := nginxconf.LoadFile(path, nginxconf.Options{})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	var f checkFlags
	f.nginx = "1.22.1"
	prof, _, err := f.unitProfile(t.Context(), checkUnit{cfg: cfg})
	if err != nil {
		t.Fatal(err)
	}
	res := analyzer.Run(cfg, nginxconf.BuildModel(cfg), []*analyzer.Rule{rules.KeepaliveNotEffective}, analyzer.Options{Profile: prof})
	r := &checkReport{Diagnostics: res.Diagnostics, Configs: []*nginxconf.Config{cfg}}
	plan, err := planFixes(r.Diagnostics, r.Files())
	if err != nil || len(plan.order) != 1 {
		t.Fatalf("plan %+v %v", plan, err)
	}
	return plan
}

func TestFixRefusedWhenFileChanged(t *testing.T) {
	dir := writeTree(t, map[string]string{"nginx.conf": rules.KeepaliveNotEffective.Doc.Bad})
	path := filepath.Join(dir, "nginx.conf")
	plan := loadAndPlan(t, path)
	changed := []byte(rules.KeepaliveNotEffective.Doc.Bad + "# edited by someone else meanwhile\n")
	os.WriteFile(path, changed, 0o644)
	written, err := plan.write(nil)
	if err == nil || !strings.Contains(err.Error(), "changed on disk since it was read") || len(written) != 0 {
		t.Fatalf("write: %v %v", written, err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, changed) {
		t.Error("the concurrently changed file was modified")
	}
}

func TestFixAtomicOnCrash(t *testing.T) {
	dir := writeTree(t, map[string]string{"nginx.conf": rules.KeepaliveNotEffective.Doc.Bad})
	path := filepath.Join(dir, "nginx.conf")
	plan := loadAndPlan(t, path)
	crash := errors.New("simulated crash before rename")
	var tmpSeen []byte
	_, err := plan.write(func(tmp string) error {
		tmpSeen, _ = os.ReadFile(tmp)
		// At this point the new content is complete and synced in the
		// temp file, and the original is untouched.
		if got, _ := os.ReadFile(path); string(got) != rules.KeepaliveNotEffective.Doc.Bad {
			t.Error("original modified before rename")
		}
		return crash
	})
	if !errors.Is(err, crash) {
		t.Fatalf("err %v", err)
	}
	if !bytes.Contains(tmpSeen, []byte("proxy_http_version 1.1;")) {
		t.Errorf("temp file held %q", tmpSeen)
	}
	if got, _ := os.ReadFile(path); string(got) != rules.KeepaliveNotEffective.Doc.Bad {
		t.Error("original not intact after the crash")
	}
}

func TestApplyEdits(t *testing.T) {
	at := func(s, e int, text string) analyzer.TextEdit {
		return analyzer.TextEdit{Pos: nginxconf.Pos{Offset: s}, End: nginxconf.Pos{Offset: e}, NewText: text}
	}
	data := []byte("a\r\nb\xff\nc")
	got, err := analyzer.ApplyEdits(data, []analyzer.TextEdit{at(6, 6, "X"), at(0, 1, "A"), at(3, 3, "Y"), at(3, 3, "Y")})
	if err != nil || string(got) != "A\r\nYb\xff\nXc" {
		t.Errorf("got %q %v", got, err)
	}
	for _, bad := range [][]analyzer.TextEdit{
		{at(0, 3, ""), at(2, 4, "")},   // overlap
		{at(2, 2, "x"), at(2, 2, "y")}, // two insertions at one offset
		{at(5, 99, "")},                // outside
		{at(3, 2, "")},                 // backwards
	} {
		if _, err := analyzer.ApplyEdits(data, bad); err == nil {
			t.Errorf("edits %+v accepted", bad)
		}
	}
}

// --- --nginx-binary --------------------------------------------------------

func TestProfileFromV(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata/nginx-V", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	noFiles := func(string) (*os.File, error) { return nil, os.ErrNotExist }
	cases := []struct{ file, nginx, lnm, openresty string }{
		{"openresty-1.21.4.1.txt", "1.21.4", "0.10.21", "1.21.4.1"},
		{"openresty-1.9.7.3.txt", "1.9.7", "0.10.0", "1.9.7.3"},
		{"nginx-1.9.7-static-lua.txt", "1.9.7", "0.10.0", ""},
		{"debian12-nginx-1.22.1.txt", "1.22.1", "unknown", ""},
	}
	for _, c := range cases {
		p, notes, err := profileFromV(read(c.file), "", nil, noFiles)
		if err != nil || p.Nginx.String() != c.nginx || p.LNM.String() != c.lnm || (c.openresty != "" && p.OpenResty.String() != c.openresty) {
			t.Errorf("%s: %v %v %v", c.file, p, notes, err)
		}
		if c.lnm == "unknown" && (len(notes) != 1 || !strings.Contains(notes[0], "--lua-nginx-module-version")) {
			t.Errorf("%s: notes %v", c.file, notes)
		}
	}
	// Debian layout: the module .so found through the config's
	// load_module line (prefix-relative, as nginx resolves it) carries its
	// version in the embedded configure arguments.
	deb := read("debian12-nginx-1.22.1.txt")
	prefix := t.TempDir()
	so := filepath.Join(prefix, "modules", "ngx_http_lua_module.so")
	os.MkdirAll(filepath.Dir(so), 0o755)
	os.WriteFile(so, []byte("\x7fELF\x00\x00junk\x00 --add-dynamic-module=/build/reproducible-path/libnginx-mod-http-lua-0.10.23/. --builddir=x\x00"), 0o644)
	conf := writeTree(t, map[string]string{"nginx.conf": "load_module modules/ndk_http_module.so;\nload_module modules/ngx_http_lua_module.so;\nevents {}\n"})
	cfg := nginxconf.LoadFile(filepath.Join(conf, "nginx.conf"), nginxconf.Options{})
	vOut := strings.Replace(deb, "--prefix=/usr/share/nginx", "--prefix="+prefix, 1)
	p, notes, err := profileFromV(vOut, "", []*nginxconf.Config{cfg}, os.Open)
	if err != nil || p.LNM.String() != "0.10.23" || p.Nginx.String() != "1.22.1" || len(notes) != 1 || !strings.Contains(notes[0], so) {
		t.Errorf("load_module: %v %v %v", p, notes, err)
	}
	// The flag wins over the .so.
	p, _, _ = profileFromV(vOut, "0.10.25", []*nginxconf.Config{cfg}, os.Open)
	if p.LNM.String() != "0.10.25" {
		t.Errorf("override: %v", p)
	}
}

// TestNginxBinaryReal runs the real Debian nginx of the CI machine: -V has
// no module version, the .so in the modules path has it.
func TestNginxBinaryReal(t *testing.T) {
	const bin = "/usr/sbin/nginx"
	if _, err := os.Stat(bin); err != nil {
		t.Skip("no /usr/sbin/nginx")
	}
	so := "/usr/lib/nginx/modules/ngx_http_lua_module.so"
	f, err := os.Open(so)
	if err != nil {
		t.Skip("no libnginx-mod-http-lua")
	}
	v, err := versions.LuaModuleVersion(f)
	f.Close()
	if err != nil || !regexp.MustCompile(`^0\.10\.\d+$`).MatchString(v) {
		t.Fatalf("version from %s: %q %v", so, v, err)
	}
	code, out, errs := run(t, "check", "--format", "json", "--nginx-binary", bin, seed)
	r := decodeCheck(t, out)
	if code == ExitUsage || r.Profile["lua_nginx_module"] != v || !strings.HasPrefix(r.Profile["nginx"], "1.") {
		t.Errorf("exit %d profile %v notes %v %s", code, r.Profile, r.Notes, errs)
	}
}

// TestNginxBinaryScript runs --nginx-binary on a script that prints a
// captured OpenResty -V (exercising the exec path without OpenResty).
func TestNginxBinaryScript(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	captured, _ := filepath.Abs("testdata/nginx-V/openresty-1.9.7.3.txt")
	dir := t.TempDir()
	script := filepath.Join(dir, "openresty")
	os.WriteFile(script, []byte("#!/bin/sh\ncat '"+captured+"' >&2\n"), 0o755)
	code, out, errs := run(t, "check", "--format", "json", "--nginx-binary", script, seed)
	r := decodeCheck(t, out)
	if code != ExitFindings || r.Profile["openresty"] != "1.9.7.3" || r.Profile["lua_nginx_module"] != "0.10.0" {
		t.Errorf("exit %d profile %v %s", code, r.Profile, errs)
	}
	var hasNGX2001 bool
	for _, f := range r.Findings {
		hasNGX2001 = hasNGX2001 || f.Rule == "NGX2001"
	}
	if !hasNGX2001 {
		t.Error("NGX2001 not reported for OpenResty 1.9.7.3 read from the binary")
	}
}

// --- docs/rules.md -----------------------------------------------------------

func TestRulesDocUpToDate(t *testing.T) {
	want := rulesMarkdown(rules.Registry().All())
	got, err := os.ReadFile("../../docs/rules.md")
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("docs/rules.md is missing or stale (%v); regenerate it from the repository root with:\n\n\tgo run ./cmd/ngxlint docs --out docs/rules.md\n\n(or go generate ./cmd/ngxlint) and commit the result", err)
	}
	s := string(want)
	for _, r := range append(rules.Registry().All(), builtinRules()...) {
		for _, part := range []string{`<a id="` + strings.ToLower(r.ID) + `"></a>`, r.Slug, r.Doc.Title, "Severity: " + r.Severity.String()} {
			if !strings.Contains(s, part) {
				t.Errorf("docs lack %q for %s", part, r.ID)
			}
		}
		if r.Doc.Bad != "" && !strings.Contains(s, strings.TrimRight(r.Doc.Bad, "\n")) {
			t.Errorf("docs lack %s's Bad example", r.ID)
		}
	}
	code, out, _ := run(t, "docs")
	if code != 0 || out != s {
		t.Errorf("ngxlint docs: exit %d, output differs from rulesMarkdown", code)
	}
}

// --- action.yml and .pre-commit-hooks.yaml ---------------------------------

func checkFlagNames() map[string]bool {
	var f checkFlags
	fs := (&Command{Stdout: io.Discard, Stderr: io.Discard}).newCheckFlagSet(&f)
	names := map[string]bool{}
	fs.VisitAll(func(fl *flag.Flag) { names[fl.Name] = true })
	return names
}

func TestActionYML(t *testing.T) {
	data, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Name   string                       `yaml:"name"`
		Inputs map[string]map[string]string `yaml:"inputs"`
		Runs   struct {
			Using string `yaml:"using"`
			Steps []struct {
				Name string            `yaml:"name"`
				Uses string            `yaml:"uses"`
				Run  string            `yaml:"run"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(data, &action); err != nil {
		t.Fatal(err)
	}
	if action.Runs.Using != "composite" {
		t.Errorf("runs.using %q", action.Runs.Using)
	}
	for _, in := range []string{"paths", "versions", "args", "fail-on", "version", "sarif-file"} {
		if _, ok := action.Inputs[in]; !ok {
			t.Errorf("input %q missing", in)
		}
	}
	flags := checkFlagNames()
	var upload, install, check, sarifOut bool
	flagRe := regexp.MustCompile(`--([a-z][a-z-]*)`)
	for _, st := range action.Runs.Steps {
		if strings.HasPrefix(st.Uses, "github/codeql-action/upload-sarif@") {
			upload = st.With["sarif_file"] != ""
		}
		if strings.Contains(st.Run, "go install") && strings.Contains(st.Run, "./cmd/ngxlint") && strings.Contains(st.Run, "github.com/ngxlint/ngxlint/cmd/ngxlint@") {
			install = true
		}
		for _, line := range strings.Split(st.Run, "\n") {
			if !strings.Contains(line, "ngxlint check") {
				continue
			}
			check = true
			// docs/security.md: the job's environment is not passed on.
			if !strings.Contains(line, "clean_env ngxlint check") {
				t.Errorf("action runs ngxlint check with the job's environment: %s", line)
			}
			for _, m := range flagRe.FindAllStringSubmatch(line[strings.Index(line, "ngxlint check"):], -1) {
				if !flags[m[1]] {
					t.Errorf("action runs ngxlint check with unknown flag --%s: %s", m[1], line)
				}
			}
			sarifOut = sarifOut || strings.Contains(line, "--format sarif")
		}
	}
	if !upload || !install || !check || !sarifOut {
		t.Errorf("upload %v install %v check %v sarif %v", upload, install, check, sarifOut)
	}
}

func TestPreCommitHooksFile(t *testing.T) {
	data, err := os.ReadFile("../../.pre-commit-hooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var hooks []struct {
		ID       string `yaml:"id"`
		Language string `yaml:"language"`
		Entry    string `yaml:"entry"`
		Files    string `yaml:"files"`
	}
	if err := yaml.Unmarshal(data, &hooks); err != nil {
		t.Fatal(err)
	}
	if len(hooks) == 0 || hooks[0].ID != "ngxlint" || hooks[0].Language != "golang" || hooks[0].Entry != "ngxlint check --changed" {
		t.Fatalf("hooks %+v", hooks)
	}
	re, err := regexp.Compile(hooks[0].Files)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"nginx.conf": true, "etc/nginx/conf.d/app.conf": true, "lua/app.lua": true, "README.md": false, "nginx.conf.bak": false} {
		if re.MatchString(name) != want {
			t.Errorf("files regex on %s: want %v", name, want)
		}
	}
}

// TestPreCommitScript runs scripts/test-pre-commit.sh, which builds the
// binary and runs the hook on a temporary git repository the way
// pre-commit does.
func TestPreCommitScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	for _, tool := range []string{"git", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	cmd := exec.Command("bash", "../../scripts/test-pre-commit.sh")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/test-pre-commit.sh: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "pre-commit hook: all checks passed") {
		t.Errorf("unexpected output:\n%s", out)
	}
}

// TestNoFixOrBaselineOnLoadError: a configuration that did not load gives
// an incomplete picture, so neither a baseline nor a fix is written from it.
func TestNoFixOrBaselineOnLoadError(t *testing.T) {
	bad := rules.KeepaliveNotEffective.Doc.Bad + "}\n" // a stray }
	dir := writeTree(t, map[string]string{"nginx.conf": bad})
	p := filepath.Join(dir, "nginx.conf")
	base := filepath.Join(dir, "b.json")
	for _, args := range [][]string{{"--fix"}, {"--diff"}, {"--write-baseline", base}} {
		code, out, errs := run(t, append(append([]string{"check", "--nginx-version", "1.22.1"}, args...), p)...)
		if code != ExitUsage || !strings.Contains(errs, "no baseline written, no fix applied") || strings.Contains(out, "+++") {
			t.Errorf("%v: exit %d\n%s\n%s", args, code, out, errs)
		}
	}
	if got, _ := os.ReadFile(p); string(got) != bad {
		t.Error("file changed")
	}
	if _, err := os.Stat(base); err == nil {
		t.Error("baseline written")
	}
}
