-- Commits a flush of mirror chunks (CommitChunk.runs): every run at its own offsets (the source's),
-- gaps kept, the index entries appended and the object marked committed, in one atomic step. The
-- rules are those of mirror-runs.ts (judgeRun), ported line for line; the shared metadata-store
-- contract holds both backends to them.
-- KEYS[1]: the topics set. ARGV: prefix, objectKey, objectSizeBytes, nowMs, chunks (JSON,
-- validated by the caller): an array of [topic, topicId, partition, byteStart, runs], runs an array
-- of [baseOffset, offsetCount, byteLength, maxTimestamp] in byte order with increasing offsets.
-- Reply: one array per chunk: {0, error, message} (error 'unknown_topic_or_partition',
-- 'not_mirroring' or 'offset_conflict'; such a chunk changes nothing), else {1, baseOffset,
-- logStartOffset, highWatermark, verdicts}, verdicts one 'a' (appended) or 'd' (duplicate) per run.
-- Errors: "WEIR not_found" if the object is not pending, "WEIR already_exists" if it was committed.
local objectKey = ARGV[2]
if redis.call('HEXISTS', K.committedObjects(), objectKey) == 1 then
  return fail('already_exists', 'object ' .. objectKey .. ' is already committed')
end
if redis.call('HEXISTS', K.pendingObjects(), objectKey) == 0 then
  return fail('not_found', 'object ' .. objectKey .. ' is not registered as pending')
end

-- Partition states are cached for the flush: a partition's high watermark carries over between
-- its chunks.
local partitions = {}
local partitionOrder = {}
local indexRows = 0

local function partition_cached(name, topicId, p)
  local slot = name .. '\0' .. int(p)
  local st = partitions[slot]
  if st == nil then
    st = partition_of(name, p) or false
    if st then st.mirror = redis.call('HGET', K.topic(name), 'mirror') end
    partitions[slot] = st
    if st then partitionOrder[#partitionOrder + 1] = st end
  end
  if not st or st.topic.id ~= topicId then return nil end
  return st
end

-- Whether an index entry holds the offset: the last entry starting at or before it ends at or after it.
local function covered(st, offset)
  local holder = redis.call('ZREVRANGEBYSCORE', st.index, int(offset), '-inf', 'LIMIT', 0, 1)[1]
  return holder ~= nil and decode_entry(holder).last >= offset
end

-- judgeRun of mirror-runs.ts.
local function judge(run, st, hwm)
  local base, count = run[1], run[2]
  if base >= hwm then return 'append' end
  local last = base + count - 1
  if last >= hwm then return 'conflict' end
  local function held(o) return o < st.lso or covered(st, o) end
  if held(base) and held(last) then return 'duplicate' end
  return 'conflict'
end

local results = {}
for i, c in ipairs(cjson.decode(ARGV[5])) do
  local name, topicId, p, byteStart, runs = c[1], c[2], c[3], c[4], c[5]
  local st = partition_cached(name, topicId, p)
  if not st then
    results[i] = { 0, 'unknown_topic_or_partition', 'topic ' .. name .. ' partition ' .. int(p) .. ' no longer exists' }
  elseif not st.mirror or string.sub(st.mirror, 1, 10) ~= 'mirroring|' then
    local why = 'topic ' .. name .. ' is not a mirror topic; mirror writes only go to topics the mirror created'
    if st.mirror then why = 'topic ' .. name .. ' was promoted and takes no more mirror writes' end
    results[i] = { 0, 'not_mirroring', why }
  else
    local hwm = st.hwm
    local verdicts = {}
    local conflict = nil
    for j, run in ipairs(runs) do
      local v = judge(run, st, hwm)
      if v == 'conflict' then
        conflict = 'offsets ' .. int(run[1]) .. '..' .. int(run[1] + run[2] - 1) .. ' of ' .. name .. '-' .. int(p) ..
          ' overlap the committed log (high watermark ' .. int(hwm) .. ') and are not a re-send of committed batches'
        break
      end
      if v == 'append' then hwm = run[1] + run[2] end
      verdicts[j] = (v == 'append') and 'a' or 'd'
    end
    if conflict then
      results[i] = { 0, 'offset_conflict', conflict }
    else
      local byte = byteStart
      for j, run in ipairs(runs) do
        if verdicts[j] == 'a' then
          local base, count, maxts = run[1], run[2], run[4]
          st.touched = true
          st.hwm = base + count
          if st.maxts == nil or maxts > st.maxts then st.maxts = maxts end
          redis.call('ZADD', st.index, base, encode_entry({ base = base, last = base + count - 1, maxts = maxts, runmax = st.maxts,
            byte_start = byte, byte_length = run[3], object_key = objectKey }))
          indexRows = indexRows + 1
        end
        byte = byte + run[3]
      end
      results[i] = { 1, runs[1][1], st.lso, st.hwm, verdicts }
    end
  end
end

for _, st in ipairs(partitionOrder) do
  if st.touched then redis.call('HSET', st.key, 'lso', int(st.lso), 'hwm', int(st.hwm), 'maxts', int(st.maxts)) end
end
redis.call('HDEL', K.pendingObjects(), objectKey)
redis.call('HSET', K.committedObjects(), objectKey, int(tonumber(ARGV[3])) .. '|' .. ARGV[4] .. '|' .. int(indexRows))
return results
