-- Index entries with lastOffset >= fromOffset (never below the log start), in offset order.
-- KEYS[1]: the topics set. ARGV: prefix, topic, partition, fromOffset, maxEntries.
-- Reply: the entries' sorted-set members (see prelude.lua); "WEIR not_found" for an unknown
-- topic or partition.
local st = partition_of(ARGV[2], tonumber(ARGV[3]))
if not st then return fail('not_found', 'partition ' .. ARGV[2] .. '-' .. ARGV[3] .. ' not found') end
local from = math.max(tonumber(ARGV[4]), st.lso)
local max = tonumber(ARGV[5])
if max == 0 or from >= st.hwm then return {} end
local out = {}
-- The entry holding `from` is the last one starting at or before it.
local holder = redis.call('ZREVRANGEBYSCORE', st.index, int(from), '-inf', 'LIMIT', 0, 1)[1]
if holder and decode_entry(holder).last >= from then out[1] = holder end
if max > #out then
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', st.index, '(' .. int(from), '+inf', 'LIMIT', 0, max - #out)) do out[#out + 1] = m end
end
return out
