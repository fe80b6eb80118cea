-- complete.lua: release a lease and account the usage the provider reported, for one request or
-- a batch of requests of the target.
--
-- KEYS: the eight keys of the target, as listed in acquire.lua.
--
-- Single form:
-- ARGV[1] request id (the lease id returned by acquire)
-- ARGV[2] "1" when actual usage is given, "0" to release and keep the admission charge
-- ARGV[3] actual input tokens, ARGV[4] actual output tokens, ARGV[5] cache-read input tokens
-- ARGV[6] now in microseconds, or "" to use Redis TIME
-- ARGV[7] pub/sub channel on which the next waiter is woken
-- ARGV[8] "1" when this is a resend after a lost reply
-- ARGV[9] admission time (us) as acquire returned it, ARGV[10..12] admission charge: tokens,
--         input, output ("" or missing: only a held lease, or an admission on a target without
--         leases, can be completed)
-- ARGV[13] the cost reserved at admission, ARGV[14] the actual cost, in micro-dollars ("" or
--         missing: not known; without an actual cost the reservation stands and no spend is
--         recorded)
--
-- Batch form: ARGV[1] "batch", ARGV[2] now in microseconds or "", ARGV[3] channel, ARGV[4] n
-- (at most 256), then n groups of ten: id, has_usage ("1"/"0"), input, output, cached, admit_us,
-- tokens, input, output (the admission charge, as in the single form), resend ("1"/"0").
-- Each request is completed exactly as the single form would; an id given twice counts once.
-- After the n groups, n pairs: reserved and actual cost in micro-dollars, as ARGV[13..14] above
-- (missing: no cost known).
--
-- Cost: a completion that counts corrects every dollar budget of the target to the actual cost
-- (a refund, or extra when the usage exceeded the estimate), whatever the accounting (providers
-- bill what was used), and records the actual cost as spend (usd.lua).
--
-- Accounting (cfg field "accounting"):
--   "keep"   the admission charge stands; usage above the estimate is added (never undercount)
--   "actual" every window still holding the request is corrected to the actual usage
--
-- A completion marks its log entry as completed, so it counts once: a resend, or a completion
-- after the lease expired (its holder was slow to renew), still corrects the log entry and the
-- window sums and records the usage, unless the entry says it was already completed. When the
-- entry has left the log too, the usage is recorded unless this is a resend.
-- Cost: O(log n) in the log per request; O(number of windows) in the state; a batch reads the
-- leases, the config and the state once and writes each once.
--
-- Reply: { released(1|0), charged_tokens, charged_input, charged_output }; the batch form replies
--   n such groups, one list, in the order given.
--   released = 0 when there was no lease (the target has no concurrency cap), or it was already gone (completed before, or expired after its
--   holder stopped renewing it); charged_* are what the log entry holds now (0 when unknown).

--#include lib.lua
--#include buckets.lua
--#include usd.lua

local items = {}
local now, channel
if ARGV[1] == 'batch' then
  now, channel = clock(ARGV[2]), ARGV[3]
  local n = tonumber(ARGV[4])
  if n > 256 then
    return redis.error_reply('at most 256 completions per batch')
  end
  for j = 0, n - 1 do
    local b = 4 + 10 * j
    items[#items + 1] = { id = ARGV[b + 1], has_usage = ARGV[b + 2] == '1', i = tonumber(ARGV[b + 3]),
                          o = tonumber(ARGV[b + 4]), cached = tonumber(ARGV[b + 5]), admit = ARGV[b + 6],
                          t = ARGV[b + 7], ci = ARGV[b + 8], co = ARGV[b + 9], resend = ARGV[b + 10] == '1',
                          ur = ARGV[4 + 10 * n + 2 * j + 1], ua = ARGV[4 + 10 * n + 2 * j + 2] }
  end
else
  now, channel = clock(ARGV[6]), ARGV[7]
  items[1] = { id = ARGV[1], has_usage = ARGV[2] == '1', i = tonumber(ARGV[3]), o = tonumber(ARGV[4]),
               cached = tonumber(ARGV[5]), resend = ARGV[8] == '1', admit = ARGV[9], t = ARGV[10],
               ci = ARGV[11], co = ARGV[12], ur = ARGV[13], ua = ARGV[14] }
end
if #items == 0 then
  return {}
end

local ids = {}
for j, it in ipairs(items) do
  ids[j] = it.id
end
local helds = redis.call('HMGET', KEYS[5], unpack(ids))
local cfg = redis.call('HMGET', KEYS[1], 'max_concurrent', 'accounting', 'limits', 'margin_ms')
local maxc = tonumber(cfg[1] or 0)
local actual = cfg[2] == 'actual'

local st = {}
local raw = redis.call('HGETALL', KEYS[3])
for x = 1, #raw, 2 do
  st[raw[x]] = raw[x + 1]
end
log_open(st, math.max(now, tonumber(st['now'] or 0)))
local st_fields = {}
local fixes = {}

local counts = { completed = 0, actual_input_tokens = 0, actual_output_tokens = 0, cache_read_tokens = 0,
                 estimated_tokens = 0 }
local freed, forgotten, log_add = {}, {}, {}
local wake = false
local done_ids = {}
local spent, usd_fixes = 0, {}
local reply = {}

local function one(it, held)
  local admitted, charge, leased
  if held then
    local a, t, i, o = string.match(held, '^(%d+)|(%d+)|(%d+)|(%d+)$')
    if a then
      leased = true
      admitted, charge = tonumber(a), { t = tonumber(t), i = tonumber(i), o = tonumber(o) }
      freed[#freed + 1] = it.id
    else
      -- An admission on a target without leases: once its call completed, its acquire is never
      -- sent again, so its replay record goes.
      admitted = tonumber(held)
      forgotten[#forgotten + 1] = it.id
    end
  end
  if not charge and it.admit and it.admit ~= '' then
    admitted = tonumber(it.admit)
    charge = { t = tonumber(it.t), i = tonumber(it.ci), o = tonumber(it.co) }
  end

  -- The log keeps no ids: the entry admitted at that time is this request's when it carries the
  -- same charge (admission times are unique per target).
  local entry = nil
  if admitted then
    entry = at_time(admitted)
    if entry and charge and (entry.a.t ~= charge.t or entry.a.i ~= charge.i or entry.a.o ~= charge.o) then
      entry = nil
    end
  end
  if entry and not charge then
    charge = entry.a
  end

  local released = leased and 1 or 0
  if entry and entry.f > 0 then
    -- Completed before: this is a resend, or a second completion. Nothing counts twice.
    local v = entry.a
    if entry.f == 2 then
      local f = fixes[entry.seq] or fix_of(redis.call('HGET', KEYS[2], 'v' .. fmt(entry.seq)))
      v = f and f.v or v
    end
    return { released, v.t, v.i, v.o }
  end
  if not entry and not leased and it.resend then
    -- Nothing left to tell whether the first send counted; a resend never counts twice.
    return { 0, 0, 0, 0 }
  end

  if it.has_usage then
    counts.actual_input_tokens = counts.actual_input_tokens + it.i
    counts.actual_output_tokens = counts.actual_output_tokens + it.o
    counts.cache_read_tokens = counts.cache_read_tokens + it.cached
  end
  counts.completed = counts.completed + 1
  -- Without an actual cost (no usage reported: a refused or broken call) the reservation stands,
  -- as the provider may have billed it, and no spend is recorded.
  local reserved, cost = tonumber(it.ur or ''), tonumber(it.ua or '')
  if cost then
    spent = spent + cost
    if reserved and admitted and cost ~= reserved then
      usd_fixes[#usd_fixes + 1] = { at = admitted, d = cost - reserved }
    end
  end
  if not charge then
    return { 0, 0, 0, 0 }
  end
  counts.estimated_tokens = counts.estimated_tokens + charge.t

  local nt, ni, no = charge.t, charge.i, charge.o
  if it.has_usage then
    if actual then
      nt, ni, no = it.i + it.o, it.i, it.o
    else
      nt, ni, no = math.max(charge.t, it.i + it.o), math.max(charge.i, it.i), math.max(charge.o, it.o)
    end
  end

  if entry then
    local a = entry.a
    if nt ~= a.t or ni ~= a.i or no ~= a.o then
      local q = tonumber(st['q'] or 0) + 1
      st['q'] = fmt(q)
      st_fields['q'] = true
      set_flag(entry.seq, 2)
      local v = { t = nt, i = ni, o = no }
      fixes[entry.seq] = { v = v, q = q }
      log_add[#log_add + 1] = 'v' .. fmt(entry.seq)
      log_add[#log_add + 1] = untriple(v) .. '|' .. fmt(q)
      -- Correct the running sum of every window whose cursor has not yet passed the request, and
      -- the pool of corrections that windows built later count conservatively.
      for f, raw in pairs(st) do
        local key = string.match(f, '^w(%d+)$')
        if key then
          local c, t, i, o, g, x, et, ei, eo, nx = struct.unpack(WIN, raw)
          if entry.seq >= c then
            st[f] = struct.pack(WIN, c, t + nt - a.t, i + ni - a.i, o + no - a.o, g, x, et, ei, eo, nx)
            st_fields[f] = true
          end
        end
      end
      local pool = triple(st['P'])
      local d = gain(v, a)
      st['P'] = untriple({ t = pool.t + d.t, i = pool.i + d.i, o = pool.o + d.o })
      st_fields['P'] = true
    else
      set_flag(entry.seq, 1)
    end
  end

  -- A freed lease, or tokens given back, may let the oldest waiter in; otherwise a completion
  -- frees nothing and waking the line would only cost it a refused attempt.
  if (leased and maxc > 0) or (actual and entry and (nt < charge.t or ni < charge.i or no < charge.o)) then
    wake = true
  end
  return { released, nt, ni, no }
end

for j, it in ipairs(items) do
  local r = done_ids[it.id]
  if not r then
    r = one(it, helds[j])
    done_ids[it.id] = r
  end
  for _, v in ipairs(r) do
    reply[#reply + 1] = v
  end
end

if #freed > 0 then
  redis.call('ZREM', KEYS[4], unpack(freed))
end
for _, f in ipairs(freed) do
  forgotten[#forgotten + 1] = f
end
if #forgotten > 0 then
  redis.call('HDEL', KEYS[5], unpack(forgotten))
end
local fields = {}
for f in pairs(st_fields) do
  fields[#fields + 1] = f
  fields[#fields + 1] = st[f]
end
log_save(fields)
if #log_add > 0 then
  -- Corrections of entries still in the newest chunk may make the log anew: it keeps its TTL.
  redis.call('HSET', KEYS[2], unpack(log_add))
  local _, maxw = read_limits(cfg[3], tonumber(cfg[4] or 0))
  keep_ttl(KEYS[2], math.floor(maxw / 1000) + 2000)
end
if #fields > 0 then
  redis.call('HSET', KEYS[3], unpack(fields))
  -- The state outlives the log (it may have been created just now).
  local p = redis.call('PTTL', KEYS[2])
  if p > 0 then
    keep_ttl(KEYS[3], p + 2000)
  end
end
for f, v in pairs(counts) do
  if v ~= 0 then
    redis.call('HINCRBY', KEYS[8], f, v)
  end
end
if #usd_fixes > 0 then
  local usd = Usd.load(redis.call('HGET', KEYS[1], 'usd'), KEYS[8], now)
  for _, f in ipairs(usd_fixes) do
    Usd.charge(usd, f.at, f.d, now)
    if f.d < 0 then
      wake = true
    end
  end
  Usd.save(usd, KEYS[8])
end
Usd.spend(KEYS[8], now, spent)
if wake then
  local head = redis.call('ZRANGE', KEYS[6], 0, 0)[1]
  if head then
    redis.call('PUBLISH', channel, head)
  end
end
return reply
