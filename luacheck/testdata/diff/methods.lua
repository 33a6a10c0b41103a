local Class = {}
Class.__index = Class
function Class.new(opts)
  local self = setmetatable({}, Class)
  self.opts = opts
  return self
end
function Class:run(unused_arg)
  local result = self.opts.value
  return result
end
function Class:noop() end
function GlobalClass:method() return self end
return Class
