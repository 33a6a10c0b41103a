local function f(...)
  local a, b = ...
  return a
end
local function g(x, ...)
  return select("#", ...)
end
local first = ...
print(f, g, first, b)
