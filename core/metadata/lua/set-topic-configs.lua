-- Replaces or incrementally alters a topic's configs (values are strings; a false value deletes).
-- KEYS[1]: the topics set. ARGV: prefix, name, mode ('replace' | 'incremental'), changes (JSON
-- array of [key, value-or-false], validated by the caller).
-- Reply: the topic's hash as HGETALL (configs JSON key order is arbitrary; the reader sorts);
-- "WEIR not_found" for no such topic.
local name = ARGV[2]
local t = topic_of(name)
if not t then return fail('not_found', 'topic ' .. name .. ' not found') end
local configs = {}
if ARGV[3] == 'incremental' then configs = cjson.decode(redis.call('HGET', K.topic(name), 'configs')) end
for _, change in ipairs(cjson.decode(ARGV[4])) do
  if change[2] == false then configs[change[1]] = nil else configs[change[1]] = change[2] end
end
-- cjson encodes an empty table as {}, which is what an empty config map must be.
redis.call('HSET', K.topic(name), 'configs', cjson.encode(configs))
return topic_reply(name)
