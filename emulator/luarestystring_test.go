package emulator

import "testing"

// TestRestyRandomAndString: the lua-resty-string modules balancers use for
// ids and keys work without the FFI.
func TestRestyRandomAndString(t *testing.T) {
	c := workerConfig(t, `
local random = require "resty.random"
local str = require "resty.string"
local b = random.bytes(16, true)
assert(#b == 16)
local h = str.to_hex(b)
assert(#h == 32 and h:match("^[0-9a-f]+$"), h)
assert(str.to_hex("\1\255") == "01ff")
assert(str.atoi("42") == 42)`+setPeer, 1)
	res := runCfg(t, c)
	if q := res.Requests[0]; q.LuaError != "" {
		t.Errorf("lua error: %s", q.LuaError)
	}
}
