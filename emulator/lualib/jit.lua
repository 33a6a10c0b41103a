-- jit and jit.opt for the emulator: the compiler switches are no-ops
-- (gopher-lua interprets), the version fields name OpenResty's LuaJIT.
local jit = { version = "LuaJIT 2.1.0-beta3", version_num = 20100, os = "Linux", arch = "x64" }
function jit.on() end
function jit.off() end
function jit.flush() end
function jit.status() return false end
jit.opt = { start = function() end }
return jit
