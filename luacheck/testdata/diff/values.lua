local function f() return 1, 2 end
local a = f()
a = 2
print(a)
local b, c = f()
print(b)
local d = {}
d.x = 1
local e = 1
e = e + 1
local g = {}
g = {}
print(g)
local h = 0
for i = 1, 3 do h = i end
local k = 1
k = k
