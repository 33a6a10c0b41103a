-- Stub of lua-resty-core's TLS modules (ngx.ssl, ngx.ocsp), which the
-- emulator does not provide and the app does not ship: certificate.lua
-- only calls them while serving TLS handshakes, never on the balancer's
-- path, so every function fails as it would outside ssl_certificate_by_lua.
return setmetatable({}, {
    __index = function(_, name)
        return function()
            return nil, "ngx.ssl/ngx.ocsp " .. name .. ": no TLS handshake in the emulator"
        end
    end,
})
