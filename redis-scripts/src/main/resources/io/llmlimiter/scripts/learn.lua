-- learn.lua: move a target's effective limits toward what the provider enforces, for the fleet.
--
-- KEYS: the eight keys of the target, as listed in acquire.lua.
--
-- ARGV[1] mode:
--   "429"     ARGV[2] = admission time (us) of a call the provider refused with 429.
--   "headers" ARGV[2] = resource code (r|t|i|o), ARGV[3] = the provider's stated limit amount,
--             ARGV[4] = the provider's window in ms.
-- ARGV[last] now in microseconds, or "" for Redis TIME (ARGV[3] for "429", ARGV[5] for "headers")
--
-- Learned amounts live in the st hash, field "la:<spec>" =
-- "amount|since_us|reason|shrunk_us|shrinks".
--
-- The rule, "429": the limit that was binding is the one with the highest utilization (used /
-- effective amount) in its window (window + margin) ending at the admission, counting admission
-- charges. The provider was full when the call arrived; what it had counted then is about what
-- was admitted in one configured window ending a margin after this call (calls admitted up to a
-- margin later may have arrived first), this call left out. The effective amount becomes
-- max(ceil(50% of configured), floor(95% of that)) when that is lower than the effective amount now. A 429 on a call admitted before that limit's last shrink is an echo of the same
-- overload and changes nothing; so is a 429 on a call older than the log (nothing left to judge by).
--
-- The rule, "headers": every configured limit of that resource whose window is within 10% of the
-- provider's is capped at the stated amount (never above configured); a limit learned from
-- headers follows the provider's statement up again too.
--
-- Recovery: while nothing new is learned, a learned amount climbs back by 5% of the configured
-- amount (at least 1) per recovery period, max(window + margin, 30 s), doubled for each further
-- shrink before it was back to configured (up to 32x); computed when read (lib.lua, effective()).
-- Cost: O(log n) per configured limit.
--
-- Reply: { spec_1, effective_amount_1, reason_1, spec_2, ... } for every configured limit, after
--   the change; reason "" (configured), "429" or "headers". Empty when the target has no config.

--#include lib.lua

local mode = ARGV[1]
local now = clock(mode == '429' and ARGV[3] or ARGV[5])

local cfg = redis.call('HMGET', KEYS[1], 'limits', 'margin_ms')
if not cfg[1] then
  return {}
end
local st = {}
local raw = redis.call('HGETALL', KEYS[3])
for k = 1, #raw, 2 do
  st[raw[k]] = raw[k + 1]
end
now = math.max(now, tonumber(st['now'] or 0))
log_open(st, now)
local limits, maxw = read_limits(cfg[1], tonumber(cfg[2] or 0))

local changed = {}
local function learn(l, amount, reason, shrunk, shrinks)
  local value = fmt(amount) .. '|' .. fmt(now) .. '|' .. reason .. '|' .. fmt(shrunk) .. '|' .. fmt(shrinks)
  st['la:' .. l.spec] = value
  changed[#changed + 1] = 'la:' .. l.spec
  changed[#changed + 1] = value
end

if mode == '429' then
  local a = tonumber(ARGV[2])
  local this = at_time(a)
  -- What the log held in (lo, hi], this call left out.
  local function held(l, lo, hi)
    local from, to = first_after(lo), first_after(hi)
    if l.res == 'r' then
      return to - from - (this and 1 or 0)
    end
    local upto, before = cum_before(to), cum_before(from)
    return upto[l.res] - before[l.res] - (this and this.a[l.res] or 0)
  end
  local best, best_util = nil, -1
  for _, l in ipairs(limits) do
    local util = held(l, a - l.W, a) / effective(st, l, now)
    if util > best_util then
      best, best_util = l, util
    end
  end
  if best and this and a > now - maxw then
    local eff, reason, shrunk, shrinks = effective(st, best, now)
    if a >= shrunk then
      -- Calls admitted up to a margin after this one may have reached the provider first.
      local seen = held(best, a - best.w, a + best.W - best.w)
      local amount = math.max(math.ceil(best.amount * 0.5), math.floor(seen * 0.95))
      if amount < eff then
        learn(best, amount, '429', now, reason == '429' and shrinks + 1 or 1)
        redis.call('HINCRBY', KEYS[8], 'learned_429', 1)
      end
    end
  end
elseif mode == 'headers' then
  local res, stated, window = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
  for _, l in ipairs(limits) do
    if l.res == res and math.abs(l.w / 1000 - window) <= 0.1 * window then
      local eff, reason, shrunk, shrinks = effective(st, l, now)
      local target = math.max(1, math.min(stated, l.amount))
      if target < eff or (reason == 'headers' and target > eff) then
        learn(l, target, target < l.amount and 'headers' or '', shrunk, shrinks)
      end
    end
  end
else
  return redis.error_reply('unknown mode ' .. tostring(mode))
end

if #changed > 0 then
  redis.call('HSET', KEYS[3], unpack(changed))
  local keep = 0
  for _, l in ipairs(limits) do
    keep = math.max(keep, 20 * l.W, 3600000000)
  end
  keep_ttl(KEYS[3], math.floor(keep / 1000) + 2000)
end

local reply = {}
for _, l in ipairs(limits) do
  local eff, reason = effective(st, l, now)
  reply[#reply + 1] = l.spec
  reply[#reply + 1] = eff
  reply[#reply + 1] = reason
end
return reply
