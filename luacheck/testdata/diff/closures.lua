local count = 0
local function inc() count = count + 1 end
local function get() return count end
local x = 1
local function setx() x = 2 end
setx()
local y = 1
local fy = function() return y end
y = 2
print(fy, inc, get)
local z
local function setz(v) z = v end
setz(1)
