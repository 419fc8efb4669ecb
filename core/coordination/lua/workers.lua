-- Lists the live workers of a coordination group (expired ones are removed first).
-- KEYS[1]: workers sorted set (member worker id, score expiry ms in Redis server time).
-- KEYS[2]: worker meta hash (worker id -> meta).
-- ARGV: none.
-- Reply: flat array worker id, meta, worker id, meta, ... sorted by worker id.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, w in ipairs(dead) do redis.call('HDEL', KEYS[2], w) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
table.sort(ids)
local out = {}
for _, w in ipairs(ids) do
  out[#out + 1] = w
  out[#out + 1] = redis.call('HGET', KEYS[2], w) or ''
end
return out
