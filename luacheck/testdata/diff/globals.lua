local M = {}
counter = 0
counter = counter + 1
undefined_table.field = 1
print(not_defined)
local t = ngx
t.sayy("x")
ngx.say(ngx.sayy, ngx.req.get_headres())
string.foo()
table.new(1, 0)
bit.band(1, 2)
jit.off()
local s = string
s.upper("a")
M.x = os.getenv("HOME")
return M
