-- Mirror topics (connectors/mirror/): creates a topic already marked as a mirror, or sets or
-- clears the mark of an existing one. The mark is the topic hash's field `mirror`,
-- "<state>|<source>" (mirror-runs.ts), absent on ordinary topics.
-- KEYS[1]: the topics set. ARGV: prefix, mode ('create' | 'set'), name, then
--   create: mirror, id (UUID), partitions, configs (JSON), createdAtMs;
--   set: mirror ('' clears it).
-- Reply: the topic's hash as HGETALL; "WEIR already_exists" (create) if the name is taken,
-- "WEIR not_found" (set) for an unknown topic.
local mode, name, mirror = ARGV[2], ARGV[3], ARGV[4]
if mode == 'create' then
  -- As create-topic.lua, plus the mark, in one step: the topic is never visible unmarked.
  if redis.call('EXISTS', K.topic(name)) == 1 then return fail('already_exists', 'topic ' .. name .. ' already exists') end
  redis.call('HSET', K.topic(name), 'id', ARGV[5], 'partitions', ARGV[6], 'configs', ARGV[7], 'created', ARGV[8], 'mirror', mirror)
  redis.call('SADD', K.topics(), name)
  redis.call('HSET', K.topicIds(), ARGV[5], name)
  return topic_reply(name)
end
if redis.call('EXISTS', K.topic(name)) == 0 then return fail('not_found', 'topic ' .. name .. ' not found') end
if mirror == '' then redis.call('HDEL', K.topic(name), 'mirror') else redis.call('HSET', K.topic(name), 'mirror', mirror) end
return topic_reply(name)
