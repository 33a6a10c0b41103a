-- resty.roundrobin for the emulator: lua-resty-balancer's weighted round
-- robin (gcd stepping of the current weight, a random first node, node
-- order as next() walks the table), with its API (new, reinit, set,
-- delete, incr, decr, find, next).
local pairs, next, tonumber, setmetatable, error, random = pairs, next, tonumber, setmetatable, error, math.random

local _M = {}
local mt = { __index = _M }

local function gcd(a, b)
  while b ~= 0 do a, b = b, a % b end
  return a
end

local function summary(nodes)
  local first, maxw = next(nodes)
  if not first then return error("empty nodes") end
  local only, g = first, maxw
  for _, w in next, nodes, first do
    only = nil
    g = gcd(g, w)
    if w > maxw then maxw = w end
  end
  return only, g, maxw
end

local function random_id(nodes)
  local n = 0
  for _ in pairs(nodes) do n = n + 1 end
  local id
  for _ = 1, random(n) do id = next(nodes, id) end
  return id
end

local function copy(nodes)
  local t = {}
  for k, v in pairs(nodes) do t[k] = v end
  return t
end

function _M.new(_, nodes)
  local own = copy(nodes)
  local only, g, maxw = summary(own)
  return setmetatable({ nodes = own, only_key = only, gcd = g, max_weight = maxw, cw = maxw,
    last_id = random_id(own) }, mt)
end

function _M.reinit(self, nodes)
  self.nodes = copy(nodes)
  self.only_key, self.gcd, self.max_weight = summary(self.nodes)
  self.last_id = random_id(self.nodes)
  self.cw = self.max_weight
end

local function delete(self, id)
  self.nodes[id] = nil
  self.only_key, self.gcd, self.max_weight = summary(self.nodes)
  if id == self.last_id then self.last_id = nil end
  if self.cw > self.max_weight then self.cw = self.max_weight end
end
_M.delete = delete

local function decr(self, id, w)
  w = tonumber(w) or 1
  local old = self.nodes[id]
  if not old then return end
  if old <= w then return delete(self, id) end
  self.nodes[id] = old - w
  self.only_key, self.gcd, self.max_weight = summary(self.nodes)
  if self.cw > self.max_weight then self.cw = self.max_weight end
end
_M.decr = decr

local function incr(self, id, w)
  w = tonumber(w) or 1
  self.nodes[id] = (self.nodes[id] or 0) + w
  self.only_key, self.gcd, self.max_weight = summary(self.nodes)
end
_M.incr = incr

function _M.set(self, id, w)
  w = tonumber(w) or 0
  local old = self.nodes[id] or 0
  if old == w then return end
  if old < w then return incr(self, id, w - old) end
  return decr(self, id, old - w)
end

function _M.find(self)
  if self.only_key then return self.only_key end
  local nodes, id, cw, w = self.nodes, self.last_id, self.cw
  while true do
    while true do
      id, w = next(nodes, id)
      if not id then break end
      if w >= cw then
        self.cw, self.last_id = cw, id
        return id
      end
    end
    cw = cw - self.gcd
    if cw <= 0 then cw = self.max_weight end
  end
end
_M.next = _M.find

return _M
