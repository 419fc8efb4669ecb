-- Deletes a group's commits of some partitions, or of all (mode 'group'); a group left with no
-- commit leaves the groups set.
-- KEYS[1]: the topics set. ARGV: prefix, group, mode ('partitions' | 'group'), partitions (JSON
-- array of [topic, partition]; ignored for 'group').
-- Reply: how many commits were deleted.
local group = ARGV[2]
local gkey = K.groupOffsets(group)
local n = 0
if ARGV[3] == 'group' then
  n = redis.call('HLEN', gkey)
  redis.call('DEL', gkey)
else
  for _, ref in ipairs(cjson.decode(ARGV[4])) do
    local t = topic_of(ref[1])
    if t then n = n + redis.call('HDEL', gkey, t.id .. ':' .. int(ref[2])) end
  end
end
if redis.call('EXISTS', gkey) == 0 then redis.call('SREM', K.groups(), group) end
return n
