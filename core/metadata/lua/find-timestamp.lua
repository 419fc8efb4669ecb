-- The timestamp lookups: mode 'first' finds the first entry (in offset order) whose maxTimestamp
-- >= timestampMs; mode 'max' the entry holding the largest timestamp (the earliest on ties).
-- Cost: a binary search by rank over the running maximum, O(log(entries)^2); it falls back to a
-- scan only when deleteRecords removed an entry holding a larger timestamp (which inflates the
-- running maximum of everything after it).
-- KEYS[1]: the topics set. ARGV: prefix, topic, partition, mode ('first' | 'max'), timestampMs.
-- Reply: the entry's sorted-set member, or nil; "WEIR not_found" for an unknown partition.
local st = partition_of(ARGV[2], tonumber(ARGV[3]))
if not st then return fail('not_found', 'partition ' .. ARGV[2] .. '-' .. ARGV[3] .. ' not found') end
local mode = ARGV[4]
local n = redis.call('ZCARD', st.index)
if n == 0 then return false end
local target = tonumber(ARGV[5])
if mode == 'max' then target = st.maxts end
if target == nil then return false end

local function at(rank) return decode_entry(redis.call('ZRANGE', st.index, rank, rank)[1]) end

local lo, hi = 0, n
while lo < hi do
  local mid = math.floor((lo + hi) / 2)
  if at(mid).runmax >= target then hi = mid else lo = mid + 1 end
end
if lo < n then
  local first = at(lo)
  -- No earlier live entry reaches the target: its running max would too.
  if first.maxts >= target then return first.member end
end

-- The fallback scan, a page at a time, from the first entry whose running max reaches the target.
local PAGE = 256
local best = nil
local rank = (mode == 'max') and 0 or lo
while rank < n do
  for _, m in ipairs(redis.call('ZRANGE', st.index, rank, rank + PAGE - 1)) do
    local e = decode_entry(m)
    if mode == 'first' then
      if e.maxts >= target then return m end
    elseif best == nil or e.maxts > best.maxts then
      best = e
    end
  end
  rank = rank + PAGE
end
if best then return best.member end
return false
