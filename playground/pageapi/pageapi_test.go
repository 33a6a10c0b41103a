package pageapi

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ngxlint/ngxlint/versions"
)

func decode(t *testing.T, b []byte) Response {
	t.Helper()
	var r Response
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return r
}

// What the page sends for the seed gives the confirmed NGX2001 with its
// trace, and the text format beside it.
func TestRunSeed(t *testing.T) {
	seed, err := os.ReadFile("../../examples/seed/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := json.Marshal(request{Files: map[string]string{"nginx.conf": string(seed)}, Main: "nginx.conf",
		Versions: "lua_nginx_module=0.10.0", Confirm: true})
	r := decode(t, Run(t.Context(), req))
	if r.Error != "" {
		t.Fatal(r.Error)
	}
	found := false
	for i, f := range r.Report.Findings {
		if f.Rule == "NGX2001" {
			found = f.Line == 13 && f.Confirmation.Status == "confirmed" && strings.Contains(r.Traces[i], "attempt")
		}
	}
	if !found || len(r.Traces) != len(r.Report.Findings) || !strings.Contains(r.Text, "nginx.conf:13:9: error: ") {
		t.Errorf("Response: %+v", r)
	}
}

// A page's mistakes are answers with an error, never a crash.
func TestRunBadRequests(t *testing.T) {
	for _, tc := range []struct{ req, want string }{
		{`{`, "bad request"},
		{`{"files":{"a.conf":"http {}"},"main":"nginx.conf"}`, "no file named nginx.conf"},
		{`{"files":{"nginx.conf":"http {}"},"versions":"nginx=banana"}`, "banana"},
		{`{"files":{"":"x"}}`, "no name"},
		{`{"files":{"nginx.conf":"` + strings.Repeat("x", maxInput+1) + `"}}`, "more than"},
	} {
		if r := decode(t, Run(t.Context(), []byte(tc.req))); !strings.Contains(r.Error, tc.want) {
			t.Errorf("%.60s: error %q, want %q", tc.req, r.Error, tc.want)
		}
	}
}

// The page is offered the versions of the bundle table, 0.10.0 (the
// seed's) among them, in order.
func TestChoices(t *testing.T) {
	var c versionChoices
	if err := json.Unmarshal(Choices(), &c); err != nil {
		t.Fatal(err)
	}
	sorted := slices.IsSortedFunc(c.LNM, func(a, b string) int { return versions.MustParse(a).Compare(versions.MustParse(b)) })
	if len(c.OpenResty) != len(versions.Bundles()) || !sorted {
		t.Fatalf("choices %+v", c)
	}
	has := false
	for _, v := range c.LNM {
		has = has || v == "0.10.0"
	}
	if !has {
		t.Errorf("no 0.10.0 in %v", c.LNM)
	}
}
