package emulator

import (
	"encoding/base64"
	"hash/crc32"
	"math"
	"sort"
	"strconv"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/ngxlint/ngxlint/versions"
)

// ngx.upstream (lua-upstream-nginx-module) over the configuration's
// upstream blocks (Config.Lua.Upstreams, or the emulated upstream alone):
// get_upstreams, get_servers, get_primary_peers, get_backup_peers, with
// the fields and the "upstream not found" error of ngx_http_lua_upstream_module.c;
// set_peer_down changes nothing the emulator models and returns true.
func (e *luaEngine) buildUpstream() lua.LValue {
	L := e.L
	ups := e.r.cfg.Lua.Upstreams
	if len(ups) == 0 {
		ups = []Upstream{e.r.cfg.Upstream}
	}
	find := func(L *lua.LState) *Upstream {
		name := L.CheckString(1)
		for i := range ups {
			if ups[i].Name == name {
				return &ups[i]
			}
		}
		return nil
	}
	t := L.NewTable()
	e.setFn(t, "get_upstreams", func(L *lua.LState) int {
		r := L.NewTable()
		for _, u := range ups {
			r.Append(lua.LString(u.Name))
		}
		L.Push(r)
		return 1
	})
	e.setFn(t, "get_servers", func(L *lua.LState) int {
		u := find(L)
		if u == nil {
			L.Push(lua.LNil)
			L.Push(lua.LString("upstream not found"))
			return 2
		}
		r := L.NewTable()
		for _, s := range u.Servers {
			st := L.NewTable()
			st.RawSetString("addr", lua.LString(NormAddr(s.Addr, 80)))
			st.RawSetString("name", lua.LString(s.Addr))
			st.RawSetString("weight", lua.LNumber(max(s.Weight, 1)))
			st.RawSetString("max_fails", lua.LNumber(maxFails(s)))
			st.RawSetString("fail_timeout", lua.LNumber(failTimeout(s)))
			if s.Backup {
				st.RawSetString("backup", lua.LTrue)
			}
			if s.Down {
				st.RawSetString("down", lua.LTrue)
			}
			r.Append(st)
		}
		L.Push(r)
		return 1
	})
	peers := func(backup bool) lua.LGFunction {
		return func(L *lua.LState) int {
			u := find(L)
			if u == nil {
				L.Push(lua.LNil)
				L.Push(lua.LString("upstream not found"))
				return 2
			}
			r := L.NewTable()
			id := 0
			for _, s := range u.Servers {
				if s.Backup != backup {
					continue
				}
				p := L.NewTable()
				p.RawSetString("id", lua.LNumber(id))
				id++
				p.RawSetString("name", lua.LString(NormAddr(s.Addr, 80)))
				w := max(s.Weight, 1)
				p.RawSetString("weight", lua.LNumber(w))
				p.RawSetString("current_weight", lua.LNumber(0))
				p.RawSetString("effective_weight", lua.LNumber(w))
				p.RawSetString("conns", lua.LNumber(0))
				p.RawSetString("fails", lua.LNumber(0))
				p.RawSetString("max_fails", lua.LNumber(maxFails(s)))
				p.RawSetString("fail_timeout", lua.LNumber(failTimeout(s)))
				if s.Down {
					p.RawSetString("down", lua.LTrue)
				}
				r.Append(p)
			}
			L.Push(r)
			return 1
		}
	}
	e.setFn(t, "get_primary_peers", peers(false))
	e.setFn(t, "get_backup_peers", peers(true))
	e.setFn(t, "set_peer_down", func(L *lua.LState) int { L.Push(lua.LTrue); return 1 })
	e.setFn(t, "current_upstream_name", func(L *lua.LState) int {
		if e.u == nil {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(lua.LString(e.r.cfg.Upstream.Name))
		return 1
	})
	return t
}

func maxFails(s Server) int { return s.MaxFails.Or(versions.DefaultMaxFails) }

// failTimeout is fail_timeout in whole seconds, as nginx stores it
// (ngx_parse_time(..., 1) in ngx_http_upstream_server).
func failTimeout(s Server) int64 {
	return int64(s.FailTimeout.Or(versions.DefaultFailTimeout) / time.Second)
}

// ngx.process (lua-resty-core): one worker, its master.
func (e *luaEngine) buildProcess() lua.LValue {
	L := e.L
	t := L.NewTable()
	e.setFn(t, "type", func(L *lua.LState) int {
		if e.phase == phInit {
			L.Push(lua.LString("master"))
		} else {
			L.Push(lua.LString("worker"))
		}
		return 1
	})
	e.setFn(t, "get_master_pid", func(L *lua.LState) int { L.Push(lua.LNumber(4241)); return 1 })
	e.setFn(t, "enable_privileged_agent", func(L *lua.LState) int {
		if e.phase != phInit {
			L.RaiseError("API disabled in the current context")
		}
		L.Push(lua.LTrue)
		return 1
	})
	e.setFn(t, "signal_graceful_exit", func(L *lua.LState) int { return 0 })
	return t
}

// ngx.base64 (lua-resty-core): the URL-safe alphabet without padding.
func (e *luaEngine) buildBase64() lua.LValue {
	L := e.L
	t := L.NewTable()
	e.setFn(t, "encode_base64url", func(L *lua.LState) int {
		s, ok := L.Get(1).(lua.LString)
		if !ok {
			L.RaiseError("must provide a string")
		}
		L.Push(lua.LString(base64.RawURLEncoding.EncodeToString([]byte(s))))
		return 1
	})
	e.setFn(t, "decode_base64url", func(L *lua.LState) int {
		s, ok := L.Get(1).(lua.LString)
		if !ok {
			L.RaiseError("must provide a string")
		}
		d, err := base64.RawURLEncoding.DecodeString(string(s))
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString("invalid input"))
			return 2
		}
		L.Push(lua.LString(d))
		return 1
	})
	return t
}

// ---- resty.chash ----

// chashPointsPerWeight is CONSISTENT_POINTS of lua-resty-balancer.
const (
	chashPointsPerWeight = 160
	chashMaxPoints       = 1 << 20
)

type chashPoint struct {
	hash uint32
	id   int
}

type chashState struct {
	nodes  map[string]int
	ids    []string
	points []chashPoint
}

func (st *chashState) size() int64 {
	return int64(cap(st.points))*16 + int64(len(st.ids)+len(st.nodes))*64
}

// chashPointsFor is chash_point_init_crc: point i of a node is the CRC32
// of the previous point's hash bytes (little endian), continued from the
// node's base hash (crc32 of its id).
func chashPointsFor(base uint32, from, num int, id int) []chashPoint {
	out := make([]chashPoint, 0, num)
	var prev [4]byte
	for i := 0; i < from+num; i++ {
		h := crc32.Update(base^0xffffffff, crc32.IEEETable, prev[:]) // crc32_update from the raw state
		if i >= from {
			out = append(out, chashPoint{h, id})
		}
		prev = [4]byte{byte(h), byte(h >> 8), byte(h >> 16), byte(h >> 24)}
	}
	return out
}

func (st *chashState) rebuild(L *lua.LState) {
	keys := make([]string, 0, len(st.nodes))
	total := 0
	for k, w := range st.nodes {
		keys = append(keys, k)
		total += w
	}
	if total*chashPointsPerWeight > chashMaxPoints {
		L.RaiseError("resty.chash: total weight %d is past the emulator's bound of %d points", total, chashMaxPoints)
	}
	sort.Strings(keys)
	st.ids = keys
	st.points = st.points[:0]
	for i, k := range keys {
		st.points = append(st.points, chashPointsFor(crc32.ChecksumIEEE([]byte(k)), 0, st.nodes[k]*chashPointsPerWeight, i+1)...)
	}
	sort.SliceStable(st.points, func(i, j int) bool { return st.points[i].hash < st.points[j].hash })
}

// find is _find_id: the point at or before hash, else the first.
func (st *chashState) find(hash uint32) string {
	n := len(st.points)
	if n == 0 {
		return ""
	}
	i := sort.Search(n, func(i int) bool { return st.points[i].hash > hash }) - 1
	if i < 0 {
		i = 0
	}
	return st.ids[st.points[i].id-1]
}

// buildChash is resty.chash: new(nodes), reinit, set, up, down, delete,
// find, simple_find, with lua-resty-balancer's point layout (160 points
// per unit of weight, CRC32 chains) so that keys map to the same nodes.
// The node ids are numbered in sorted order (the library numbers them in
// pairs() order, which only matters for equal hashes).
func (e *luaEngine) buildChash() lua.LValue {
	L := e.L
	mod := L.NewTable()
	mt := L.NewTable()
	methods := L.NewTable()
	mt.RawSetString("__index", methods)
	state := func(L *lua.LState) *chashState {
		self := L.CheckTable(1)
		ud, _ := self.RawGetString("\x00chash").(*lua.LUserData)
		if ud == nil {
			L.RaiseError("bad chash object")
		}
		return ud.Value.(*chashState)
	}
	readNodes := func(L *lua.LState, t *lua.LTable) map[string]int {
		m := map[string]int{}
		t.ForEach(func(k, v lua.LValue) {
			w, _ := v.(lua.LNumber)
			if w < 0 || math.IsNaN(float64(w)) {
				w = 0
			}
			m[lua.LVAsString(k)] = int(w)
		})
		return m
	}
	e.setFn(mod, "new", func(L *lua.LState) int {
		st := &chashState{nodes: readNodes(L, L.CheckTable(2))}
		st.rebuild(L)
		self := L.NewTable()
		ud := L.NewUserData()
		ud.Value = st
		self.RawSetString("\x00chash", ud)
		L.SetMetatable(self, mt)
		L.Push(self)
		return 1
	})
	e.setFn(methods, "reinit", func(L *lua.LState) int {
		st := state(L)
		st.nodes = readNodes(L, L.CheckTable(2))
		st.rebuild(L)
		return 0
	})
	set := func(L *lua.LState, id string, w int) {
		st := state(L)
		if w <= 0 {
			delete(st.nodes, id)
		} else {
			st.nodes[id] = w
		}
		st.rebuild(L)
	}
	e.setFn(methods, "set", func(L *lua.LState) int {
		w, _ := strconv.Atoi(lua.LVAsString(L.Get(3)))
		set(L, lua.LVAsString(L.Get(2)), w)
		L.Push(lua.LTrue)
		return 1
	})
	e.setFn(methods, "up", func(L *lua.LState) int {
		id := lua.LVAsString(L.Get(2))
		w := int(L.OptNumber(3, 1))
		set(L, id, state(L).nodes[id]+w)
		return 0
	})
	e.setFn(methods, "down", func(L *lua.LState) int {
		id := lua.LVAsString(L.Get(2))
		w := int(L.OptNumber(3, 1))
		set(L, id, state(L).nodes[id]-w)
		return 0
	})
	e.setFn(methods, "delete", func(L *lua.LState) int { set(L, lua.LVAsString(L.Get(2)), 0); return 0 })
	e.setFn(methods, "find", func(L *lua.LState) int {
		st := state(L)
		id := st.find(crc32.ChecksumIEEE([]byte(lua.LVAsString(L.Get(2)))))
		if id == "" {
			L.Push(lua.LNil)
		} else {
			L.Push(lua.LString(id))
		}
		return 1
	})
	e.setFn(methods, "simple_find", func(L *lua.LState) int {
		st := state(L)
		if len(st.points) == 0 {
			L.Push(lua.LNil)
			return 1
		}
		i := int(crc32.ChecksumIEEE([]byte(lua.LVAsString(L.Get(2))))) % len(st.points)
		L.Push(lua.LString(st.ids[st.points[i].id-1]))
		return 1
	})
	return mod
}
