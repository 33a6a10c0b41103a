-- ngx.shared.DICT for the emulator: the API of lua-resty-core's shdict.lua
-- and ngx_http_lua_shdict.c (return values and error texts), kept in Lua
-- tables so that the VM's memory bound counts what a dict holds. Expiry
-- follows the emulator's clock (now() in milliseconds).
local now, sizes, strict = ...
local type, tostring, tonumber, error, setmetatable, pairs, next = type, tostring, tonumber, error, setmetatable, pairs, next

local DEFAULT_SIZE = 1048576
local ITEM_OVERHEAD = 64

local function check_key(k)
  if k == nil then return nil, "nil key" end
  if type(k) ~= "string" then k = tostring(k) end
  if #k == 0 then return nil, "empty key" end
  if #k > 65535 then return nil, "key too long" end
  return k
end

local function item_size(k, it)
  local n = ITEM_OVERHEAD + #k
  if type(it.v) == "string" then n = n + #it.v end
  if it.list then for i = 1, #it.list do n = n + #tostring(it.list[i]) + 16 end end
  return n
end

local function newdict(name, size)
  local data, used, seq = {}, 0, 0
  local d = { __zone = name }

  local function live(k)
    local it = data[k]
    if it and it.exp ~= 0 and it.exp <= now() then return nil, it end
    return it
  end

  local function remove(k)
    local it = data[k]
    if it then used = used - item_size(k, it); data[k] = nil end
  end

  -- make room for need bytes; forcible evicts the oldest items (what the
  -- shm zone's LRU does), safe stores fail with "no memory".
  local function room(need, forcible_ok)
    if used + need <= size then return true, false end
    for k, it in pairs(data) do
      if it.exp ~= 0 and it.exp <= now() then remove(k) end
    end
    if used + need <= size then return true, false end
    if not forcible_ok then return false, false end
    while used + need > size and next(data) do
      local oldest, ok
      for k, it in pairs(data) do
        if not oldest or it.seq < oldest then oldest, ok = it.seq, k end
      end
      remove(ok)
    end
    return used + need <= size, true
  end

  local function store(self, op, k, v, exptime, flags, safe)
    if type(self) ~= "table" or self.__zone == nil then error('bad "zone" argument', 3) end
    if not exptime then exptime = 0 elseif exptime < 0 then error('bad "exptime" argument', 3) end
    local err
    k, err = check_key(k)
    if not k then return nil, err end
    local vt = type(v)
    if vt ~= "string" and vt ~= "number" and vt ~= "boolean" and v ~= nil then return nil, "bad value type" end
    local cur = live(k)
    if op == "add" and cur then return false, "exists", false end
    if op == "replace" and not cur then return false, "not found", false end
    remove(k)
    if v == nil then return true, nil, false end
    seq = seq + 1
    local it = { v = v, flags = flags or 0, exp = exptime > 0 and now() + exptime * 1000 or 0, seq = seq }
    local ok, forcible = room(item_size(k, it), not safe)
    if not ok then return false, "no memory", forcible end
    data[k] = it
    used = used + item_size(k, it)
    return true, nil, forcible
  end

  function d.set(self, k, v, e, f) return store(self, "set", k, v, e, f, false) end
  function d.safe_set(self, k, v, e, f) return store(self, "set", k, v, e, f, true) end
  function d.add(self, k, v, e, f) return store(self, "add", k, v, e, f, false) end
  function d.safe_add(self, k, v, e, f) return store(self, "add", k, v, e, f, true) end
  function d.replace(self, k, v, e, f) return store(self, "replace", k, v, e, f, false) end
  function d.delete(self, k) return store(self, "set", k, nil) end

  function d.get(self, k)
    local err
    k, err = check_key(k)
    if not k then return nil, err end
    local it = live(k)
    if not it then return nil end
    if it.list then return nil, "value is a list" end
    if it.flags ~= 0 then return it.v, it.flags end
    return it.v
  end

  function d.get_stale(self, k)
    local err
    k, err = check_key(k)
    if not k then return nil, err end
    local it = data[k]
    if not it then return nil end
    if it.list then return nil, "value is a list" end
    local stale = it.exp ~= 0 and it.exp <= now()
    if it.flags ~= 0 then return it.v, it.flags, stale end
    return it.v, nil, stale
  end

  function d.incr(self, k, value, init, init_ttl)
    local err
    k, err = check_key(k)
    if not k then return nil, err end
    if type(value) ~= "number" then value = tonumber(value) end
    if value == nil then return nil, "not a number" end
    if init ~= nil and type(init) ~= "number" then
      local typ = type(init)
      init = tonumber(init)
      if not init then error("bad init arg: number expected, got " .. typ, 2) end
    end
    if init_ttl ~= nil then
      if type(init_ttl) ~= "number" then
        local typ = type(init_ttl)
        init_ttl = tonumber(init_ttl)
        if not init_ttl then error("bad init_ttl arg: number expected, got " .. typ, 2) end
      end
      if init_ttl < 0 then error('bad "init_ttl" argument', 2) end
      if not init then error('must provide "init" when providing "init_ttl"', 2) end
    end
    local it = live(k)
    if not it then
      if init == nil then return nil, "not found" end
      local ok, e2, forcible = store(self, "set", k, init + value, init_ttl or 0)
      if not ok then return nil, e2 end
      return init + value, nil, forcible
    end
    if it.list or type(it.v) ~= "number" then return nil, "not a number" end
    it.v = it.v + value
    if init ~= nil then return it.v, nil, false end
    return it.v
  end

  local function push(self, k, v, left)
    local err
    k, err = check_key(k)
    if not k then return nil, err end
    if type(v) ~= "string" and type(v) ~= "number" then return nil, "bad value type" end
    local it = live(k)
    if it and not it.list then return nil, "value not a list" end
    if not it then
      seq = seq + 1
      it = { list = {}, flags = 0, exp = 0, seq = seq }
      data[k] = it
      used = used + item_size(k, it)
    end
    local ok = room(#tostring(v) + 16, false)
    if not ok then return nil, "no memory" end
    used = used + #tostring(v) + 16
    if left then table.insert(it.list, 1, v) else it.list[#it.list + 1] = v end
    return #it.list
  end

  local function pop(self, k, left)
    local err
    k, err = check_key(k)
    if not k then return nil, err end
    local it = live(k)
    if not it then return nil end
    if not it.list then return nil, "value not a list" end
    local v
    if left then v = table.remove(it.list, 1) else v = table.remove(it.list) end
    if v ~= nil then used = used - #tostring(v) - 16 end
    if #it.list == 0 then remove(k) end
    return v
  end

  function d.lpush(self, k, v) return push(self, k, v, true) end
  function d.rpush(self, k, v) return push(self, k, v, false) end
  function d.lpop(self, k) return pop(self, k, true) end
  function d.rpop(self, k) return pop(self, k, false) end
  function d.llen(self, k)
    local err
    k, err = check_key(k)
    if not k then return nil, err end
    local it = live(k)
    if not it then return 0 end
    if not it.list then return nil, "value not a list" end
    return #it.list
  end

  function d.ttl(self, k)
    local err
    k, err = check_key(k)
    if not k then return nil, err end
    local it = live(k)
    if not it then return nil, "not found" end
    if it.exp == 0 then return 0 end
    return (it.exp - now()) / 1000
  end

  function d.expire(self, k, exptime)
    if not exptime then error('bad "exptime" argument', 2) end
    local err
    k, err = check_key(k)
    if not k then return nil, err end
    local it = live(k)
    if not it then return nil, "not found" end
    it.exp = exptime > 0 and now() + exptime * 1000 or 0
    return true
  end

  function d.flush_all(self)
    data, used = {}, 0
  end

  function d.flush_expired(self, max)
    local n = 0
    for k, it in pairs(data) do
      if it.exp ~= 0 and it.exp <= now() then
        remove(k)
        n = n + 1
        if max and max > 0 and n >= max then break end
      end
    end
    return n
  end

  function d.get_keys(self, max)
    max = max or 1024
    local keys = {}
    for k in pairs(data) do
      if live(k) then
        keys[#keys + 1] = k
        if max > 0 and #keys >= max then break end
      end
    end
    table.sort(keys)
    return keys
  end

  function d.capacity(self) return size end
  function d.free_space(self)
    local free = size - used
    if free < 0 then free = 0 end
    return free - free % 4096
  end
  return d
end

return setmetatable({}, { __index = function(t, name)
  local size = sizes[name]
  if size == nil then
    if strict then return nil end
    size = DEFAULT_SIZE
  end
  local d = newdict(name, size)
  rawset(t, name, d)
  return d
end })
