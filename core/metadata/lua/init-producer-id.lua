-- Hands out producer ids and bumps epochs (ProducerStateStore.allocateProducerId / bumpEpoch,
-- KIP-360 rules as in sqlite-producer-state.ts). Ids come from an INCR counter, from 1, never reused.
-- KEYS[1]: the topics set. ARGV: prefix, mode ('allocate' | 'bump'), producerId, producerEpoch,
-- maxEpoch (MAX_PRODUCER_EPOCH).
-- Reply: {1, producerId, producerEpoch} or {0, 'producer_fenced', message}.
local function allocate()
  local id = int(redis.call('INCR', K.producerIdCounter()))
  redis.call('HSET', K.producers(), id, '0:-1')
  return { 1, id, 0 }
end
if ARGV[2] == 'allocate' then return allocate() end
local pid, e, maxEpoch = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local row = redis.call('HGET', K.producers(), pid)
if not row then return allocate() end
local epochStr, lastStr = string.match(row, '^(-?%d+):(-?%d+)$')
local epoch, last = tonumber(epochStr), tonumber(lastStr)
if e >= epoch then
  -- Kafka's isEpochExhausted: the last two epochs are never handed out; a new id starts at 0.
  if e >= maxEpoch - 1 then return allocate() end
  redis.call('HSET', K.producers(), pid, int(e + 1) .. ':' .. int(e))
  return { 1, pid, e + 1 }
end
if e == last then return { 1, pid, epoch } end
return { 0, 'producer_fenced', 'producer ' .. pid .. ' epoch ' .. int(e) .. ' is fenced by epoch ' .. int(epoch) }
