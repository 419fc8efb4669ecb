-- Lists the unexpired leases of a coordination group.
-- KEYS[1]: leases hash (item -> "<token>|<expiry ms>|<worker id>").
-- ARGV: none.
-- Reply: flat array item, worker id, token, item, worker id, token, ...
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local token, expires, holder = string.match(all[i + 1], '^(%d+)|(%d+)|(.*)$')
  if tonumber(expires) > now then
    out[#out + 1] = all[i]
    out[#out + 1] = holder
    out[#out + 1] = tonumber(token)
  end
end
return out
