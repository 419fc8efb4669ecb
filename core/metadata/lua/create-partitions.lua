-- Grows a topic's partition count (new partitions are empty, so nothing else is written).
-- KEYS[1]: the topics set. ARGV: prefix, name, totalPartitions.
-- Reply: the topic's hash as HGETALL; "WEIR not_found" for no such topic, "WEIR invalid_argument"
-- unless the count grows (Kafka answers INVALID_PARTITIONS for "no change" too).
local name = ARGV[2]
local total = tonumber(ARGV[3])
local t = topic_of(name)
if not t then return fail('not_found', 'topic ' .. name .. ' not found') end
if total <= t.partitions then
  return fail('invalid_argument', 'topic ' .. name .. ' has ' .. int(t.partitions) .. ' partitions; cannot change to ' .. int(total))
end
redis.call('HSET', K.topic(name), 'partitions', int(total))
return topic_reply(name)
