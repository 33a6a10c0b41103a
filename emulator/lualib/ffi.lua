-- A stand-in for LuaJIT's ffi module: enough for modules that declare C
-- functions and types when loaded (ffi.cdef, ffi.typeof, ffi.new of
-- buffers, ffi.string, ffi.cast, ffi.gc) to load. Calling a C function
-- (ffi.C.x, a library from ffi.load) raises an error naming it: the
-- emulator runs no C code.
local setmetatable, error, tostring, type = setmetatable, error, tostring, type

local function no_c(lib)
  return setmetatable({}, { __index = function(_, name)
    return function()
      error("ffi: C function '" .. tostring(name) .. "' of " .. lib .. " is not available in the emulator", 2)
    end
  end })
end

local ffi = { os = "Linux", arch = "x64" }
ffi.C = no_c("the C namespace")
function ffi.cdef() end
function ffi.load(name) return no_c(tostring(name)) end
function ffi.typeof(ct) return function(n) return {} end end
function ffi.new(ct, n) return {} end
function ffi.cast(ct, v) return v end
function ffi.gc(v) return v end
function ffi.sizeof() return 8 end
function ffi.offsetof() return 0 end
function ffi.istype() return false end
function ffi.abi(p) return p == "le" or p == "64bit" end
function ffi.errno() return 0 end
function ffi.metatype(ct, mt) return function() return setmetatable({}, mt) end end
function ffi.string(p, n)
  if type(p) == "string" then
    if n then return p:sub(1, n) end
    return p
  end
  error("ffi: ffi.string of a C pointer is not available in the emulator", 2)
end
function ffi.copy() end
function ffi.fill() end
return ffi
