"""The Lua scripts behind the Redis stream and state stores.

Each write is one script, so it is atomic across every worker and machine sharing the server,
and it publishes its change in the same step: subscribers see changes in the order they were
made. Stamps come from one server-side clock (``<p>:clock``): ``max(server ms, last stamp + 1,
caller's floor + 1)``, so they strictly increase across all workers whatever their own clocks
say. Reads raise that clock to the caller's floor (see ``StreamStore``'s docstring: a client's
``sync`` stamp must stay below every later change).

Item values are ``"<createdAt> <version> <ts>\\n<data JSON>"``: the scripts read and write the
header and never parse the data, so numbers and empty objects/arrays round-trip untouched.
Numbers are formatted with ``%d``: Lua's ``tostring`` would print 13-digit stamps as 1.7e+12.
"""

from __future__ import annotations

_STAMP = r"""
local function raise_to(clock_key, floor)
  local last = tonumber(redis.call('GET', clock_key) or '0')
  local f = tonumber(floor)
  if f > last then
    redis.call('SET', clock_key, string.format('%d', f))
    return f
  end
  return last
end

local function stamp(clock_key, floor)
  local last = raise_to(clock_key, floor)
  local t = redis.call('TIME')
  local ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if ts <= last then ts = last + 1 end
  redis.call('SET', clock_key, string.format('%d', ts))
  return string.format('%d', ts)
end
"""

# KEYS: group hash, groups set, clock, group expiry hash, expiring set. ARGV: id, group id, data
# JSON, expected stamp ('' any, '0' absent, else the item's current stamp), floor, channel,
# message head ('{"s":..,"g":..,"i":..'), expiry ('' none, else epoch ms; then ARGV[9] is the
# item's member of the expiring set). An expired item the sweep has not removed yet counts as
# absent. Returns {0} when the expectation fails, else {1, kind, createdAt, version, ts}.
WRITE = _STAMP + r"""
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local exp = redis.call('HGET', KEYS[4], ARGV[1])
if exp then
  local t = redis.call('TIME')
  if tonumber(exp) <= tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) then cur = false end
end
local created, version, last = false, 0, false
if cur then
  local c, v, t = string.match(cur, '^(%d+) (%d+) (%d+)\n')
  created, version, last = c, tonumber(v), t
end
local expected = ARGV[4]
if expected == '0' then
  if cur then return {0} end
elseif expected ~= '' and last ~= expected then
  return {0}
end
-- The expiry only once the write is sure to land: a lost race changes nothing.
if ARGV[8] ~= '' then
  redis.call('HSET', KEYS[4], ARGV[1], ARGV[8])
  redis.call('ZADD', KEYS[5], ARGV[8], ARGV[9])
elseif exp then
  redis.call('HDEL', KEYS[4], ARGV[1])
end
local ts = stamp(KEYS[3], ARGV[5])
if not created then created = ts end
local vs = string.format('%d', version + 1)
redis.call('HSET', KEYS[1], ARGV[1], created .. ' ' .. vs .. ' ' .. ts .. '\n' .. ARGV[3])
redis.call('SADD', KEYS[2], ARGV[2])
local kind = 'update'
if not cur then kind = 'create' end
redis.call('PUBLISH', ARGV[6], ARGV[7] .. ',"t":"' .. kind .. '","ts":' .. ts .. ',"v":' .. vs
  .. ',"c":' .. created .. ',"d":' .. ARGV[3] .. '}')
return {1, kind, created, vs, ts}
"""

# KEYS: group hash, groups set, clock, group expiry hash. ARGV: id, group id, floor, channel,
# message head. Returns {0} when there was no item, else {1, createdAt, version, ts, data JSON}.
DELETE = _STAMP + r"""
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return {0} end
redis.call('HDEL', KEYS[4], ARGV[1])
local c, v = string.match(cur, '^(%d+) (%d+) ')
local data = string.sub(cur, string.find(cur, '\n', 1, true) + 1)
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
local ts = stamp(KEYS[3], ARGV[3])
local vs = string.format('%d', tonumber(v) + 1)
redis.call('PUBLISH', ARGV[4], ARGV[5] .. ',"t":"delete","ts":' .. ts .. ',"v":' .. vs .. ',"c":' .. c
  .. ',"d":' .. data .. '}')
return {1, c, vs, ts, data}
"""

# KEYS: clock, the group's history, its count-bound mark. ARGV: floor, channel, message head,
# event JSON, window (ms; 0 keeps nothing), the most events the group keeps. The published
# message is also the history entry (scored by its stamp); entries past the window go, and past
# the count the oldest go with the newest of them marked. Returns the stamp.
SEND = _STAMP + r"""
local ts = stamp(KEYS[1], ARGV[1])
local message = ARGV[3] .. ',"t":"event","ts":' .. ts .. ',"d":' .. ARGV[4] .. '}'
redis.call('PUBLISH', ARGV[2], message)
local window = tonumber(ARGV[5])
if window > 0 then
  redis.call('ZADD', KEYS[2], ts, message)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.format('%d', tonumber(ts) - window))
  local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[6])
  if over > 0 then
    local dropped = redis.call('ZRANGE', KEYS[2], over - 1, over - 1, 'WITHSCORES')
    redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
    local mark = tonumber(redis.call('GET', KEYS[3]) or '0')
    if tonumber(dropped[2]) > mark then redis.call('SET', KEYS[3], dropped[2]) end
  end
  redis.call('PEXPIRE', KEYS[2], window)
  redis.call('PEXPIRE', KEYS[3], window)
end
return ts
"""

# KEYS: group hash, groups set, clock, group expiry hash, expiring set. ARGV: the item's member of
# the expiring set, id, group id, floor, channel, message head. The ZREM is the claim: of the
# workers sweeping at once, one removes the item and publishes its delete. An item written since
# without a TTL, or with a later one, stays (and a later one keeps its place in the set).
# Returns {0} when nothing expired, else {1, stamp, version, created, data}: the delete, for the
# claiming worker's expiry listeners (the stream's triggers run once, there).
EXPIRE = _STAMP + r"""
if redis.call('ZREM', KEYS[5], ARGV[1]) == 0 then return {0} end
local exp = redis.call('HGET', KEYS[4], ARGV[2])
if not exp then return {0} end
local t = redis.call('TIME')
if tonumber(exp) > tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) then
  redis.call('ZADD', KEYS[5], exp, ARGV[1])
  return {0}
end
redis.call('HDEL', KEYS[4], ARGV[2])
local cur = redis.call('HGET', KEYS[1], ARGV[2])
if not cur then return {0} end
local c, v = string.match(cur, '^(%d+) (%d+) ')
local data = string.sub(cur, string.find(cur, '\n', 1, true) + 1)
redis.call('HDEL', KEYS[1], ARGV[2])
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[3]) end
local ts = stamp(KEYS[3], ARGV[4])
local vs = string.format('%d', tonumber(v) + 1)
redis.call('PUBLISH', ARGV[5], ARGV[6] .. ',"t":"delete","ts":' .. ts .. ',"v":' .. vs .. ',"c":' .. c
  .. ',"d":' .. data .. '}')
return {1, ts, tonumber(vs), tonumber(c), data}
"""

# KEYS: group hash, clock, group expiry hash. ARGV: floor, then an item id to read one item; none
# reads the group. Expired items (the sweep removes them soon) are left out.
READ = _STAMP + r"""
raise_to(KEYS[2], ARGV[1])
local now = false
if redis.call('EXISTS', KEYS[3]) == 1 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
if ARGV[2] then
  if now then
    local exp = redis.call('HGET', KEYS[3], ARGV[2])
    if exp and tonumber(exp) <= now then return false end
  end
  return redis.call('HGET', KEYS[1], ARGV[2])
end
local flat = redis.call('HGETALL', KEYS[1])
if not now then return flat end
local out = {}
for i = 1, #flat, 2 do
  local exp = redis.call('HGET', KEYS[3], flat[i])
  if not exp or tonumber(exp) > now then
    out[#out + 1] = flat[i]
    out[#out + 1] = flat[i + 1]
  end
end
return out
"""

# KEYS: group hash, groups set, insertion counter, key index. ARGV: key, value JSON, group, and
# optionally the raw value the caller read ('' for none), for a compare-and-set.
# A key keeps its first-insertion number, so a group lists oldest key first, as SQLite does.
# The index (a sorted set, every score 0) orders the group's keys for paged reads (STATE_PAGE).
STATE_SET = r"""
local cur = redis.call('HGET', KEYS[1], ARGV[1])
-- ARGV[4], when given, is the raw value the caller read ('' for none): write only if it still is.
if ARGV[4] and (cur or '') ~= ARGV[4] then return 0 end
local seq
if cur then
  seq = string.match(cur, '^(%d+)\n')
else
  seq = string.format('%d', redis.call('INCR', KEYS[3]))
end
redis.call('HSET', KEYS[1], ARGV[1], seq .. '\n' .. ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[4], 0, ARGV[1])
return 1
"""


# KEYS: group hash, groups set, key index. ARGV: key, group. Returns the old value (with its header) or false.
STATE_DELETE = r"""
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return cur
"""

# KEYS: group hash, groups set, key index. ARGV: group.
STATE_CLEAR = r"""
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('SREM', KEYS[2], ARGV[1])
return 1
"""

# KEYS: group hash, key index. ARGV: "(after" or "-"/"+" (the open end), how many, "desc" or "asc".
# Returns key, value (with its header), key, value, ... in key order. A group written before the
# index existed has none (or a partial one): the index is rebuilt from the hash's keys first.
STATE_PAGE = r"""
local n = redis.call('HLEN', KEYS[1])
if redis.call('ZCARD', KEYS[2]) ~= n then
  redis.call('DEL', KEYS[2])
  local keys = redis.call('HKEYS', KEYS[1])
  for i = 1, #keys, 500 do
    local args = {}
    for j = i, math.min(i + 499, #keys) do
      args[#args + 1] = 0
      args[#args + 1] = keys[j]
    end
    redis.call('ZADD', KEYS[2], unpack(args))
  end
end
local keys
if ARGV[3] == 'desc' then
  keys = redis.call('ZREVRANGEBYLEX', KEYS[2], ARGV[1], '-', 'LIMIT', 0, tonumber(ARGV[2]))
else
  keys = redis.call('ZRANGEBYLEX', KEYS[2], ARGV[1], '+', 'LIMIT', 0, tonumber(ARGV[2]))
end
local out = {}
if #keys == 0 then return out end
local values = redis.call('HMGET', KEYS[1], unpack(keys))
for i = 1, #keys do
  if values[i] then
    out[#out + 1] = keys[i]
    out[#out + 1] = values[i]
  end
end
return out
"""
