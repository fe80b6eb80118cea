-- complete.lua: release a lease and account the usage the provider reported.
--
-- KEYS: the eight keys of the target, as listed in acquire.lua.
--
-- ARGV[1] request id (the lease id returned by acquire)
-- ARGV[2] "1" when actual usage is given, "0" to release and keep the admission charge
-- ARGV[3] actual input tokens, ARGV[4] actual output tokens, ARGV[5] cache-read input tokens
-- ARGV[6] now in microseconds, or "" to use Redis TIME
-- ARGV[7] pub/sub channel on which the next waiter is woken
-- ARGV[8] "1" when this is a resend after a lost reply
-- ARGV[9] admission time (us) as acquire returned it, ARGV[10..12] admission charge: tokens,
--         input, output ("" or missing: only a held lease can be completed)
--
-- Accounting (cfg field "accounting"):
--   "keep"   the admission charge stands; usage above the estimate is added (never undercount)
--   "actual" every window still holding the request is corrected to the actual usage
--
-- A completion marks its log entry as completed, so it counts once: a resend, or a completion
-- after the lease expired (its holder was slow to renew), still corrects the log entry and the
-- window sums and records the usage, unless the entry says it was already completed. When the
-- entry has left the log too, the usage is recorded unless this is a resend.
-- Cost: O(log n) in the log; O(number of windows) in the state.
--
-- Reply: { released(1|0), charged_tokens, charged_input, charged_output }
--   released = 0 when the lease was already gone (completed before, or expired after its
--   holder stopped renewing it); charged_* are what the log entry holds now (0 when unknown).

--#include lib.lua

local id = ARGV[1]
local has_usage = ARGV[2] == '1'
local act_i, act_o, cached = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local now = clock(ARGV[6])

local held = redis.call('HGET', KEYS[5], id)
local admitted, charge
if held then
  local a, t, i, o = string.match(held, '^(%d+)|(%d+)|(%d+)|(%d+)$')
  admitted, charge = tonumber(a), { t = tonumber(t), i = tonumber(i), o = tonumber(o) }
  redis.call('HDEL', KEYS[5], id)
  redis.call('ZREM', KEYS[4], id)
elseif ARGV[9] and ARGV[9] ~= '' then
  admitted = tonumber(ARGV[9])
  charge = { t = tonumber(ARGV[10]), i = tonumber(ARGV[11]), o = tonumber(ARGV[12]) }
end

local entry = nil
if admitted then
  entry = at_time(admitted)
  if entry and entry.id ~= id then
    entry = nil
  end
end

local released = held and 1 or 0
if entry and entry.done then
  -- Completed before: this is a resend, or a second completion. Nothing counts twice.
  return { released, entry.v.t, entry.v.i, entry.v.o }
end
if not entry and not held and ARGV[8] == '1' then
  -- Nothing left to tell whether the first send counted; a resend never counts twice.
  return { 0, 0, 0, 0 }
end

if has_usage then
  redis.call('HINCRBY', KEYS[8], 'actual_input_tokens', act_i)
  redis.call('HINCRBY', KEYS[8], 'actual_output_tokens', act_o)
  if cached > 0 then
    redis.call('HINCRBY', KEYS[8], 'cache_read_tokens', cached)
  end
end
redis.call('HINCRBY', KEYS[8], 'completed', 1)
if not charge then
  return { 0, 0, 0, 0 }
end
redis.call('HINCRBY', KEYS[8], 'estimated_tokens', charge.t)

local cfg = redis.call('HMGET', KEYS[1], 'max_concurrent', 'accounting')
local actual = cfg[2] == 'actual'
local nt, ni, no = charge.t, charge.i, charge.o
if has_usage then
  if actual then
    nt, ni, no = act_i + act_o, act_i, act_o
  else
    nt, ni, no = math.max(charge.t, act_i + act_o), math.max(charge.i, act_i), math.max(charge.o, act_o)
  end
end

if entry then
  local a = entry.a
  entry.v = { t = nt, i = ni, o = no }
  entry.done = true
  entry.q = 0
  if nt ~= a.t or ni ~= a.i or no ~= a.o then
    entry.q = redis.call('HINCRBY', KEYS[3], 'q', 1)
    -- Correct the running sum of every window whose cursor has not yet passed the request, and
    -- the pool of corrections that windows built later count conservatively.
    local st = {}
    local raw = redis.call('HGETALL', KEYS[3])
    for k = 1, #raw, 2 do
      st[raw[k]] = raw[k + 1]
    end
    local fields = {}
    for f, v in pairs(st) do
      local key = string.match(f, '^c(%d+)$')
      if key and admitted > tonumber(v) and st['t' .. key] then
        fields[#fields + 1] = 't' .. key; fields[#fields + 1] = fmt(tonumber(st['t' .. key]) + nt - a.t)
        fields[#fields + 1] = 'i' .. key; fields[#fields + 1] = fmt(tonumber(st['i' .. key]) + ni - a.i)
        fields[#fields + 1] = 'o' .. key; fields[#fields + 1] = fmt(tonumber(st['o' .. key]) + no - a.o)
      end
    end
    local pool = triple(st['P'])
    local d = gain(entry)
    fields[#fields + 1] = 'P'
    fields[#fields + 1] = untriple({ t = pool.t + d.t, i = pool.i + d.i, o = pool.o + d.o })
    redis.call('HSET', KEYS[3], unpack(fields))
    -- The state outlives the log (it may have been created just now).
    local p = redis.call('PTTL', KEYS[2])
    if p > 0 then
      keep_ttl(KEYS[3], p + 2000)
    end
  end
  redis.call('ZREM', KEYS[2], unparse({ id = entry.id, a = entry.a, c = entry.c, done = false }))
  redis.call('ZADD', KEYS[2], fmt(admitted), unparse(entry))
end

-- A freed lease, or tokens given back, may let the oldest waiter in; otherwise a completion
-- frees nothing and waking the line would only cost it a refused attempt.
if (held and tonumber(cfg[1] or 0) > 0) or (actual and entry and (nt < charge.t or ni < charge.i or no < charge.o)) then
  local head = redis.call('ZRANGE', KEYS[6], 0, 0)[1]
  if head then
    redis.call('PUBLISH', ARGV[7], head)
  end
end
return { released, nt, ni, no }
