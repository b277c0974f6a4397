"""The Redis store's Lua scripts (run with EVALSHA; loaded on the first NOSCRIPT).

Every script touches keys of one hash slot only (see :mod:`._redis_keys`), so each
runs atomically on a single server and on Redis Cluster alike. On a single server the
consent-change scripts also get two keys of other slots, never passed on a cluster: the
total counters and the change feed (a stream, :mod:`.feed`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

__all__ = ["APPEND", "AS_OF", "COUNTS_TOTAL", "DELETE", "EVENT_ADD", "HISTORY_PAGE", "Script"]


@dataclass(frozen=True)
class Script:
    name: str
    text: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.text.encode("utf-8")).hexdigest())


# Counter fields are "<byte length of version>:<version><category>:<1|0>": unambiguous
# for any strings, parsed back by parse_counter_field(). A field whose count reaches 0
# is removed so a shard holds only live combinations. apply(shard, total) also moves the
# single server's total hash (a key of another slot: never passed on a cluster) when it
# exists; while it does not, counts() rebuilds it from the shards (COUNTS_TOTAL).
_COUNTERS = """
local function field(version, category, granted)
  return #version .. ':' .. version .. category .. ':' .. granted
end
local delta = {}
local function take_off(state)
  local version = state['policy_version']
  for category, granted in pairs(state['choices']) do
    local f = field(version, category, granted and '1' or '0')
    delta[f] = (delta[f] or 0) - 1
  end
  -- a category chosen service by service also counts "category/service" (records.counted)
  local services = state['services']
  if type(services) == 'table' then
    for category, chosen in pairs(services) do
      for name, granted in pairs(chosen) do
        local f = field(version, category .. '/' .. name, granted and '1' or '0')
        delta[f] = (delta[f] or 0) - 1
      end
    end
  end
end
local function apply(key, total)
  local live = total and redis.call('EXISTS', total) == 1
  for f, by in pairs(delta) do
    if by ~= 0 then
      if redis.call('HINCRBY', key, f, by) == 0 then redis.call('HDEL', key, f) end
      if live and redis.call('HINCRBY', total, f, by) == 0 then redis.call('HDEL', total, f) end
    end
  end
end
"""

APPEND = Script(
    "append",
    _COUNTERS
    + """
-- KEYS: history, current state, counter shard, the subject's feed ids (one slot)
--       [, total, change feed (single server)]
-- ARGV: record JSON, record id, policy version, feed length kept, then
--       (category, '1'|'0') pairs
local old = redis.call('GET', KEYS[2])
if old then
  local state = cjson.decode(old)
  -- a retried write whose first attempt was applied: nothing to do
  if state['record_id'] == ARGV[2] then return 0 end
  take_off(state)
end
for i = 5, #ARGV, 2 do
  local f = field(ARGV[3], ARGV[i], ARGV[i + 1])
  delta[f] = (delta[f] or 0) + 1
end
apply(KEYS[3], KEYS[5])
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[1])
if KEYS[6] then
  -- the change feed, written with the record (see stores/feed.py); the entry id is
  -- kept with the subject so a deletion can erase the subject's entries
  local id = redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[4], '*', 'r', ARGV[1])
  redis.call('SADD', KEYS[4], id)
end
return 1
""",
)

DELETE = Script(
    "delete",
    _COUNTERS
    + """
-- KEYS: history, current state, counter shard, users set, event time index, event
--       expiry index, the subject's feed ids (all of one subject: one slot)
--       [, total, change feed (single server)]
-- ARGV: proof record JSON, feed length kept, then the event kinds under a statutory hold
-- Returns {records removed, events removed, users linked, {event key, user id}...}
local removed = redis.call('LLEN', KEYS[1])
local old = redis.call('GET', KEYS[2])
if old then
  take_off(cjson.decode(old))
  apply(KEYS[3], KEYS[8])
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('LPUSH', KEYS[1], ARGV[1])
if KEYS[9] then
  -- erase the subject's earlier feed entries; the proof reports the deletion
  local ids = redis.call('SMEMBERS', KEYS[7])
  for i = 1, #ids, 512 do
    redis.call('XDEL', KEYS[9], unpack(ids, i, math.min(i + 511, #ids)))
  end
  redis.call('DEL', KEYS[7])
  local id = redis.call('XADD', KEYS[9], 'MAXLEN', '~', ARGV[2], '*', 'r', ARGV[1])
  redis.call('SADD', KEYS[7], id)
end
local hold = {}
for i = 3, #ARGV do hold[ARGV[i]] = true end
local events, gone = 0, {}
-- The event bodies are the subject's own keys ({p}:{<subject>}:ev:<id>): same slot.
for _, key in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do
  local body = redis.call('GET', key)
  local keep = false
  if body then
    local event = cjson.decode(body)
    keep = hold[event['kind']] ~= nil
    if not keep then
      events = events + 1
      local user = event['user_id']
      if type(user) ~= 'string' then user = '' end
      gone[#gone + 1] = key
      gone[#gone + 1] = user
    end
  end
  if not keep then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[5], key)
    redis.call('ZREM', KEYS[6], key)
  end
end
local users = redis.call('SMEMBERS', KEYS[4])
redis.call('DEL', KEYS[4])
return {removed, events, users, gone}
""",
)

EVENT_ADD = Script(
    "event_add",
    """
-- Many events into one index pair (one slot), in one call. ARGV[2] is a JSON array
-- of strings (one argument for the numbers of the whole call, and each index takes
-- one variadic ZADD).
-- ARGV[1] 'home': the events live here. KEYS: time index, expiry index, then each
--   event's body key (also its member); per event in ARGV[2]: time (s), expires at
--   (ms since the epoch); ARGV[3...]: each event's JSON, as it is stored.
-- ARGV[1] 'index': the events live elsewhere. KEYS: time index, expiry index;
--   per event in ARGV[2]: its key, time (s), expires at (ms).
local data = cjson.decode(ARGV[2])
local by_time, by_expiry = {}, {}
if ARGV[1] == 'home' then
  for i = 3, #KEYS do
    local a = (i - 3) * 2
    redis.call('SET', KEYS[i], ARGV[i], 'PXAT', data[a + 2])
    by_time[#by_time + 1] = data[a + 1]
    by_time[#by_time + 1] = KEYS[i]
    by_expiry[#by_expiry + 1] = data[a + 2]
    by_expiry[#by_expiry + 1] = KEYS[i]
  end
else
  for a = 1, #data, 3 do
    by_time[#by_time + 1] = data[a + 1]
    by_time[#by_time + 1] = data[a]
    by_expiry[#by_expiry + 1] = data[a + 2]
    by_expiry[#by_expiry + 1] = data[a]
  end
end
if #by_time > 0 then
  redis.call('ZADD', KEYS[1], unpack(by_time))
  redis.call('ZADD', KEYS[2], unpack(by_expiry))
end
-- drop index entries whose event has expired (their key is gone already)
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now_ms, 'LIMIT', 0, 512)
if #expired > 0 then
  redis.call('ZREM', KEYS[1], unpack(expired))
  redis.call('ZREM', KEYS[2], unpack(expired))
end
-- an index lives as long as its longest-lived event
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if last[2] then
  redis.call('PEXPIREAT', KEYS[1], last[2])
  redis.call('PEXPIREAT', KEYS[2], last[2])
end
return 1
""",
)

COUNTS_TOTAL = Script(
    "counts_total",
    """
-- Single server only. KEYS: the total hash, then every counter shard.
-- Builds the total from the shards unless it exists (atomically: no change can slip
-- between the sum and the first change that moves the total), then returns it.
if redis.call('EXISTS', KEYS[1]) == 0 then
  local sums = {}
  for i = 2, #KEYS do
    local flat = redis.call('HGETALL', KEYS[i])
    for j = 1, #flat, 2 do
      sums[flat[j]] = (sums[flat[j]] or 0) + tonumber(flat[j + 1])
    end
  end
  redis.call('HSET', KEYS[1], '#', '1')
  local args = {}
  for f, n in pairs(sums) do
    if n ~= 0 then
      args[#args + 1] = f
      args[#args + 1] = n
      if #args >= 1000 then  -- bounded unpack()
        redis.call('HSET', KEYS[1], unpack(args))
        args = {}
      end
    end
  end
  if #args > 0 then redis.call('HSET', KEYS[1], unpack(args)) end
end
return redis.call('HGETALL', KEYS[1])
""",
)

HISTORY_PAGE = Script(
    "history_page",
    """
-- KEYS: history (newest first). ARGV: position ('' for the newest), how many.
-- A position counts the records older than the one it follows: LPUSH does not move it.
-- Returns {length, records…}.
local len = redis.call('LLEN', KEYS[1])
local start = 0
if ARGV[1] ~= '' then
  start = len - math.min(tonumber(ARGV[1]), len)
end
local items = redis.call('LRANGE', KEYS[1], start, start + tonumber(ARGV[2]) - 1)
table.insert(items, 1, len)
return items
""",
)

AS_OF = Script(
    "as_of",
    """
-- KEYS: history (newest first). ARGV: a time (seconds since the epoch).
-- The newest record with time <= ARGV[1], or false; read in small steps from the newest
-- (the record at a recent time is near the head).
local at = tonumber(ARGV[1])
local len = redis.call('LLEN', KEYS[1])
local step = 8
local start = 0
while start < len do
  local items = redis.call('LRANGE', KEYS[1], start, start + step - 1)
  for _, item in ipairs(items) do
    local record = cjson.decode(item)
    if tonumber(record['time']) <= at then
      if record['action'] == 'delete' then return false end
      return item
    end
  end
  start = start + step
  step = math.min(step * 4, 512)
end
return false
""",
)
