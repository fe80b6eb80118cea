-- acquire.lua: admit one request to a target, or refuse it and say until when.
--
-- Every script of the limiter takes the same eight keys, all of one target, all sharing the
-- target's hash tag so they live in one Redis Cluster slot:
--   KEYS[1] cfg     hash  limits, max_concurrent, lease_ttl_ms, accounting, json
--   KEYS[2] log     zset  one member per admitted request, "id|tokens|input|output", score = admit time (us)
--   KEYS[3] st      hash  clock, per-window token sums and cursors, cooldown, provider signals
--   KEYS[4] leases  zset  request id -> lease expiry (us)
--   KEYS[5] ld      hash  request id -> "admit_us|tokens|input|output" for leases still held
--   KEYS[6] q       zset  waiting tickets: request id -> arrival sequence
--   KEYS[7] qx      zset  waiting tickets: request id -> ticket expiry (us)
--   KEYS[8] stats   hash  counters for the admin API
--
-- ARGV[1] request id (also the lease id); a replay of the same id never counts twice
-- ARGV[2] estimated tokens, ARGV[3] estimated input tokens, ARGV[4] estimated output tokens
-- ARGV[5] now in microseconds, or "" to use Redis TIME (an explicit now exists for tests only)
-- ARGV[6] "1" to take a waiting ticket when refused (a blocking acquire), "0" for try-acquire
-- ARGV[7] ticket time-to-live in ms past the returned retry time (abandoned tickets expire)
-- ARGV[8] pub/sub channel on which the next waiter is woken
--
-- Reply:
--   { 1, admit_us, lease_expiry_us, replayed(0|1) }     admitted
--   { 0, reason, retry_at_us, limit, now_us }           refused; nothing was recorded
--        reason: "window" (limit = "resource:amount:window_ms"), "concurrency", "cooldown",
--                "queued" (others arrived first), "provider" (limit = the resource)
--   { -1, "resource:amount:window_ms" }                  the estimate can never fit that limit
--   { -2 }                                              the target has no config

local id = ARGV[1]
local est = { r = 1, t = tonumber(ARGV[2]), i = tonumber(ARGV[3]), o = tonumber(ARGV[4]) }

local cfg = redis.call('HMGET', KEYS[1], 'limits', 'max_concurrent', 'lease_ttl_ms')
if not cfg[1] then
  return { -2 }
end

local now
if ARGV[5] ~= '' then
  now = tonumber(ARGV[5])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local st = {}
local raw = redis.call('HGETALL', KEYS[3])
for k = 1, #raw, 2 do
  st[raw[k]] = raw[k + 1]
end
-- Admission times must never go backwards, or a window could be checked against the past.
local last = tonumber(st['now'] or 0)
if now < last then
  now = last
end

-- A replayed command (client reconnect) finds its own lease and gets the same answer.
local held = redis.call('HGET', KEYS[5], id)
if held then
  local admitted = tonumber(string.match(held, '^(%d+)'))
  local expiry = tonumber(redis.call('ZSCORE', KEYS[4], id))
  return { 1, admitted, expiry, 1 }
end

local limits = {}
local maxw = 0
for res, amount, window in string.gmatch(cfg[1], '(%a):(%d+):(%d+)') do
  local l = { res = res, amount = tonumber(amount), w = tonumber(window) * 1000,
              spec = res .. ':' .. amount .. ':' .. window }
  if est[res] > l.amount then
    return { -1, l.spec }
  end
  limits[#limits + 1] = l
  if l.w > maxw then maxw = l.w end
end
local maxc = tonumber(cfg[2] or 0)
local ttl = tonumber(cfg[3] or 60000) * 1000

local function fmt(x)
  return string.format('%d', x)
end

local function amounts(member)
  local t, i, o = string.match(member, '|(%d+)|(%d+)|(%d+)$')
  return tonumber(t), tonumber(i), tonumber(o)
end

-- Leases whose holder stopped renewing them (a crashed worker) are dropped.
local expired = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', fmt(now))
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', fmt(now))
  redis.call('HDEL', KEYS[5], unpack(expired))
end

-- Token sums per window are kept incrementally: each window has a cursor below which every
-- log entry has already been subtracted, so an acquire touches only entries that just expired.
local sums = {}
local dirty = {}
local empty = false
for _, l in ipairs(limits) do
  if l.res ~= 'r' then
    empty = redis.call('EXISTS', KEYS[2]) == 0
    break
  end
end
for _, l in ipairs(limits) do
  if l.res ~= 'r' and not sums[l.w] then
    local key = fmt(l.w / 1000)
    local floor = now - l.w
    local s = { t = tonumber(st['t' .. key]), i = tonumber(st['i' .. key]),
                o = tonumber(st['o' .. key]), c = tonumber(st['c' .. key]) }
    if empty then
      s.t, s.i, s.o, s.c = 0, 0, 0, floor
      dirty[#dirty + 1] = key
    elseif not s.c or not s.t then
      s.t, s.i, s.o = 0, 0, 0
      local members = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. fmt(floor), '+inf')
      for _, m in ipairs(members) do
        local t, i, o = amounts(m)
        s.t, s.i, s.o = s.t + t, s.i + i, s.o + o
      end
      s.c = floor
      dirty[#dirty + 1] = key
    elseif floor > s.c then
      local members = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. fmt(s.c), fmt(floor))
      for _, m in ipairs(members) do
        local t, i, o = amounts(m)
        s.t, s.i, s.o = s.t - t, s.i - i, s.o - o
      end
      s.c = floor
      dirty[#dirty + 1] = key
    end
    s.key = key
    sums[l.w] = s
  end
end

local function save_state(extra)
  local fields = { 'now', fmt(now) }
  for _, key in ipairs(dirty) do
    local s = sums[tonumber(key) * 1000]
    fields[#fields + 1] = 'c' .. key; fields[#fields + 1] = fmt(s.c)
    fields[#fields + 1] = 't' .. key; fields[#fields + 1] = fmt(s.t)
    fields[#fields + 1] = 'i' .. key; fields[#fields + 1] = fmt(s.i)
    fields[#fields + 1] = 'o' .. key; fields[#fields + 1] = fmt(s.o)
  end
  for _, f in ipairs(extra) do
    fields[#fields + 1] = f
  end
  redis.call('HSET', KEYS[3], unpack(fields))
end

local function refuse(reason, retry_at, limit)
  if ARGV[6] == '1' then
    if not redis.call('ZSCORE', KEYS[6], id) then
      local tail = redis.call('ZRANGE', KEYS[6], -1, -1, 'WITHSCORES')
      redis.call('ZADD', KEYS[6], (tonumber(tail[2]) or 0) + 1, id)
    end
    local until_us = math.max(retry_at, now) + tonumber(ARGV[7]) * 1000
    redis.call('ZADD', KEYS[7], fmt(until_us), id)
    local keep = math.floor((until_us - now) / 1000) + 1000
    redis.call('PEXPIRE', KEYS[6], keep)
    redis.call('PEXPIRE', KEYS[7], keep)
  end
  save_state({})
  redis.call('HINCRBY', KEYS[8], 'refused_' .. reason, 1)
  return { 0, reason, retry_at, limit, now }
end

local cooldown = tonumber(st['cooldown'] or 0)
if now < cooldown then
  return refuse('cooldown', cooldown, '')
end

-- Fair order: while tickets wait, only the oldest live one may be admitted.
local queued = redis.call('ZCARD', KEYS[6]) > 0
if queued then
  local gone = redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', fmt(now))
  if #gone > 0 then
    redis.call('ZREM', KEYS[6], unpack(gone))
    redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', fmt(now))
  end
  local head = redis.call('ZRANGE', KEYS[6], 0, 0)[1]
  if #gone > 0 and head and head ~= id then
    redis.call('PUBLISH', ARGV[8], head)
  end
  if head and head ~= id then
    -- Woken over pub/sub when it is this ticket's turn; the retry time is only a heartbeat.
    return refuse('queued', now + tonumber(ARGV[7]) * 500, head)
  end
  queued = head ~= nil
end

-- Each failing constraint gives the earliest time it alone lets the request in; the request
-- fits at the latest of those.
local why, retry_at, which = nil, 0, ''
local function fail(reason, at, limit)
  if at > retry_at or not why then
    why, retry_at, which = reason, at, limit
  end
end

if maxc > 0 then
  local live = redis.call('ZCARD', KEYS[4])
  if live >= maxc then
    local first = redis.call('ZRANGE', KEYS[4], live - maxc, live - maxc, 'WITHSCORES')
    fail('concurrency', tonumber(first[2]), '')
  end
end

for _, res in ipairs({ 'r', 't', 'i', 'o' }) do
  local reset = tonumber(st['p' .. res .. 'reset'] or 0)
  if now < reset and est[res] > tonumber(st['p' .. res .. 'rem']) then
    fail('provider', reset, res)
  end
end

for _, l in ipairs(limits) do
  local floor = '(' .. fmt(now - l.w)
  if l.res == 'r' then
    local used = redis.call('ZCOUNT', KEYS[2], floor, '+inf')
    if used + 1 > l.amount then
      local nth = redis.call('ZRANGEBYSCORE', KEYS[2], floor, '+inf', 'WITHSCORES', 'LIMIT', used - l.amount, 1)
      fail('window', tonumber(nth[2]) + l.w, l.spec)
    end
  else
    local s = sums[l.w]
    local excess = s[l.res] + est[l.res] - l.amount
    if excess > 0 then
      local offset, at = 0, nil
      while not at do
        local page = redis.call('ZRANGEBYSCORE', KEYS[2], floor, '+inf', 'WITHSCORES', 'LIMIT', offset, 256)
        if #page == 0 then
          at = now + l.w -- unreachable while sums match the log; never admit early
          break
        end
        for k = 1, #page, 2 do
          local t, i, o = amounts(page[k])
          local a = ({ t = t, i = i, o = o })[l.res]
          excess = excess - a
          if excess <= 0 then
            at = tonumber(page[k + 1]) + l.w
            break
          end
        end
        offset = offset + 256
      end
      fail('window', at, l.spec)
    end
  end
end

if why then
  return refuse(why, retry_at, which)
end

-- Admit: record the request in the log, take a lease, charge the window sums.
redis.call('ZADD', KEYS[2], fmt(now), id .. '|' .. fmt(est.t) .. '|' .. fmt(est.i) .. '|' .. fmt(est.o))
redis.call('ZADD', KEYS[4], fmt(now + ttl), id)
redis.call('HSET', KEYS[5], id, fmt(now) .. '|' .. fmt(est.t) .. '|' .. fmt(est.i) .. '|' .. fmt(est.o))
for _, s in pairs(sums) do
  s.t, s.i, s.o = s.t + est.t, s.i + est.i, s.o + est.o
  local seen = false
  for _, key in ipairs(dirty) do
    if key == s.key then seen = true end
  end
  if not seen then dirty[#dirty + 1] = s.key end
end
local extra = {}
for _, res in ipairs({ 'r', 't', 'i', 'o' }) do
  local reset = tonumber(st['p' .. res .. 'reset'] or 0)
  if now < reset then
    extra[#extra + 1] = 'p' .. res .. 'rem'
    extra[#extra + 1] = fmt(tonumber(st['p' .. res .. 'rem']) - est[res])
  end
end
-- Idle targets vanish: the log outlives its longest window, the state outlives the log and any
-- cooldown or provider signal still in force, the leases outlive the newest lease. The TTLs are
-- refreshed at most once a second, with a margin of that second plus one.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', fmt(now - maxw))
local refreshed = tonumber(st['exp'] or 0)
if now - refreshed >= 1000000 or now < refreshed then
  local keep = maxw
  for _, f in ipairs({ 'cooldown', 'prreset', 'ptreset', 'pireset', 'poreset' }) do
    keep = math.max(keep, tonumber(st[f] or 0) - now)
  end
  redis.call('PEXPIRE', KEYS[2], math.floor(maxw / 1000) + 2000)
  redis.call('PEXPIRE', KEYS[3], math.floor(keep / 1000) + 2000)
  redis.call('PEXPIRE', KEYS[4], math.floor(ttl / 1000) + 2000)
  redis.call('PEXPIRE', KEYS[5], math.floor(ttl / 1000) + 2000)
  extra[#extra + 1] = 'exp'
  extra[#extra + 1] = fmt(now)
end
save_state(extra)

if queued then
  redis.call('ZREM', KEYS[6], id)
  redis.call('ZREM', KEYS[7], id)
  local head = redis.call('ZRANGE', KEYS[6], 0, 0)[1]
  if head then
    redis.call('PUBLISH', ARGV[8], head)
  end
end
redis.call('HINCRBY', KEYS[8], 'admitted', 1)
return { 1, now, now + ttl, 0 }
