-- Records that an object is about to be written (idempotent while it is pending).
-- KEYS[1]: the topics set. ARGV: prefix, objectKey, nowMs.
-- Reply: 1; "WEIR already_exists" if the object was committed already.
if redis.call('HEXISTS', K.committedObjects(), ARGV[2]) == 1 then
  return fail('already_exists', 'object ' .. ARGV[2] .. ' is already committed')
end
redis.call('HSETNX', K.pendingObjects(), ARGV[2], ARGV[3])
return 1
