-- Clients of the outside world for the emulator: resty.http, resty.redis,
-- resty.mysql, resty.memcached, resty.dns.resolver, resty.consul. Each
-- connect or query fails as after a refused connection and is recorded
-- (external(what)); nothing is dialled. The name of the module is the
-- chunk's argument.
local name, external = ...
local setmetatable, type, tostring, tonumber, select = setmetatable, type, tostring, tonumber, select

local function refused(what)
  return function(self, a, b)
    local target = ""
    if type(a) == "string" then target = " " .. a end
    if type(b) == "number" or type(b) == "string" then target = target .. ":" .. tostring(b) end
    external(name .. " " .. what .. target)
    return nil, "connection refused"
  end
end

local function ok() return 1 end

local client = {}
client.connect = refused("connect")
client.request_uri = refused("request_uri")
client.request = function() return nil, "closed" end
client.query = refused("query")
client.tcp_query = refused("query")
client.resolve = refused("resolve")
client.get = refused("get")
client.put = refused("put")
client.list_services = refused("list_services")
client.set_timeout = ok
client.set_timeouts = ok
client.set_keepalive = ok
client.close = ok
client.get_reused_times = function() return 0 end
client.parse_uri = function(self, uri)
  local scheme, host, port, path = uri:match("^(%a+)://([^/:]+):?(%d*)(.*)$")
  if not scheme then return nil, "bad uri: " .. uri end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  local p, q = path:match("^([^?]*)%??(.*)$")
  if p == "" then p = "/" end
  return { scheme, host, port, p, q }
end

local mt = { __index = function(t, k)
  local v = client[k]
  if v ~= nil then return v end
  -- redis and memcached commands: every one fails as on a closed socket
  return function() return nil, "closed" end
end }

local _M = { _VERSION = "emulated" }
function _M.new(...) return setmetatable({}, mt) end
_M.connect = function(...) return refused("connect")(nil, select(2, ...)) end
return setmetatable(_M, { __index = function(t, k) return client[k] end })
