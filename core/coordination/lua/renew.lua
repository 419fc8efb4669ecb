-- Extends a lease, or only checks it, if it is still the item's current unexpired lease.
-- KEYS[1]: leases hash (item -> "<token>|<expiry ms>|<worker id>").
-- ARGV[1]: item. ARGV[2]: worker id. ARGV[3]: token. ARGV[4]: ttl ms, or 0 to only check.
-- Reply: 1 if the lease is current (and was extended when ttl > 0), else 0.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local token, expires, holder = string.match(cur, '^(%d+)|(%d+)|(.*)$')
if token ~= ARGV[3] or holder ~= ARGV[2] or tonumber(expires) <= now then return 0 end
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], string.format('%s|%d|%s', token, now + ttl, holder))
end
return 1
