package emulator

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestRequireComputedName: a module required with a computed name (a
// plugin loader's require("plugins." .. name)), which the loader cannot
// follow, is found at run time on the search path in the checked tree,
// through the path map; a name outside the tree or a credentials file is
// still missing.
func TestRequireComputedName(t *testing.T) {
	c := workerConfig(t, `
local name = "auth"
local p = require("plugins." .. name)
_G.PEER = p.peer()
local ok, err = pcall(require, "plugins." .. "nope")
assert(not ok and err:find("module 'plugins.nope' not found"), err)
ok, err = pcall(require, ".." .. ".etc.passwd")
assert(not ok)`+setPeer, 1)
	c.Lua.Files = fstest.MapFS{
		"srv/app/lua/plugins/auth.lua": {Data: []byte("return { peer = function() return '10.0.0.9' end }\n")},
	}
	c.Lua.SearchPath = []string{"/usr/local/openresty/nginx/lua/?.lua", "/usr/local/openresty/nginx/lua/?/init.lua"}
	c.Lua.PathMap = []PathMapping{{From: "/usr/local/openresty/nginx/", To: "srv/app"}}
	res := runCfg(t, c)
	q := res.Requests[0]
	if q.LuaError != "" || len(q.Attempts) == 0 || !strings.HasPrefix(q.Attempts[0].Peer, "10.0.0.9") {
		t.Errorf("request: lua error %q, attempts %+v", q.LuaError, q.Attempts)
	}
}
