-- wrk script of tests/bench/routers.sh: cycles GET requests over the "host path" pairs of a
-- file (written by routers.py gen), so each request carries another Host header.
-- Usage: wrk ... -s routers.lua http://127.0.0.1:PORT -- requests.txt
-- The requests are formatted once in init(), so wrk spends no Lua time per request beyond a
-- table lookup (its core stays below the proxy's load, see README).
local reqs = {}
local n = 0
local i = 0

function init(args)
    local f = assert(io.open(args[1], "r"))
    for line in f:lines() do
        local host, path = line:match("^(%S+)%s+(%S+)$")
        if host then
            n = n + 1
            reqs[n] = wrk.format("GET", path, { Host = host })
        end
    end
    f:close()
    assert(n > 0, "no requests in " .. args[1])
end

function request()
    i = i % n + 1
    return reqs[i]
end
