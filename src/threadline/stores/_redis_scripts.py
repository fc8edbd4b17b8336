"""The Lua scripts of the Redis store: each store call is one atomic script call.

Redis does not roll back a script that fails after it wrote, so every script checks
everything (existence, owner, version, resulting message count) BEFORE its first
write, and its writes are commands that cannot fail on valid input.

Keys under the prefix ``P`` (default ``threadline``)::

    P:s:<id>     hash: data (record JSON), user, provider, status, version,
                 created, updated, expires (µs since the epoch; "" = never), count
    P:m:<id>     list: one message JSON per element, in order
    P:c, P:u     sorted sets of all session ids by created / updated µs
    P:uc:<user>  sorted sets of one user's session ids by created / updated µs
    P:uu:<user>
    P:x          sorted set of ids by expiry µs (sessions that expire only)
    P:schema     the schema version; P:migrations: hash number -> name

Scores are microseconds (< 2^53, exact in a double). Ties in score order by id
bytewise, as Redis orders members; the scripts compare ids bytewise too (``lt``),
since Lua's ``<`` follows the server's locale.

Data is pure (no I/O), shared by the async store and its generated sync twin.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

# Numbered migrations: (number, name, Lua body run atomically with the bump of the
# schema key). A body sees KEYS[1] = P:schema and ARGV[1] = the prefix.
MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "m001_initial", "-- the layout in the module docstring; nothing to convert"),
]

MIGRATE = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local number = tonumber(ARGV[2])
if current >= number then return 0 end
if current ~= number - 1 then return redis.error_reply('migration out of order') end
%s
redis.call('SET', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
"""

_RPUSH_FROM = """
local function rpush_from(key, first)
  for i = first, #ARGV, 1000 do
    redis.call('RPUSH', key, unpack(ARGV, i, math.min(i + 999, #ARGV)))
  end
end
"""

# KEYS: hash, list, all-created, all-updated, expiry[, user-created, user-updated]
# ARGV: id, user, provider, status, version, created, updated, expires, count, data,
#       messages...
CREATE = (
    _RPUSH_FROM
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'user', ARGV[2], 'provider', ARGV[3], 'status', ARGV[4],
  'version', ARGV[5], 'created', ARGV[6], 'updated', ARGV[7], 'expires', ARGV[8],
  'count', ARGV[9], 'data', ARGV[10])
rpush_from(KEYS[2], 11)
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[7], ARGV[1])
if ARGV[8] ~= '' then redis.call('ZADD', KEYS[5], ARGV[8], ARGV[1]) end
if #KEYS == 7 then
  redis.call('ZADD', KEYS[6], ARGV[6], ARGV[1])
  redis.call('ZADD', KEYS[7], ARGV[7], ARGV[1])
end
return 1
"""
)

# KEYS: hash, list, all-updated, expiry[, user-updated]
# ARGV: id, expected version, version, status, updated, expires, count, data, keep
#       (-1: none), user, messages...
# Returns {2} written, {0} no such session, {1} stale version, {3, n} the count does
# not add up (n stored), {4} the owner differs.
COMMIT = (
    _RPUSH_FROM
    + """
local cur = redis.call('HMGET', KEYS[1], 'version', 'count', 'user')
if not cur[1] then return {0} end
if cur[1] ~= ARGV[2] then return {1} end
if (cur[3] or '') ~= ARGV[10] then return {4} end
local count = tonumber(cur[2])
local keep = tonumber(ARGV[9])
local base = count
if keep >= 0 then
  if keep > count then return {3, count} end
  base = keep
end
if base + #ARGV - 10 ~= tonumber(ARGV[7]) then return {3, count} end
if keep >= 0 and keep < count then
  if keep == 0 then redis.call('DEL', KEYS[2]) else redis.call('LTRIM', KEYS[2], 0, keep - 1) end
end
rpush_from(KEYS[2], 11)
redis.call('HSET', KEYS[1], 'version', ARGV[3], 'status', ARGV[4], 'updated', ARGV[5],
  'expires', ARGV[6], 'count', ARGV[7], 'data', ARGV[8])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
if ARGV[6] == '' then redis.call('ZREM', KEYS[4], ARGV[1])
else redis.call('ZADD', KEYS[4], ARGV[6], ARGV[1]) end
if #KEYS == 5 then redis.call('ZADD', KEYS[5], ARGV[5], ARGV[1]) end
return {2}
"""
)

# KEYS: hash. ARGV: scoped ('1'/'0'), user, now.
# Returns {0} not found (or another user's), {1} expired, {2, data}.
GET = """
local h = redis.call('HMGET', KEYS[1], 'data', 'user', 'expires')
if not h[1] and not h[2] then return {0} end
if ARGV[1] == '1' and (h[2] or '') ~= ARGV[2] then return {0} end
if h[3] and h[3] ~= '' and tonumber(h[3]) <= tonumber(ARGV[3]) then return {1} end
return {2, h[1] or ''}
"""

# KEYS: all-created, all-updated, expiry. ARGV: scoped ('1'/'0'), user, prefix, ids...
# Returns how many sessions were removed. Unscoped, the index entries of a session
# whose hash is gone are removed too, so a damaged session can never keep the expiry
# sweep busy forever.
DELETE = """
local removed = 0
for i = 4, #ARGV do
  local id = ARGV[i]
  local hash = ARGV[3] .. ':s:' .. id
  local exists = redis.call('EXISTS', hash) == 1
  local owner = ''
  if exists then owner = redis.call('HGET', hash, 'user') or '' end
  if ARGV[1] == '0' or (exists and owner == ARGV[2]) then
    if exists then removed = removed + 1 end
    redis.call('DEL', hash, ARGV[3] .. ':m:' .. id)
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
    if owner ~= '' then
      redis.call('ZREM', ARGV[3] .. ':uc:' .. owner, id)
      redis.call('ZREM', ARGV[3] .. ':uu:' .. owner, id)
    end
  end
end
return removed
"""

# KEYS: expiry. ARGV: now, limit, prefix. Returns id, data ('' if gone) pairs.
EXPIRED = """
local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, ARGV[2])
local out = {}
for _, id in ipairs(ids) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', ARGV[3] .. ':s:' .. id, 'data') or ''
end
return out
"""

# KEYS: the sorted set to page through. ARGV: prefix, max score ('+inf' or the
# cursor's), cursor id ('' = none), now, want expired ('1'/'0'), status ('' = any),
# provider ('' = any), how many to find, score field ('created'/'updated'), how many
# entries to look at before returning (keeps one call short).
# Returns {done, last score, last id, "id key data", ...} (ids and keys hold no
# spaces; one string per session keeps the reply small to parse): done is 1 when the
# set is exhausted or enough were found; else the caller continues from the last
# entry looked at.
LIST = """
local function lt(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local max_score, after = ARGV[2], ARGV[3]
local cursor = nil
if max_score ~= '+inf' then cursor = tonumber(max_score) end
local now, want_expired = tonumber(ARGV[4]), ARGV[5] == '1'
local want, budget = tonumber(ARGV[8]), tonumber(ARGV[10])
local found, seen, offset = {}, 0, 0
local last_score, last_id = '', ''
while true do
  local batch = redis.call('ZRANGE', KEYS[1], max_score, '-inf', 'BYSCORE', 'REV',
    'LIMIT', offset, math.max(want * 2, 64), 'WITHSCORES')
  if #batch == 0 then break end
  offset = offset + #batch / 2
  for i = 1, #batch, 2 do
    local id, score = batch[i], batch[i + 1]
    if not (cursor and tonumber(score) == cursor and not lt(id, after)) then
      seen = seen + 1
      last_score, last_id = score, id
      local h = redis.call('HMGET', ARGV[1] .. ':s:' .. id, 'data', 'expires', 'status',
        'provider', ARGV[9])
      if h[1] and h[5] then
        local expired = h[2] and h[2] ~= '' and tonumber(h[2]) <= now
        local keep = (expired and want_expired) or (not expired and not want_expired
          and (ARGV[6] == '' or h[3] == ARGV[6]))
        if keep and (ARGV[7] == '' or h[4] == ARGV[7]) then
          found[#found + 1] = id .. ' ' .. h[5] .. ' ' .. h[1]
          if #found >= want then return {1, last_score, last_id, unpack(found)} end
        end
      end
      if seen >= budget then return {0, last_score, last_id, unpack(found)} end
    end
  end
end
return {1, last_score, last_id, unpack(found)}
"""
