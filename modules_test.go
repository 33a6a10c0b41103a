package ngxlint_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ngxlint/ngxlint"
	"github.com/ngxlint/ngxlint/directives"
)

// TestCheckModules: Options.Modules declares a custom module's directives
// (no finding) and closes the set of third-party modules (echo, left out,
// is an error); a malformed declaration is an error of Check.
func TestCheckModules(t *testing.T) {
	fsys := fstest.MapFS{"nginx.conf": {Data: []byte("events {}\nhttp {\n server {\n  listen 80;\n  location / {\n   company_auth on;\n   echo hi;\n  }\n }\n}\n")}}
	opts := ngxlint.Options{Enable: []string{"NGX3*"}, Modules: ngxlint.ModulesOption{
		Load:       []string{},
		Directives: []directives.Extra{{Name: "company_auth", Contexts: []string{"location"}, Args: "1"}},
	}}
	rep, err := ngxlint.Check(context.Background(), fsys, []string{"nginx.conf"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Rule != "NGX3001" || !strings.Contains(rep.Findings[0].Message, `"echo": ngx_http_echo_module is not in the declared build`) {
		t.Errorf("findings %+v", rep.Findings)
	}
	opts.Modules.Directives[0].Contexts = []string{"nowhere"}
	if _, err := ngxlint.Check(context.Background(), fsys, []string{"nginx.conf"}, opts); err == nil || !strings.Contains(err.Error(), `context "nowhere"`) {
		t.Errorf("a bad declaration: %v", err)
	}
}
