-- Commits a table file range (table-manifest.ts commitAppend): creates the table on first use,
-- checks the topic id and that the partition's next offset is still ARGV[4], then records the
-- files and moves the next offset, all or nothing.
-- KEYS[1]: tables set, KEYS[2]: table hash, KEYS[3]: progress hash, KEYS[4]: files hash.
-- ARGV: topic, topicId, partition, fromOffset, nextOffset, nowMs, then (fileKey, entryJson) pairs.
--   Offsets arrive as decimal strings and are stored as given (never reformatted by Lua).
-- Reply: {'ok'} | {'offset_mismatch', currentNextOffset} | {'topic_id_mismatch', currentTopicId}.
local topic, topicId, partition, fromOffset, nextOffset, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local existingId = redis.call('HGET', KEYS[2], 'topicId')
if existingId and existingId ~= topicId then
  return {'topic_id_mismatch', existingId}
end
local current = redis.call('HGET', KEYS[3], partition)
if current and current ~= fromOffset then
  return {'offset_mismatch', current}
end
if not existingId then
  redis.call('HSET', KEYS[2], 'topicId', topicId, 'createdAtMs', now, 'seq', '0')
  redis.call('SADD', KEYS[1], topic)
end
for i = 7, #ARGV, 2 do
  local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
  redis.call('HSET', KEYS[4], ARGV[i], string.format('%d', seq) .. '|' .. now .. '|' .. ARGV[i + 1])
end
redis.call('HSET', KEYS[3], partition, nextOffset)
return {'ok'}
