-- Deletes a topic with its partitions' state, index and producer state, and every group's
-- committed offsets for it. Its objects are left for garbage collection.
-- KEYS[1]: the topics set. ARGV: prefix, name.
-- Reply: 1; "WEIR not_found" for no such topic.
local name = ARGV[2]
local t = topic_of(name)
if not t then return fail('not_found', 'topic ' .. name .. ' not found') end
for p = 0, t.partitions - 1 do
  local sp = int(p)
  redis.call('DEL', K.partition(t.id, sp), K.index(t.id, sp), K.producerStates(t.id, sp))
end
local fieldPrefix = t.id .. ':'
for _, group in ipairs(redis.call('SMEMBERS', K.topicGroups(t.id))) do
  local gkey = K.groupOffsets(group)
  for _, field in ipairs(redis.call('HKEYS', gkey)) do
    if string.sub(field, 1, #fieldPrefix) == fieldPrefix then redis.call('HDEL', gkey, field) end
  end
  if redis.call('EXISTS', gkey) == 0 then redis.call('SREM', K.groups(), group) end
end
redis.call('DEL', K.topicGroups(t.id), K.topic(name))
redis.call('SREM', K.topics(), name)
redis.call('HDEL', K.topicIds(), t.id)
return 1
