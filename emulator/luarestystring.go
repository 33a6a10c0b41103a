package emulator

import (
	"encoding/hex"
	"math/rand/v2"
	"strconv"

	lua "github.com/yuin/gopher-lua"
)

// lua-resty-string ships with every OpenResty bundle; balancers and their
// helpers use it to make request ids and hash keys. Its modules call
// OpenSSL through the FFI, which the sandbox does not have, so the two
// that matter are written here: resty.random.bytes (RAND_bytes /
// RAND_pseudo_bytes in lib/resty/random.lua) and resty.string.to_hex /
// atoi (lib/resty/string.lua).

// buildRestyRandom returns resty.random. Its bytes come from a generator
// seeded per VM, so an emulation is the same from run to run (a request id
// is never a peer choice the emulator has to reproduce exactly).
func (e *luaEngine) buildRestyRandom() lua.LValue {
	t := e.L.NewTable()
	rng := rand.New(rand.NewPCG(1, 2))
	e.setFn(t, "bytes", func(L *lua.LState) int {
		n := L.CheckInt(1)
		if n < 0 || n > luaMaxString {
			L.ArgError(1, "bad length")
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		L.Push(lua.LString(b))
		return 1
	})
	return t
}

// buildRestyString returns resty.string.
func (e *luaEngine) buildRestyString() lua.LValue {
	t := e.L.NewTable()
	t.RawSetString("_VERSION", lua.LString("0.15"))
	e.setFn(t, "to_hex", func(L *lua.LState) int {
		s := L.CheckString(1)
		if 2*len(s) > luaMaxString {
			L.RaiseError("string too large")
		}
		L.Push(lua.LString(hex.EncodeToString([]byte(s))))
		return 1
	})
	e.setFn(t, "atoi", func(L *lua.LState) int {
		n, err := strconv.ParseInt(L.CheckString(1), 10, 64)
		if err != nil {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(lua.LNumber(n))
		return 1
	})
	return t
}
