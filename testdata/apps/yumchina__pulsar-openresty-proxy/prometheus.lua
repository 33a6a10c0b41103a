-- Stub of resty.prometheus (knyar/nginx-lua-prometheus, a third-party
-- library the app requires and does not ship): the init/counter/gauge/
-- histogram API with metrics that record nothing. Metrics do not take
-- part in choosing a peer.
local metric = {}
metric.__index = metric
function metric:inc() end
function metric:set() end
function metric:observe() end
function metric:del() end
function metric:reset() end

local registry = {}
registry.__index = registry
local function new_metric(self, name)
    return setmetatable({ name = name }, metric)
end
registry.counter = new_metric
registry.gauge = new_metric
registry.histogram = new_metric
function registry:collect() end
function registry:metric_data() return {} end

return {
    init = function(dict_name)
        return setmetatable({ dict = dict_name }, registry)
    end,
}
