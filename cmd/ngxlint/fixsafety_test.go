package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules"
	"github.com/ngxlint/ngxlint/versions"
)

// This file checks that --fix never loses data (issue 8): the write is
// atomic even when the process dies in the middle, a failed rename leaves
// the old file, and a file changed since it was read is not overwritten.

// fixableConf has one NGX2002 finding with a safe fix on nginx 1.22.1
// (keepalive with HTTP/1.0 upstream requests).
const fixableConf = `http {
    upstream app {
        server 127.0.0.1:8080;
        keepalive 16;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://app;
        }
    }
}
`

// fixedConf runs --fix once on a copy and returns the fixed text.
func fixedConf(t *testing.T) string {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "nginx.conf")
	writeTestFile(t, conf, fixableConf)
	code, out, errs := runBounded(t, "check", "--no-config", "--nginx-version", "1.22.1", "--fix", conf)
	got, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) == fixableConf || !strings.Contains(string(got), "proxy_http_version 1.1;") {
		t.Fatalf("--fix (exit %d) did not fix:\n%s\n%s%s", code, got, out, errs)
	}
	return string(got)
}

// Environment of the crash child (TestFixCrashChild).
const (
	envCrashMode = "NGXLINT_TEST_FIX_CRASH"
	envCrashFile = "NGXLINT_TEST_FIX_FILE"
	envCrashNew  = "NGXLINT_TEST_FIX_NEW"
)

// TestFixCrashChild is not a test on its own: TestFixCrash runs the test
// binary again with it selected, to be killed.
func TestFixCrashChild(t *testing.T) {
	mode := os.Getenv(envCrashMode)
	if mode == "" {
		t.Skip("run by TestFixCrash")
	}
	file := os.Getenv(envCrashFile)
	switch mode {
	case "before-rename":
		// Die by SIGKILL between the temp file's write (synced) and the
		// rename: no deferred cleanup runs, as in a power cut or OOM kill.
		err := writeFileAtomic(file, []byte(os.Getenv(envCrashNew)), 0o644, nil, func(tmp string) error {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Minute)
			return nil
		})
		t.Fatalf("still alive after SIGKILL: %v", err)
	case "loop":
		// Fix the file through the CLI, then put the old text back (also
		// atomically), over and over, until killed at a random moment.
		old, _ := os.ReadFile(file)
		for {
			var sink strings.Builder
			c := &Command{Stdin: strings.NewReader(""), Stdout: &sink, Stderr: &sink}
			c.Main([]string{"ngxlint", "check", "--no-config", "--nginx-version", "1.22.1", "--fix", file})
			if err := writeFileAtomic(file, old, 0o644, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestFixCrash kills a process writing a fix and finds either the old or
// the new file, whole.
func TestFixCrash(t *testing.T) {
	if os.Getenv(envCrashMode) != "" {
		t.Skip("in the child")
	}
	newText := fixedConf(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	child := func(mode, file string) *exec.Cmd {
		cmd := exec.Command(exe, "-test.run=^TestFixCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envCrashMode+"="+mode, envCrashFile+"="+file, envCrashNew+"="+newText)
		return cmd
	}

	t.Run("killed before rename", func(t *testing.T) {
		dir := t.TempDir()
		conf := filepath.Join(dir, "nginx.conf")
		writeTestFile(t, conf, fixableConf)
		err := child("before-rename", conf).Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("child: %v, want killed by SIGKILL", err)
		}
		if got, _ := os.ReadFile(conf); string(got) != fixableConf {
			t.Errorf("file after the crash:\n%s", got)
		}
		// The synced temp file stays behind; its name is hidden and does
		// not end in .conf, so no include glob of nginx picks it up.
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if e.Name() == "nginx.conf" {
				continue
			}
			if !strings.HasPrefix(e.Name(), ".nginx.conf.ngxlint-") || strings.HasSuffix(e.Name(), ".conf") {
				t.Errorf("left behind %q", e.Name())
			}
			if data, _ := os.ReadFile(filepath.Join(dir, e.Name())); string(data) != newText {
				t.Errorf("temp file %s is not the whole new text", e.Name())
			}
		}
	})

	t.Run("killed at random moments", func(t *testing.T) {
		dir := t.TempDir()
		conf := filepath.Join(dir, "nginx.conf")
		writeTestFile(t, conf, fixableConf)
		seen := map[string]int{}
		for i := 0; i < 12; i++ {
			cmd := child("loop", conf)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(100+i*37) * time.Millisecond)
			cmd.Process.Kill()
			cmd.Wait()
			got, err := os.ReadFile(conf)
			if err != nil {
				t.Fatal(err)
			}
			switch string(got) {
			case fixableConf:
				seen["old"]++
			case newText:
				seen["new"]++
			default:
				t.Fatalf("kill %d: the file is neither the old nor the new text:\n%s", i, got)
			}
		}
		t.Logf("after 12 kills: %v", seen)
	})
}

// TestFixRenameFails: a failing rename (injected through the hook) leaves
// the old file and no temporary file.
func TestFixRenameFails(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	writeTestFile(t, conf, fixableConf)
	boom := errors.New("injected rename failure")
	err := writeFileAtomic(conf, []byte("new"), 0o644, nil, func(string) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("error %v", err)
	}
	if got, _ := os.ReadFile(conf); string(got) != fixableConf {
		t.Errorf("file changed:\n%s", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files left: %v", ents)
	}
}

// TestFixRefusesConcurrentChange: a file edited between the load and the
// write is not overwritten (the fix's offsets would hit the wrong bytes).
func TestFixRefusesConcurrentChange(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "nginx.conf")
	writeTestFile(t, conf, fixableConf)
	cfg := nginxconf.LoadFile(conf, nginxconf.Options{})
	prof, err := versions.Resolve("1.22.1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	res := analyzer.Run(cfg, nginxconf.BuildModel(cfg), rules.Registry().All(), analyzer.Options{Profile: prof, Settings: map[string]string{}})
	files := map[string]*nginxconf.File{}
	for _, f := range cfg.Files {
		files[f.Path] = f
	}
	plan, err := planFixes(res.Diagnostics, files)
	if err != nil || len(plan.files) == 0 {
		t.Fatalf("plan %v, %v: no fix to apply", plan, err)
	}
	edited := strings.Replace(fixableConf, "keepalive 16;", "keepalive 32;", 1)
	writeTestFile(t, conf, edited)
	written, err := plan.write(nil)
	if err == nil || len(written) != 0 || !strings.Contains(err.Error(), "changed on disk") {
		t.Errorf("write: %v, %v; want a refusal", written, err)
	}
	if got, _ := os.ReadFile(conf); string(got) != edited {
		t.Errorf("concurrent edit lost:\n%s", got)
	}
}
