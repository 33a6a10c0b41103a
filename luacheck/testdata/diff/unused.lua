local used = 1
local unused = 2
local _ = 3
local a, b = 1, 2
print(a)
local function helper() end
local function rec(n) if n > 0 then return rec(n - 1) end end
local x
x = 1
print(used)
local y = 5
y = 6
print(y)
local z = 1
if used then z = 2 end
print(z)
