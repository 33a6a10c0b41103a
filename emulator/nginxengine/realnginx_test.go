package nginxengine

import (
	"context"
	"testing"
)

// TestScenariosRealNginx runs every testdata/diff scenario through real
// nginx and checks the behaviour recorded in its expect-nginx line, so a
// change in the harness (or a different nginx) shows up on its own, apart
// from the emulator comparison in diff_test.go.
func TestScenariosRealNginx(t *testing.T) {
	b := realNginx(t)
	for _, c := range loadDiffCases(t) {
		t.Run(c.name, func(t *testing.T) {
			if len(c.expect) == 0 {
				t.Skip("no expect-nginx line")
			}
			res, err := b.Run(context.Background(), c.scenario())
			if err != nil {
				t.Fatal(err)
			}
			for i, q := range res.Requests {
				checkExpect(t, "nginx", i, q.RequestResult, c.expect[i])
				t.Logf("request %d: %s %s -> %s, %d conns, %d reqs, error.log %v", i+1, q.Method, q.Path, q.Status, q.UpstreamConnections, q.UpstreamRequests, q.ErrorLog)
			}
		})
	}
}
