local balancer = require "ngx.balancer"
local host = "backend.example.com"
local port = 8080
local ok, err = balancer.set_current_peer(host, port)
if not ok then
  ngx.log(ngx.ERR, "failed: ", err)
  return ngx.exit(500)
end
local state, code = balancer.get_last_failure()
if state then
  balancer.set_more_tries(1)
end
balancer.set_timeouts(1, 2, 3)
