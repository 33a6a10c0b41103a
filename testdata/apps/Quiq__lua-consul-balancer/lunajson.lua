-- Stub of lunajson (a third-party JSON library the app requires and does
-- not ship): the same decode/encode entry points, over the cjson the
-- emulator provides.
local cjson = require "cjson.safe"

return {
    decode = function(s)
        return cjson.decode(s)
    end,
    encode = function(v)
        return cjson.encode(v)
    end,
}
