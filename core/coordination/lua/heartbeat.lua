-- Registers or refreshes a worker of a coordination group, and drops expired workers.
-- KEYS[1]: workers sorted set (member worker id, score expiry ms in Redis server time).
-- KEYS[2]: worker meta hash (worker id -> meta).
-- ARGV[1]: worker id. ARGV[2]: ttl ms. ARGV[3]: meta.
-- Reply: the expiry (ms, server time) as an integer.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expires = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], expires, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, w in ipairs(dead) do redis.call('HDEL', KEYS[2], w) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return expires
