-- Swaps small table files for the file that merges them (table-manifest.ts commitMerge).
-- KEYS[1]: table hash, KEYS[2]: files hash, KEYS[3]: retired hash.
-- ARGV: nowMs, mergedKey, mergedEntryJson, then the keys to remove.
-- Reply: 1 when swapped; 0 (nothing changed) when the table is gone or a key is not a live file.
local now = ARGV[1]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 4, #ARGV do
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 0 then return 0 end
end
for i = 4, #ARGV do
  redis.call('HDEL', KEYS[2], ARGV[i])
  redis.call('HSET', KEYS[3], ARGV[i], now)
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[2], ARGV[2], string.format('%d', seq) .. '|' .. now .. '|' .. ARGV[3])
redis.call('HDEL', KEYS[3], ARGV[2])
return 1
