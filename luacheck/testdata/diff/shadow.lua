local x = 1
local function f(a, x)
  local a = 2
  print(a, x)
  do
    local x = 3
    print(x)
  end
end
for i = 1, 2 do
  do local i = 5; print(i) end
end
local x2 = 1
do
  local x2 = 2
  print(x2)
end
print(x, x2, f)
