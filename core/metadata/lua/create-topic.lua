-- Creates a topic. Partition hashes are not created: a missing one is an empty partition.
-- KEYS[1]: the topics set (declared so a Redis Cluster client routes to the namespace's slot).
-- ARGV: prefix, name, id (UUID), partitions, configs (JSON), createdAtMs.
-- Reply: the topic's hash as HGETALL; error "WEIR already_exists" if the name is taken.
local name = ARGV[2]
if redis.call('EXISTS', K.topic(name)) == 1 then return fail('already_exists', 'topic ' .. name .. ' already exists') end
redis.call('HSET', K.topic(name), 'id', ARGV[3], 'partitions', ARGV[4], 'configs', ARGV[5], 'created', ARGV[6])
redis.call('SADD', K.topics(), name)
redis.call('HSET', K.topicIds(), ARGV[3], name)
return topic_reply(name)
