-- resty.lock for the emulator: one worker and no concurrency, so every
-- lock is taken at once (elapsed 0) and unlock succeeds when held.
local setmetatable = setmetatable
local _M = { _VERSION = "0.08" }
local mt = { __index = _M }
function _M.new(_, dict_name, opts) return setmetatable({ held = {} }, mt) end
function _M.lock(self, key)
  if self.key then return nil, "locked" end
  self.key = key
  return 0
end
function _M.unlock(self)
  if not self.key then return nil, "unlocked" end
  self.key = nil
  return 1
end
function _M.expire(self) if not self.key then return nil, "unlocked" end return true end
return _M
