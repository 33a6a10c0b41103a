package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const streamConf = `stream {
    upstream db {
        server 10.0.0.1:5432;
        server 10.0.0.2:5432;
        server 10.0.0.3:5432 backup;
    }
    server {
        listen 15432;
        proxy_pass db;
    }
    server {
        listen 15433;
        proxy_next_upstream_tries 2;
        proxy_pass db;
    }
}
`

// TestStreamEmulate runs emulate on a stream server chosen by its listen
// port: the first server refuses, the session moves on; the second
// server resets after reading, which ends the session (no retry).
func TestStreamEmulate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nginx.conf")
	if err := os.WriteFile(p, []byte(streamConf), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "emulate", "--no-config", "--format", "json", "--server", "15433",
		"--backend", "10.0.0.1:5432=refused", "--backend", "10.0.0.2:5432=reset", "--requests", "GET /", p)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	var res struct {
		Requests []struct {
			Status   json.RawMessage `json:"status"`
			Session  int             `json:"session"`
			Attempts []struct {
				Peer    string `json:"peer"`
				Outcome string `json:"outcome"`
			} `json:"attempts"`
		} `json:"requests"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	q := res.Requests[0]
	var got []string
	for _, a := range q.Attempts {
		got = append(got, a.Peer+"="+a.Outcome)
	}
	if string(q.Status) != `"closed"` || q.Session != 200 || strings.Join(got, " ") != "10.0.0.1:5432=connect-error 10.0.0.2:5432=proxied" {
		t.Errorf("status %s, session %d, attempts %v", q.Status, q.Session, got)
	}
	// A port no stream server listens on is a usage error.
	if code, _, errs := run(t, "emulate", "--no-config", "--server", "9999", p); code != ExitUsage || !strings.Contains(errs, "no stream server listening on") {
		t.Errorf("unknown port: exit %d: %s", code, errs)
	}
	// The real-nginx engine runs http only and says so.
	if code, _, errs := run(t, "emulate", "--no-config", "--engine", "nginx", "--nginx-binary", "/usr/sbin/nginx", "--server", "15432", p); code != ExitUsage || !strings.Contains(errs, "stream") {
		t.Errorf("--engine nginx on a stream server: exit %d: %s", code, errs)
	}
}

// TestStreamExplainRetries lists stream servers next to locations.
func TestStreamExplainRetries(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nginx.conf")
	if err := os.WriteFile(p, []byte(streamConf), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "explain-retries", "--format", "json", "--nginx-version", "1.22.1", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc struct {
		Locations []struct {
			Location string `json:"location"`
			Attempts string `json:"worst_case_attempts"`
		} `json:"locations"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, l := range doc.Locations {
		got += fmt.Sprintf("%s=%s ", l.Location, l.Attempts)
	}
	if want := "stream :15432=3 stream :15433=2 "; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
