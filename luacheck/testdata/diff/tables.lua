local t = {
  a = 1,
  ["b"] = 2,
  [undefined_key] = 3,
  nested = { x = global_value },
}
t.c = t.a
t["d"] = t.b
local u = setmetatable({}, { __index = function(_, k) return k end })
return t, u
