package rules

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

func loadUpgradeConf(t *testing.T, path string) (*nginxconf.Config, *nginxconf.Model) {
	t.Helper()
	// Load relative to the repository root so positions read as they do
	// from the command line ("examples/seed/nginx.conf:13:9").
	cfg := nginxconf.Load(os.DirFS(".."), strings.TrimPrefix(path, "../"), nginxconf.Options{})
	if err := cfg.Err(); err != nil {
		t.Fatal(err)
	}
	return cfg, nginxconf.BuildModel(cfg)
}

func orProfile(t *testing.T, v string) versions.Profile {
	t.Helper()
	p, err := versions.Resolve("", "", v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func findChange(r *UpgradeReport, rule string) *UpgradeChange {
	for i := range r.Changes {
		if r.Changes[i].Rule == rule {
			return &r.Changes[i]
		}
	}
	return nil
}

// TestUpgradeSeed: the seed from OpenResty 1.9.7.3 to 1.9.7.4. The hot loop
// (NGX2001) disappears, confirmed: unbounded on 1.9.7.3, 502 on 1.9.7.4.
func TestUpgradeSeed(t *testing.T) {
	cfg, m := loadUpgradeConf(t, "../examples/seed/nginx.conf")
	rep, err := Upgrade(context.Background(), cfg, m, orProfile(t, "1.9.7.3"), orProfile(t, "1.9.7.4"), UpgradeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + text.String())
	c := findChange(rep, "NGX2001")
	if c == nil {
		t.Fatalf("NGX2001 is not among the changes")
	}
	if c.Kind != Disappears || c.Confirmation != analyzer.Confirmed {
		t.Fatalf("NGX2001: %s / %s (%s)", c.Kind, c.Confirmation, c.Reason)
	}
	if c.From.Observed["unbounded"] != true {
		t.Errorf("before: %v, want unbounded", c.From.Observed)
	}
	if c.To.Observed["unbounded"] != false || !strings.Contains(c.To.Observation, "-> 502") {
		t.Errorf("after: %q, want a bounded 502", c.To.Observation)
	}
	for _, ch := range rep.Changes {
		if ch.Kind == Appears {
			t.Errorf("unexpected new finding %s at %s: %s", ch.Rule, ch.Position, ch.To.Message)
		}
	}
	if len(rep.RuleErrors) > 0 {
		t.Errorf("rule errors: %v", rep.RuleErrors)
	}
}

// TestUpgradeNotifyPatch: a balancer with keepalive from OpenResty 1.29.2.3
// to 1.29.2.4: OR-NOTIFY-STALE-502 appears, confirmed: 200 before, 502
// after.
func TestUpgradeNotifyPatch(t *testing.T) {
	cfg, m := loadUpgradeConf(t, "../testdata/upgrade/balancer-keepalive.conf")
	rep, err := Upgrade(context.Background(), cfg, m, orProfile(t, "1.29.2.3"), orProfile(t, "1.29.2.4"), UpgradeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	t.Log("\n" + text.String())
	c := findChange(rep, "VER1011")
	if c == nil {
		t.Fatalf("VER1011 is not among the changes")
	}
	if c.Kind != Appears || c.Confirmation != analyzer.Confirmed {
		t.Fatalf("VER1011: %s / %s (%s)", c.Kind, c.Confirmation, c.Reason)
	}
	if c.From.Fires || !c.To.Fires {
		t.Errorf("fires before=%v after=%v", c.From.Fires, c.To.Fires)
	}
	if !strings.Contains(c.From.Observation, "GET /2 -> 200") || !strings.Contains(c.To.Observation, "got 502") {
		t.Errorf("before %q, after %q", c.From.Observation, c.To.Observation)
	}
	// The JSON form is the CLI contract.
	b, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back["to"] != rep.To || len(back["changes"].([]any)) != len(rep.Changes) {
		t.Errorf("JSON round trip lost data: %s", b)
	}
}

// TestUpgradeBehaviourChange: nginx 1.22.1 to OpenResty 1.31.1.1 crosses
// 1.29.7, where upstream keepalive becomes the default.
func TestUpgradeBehaviourChange(t *testing.T) {
	dir := t.TempDir()
	conf := `events {}
http {
    upstream app {
        server 127.0.0.1:8080;
    }
    server {
        listen 80;
        location / { proxy_pass http://app; }
    }
}
`
	if err := os.WriteFile(dir+"/nginx.conf", []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	loaded := nginxconf.Load(os.DirFS(dir), "nginx.conf", nginxconf.Options{})
	if err := loaded.Err(); err != nil {
		t.Fatal(err)
	}
	cfg, m := loaded, nginxconf.BuildModel(loaded)
	from, err := versions.Resolve("1.22.1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Upgrade(context.Background(), cfg, m, from, orProfile(t, "1.31.1.1"), UpgradeOptions{Rules: []*analyzer.Rule{VerNGXKAOnByDefault}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changes) != 1 {
		t.Fatalf("want 1 change, got %+v", rep.Changes)
	}
	c := rep.Changes[0]
	if c.Kind != ChangesBehaviour || c.Confirmation != analyzer.Confirmed {
		t.Fatalf("%s / %s (%s): %q vs %q", c.Kind, c.Confirmation, c.Reason, c.From.Observation, c.To.Observation)
	}
}

// TestUpgradeNoConfirmAndErrors covers the option and bad input.
func TestUpgradeNoConfirmAndErrors(t *testing.T) {
	cfg, m := loadUpgradeConf(t, "../testdata/upgrade/balancer-keepalive.conf")
	rep, err := Upgrade(context.Background(), cfg, m, orProfile(t, "1.29.2.3"), orProfile(t, "1.29.2.4"), UpgradeOptions{NoConfirm: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Changes {
		if c.Confirmation != analyzer.NotRun {
			t.Errorf("%s: %s with NoConfirm", c.Rule, c.Confirmation)
		}
	}
	if _, err := Upgrade(context.Background(), cfg, m, versions.Profile{}, orProfile(t, "1.29.2.4"), UpgradeOptions{}); err == nil {
		t.Error("an unknown current version must be an error")
	}
	if _, err := Upgrade(context.Background(), nil, nil, orProfile(t, "1.29.2.3"), orProfile(t, "1.29.2.4"), UpgradeOptions{}); err == nil {
		t.Error("a nil configuration must be an error")
	}
}

func TestUpgradeTarget(t *testing.T) {
	from, _ := versions.Resolve("1.22.1", "0.10.23", "")
	tests := []struct{ arg, want string }{
		{"1.29.2.4", "openresty 1.29.2.4, nginx 1.29.2, lua-nginx-module 0.10.31rc2, lua-resty-core 0.1.34rc2"},
		{"openresty/1.31.1.1", "openresty 1.31.1.1, nginx 1.31.1, lua-nginx-module 0.10.31rc5, lua-resty-core 0.1.34rc3"},
		{"1.29.7", "nginx 1.29.7, lua-nginx-module 0.10.23"},
		{"nginx=1.29.7,lnm=0.10.29", "nginx 1.29.7, lua-nginx-module 0.10.29"},
	}
	for _, tt := range tests {
		p, err := UpgradeTarget(tt.arg, from)
		if err != nil || p.String() != tt.want {
			t.Errorf("UpgradeTarget(%q) = %q, %v; want %q", tt.arg, p.String(), err, tt.want)
		}
	}
	for _, bad := range []string{"", "x.y", "openresty=1.x", "1.2.3.4.5"} {
		if _, err := UpgradeTarget(bad, from); err == nil {
			t.Errorf("UpgradeTarget(%q): no error", bad)
		}
	}
}

func TestUpgradeJSONNotEscaped(t *testing.T) {
	r := &UpgradeReport{From: "a", To: "b", Changes: []UpgradeChange{{Kind: Appears, Title: "OpenResty >= 1.29.2.4"}}}
	b, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(">= 1.29.2.4")) {
		t.Errorf("JSON escapes comparisons: %s", b)
	}
}
