package gen

import (
	"strings"
	"testing"
)

func TestConfigShape(t *testing.T) {
	c := Config(3, 2, 4, 2)
	if got := strings.Count(c, "    server {\n"); got != 3 {
		t.Errorf("servers = %d, want 3", got)
	}
	if got := strings.Count(c, "location /api/"); got != 6 {
		t.Errorf("locations = %d, want 6", got)
	}
	if got := strings.Count(c, "upstream backend_"); got != 4 {
		t.Errorf("upstreams = %d, want 4", got)
	}
	if got := strings.Count(c, "balancer_by_lua_block"); got != 2 {
		t.Errorf("lua upstreams = %d, want 2", got)
	}
	if Config(3, 2, 4, 2) != c {
		t.Errorf("not deterministic")
	}
}
