for i = 1, 10 do print("x") end
for k, v in pairs({}) do print(k) end
for _, v in ipairs({}) do print(v) end
for i = 1, 3 do
  for i = 1, 2 do print(i) end
end
local n = 0
while n < 10 do n = n + 1 end
repeat local q = 1; n = n - q until n < 0
