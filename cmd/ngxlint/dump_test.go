package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestCheckStdinDump: `nginx -T | ngxlint check -` checks the files of the
// dump under the paths nginx printed, includes followed.
func TestCheckStdinDump(t *testing.T) {
	dump := "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n" +
		"# configuration file /etc/nginx/nginx.conf:\n" +
		"events {}\nhttp {\n    server_tokens off;\n    include /etc/nginx/conf.d/*.conf;\n}\n\n" +
		"# configuration file /etc/nginx/conf.d/site.conf:\n" +
		"server {\n    listen 80;\n    error_log off;\n}\n\n"
	var out, errb bytes.Buffer
	c := &Command{Stdin: strings.NewReader(dump), Stdout: &out, Stderr: &errb}
	code := c.Main([]string{"ngxlint", "check", "--no-config", "-"})
	if code != ExitFindings || !strings.Contains(out.String(), "etc/nginx/conf.d/site.conf:3:5: warning: error_log off") {
		t.Errorf("exit %d\n%s%s", code, out.String(), errb.String())
	}
}

// TestCheckStdinRealDump runs the installed nginx's own dump through check:
// it must load without configuration errors.
func TestCheckStdinRealDump(t *testing.T) {
	if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
		t.Skip("no nginx at /usr/sbin/nginx")
	}
	dump, err := exec.Command("/usr/sbin/nginx", "-T").CombinedOutput()
	if err != nil {
		t.Skipf("nginx -T: %v", err)
	}
	var out, errb bytes.Buffer
	c := &Command{Stdin: bytes.NewReader(dump), Stdout: &out, Stderr: &errb}
	code := c.Main([]string{"ngxlint", "check", "--no-config", "-"})
	if code != ExitClean && code != ExitFindings {
		t.Errorf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "etc/nginx/nginx.conf:") {
		t.Errorf("no finding names the dumped main file:\n%s", out.String())
	}
}
