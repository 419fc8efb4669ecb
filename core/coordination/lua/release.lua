-- Gives a lease up if it is still the item's current lease (expired or not); else does nothing.
-- KEYS[1]: leases hash (item -> "<token>|<expiry ms>|<worker id>").
-- ARGV[1]: item. ARGV[2]: worker id. ARGV[3]: token.
-- Reply: 1 if released, else 0.
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local token, expires, holder = string.match(cur, '^(%d+)|(%d+)|(.*)$')
if token ~= ARGV[3] or holder ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
