-- usage.lua: read a target's current usage.
--
-- KEYS: the eight keys of the target, as listed in acquire.lua.
--
-- ARGV[1] now in microseconds, or "" to use Redis TIME
--
-- Reply: { now_us, live_leases, waiting_tickets, cooldown_until_us (0 = none), margin_ms,
--          spec_1, used_1, effective_amount_1, reason_1, spec_2, ... }
--   one group of four per configured limit: spec as "res:amount:window_ms" (the configured
--   limit), used in the window (window + margin) ending now, the effective amount admissions are
--   checked against, and why it differs from the configured amount: "" (it does not), "429"
--   (learned from provider refusals) or "headers" (the provider's stated limit). No groups when
--   the target has no config.
--
-- Token windows are read from the same running sums acquire keeps (advancing their cursors as
-- acquire would), so a call costs O(log n) plus the entries that just left a window.

--#include lib.lua

local now = clock(ARGV[1])
local cfg = redis.call('HMGET', KEYS[1], 'limits', 'margin_ms')
local st = {}
local raw = redis.call('HGETALL', KEYS[3])
for k = 1, #raw, 2 do
  st[raw[k]] = raw[k + 1]
end
now = math.max(now, tonumber(st['now'] or 0))
log_open(st, now)

local live = redis.call('ZCOUNT', KEYS[4], '(' .. fmt(now), '+inf')
local waiting = redis.call('ZCOUNT', KEYS[7], '(' .. fmt(now), '+inf')
local cooldown = tonumber(st['cooldown'] or 0)
if cooldown <= now then cooldown = 0 end
local margin = tonumber(cfg[2] or 0)
local reply = { now, live, waiting, cooldown, margin }

local limits, maxw = read_limits(cfg[1], margin)
local dirty = {}
local sums = {}
for _, l in ipairs(limits) do
  if not sums[l.key] then
    sums[l.key] = load_window(st, l.key, l.W, now, dirty)
  end
  local s = sums[l.key]
  local used = l.res == 'r' and count(s) or s[l.res] + s.e[l.res]
  local eff, reason = effective(st, l, now)
  reply[#reply + 1] = l.spec
  reply[#reply + 1] = used
  reply[#reply + 1] = eff
  reply[#reply + 1] = reason
end

local fields = {}
for _, s in pairs(dirty) do
  window_fields(fields, s)
end
if #fields > 0 then
  redis.call('HSET', KEYS[3], unpack(fields))
  keep_ttl(KEYS[3], math.floor(maxw / 1000) + 2000)
end
return reply
