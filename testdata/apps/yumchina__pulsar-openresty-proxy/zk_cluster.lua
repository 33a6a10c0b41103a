-- Stub of core.zk_client.zk_cluster, the app's ZooKeeper client (it
-- speaks ZooKeeper's TCP protocol to the servers of zookeeper_conf): the
-- same new/get_children API, answering with the Pulsar brokers registered
-- under /loadbalance/brokers as "host:port" children.
local brokers = {
    ["/loadbalance/brokers"] = { "10.1.0.11:8080", "10.1.0.12:8080", "10.1.0.13:8080" },
}

local _M = {}
local mt = { __index = _M }

function _M.new(self, config)
    return setmetatable({ serv_list = config.servers }, mt)
end

function _M.get_children(self, path)
    local children = brokers[path]
    if not children then
        return nil, "no node " .. path
    end
    return children
end

function _M.get_data(self, path)
    return nil, "no data for " .. path
end

return _M
