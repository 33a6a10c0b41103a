local i = 0
repeat
  local done = i > 3
  i = i + 1
until done
local j
repeat j = 1 until true
print(j)
