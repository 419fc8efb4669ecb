-- Commits a flush: assigns every chunk its offsets, appends the index entries, checks idempotent
-- producers' sequences, and marks the object committed, all in one atomic step.
-- KEYS[1]: the topics set. ARGV: prefix, objectKey, objectSizeBytes, nowMs, chunks (JSON, validated
-- by the caller): an array of [topic, topicId, partition, offsetCount, maxTimestamp, byteStart,
-- byteLength, parts], parts 0 for none or an array of [offsetCount, byteLength, maxTimestamp,
-- producerId (-1: no producer), producerEpoch, baseSequence, lastSequence].
-- Reply: one array per chunk: {0} for unknown_topic_or_partition, else {1, baseOffset,
-- logStartOffset} plus, for a chunk with parts, a 4th element: one array per part, {'a', baseOffset}
-- appended, {'d', baseOffset, maxTimestamp} duplicate, {'r', error, message} rejected.
-- Errors: "WEIR not_found" if the object is not pending, "WEIR already_exists" if it was committed.
local objectKey = ARGV[2]
if redis.call('HEXISTS', K.committedObjects(), objectKey) == 1 then
  return fail('already_exists', 'object ' .. objectKey .. ' is already committed')
end
if redis.call('HEXISTS', K.pendingObjects(), objectKey) == 0 then
  return fail('not_found', 'object ' .. objectKey .. ' is not registered as pending')
end

-- The rules of producer-sequence.ts (checkProducerBatch, withAppendedBatch, planChunkParts),
-- ported line for line; the producer state contract holds both to the same behaviour.
local MAX_SEQUENCE = 2147483647
local BATCHES_KEPT = 5

local function in_sequence(last, nxt)
  return nxt == last + 1 or (nxt == 0 and last == MAX_SEQUENCE)
end

local function rejected(error, message) return { kind = 'r', error = error, message = message } end

local function check_batch(state, b, allocated)
  local who = 'producer ' .. int(b.pid) .. ' epoch ' .. int(b.epoch)
  if not state then
    if not allocated() then return rejected('unknown_producer_id', 'producer id ' .. int(b.pid) .. ' was never allocated by this cluster') end
    if b.base_seq ~= 0 then
      return rejected('out_of_order_sequence', who .. ': first batch on this partition has sequence ' .. int(b.base_seq) .. ', expected 0')
    end
    return { kind = 'append' }
  end
  if b.epoch == state.epoch then
    for _, old in ipairs(state.batches) do
      if old[1] == b.base_seq and old[2] == b.last_seq then return { kind = 'd', base = old[3], maxts = old[5] } end
    end
    local last = state.batches[#state.batches][2]
    if in_sequence(last, b.base_seq) then return { kind = 'append' } end
    return rejected('out_of_order_sequence', who .. ': sequence ' .. int(b.base_seq) .. ' does not follow ' .. int(last))
  end
  if b.epoch < state.epoch then
    return rejected('invalid_producer_epoch', who .. ' is older than epoch ' .. int(state.epoch) .. ', already written to this partition')
  end
  if b.base_seq ~= 0 then
    return rejected('out_of_order_sequence', who .. ': a new epoch must start at sequence 0, not ' .. int(b.base_seq))
  end
  return { kind = 'append' }
end

local function with_appended(state, b, base, count, maxts)
  local entry = { b.base_seq, b.last_seq, base, count, maxts }
  if not state or state.epoch ~= b.epoch then return { epoch = b.epoch, batches = { entry } } end
  local batches = {}
  for i = math.max(1, #state.batches - BATCHES_KEPT + 2), #state.batches do batches[#batches + 1] = state.batches[i] end
  batches[#batches + 1] = entry
  return { epoch = state.epoch, batches = batches }
end

-- Producer state on a partition: "epoch;first,last,base,count,maxts;..." (see redis-encoding.ts).
local function decode_state(s)
  if not s then return nil end
  local state = { batches = {} }
  for part in string.gmatch(s, '[^;]+') do
    if not state.epoch then
      state.epoch = tonumber(part)
    else
      local b = {}
      for n in string.gmatch(part, '[^,]+') do b[#b + 1] = tonumber(n) end
      state.batches[#state.batches + 1] = b
    end
  end
  return state
end

local function encode_state(state)
  local out = { int(state.epoch) }
  for _, b in ipairs(state.batches) do
    out[#out + 1] = int(b[1]) .. ',' .. int(b[2]) .. ',' .. int(b[3]) .. ',' .. int(b[4]) .. ',' .. int(b[5])
  end
  return table.concat(out, ';')
end

-- Lookups are cached for the flush: a partition's high watermark carries over between its
-- chunks, and a producer's state between its batches in this flush.
local partitions = {}
local partitionOrder = {}
local slots = {}
local slotOrder = {}
local allocatedCache = {}
local indexRows = 0

local function partition_cached(name, topicId, p)
  local slot = name .. '\0' .. int(p)
  local st = partitions[slot]
  if st == nil then
    st = partition_of(name, p) or false
    partitions[slot] = st
    if st then partitionOrder[#partitionOrder + 1] = st end
  end
  if not st or st.topic.id ~= topicId then return nil end
  return st
end

local function append_row(st, byteStart, byteLength, count, maxts)
  local base = st.hwm
  st.touched = true
  st.hwm = st.hwm + count
  if st.maxts == nil or maxts > st.maxts then st.maxts = maxts end
  local member = encode_entry({ base = base, last = st.hwm - 1, maxts = maxts, runmax = st.maxts,
    byte_start = byteStart, byte_length = byteLength, object_key = objectKey })
  redis.call('ZADD', st.index, base, member)
  indexRows = indexRows + 1
end

local function admit(st, part, at)
  local b = { pid = part[4], epoch = part[5], base_seq = part[6], last_seq = part[7] }
  local spid = int(b.pid)
  local slotKey = st.pstates .. '\0' .. spid
  local slot = slots[slotKey]
  if slot == nil then
    slot = { hash = st.pstates, pid = spid, state = decode_state(redis.call('HGET', st.pstates, spid) or nil), dirty = false }
    slots[slotKey] = slot
    slotOrder[#slotOrder + 1] = slot
  end
  local verdict = check_batch(slot.state, b, function()
    if allocatedCache[spid] == nil then allocatedCache[spid] = redis.call('HEXISTS', K.producers(), spid) == 1 end
    return allocatedCache[spid]
  end)
  if verdict.kind == 'append' then
    slot.state = with_appended(slot.state, b, at, part[1], part[3])
    slot.dirty = true
  end
  return verdict
end

local results = {}
for i, c in ipairs(cjson.decode(ARGV[5])) do
  local name, topicId, p, count, maxts, byteStart, byteLength, parts = c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]
  local st = partition_cached(name, topicId, p)
  if not st then
    results[i] = { 0 }
  elseif parts == 0 then
    local base = st.hwm
    append_row(st, byteStart, byteLength, count, maxts)
    results[i] = { 1, base, st.lso }
  else
    -- Duplicates and refused batches are left out, which may split the chunk into several rows.
    local base = st.hwm
    local nextOffset = base
    local byte = byteStart
    local rows = {}
    local row = nil
    local partResults = {}
    for j, part in ipairs(parts) do
      local verdict
      if part[4] < 0 then verdict = { kind = 'append' } else verdict = admit(st, part, nextOffset) end
      if verdict.kind == 'append' then
        if row == nil then
          row = { count = 0, byte_start = byte, byte_length = 0, maxts = part[3] }
          rows[#rows + 1] = row
        end
        row.count = row.count + part[1]
        row.byte_length = row.byte_length + part[2]
        if part[3] > row.maxts then row.maxts = part[3] end
        partResults[j] = { 'a', nextOffset }
        nextOffset = nextOffset + part[1]
      else
        row = nil
        if verdict.kind == 'd' then partResults[j] = { 'd', verdict.base, verdict.maxts }
        else partResults[j] = { 'r', verdict.error, verdict.message } end
      end
      byte = byte + part[2]
    end
    for _, r in ipairs(rows) do append_row(st, r.byte_start, r.byte_length, r.count, r.maxts) end
    results[i] = { 1, base, st.lso, partResults }
  end
end

for _, slot in ipairs(slotOrder) do
  if slot.dirty then redis.call('HSET', slot.hash, slot.pid, encode_state(slot.state)) end
end
for _, st in ipairs(partitionOrder) do
  if st.touched then redis.call('HSET', st.key, 'lso', int(st.lso), 'hwm', int(st.hwm), 'maxts', int(st.maxts)) end
end
redis.call('HDEL', K.pendingObjects(), objectKey)
redis.call('HSET', K.committedObjects(), objectKey, int(tonumber(ARGV[3])) .. '|' .. ARGV[4] .. '|' .. int(indexRows))
return results
