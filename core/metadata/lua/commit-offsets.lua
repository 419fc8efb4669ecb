-- Stores a group's committed offsets; entries of unknown topics or partitions are skipped.
-- KEYS[1]: the topics set. ARGV: prefix, group, entries (JSON array of [topic, partition, value],
-- value encoded by redis-encoding.ts, validated by the caller). The same partition twice:
-- the last wins, as HSET applies them in order.
-- Reply: per entry 1 (stored) or 0 (unknown_topic_or_partition).
local group = ARGV[2]
local gkey = K.groupOffsets(group)
local topics = {}
local out = {}
for i, e in ipairs(cjson.decode(ARGV[3])) do
  local t = topics[e[1]]
  if t == nil then
    t = topic_of(e[1]) or false
    topics[e[1]] = t
  end
  if t and e[2] < t.partitions then
    redis.call('HSET', gkey, t.id .. ':' .. int(e[2]), e[3])
    redis.call('SADD', K.groups(), group)
    redis.call('SADD', K.topicGroups(t.id), group)
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
