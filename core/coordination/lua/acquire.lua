-- Takes a lease on an item when it is free, expired, or already held by the same worker, with a
-- fencing token larger than every token ever handed out for the item.
-- KEYS[1]: leases hash (item -> "<token>|<expiry ms>|<worker id>").
-- KEYS[2]: fences hash (item -> last token handed out; never decreases, never deleted).
-- ARGV[1]: item. ARGV[2]: worker id. ARGV[3]: ttl ms.
-- Reply: the new token, or -1 when another worker holds an unexpired lease.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local token, expires, holder = string.match(cur, '^(%d+)|(%d+)|(.*)$')
  if tonumber(expires) > now and holder ~= ARGV[2] then return -1 end
end
local token = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d|%d|%s', token, now + tonumber(ARGV[3]), ARGV[2]))
return token
