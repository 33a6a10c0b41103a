-- Polls Consul's health API and stores the healthy peers of "app" in the
-- "peers" shared dict as "host:port,host:port".
local cjson = require "cjson.safe"

local _M = {}

local function poll(premature)
    if premature then
        return
    end
    local sock = ngx.socket.tcp()
    sock:settimeout(1000)
    local addr = os.getenv("CONSUL_ADDR") or "127.0.0.1:8500"
    local host, port = addr:match("^(.-):(%d+)$")
    local ok, err = sock:connect(host, tonumber(port))
    if not ok then
        ngx.log(ngx.ERR, "consul: ", err)
        return
    end
    sock:send("GET /v1/health/service/app?passing HTTP/1.0\r\n\r\n")
    local body = sock:receive("*a")
    sock:close()
    local entries = cjson.decode(body and body:match("\r\n\r\n(.*)$") or "")
    if type(entries) ~= "table" then
        return
    end
    local peers = {}
    for _, e in ipairs(entries) do
        peers[#peers + 1] = e.Service.Address .. ":" .. e.Service.Port
    end
    ngx.shared.peers:set("app", table.concat(peers, ","))
end

function _M.start()
    ngx.timer.at(0, poll)
    ngx.timer.every(5, poll)
end

return _M
