// Package luagen generates large, deterministic OpenResty-style Lua source
// for benchmarks (the luacheck package's 50,000-line benchmark runs ngxlint
// and the real luacheck on the same generated file).
package luagen

import (
	"fmt"
	"strings"
)

// Generate returns Lua source of at least lines lines: a module of request
// handlers, balancer helpers and utility functions using the ngx API,
// locals, loops, closures and a few deliberate warnings.
func Generate(lines int) string {
	var b strings.Builder
	b.WriteString("local cjson = require \"cjson.safe\"\n")
	b.WriteString("local balancer = require \"ngx.balancer\"\n")
	b.WriteString("local ngx_log = ngx.log\nlocal ERR = ngx.ERR\nlocal sleep = ngx.sleep\n")
	b.WriteString("local _M = {}\n")
	n := 6
	for i := 0; n < lines; i++ {
		fn := fmt.Sprintf(`function _M.handler_%[1]d(opts, unused_%[1]d)
  local args = ngx.req.get_uri_args()
  local headers = ngx.req.get_headers()
  local count = 0
  for k, v in pairs(args) do
    if type(v) == "string" and #v > %[1]d then
      count = count + 1
    elseif k == "skip" then
      break
    end
  end
  local ctx = ngx.ctx
  ctx.count_%[1]d = (ctx.count_%[1]d or 0) + count
  local host = headers["host"] or "127.0.0.1"
  if opts and opts.sleep then
    sleep(0.001)
  end
  local ok, err = pcall(cjson.encode, args)
  if not ok then
    ngx_log(ERR, "encode failed: ", err)
    return ngx.exit(500)
  end
  local shadow = 1
  do
    local shadow = shadow + %[1]d
    ngx.var.upstream_%[1]d = shadow
  end
  local function inner(x)
    return x * 2 + count
  end
  ngx.say(inner(%[1]d), host, undefined_global_%[1]d)
  return true
end

function _M.balance_%[1]d()
  local state = balancer.get_last_failure()
  if state then
    balancer.set_more_tries(1)
  end
  local ok, err = balancer.set_current_peer("10.0.0.%[2]d", 8080)
  if not ok then
    ngx_log(ERR, err)
    return ngx.exit(502)
  end
end

`, i, i%250+1)
		b.WriteString(fn)
		n += strings.Count(fn, "\n")
	}
	b.WriteString("return _M\n")
	return b.String()
}
