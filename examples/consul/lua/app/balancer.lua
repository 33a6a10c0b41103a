-- Round robin over the peers the Consul poller stored.
local balancer = require "ngx.balancer"

local _M = {}
local n = 0

function _M.pick()
    local list = ngx.shared.peers:get("app")
    if not list then
        ngx.log(ngx.ERR, "no peers for app yet")
        return ngx.exit(503)
    end
    local peers = {}
    for p in list:gmatch("[^,]+") do
        peers[#peers + 1] = p
    end
    n = n % #peers + 1
    local host, port = peers[n]:match("^(.-):(%d+)$")
    local ok, err = balancer.set_current_peer(host, tonumber(port))
    if not ok then
        ngx.log(ngx.ERR, "set_current_peer: ", err)
        return ngx.exit(500)
    end
end

return _M
