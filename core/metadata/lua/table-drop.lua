-- Removes a table and its manifest (table-manifest.ts dropTable).
-- KEYS[1]: tables set, KEYS[2]: table hash, KEYS[3]: progress hash, KEYS[4]: files hash, KEYS[5]: retired hash.
-- ARGV: topic.
-- Reply: the keys of the table's live and retired files (the caller deletes the objects).
local keys = redis.call('HKEYS', KEYS[4])
for _, k in ipairs(redis.call('HKEYS', KEYS[5])) do table.insert(keys, k) end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
redis.call('SREM', KEYS[1], ARGV[1])
return keys
