-- Moves a partition's log start offset forward (never back), dropping index entries wholly below
-- it; the entry straddling it stays (Fetch skips its leading records). Objects are left to GC.
-- KEYS[1]: the topics set. ARGV: prefix, topic, partition, beforeOffset.
-- Reply: the new log start offset; "WEIR not_found" for an unknown partition,
-- "WEIR offset_out_of_range" if beforeOffset is beyond the high watermark.
local st = partition_of(ARGV[2], tonumber(ARGV[3]))
if not st then return fail('not_found', 'partition ' .. ARGV[2] .. '-' .. ARGV[3] .. ' not found') end
local before = tonumber(ARGV[4])
if before > st.hwm then
  return fail('offset_out_of_range', 'offset ' .. int(before) .. ' is beyond the high watermark ' .. int(st.hwm) .. ' of ' .. ARGV[2] .. '-' .. ARGV[3])
end
if before <= st.lso then return st.lso end
for _, m in ipairs(redis.call('ZRANGEBYSCORE', st.index, '-inf', '(' .. int(before))) do
  if decode_entry(m).last < before then redis.call('ZREM', st.index, m) end
end
redis.call('HSET', st.key, 'lso', int(before), 'hwm', int(st.hwm))
return before
