local obj = {}
function obj:method(a, _b, c, ...)
  return c
end
function obj.static(self, x)
  return x
end
local f = function(_, y) return 1 end
local g = function(...) return ... end
return obj, f, g
