package emulator

import (
	"fmt"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// bit is LuaJIT's BitOp: every operation works on the argument's value
// normalised to a 32-bit integer and returns a signed 32-bit result
// (lib_bit.c); tohex takes an optional digit count, negative for upper
// case.
func (e *luaEngine) buildBit() lua.LValue {
	L := e.L
	t := L.NewTable()
	arg := func(L *lua.LState, i int) uint32 {
		n := float64(L.CheckNumber(i))
		// lj_num2bit: add 2^52+2^51 and take the low 32 bits, which
		// rounds to nearest and wraps modulo 2^32.
		return uint32(int64(math.RoundToEven(math.Mod(n, 4294967296))))
	}
	ret := func(L *lua.LState, v uint32) int { L.Push(lua.LNumber(int32(v))); return 1 }
	fold := func(op func(a, b uint32) uint32) lua.LGFunction {
		return func(L *lua.LState) int {
			v := arg(L, 1)
			for i := 2; i <= L.GetTop(); i++ {
				v = op(v, arg(L, i))
			}
			return ret(L, v)
		}
	}
	e.setFn(t, "tobit", func(L *lua.LState) int { return ret(L, arg(L, 1)) })
	e.setFn(t, "bnot", func(L *lua.LState) int { return ret(L, ^arg(L, 1)) })
	e.setFn(t, "band", fold(func(a, b uint32) uint32 { return a & b }))
	e.setFn(t, "bor", fold(func(a, b uint32) uint32 { return a | b }))
	e.setFn(t, "bxor", fold(func(a, b uint32) uint32 { return a ^ b }))
	e.setFn(t, "lshift", func(L *lua.LState) int { return ret(L, arg(L, 1)<<(arg(L, 2)&31)) })
	e.setFn(t, "rshift", func(L *lua.LState) int { return ret(L, arg(L, 1)>>(arg(L, 2)&31)) })
	e.setFn(t, "arshift", func(L *lua.LState) int { return ret(L, uint32(int32(arg(L, 1))>>(arg(L, 2)&31))) })
	e.setFn(t, "rol", func(L *lua.LState) int {
		v, n := arg(L, 1), arg(L, 2)&31
		return ret(L, v<<n|v>>((32-n)&31))
	})
	e.setFn(t, "ror", func(L *lua.LState) int {
		v, n := arg(L, 1), arg(L, 2)&31
		return ret(L, v>>n|v<<((32-n)&31))
	})
	e.setFn(t, "bswap", func(L *lua.LState) int {
		v := arg(L, 1)
		return ret(L, v>>24|(v>>8)&0xff00|(v<<8)&0xff0000|v<<24)
	})
	e.setFn(t, "tohex", func(L *lua.LState) int {
		v := arg(L, 1)
		n := int32(8)
		if L.GetTop() >= 2 {
			n = int32(arg(L, 2))
		}
		upper := n < 0
		if upper {
			n = -n
		}
		if n > 8 {
			n = 8
		}
		s := fmt.Sprintf("%08x", v)
		if upper {
			s = fmt.Sprintf("%08X", v)
		}
		L.Push(lua.LString(s[8-n:]))
		return 1
	})
	return t
}

// table.new(narr, nrec) preallocates in LuaJIT; here it is an empty table.
func (e *luaEngine) tableNew() lua.LValue {
	return e.L.NewFunction(func(L *lua.LState) int {
		L.CheckNumber(1)
		L.CheckNumber(2)
		L.Push(L.NewTable())
		return 1
	})
}

// table.clear empties a table in place.
func (e *luaEngine) tableClear() lua.LValue {
	return e.L.NewFunction(func(L *lua.LState) int {
		t := L.CheckTable(1)
		var keys []lua.LValue
		t.ForEach(func(k, _ lua.LValue) { keys = append(keys, k) })
		for _, k := range keys {
			t.RawSet(k, lua.LNil)
		}
		return 0
	})
}

// table.nkeys counts the keys of a table (OpenResty's LuaJIT).
func (e *luaEngine) tableNkeys() lua.LValue {
	return e.L.NewFunction(func(L *lua.LState) int {
		n := 0
		L.CheckTable(1).ForEach(func(_, _ lua.LValue) { n++ })
		L.Push(lua.LNumber(n))
		return 1
	})
}

// table.isempty reports whether a table has no keys (OpenResty's LuaJIT).
func (e *luaEngine) tableIsEmpty() lua.LValue {
	return e.L.NewFunction(func(L *lua.LState) int {
		empty := true
		L.CheckTable(1).ForEach(func(_, _ lua.LValue) { empty = false })
		L.Push(lua.LBool(empty))
		return 1
	})
}
