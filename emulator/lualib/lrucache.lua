-- resty.lrucache for the emulator: the API of lua-resty-lrucache 0.13
-- (new, get, set, delete, count, capacity, get_keys, flush_all) over a
-- doubly linked list in recency order; ttl in seconds on the emulator's
-- clock (now() in milliseconds).
local now = ...
local setmetatable, type = setmetatable, type

local _M = { _VERSION = "0.13" }
local mt = { __index = _M }

function _M.new(size)
  if type(size) ~= "number" or size < 1 then return nil, "size too small" end
  local head = {}
  head.prev, head.next = head, head
  return setmetatable({ size = size, n = 0, map = {}, head = head }, mt)
end

local function unlink(node) node.prev.next, node.next.prev = node.next, node.prev end
local function push_front(self, node)
  local head = self.head
  node.next, node.prev = head.next, head
  head.next.prev = node
  head.next = node
end

function _M.get(self, key)
  local node = self.map[key]
  if not node then return nil end
  if node.exp and node.exp <= now() then
    unlink(node)
    self.map[key] = nil
    self.n = self.n - 1
    return nil, node.value, node.flags
  end
  unlink(node)
  push_front(self, node)
  return node.value, nil, node.flags
end

function _M.set(self, key, value, ttl, flags)
  local node = self.map[key]
  if node then
    unlink(node)
  else
    if self.n >= self.size then
      local last = self.head.prev
      unlink(last)
      self.map[last.key] = nil
      self.n = self.n - 1
    end
    node = { key = key }
    self.map[key] = node
    self.n = self.n + 1
  end
  node.value = value
  node.flags = type(flags) == "number" and flags or 0
  node.exp = (ttl and ttl > 0) and now() + ttl * 1000 or nil
  push_front(self, node)
end

function _M.delete(self, key)
  local node = self.map[key]
  if not node then return false end
  unlink(node)
  self.map[key] = nil
  self.n = self.n - 1
  return true
end

function _M.count(self) return self.n end
function _M.capacity(self) return self.size end

function _M.get_keys(self, max_count, res)
  res = res or {}
  local i, node = 0, self.head.next
  while node ~= self.head do
    if max_count and max_count > 0 and i >= max_count then break end
    i = i + 1
    res[i] = node.key
    node = node.next
  end
  res[i + 1] = nil
  return res
end

function _M.flush_all(self)
  self.head.prev, self.head.next = self.head, self.head
  self.map, self.n = {}, 0
end

return _M
