local function a()
  return 1
end
local function b(x)
  if x then
    return 1
  else
    return 2
  end
  print("never")
end
local function c()
  while true do
    print("loop")
  end
  print("after infinite loop")
end
local function d()
  do return end
  print("dead")
end
local function e()
  for i = 1, 10 do
    print(i)
    break
  end
  error("boom")
  print("after error is reachable for luacheck")
end
return a, b, c, d, e
