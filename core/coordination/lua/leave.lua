-- Deregisters a worker of a coordination group at once (its leases are not touched).
-- KEYS[1]: workers sorted set. KEYS[2]: worker meta hash.
-- ARGV[1]: worker id.
-- Reply: 1 if it was registered, else 0.
redis.call('HDEL', KEYS[2], ARGV[1])
return redis.call('ZREM', KEYS[1], ARGV[1])
