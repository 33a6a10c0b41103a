package emulator

import (
	"fmt"
	"reflect"
	"runtime/metrics"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// This file bounds what one Lua VM keeps between balancer runs. The
// per-run watch (memoryWatch in lua.go) compares the process heap with its
// value when the run started, so a balancer that adds 60 MB to a table in
// _G (or in an upvalue, or ngx.shared) on every run stays under it run
// after run while the VM grows to gigabytes. After every run the engine
// therefore measures the VM itself: it walks every Lua value reachable
// from the VM's roots and adds up an estimate of their Go representation,
// and fails the run that takes the total past the VM's bound.
//
// Walking the VM instead of reading the process heap makes the measure
// one VM's alone. Confirmations run several emulations at once
// (analyzer.ConfirmAll), each with its own VM, and the heap metric is the
// process's: memory another emulation frees cannot hide what this VM
// holds, and memory another emulation holds cannot be charged to this one,
// so no run is failed for a neighbour's sake, before or after the
// neighbour ends. The per-run watch stays process-wide; it bounds the peak
// inside one run (garbage included) and re-reads its base on every run, so
// a neighbour's growth can fail at most the runs that overlap it. A run
// can outgrow the per-run watch unseen only while other goroutines free as
// much as it allocates, that is while the process as a whole does not
// grow, and what it keeps is caught here when it ends.
//
// What the walk cannot see must not be able to grow: the Go functions of
// the sandbox keep no Lua values between calls (the gmatch iterator keeps
// its subject in upvalues, which are walked), and a string the VM keeps
// is never a slice of a longer one the walk would not count, because the
// matcher copies its captures (luapattern.go) and string.sub copies its
// result (wrapBuiltins). The value stack is cleared after each run and is
// bounded by luaRegistryMax anyway.

// luaVMMemoryLimit bounds what one VM holds across all its runs, on top of
// what it held when it was created.
const luaVMMemoryLimit = 256 << 20

// errLuaVMMemory is the error of the run that takes the VM past its bound,
// and of every later run of that VM, which does not start.
type errLuaVMMemory struct {
	limit int64
}

func (e errLuaVMMemory) Error() string {
	return fmt.Sprintf("balancer code keeps more than %d MB in its Lua VM across runs (the emulator's per-VM memory bound)", e.limit>>20)
}

// Estimated sizes of gopher-lua's values on a 64-bit platform: a value
// slot is an interface (16 bytes), a map entry its key and value slots
// plus the map's per-entry overhead.
const (
	memSlot     = 16
	memMapEntry = 48
	memObject   = 64 // an LTable, LFunction or LUserData struct
	memString   = 16 // a string header
)

var (
	typeTable    = reflect.TypeOf((*lua.LTable)(nil))
	typeFunction = reflect.TypeOf((*lua.LFunction)(nil))
	typeUserData = reflect.TypeOf((*lua.LUserData)(nil))
)

// vmSizer adds up the estimated size of the values reachable from some
// roots, each object counted once, and stops once the total passes stop.
type vmSizer struct {
	seen    map[any]struct{}
	strs    map[*byte]struct{}
	pending []lua.LValue
	total   int64
	stop    int64
}

// footprint estimates the bytes held by the values reachable from the
// VM's roots: its globals, its registry (which holds the loaded modules
// and the string metatable), the ngx and ngx.balancer tables the engine
// keeps even if the code replaces them, and the environment and ngx.ctx of
// the request being served (u may be nil). The walk stops early, returning
// a value over stop, once the total passes stop.
func (e *luaEngine) footprint(u *ureq, stop int64) int64 {
	z := &vmSizer{seen: map[any]struct{}{}, strs: map[*byte]struct{}{}, stop: stop}
	z.pending = append(z.pending, e.g, e.L.G.Registry, e.ngx, e.bal)
	if u != nil && u.luaEnv != nil {
		z.pending = append(z.pending, u.luaEnv, u.luaCtx)
	}
	// An explicit stack rather than recursion: a chain of a million
	// nested tables must not exhaust the Go stack.
	for len(z.pending) > 0 && z.total <= z.stop {
		v := z.pending[len(z.pending)-1]
		z.pending = z.pending[:len(z.pending)-1]
		z.visit(v)
	}
	return z.total
}

func (z *vmSizer) push(v lua.LValue) {
	switch v.(type) {
	case *lua.LTable, *lua.LFunction, *lua.LUserData, lua.LString:
		z.pending = append(z.pending, v)
	}
}

func (z *vmSizer) visit(v lua.LValue) {
	switch x := v.(type) {
	case lua.LString:
		if len(x) == 0 {
			return
		}
		p := unsafe.StringData(string(x))
		if _, ok := z.strs[p]; ok {
			return
		}
		z.strs[p] = struct{}{}
		z.total += memString + int64(len(x))
	case *lua.LTable:
		if x == nil || z.once(x) {
			return
		}
		z.table(x)
	case *lua.LFunction:
		if x == nil || z.once(x) {
			return
		}
		z.total += memObject + memSlot*int64(len(x.Upvalues))
		if x.Env != nil {
			z.push(x.Env)
		}
		for _, uv := range x.Upvalues {
			if uv != nil {
				z.push(uv.Value())
			}
		}
	case *lua.LUserData:
		if x == nil || z.once(x) {
			return
		}
		z.total += memObject
		if s, ok := x.Value.(interface{ size() int64 }); ok {
			// Go state behind a userdata (resty.chash's points).
			z.total += s.size()
		}
		if x.Env != nil {
			z.push(x.Env)
		}
		z.push(x.Metatable)
	}
}

// once reports whether o was seen before, and marks it seen.
func (z *vmSizer) once(o any) bool {
	if _, ok := z.seen[o]; ok {
		return true
	}
	z.seen[o] = struct{}{}
	return false
}

// table counts an LTable from its Go fields, which gopher-lua does not
// export: the array's capacity, and the key list and index that keep every
// key ever stored, even after it was set to nil (LTable.RawSetH and
// RawSetString leave them; their TODO says so). Such a deleted key is
// still held, so it is walked too.
func (z *vmSizer) table(t *lua.LTable) {
	rv := reflect.ValueOf(t).Elem()
	arr := rv.FieldByName("array")
	keys := rv.FieldByName("keys")
	entries := 0
	for _, f := range []string{"dict", "strdict", "k2i"} {
		entries += rv.FieldByName(f).Len()
	}
	z.total += memObject + memSlot*int64(arr.Cap()+keys.Len()) + memMapEntry*int64(entries)
	if z.total > z.stop {
		return // over the bound already: spare queueing its entries
	}
	z.push(t.Metatable)
	t.ForEach(func(k, v lua.LValue) {
		z.push(k)
		z.push(v)
	})
	for i := 0; i < keys.Len(); i++ {
		k := keys.Index(i).Elem()
		switch {
		case k.Kind() == reflect.String:
			z.push(lua.LString(k.String()))
		case k.Type() == typeTable:
			z.push((*lua.LTable)(k.UnsafePointer()))
		case k.Type() == typeFunction:
			z.push((*lua.LFunction)(k.UnsafePointer()))
		case k.Type() == typeUserData:
			z.push((*lua.LUserData)(k.UnsafePointer()))
		}
	}
}

// heldAfterRun measures the VM after a run when it may have crossed its
// bound. A walk costs time in proportion to everything the VM holds, and
// most balancers hold little and allocate little, so it is skipped when
// the bound cannot have been crossed: what the VM holds can have grown
// since the last walk by no more than the bytes the whole process
// allocated since then (Go's cumulative allocation counter, which no free
// decreases). The estimate of a value may exceed the bytes Go allocated
// for it, so the allocations count twice.
func (e *luaEngine) heldAfterRun(u *ureq) (held int64, walked bool) {
	limit := e.vmBase + e.vmLimit
	now := heapAllocs()
	if grown := int64(now - e.vmAllocAt); grown >= 0 && e.vmHeld+2*grown <= limit {
		return e.vmHeld, false
	}
	e.vmAllocAt = now
	e.vmHeld = e.footprint(u, limit)
	return e.vmHeld, true
}

// heapAllocs is the process's cumulative count of bytes allocated on the
// heap.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
