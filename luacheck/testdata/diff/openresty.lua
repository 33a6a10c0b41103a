local cjson = require "cjson.safe"
local ngx_log = ngx.log
local ERR = ngx.ERR
local sleep = ngx.sleep
local _M = { _VERSION = "0.1" }
function _M.handler()
  local args = ngx.req.get_uri_args()
  local h = ngx.req.get_headers()
  ngx.ctx.counter = (ngx.ctx.counter or 0) + 1
  ngx.var.upstream_host = h["host"]
  ngx.header["X-Test"] = "1"
  ngx.status = 200
  sleep(0.1)
  local body = cjson.encode(args)
  ngx.say(body)
  ngx_log(ERR, "done")
  ngx.shared.cache:set("k", "v")
  local dict = ngx.shared.cache
  dict:get("k")
  ngx.worker.pids()
  ngx.timer.at(0, function(premature) end)
end
return _M
