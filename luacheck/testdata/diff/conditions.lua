local a = tonumber(arg and arg[1])
local r
if a == 1 then
  r = "one"
elseif a == 2 then
  r = "two"
else
  r = "other"
end
print(r)
local flag = false
if flag then
  print("dead?")
end
local v = a and 1 or 2
print(v)
while false do print("never") end
if true then return end
print("after")
